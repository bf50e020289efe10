"""Corpus files on Dask: shards read on the workers by simdup.corpus's readers, kept records written by its writers.

What ``simdup dedup --dask`` runs on the workers: each file is read whole by
one task (so it must fit in a worker's memory) with the readers of the
single-machine command (:func:`simdup.corpus.open_corpus`), cut into
``split`` partitions, and written back by the same writers, so the outputs
are the ones ``simdup dedup`` writes for the same input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import dask
import dask.bag as db
import numpy as np
import pandas as pd
from dask.delayed import Delayed, delayed

from ..corpus import open_corpus
from .result import DaskDedupResult


def corpus_bag(files: Sequence[Path], text_field: str, id_field: str, skip_bad: bool, split: int,
               id_prefixes: Sequence[str]) -> db.Bag:
    """The documents of ``files``, ``split`` partitions a file, as dicts with ``id`` and ``text``.

    ``id_prefixes`` (one a file) is put before each of its document ids:
    line and row numbers repeat across shards, so those are named by their
    file too.
    """
    records = [delayed(_read_records, pure=True)(str(f), text_field, id_field, skip_bad, prefix)
               for f, prefix in zip(files, id_prefixes)]
    return db.from_delayed([delayed(_piece)(r, s, split) for r in records for s in range(split)])


def write_kept(result: DaskDedupResult, files: Sequence[Path], targets: Sequence[str | None], text_field: str,
               id_field: str, skip_bad: bool, split: int) -> int:
    """Write each file's kept records to its target (None: write nothing); the bad records skipped, counted."""
    flags = result.keep_flags()
    tasks: list[Delayed] = [delayed(_write_file)(str(f), target, text_field, id_field, skip_bad,
                                                 *flags[n * split:(n + 1) * split])
                            for n, (f, target) in enumerate(zip(files, targets))]
    return sum(dask.compute(*tasks))


def cluster_rows(result: DaskDedupResult, reference_name: Callable[[int], str] | None = None
                 ) -> Iterator[list[tuple[Any, ...]]]:
    """The clusters file's rows (:data:`simdup.clustering.CLUSTER_COLUMNS`), one partition at a time.

    The table is never gathered whole. Reference documents are named by
    their ids (a reference of documents), or by ``reference_name(key)``
    (an index's ids); the rows are the ones ``simdup dedup`` writes.
    """
    for part in result.clusters.to_delayed():
        table = part.compute()
        kept, matched = _ids_or_none(table["kept_id"]), _ids_or_none(table["matched_id"])
        if reference_name is not None:
            in_reference = table["kept_position"].to_numpy(np.int64) < 0
            kept[in_reference] = [reference_name(key) for key in table["kept_reference"][in_reference].tolist()]
            by_reference = (table["reason"] == "reference").to_numpy(bool)
            matched[by_reference] = [reference_name(key)
                                     for key in table["matched_reference"][by_reference].tolist()]
        distance = table["match_distance"].to_numpy(np.int64)
        jaccard = np.round(table["match_jaccard"].to_numpy(np.float64), 4).astype(object)
        jaccard[np.isnan(table["match_jaccard"].to_numpy(np.float64))] = None  # not verified
        yield list(zip(table["id"].tolist(), table["cluster"].tolist(), kept.tolist(), matched.tolist(),
                       [None if d < 0 else d for d in distance.tolist()],
                       jaccard.tolist(),
                       table["reason"].tolist()))


def kept_names_and_fingerprints(result: DaskDedupResult, records: db.Bag) -> tuple[list[str], np.ndarray]:
    """The ids and fingerprints of the kept documents with tokens (what ``--update`` adds to an index), in order.

    ``records`` is the input as :func:`corpus_bag` made it (dicts with ``id``).
    Gathered on the client: 8 bytes and a name per kept document.
    """
    tasks = [delayed(_kept_with_tokens)(part, docs, keep) for part, docs, keep in
             zip(records.to_delayed(), result.documents.to_delayed(), result.keep_flags())]
    pieces = dask.compute(*tasks)
    names = [name for some, _ in pieces for name in some]
    return names, np.concatenate([fps for _, fps in pieces]) if pieces else np.empty(0, np.uint64)


def _ids_or_none(column: pd.Series) -> np.ndarray:
    """The ids, None where there is none (the shuffles may have turned a None into NaN); a writable copy."""
    return np.asarray(np.where(column.isna().to_numpy(), None, column.to_numpy(object)), dtype=object)


# -- on the workers -----------------------------------------------------------------------


def _read_records(path: str, text_field: str, id_field: str, skip_bad: bool, id_prefix: str = ""
                  ) -> list[dict[str, Any]]:
    """One file's documents, whole: a file must fit in a worker's memory (shard larger corpora)."""
    corpus = open_corpus(path, text_field, id_field, skip_bad=skip_bad)
    return [{"id": id_prefix + doc_id, "text": doc} for doc_id, doc in corpus.records()]


def _kept_with_tokens(records: list[dict[str, Any]], docs: pd.DataFrame, keep: np.ndarray
                      ) -> tuple[list[str], np.ndarray]:
    rows = np.flatnonzero(keep & (docs["n_tokens"].to_numpy(np.int64) > 0))  # a token-less document matches nothing
    return [records[r]["id"] for r in rows.tolist()], docs["fingerprint"].to_numpy(np.uint64)[rows]


def _piece(records: list[dict[str, Any]], number: int, pieces: int) -> list[dict[str, Any]]:
    n = len(records)
    return records[n * number // pieces:n * (number + 1) // pieces]


def _write_file(source: str, target: str | None, text_field: str, id_field: str, skip_bad: bool,
                *flags: np.ndarray) -> int:
    """Write ``source``'s kept records to ``target`` with the single-machine writer; the bad records skipped."""
    corpus = open_corpus(source, text_field, id_field, skip_bad=skip_bad)
    for _ in corpus.records():  # the writers need one full read first
        pass
    if target is not None:
        corpus.write_kept(np.concatenate(flags).tolist() if flags else [], Path(target))
    return corpus.skipped
