"""Fit and fingerprint on Dask: IDF counted per partition and merged in a tree, then each partition fingerprinted.

The fit gives the model :meth:`SimHasher.fit` would give on all the
documents; the fitted model is then one task input, sent once to each
worker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import dask.dataframe as dd
import numpy as np
import numpy.typing as npt
import pandas as pd
from dask.delayed import Delayed, delayed

from .. import _core
from ..batch import document_length
from ..hasher import SimHasher
from .keys import Persist, doc_keys, empty_frame
from .partitions import Layout, documents


def fit(parts: list[Delayed], hasher: SimHasher, layout: Layout,
        more: Sequence[tuple[list[Delayed], Layout]] = ()) -> SimHasher | None:
    """Fit ``hasher`` on every partition's documents (and on ``more`` partitions, each with its layout: a
    reference's); None when there are none (nothing to fit)."""
    counted = [delayed(_count_terms)(part, hasher, part_layout)
               for some, part_layout in [(parts, layout), *more] for part in some]
    vocabulary, df, n_docs = _tree_reduce(counted, _merge_counts).compute()
    if n_docs == 0:
        return None  # an empty input gives an empty result
    return hasher._fit_frequencies(vocabulary, df, n_docs)


def fingerprint(parts: list[Delayed], model: Delayed | None, layout: Layout, with_length: bool,
                persist: Persist) -> tuple[dd.DataFrame, npt.NDArray[np.int64]]:
    """Each document's key, fingerprint and token count (its length and id when wanted), partitioned as the
    input and persisted; and the offsets of the input partitions (their first positions, then the total)."""
    docs = persist(dd.from_delayed(
        [delayed(_fingerprint_partition)(part, p, model, layout, with_length) for p, part in enumerate(parts)],
        meta=docs_meta(with_length, layout.id is not None), verify_meta=False))
    lengths = np.array(docs.map_partitions(len, meta=(None, "int64")).compute(), dtype=np.int64)
    return docs, np.r_[0, np.cumsum(lengths)].astype(np.int64)


def docs_meta(with_length: bool, with_id: bool) -> pd.DataFrame:
    """The fingerprinted documents: key ``doc``, ``fp``, ``n_tokens`` (``length``, ``id``)."""
    return with_length_and_id(empty_frame(doc=np.int64, fp=np.uint64, n_tokens=np.int64), with_length, with_id)


def with_length_and_id(meta: pd.DataFrame, with_length: bool, with_id: bool) -> pd.DataFrame:
    """``meta`` with the optional columns: ``length`` (for keep="longest") and ``id``."""
    if with_length:
        meta["length"] = np.empty(0, np.int64)
    if with_id:
        meta["id"] = pd.Series([], dtype=object)
    return meta


# -- on the workers -----------------------------------------------------------------------


def _count_terms(part: Any, hasher: SimHasher, layout: Layout
                 ) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64], int]:
    """Each distinct token of the partition with the number of its documents that hold it."""
    texts, _ = documents(part, layout)
    lo, hi = hasher._check_params()
    _, terms = _core.doc_terms(hasher._prepare(texts), lo, hi, hasher._preparer().flags)
    vocabulary, df = np.unique(terms, return_counts=True)
    return vocabulary, df.astype(np.int64), len(texts)


def _merge_counts(*counts: tuple[np.ndarray, np.ndarray, int]) -> tuple[np.ndarray, np.ndarray, int]:
    terms = np.concatenate([c[0] for c in counts])
    df = np.concatenate([c[1] for c in counts])
    order = np.argsort(terms, kind="stable")
    terms, df = terms[order], df[order]
    head = np.r_[True, terms[1:] != terms[:-1]] if len(terms) else np.zeros(0, bool)
    summed = np.add.reduceat(df, np.flatnonzero(head)) if len(terms) else df
    return terms[head], summed.astype(np.int64), sum(c[2] for c in counts)


def _tree_reduce(items: list[Delayed], combine: Callable[..., Any], fan_in: int = 8) -> Delayed:
    while len(items) > 1:
        items = [delayed(combine)(*items[s:s + fan_in]) for s in range(0, len(items), fan_in)]
    return items[0]


def _fingerprint_partition(part: Any, partition: int, hasher: SimHasher | None, layout: Layout,
                           with_length: bool) -> pd.DataFrame:
    texts, ids = documents(part, layout)
    fps, n_tokens = np.empty(0, np.uint64), np.empty(0, np.int64)
    if texts and hasher is not None:  # (no hasher: the input is empty, so nothing was fitted)
        fps, n_tokens = hasher.transform(texts, return_n_tokens=True)
    columns: dict[str, Any] = {"doc": doc_keys(partition, len(fps)), "fp": fps, "n_tokens": n_tokens}
    if with_length:
        columns["length"] = np.array([document_length(t) for t in texts], dtype=np.int64)
    if ids is not None:
        columns["id"] = pd.Series(ids, dtype=object)
    return pd.DataFrame(columns)
