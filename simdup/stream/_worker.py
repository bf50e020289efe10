"""The work of the streaming dedup done block by block, in worker processes (or inline with one job).

Every function here takes a small task and returns small arrays (the texts
it reads or makes go to spill files of the worker's own), never a document
list the size of the corpus. A worker builds its hasher once
(:func:`init`) from the hasher's parameters, and loads a fitted IDF table
once per table file. The same functions run inline for ``jobs=1``, so the
result cannot depend on the number of jobs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import _core
from .._sorted import find_sorted
from ..batch import document_length, text_shingle_sets
from ..corpus import parse_jsonl_line
from ..hasher import SimHasher
from ..idf import IdfTable
from . import _spill
from ._memory import cpu_seconds, peak_rss

_state: dict[str, Any] = {}


def init(params: dict[str, Any], table: IdfTable | None) -> None:
    """Build this process's hasher from ``params``, fitted with ``table`` when given."""
    hasher = SimHasher(**params)
    if table is not None:
        hasher._set_idf(*table)
    _state.clear()
    _state["hasher"] = hasher
    _state["preparer"] = hasher._preparer()
    _state["tables"] = {}


def _hasher(table_path: str) -> SimHasher:
    """The hasher fitted with the table saved at ``table_path`` (:func:`save_table`), loaded once."""
    tables = _state["tables"]
    if table_path not in tables:
        hasher = SimHasher(**_state["hasher"].get_params(deep=False))
        hasher._set_idf(*load_table(Path(table_path)))
        tables.clear()
        tables[table_path] = hasher
    return tables[table_path]


def save_table(table: IdfTable, path: Path) -> None:
    """Write ``table`` for the workers (:func:`load_table`)."""
    np.savez(path, vocabulary=table.vocabulary, idf_q=table.idf_q,
             scalars=np.array([table.unseen_q, table.n_docs], dtype=np.int64))


def load_table(path: Path) -> IdfTable:
    with np.load(path) as archive:
        unseen_q, n_docs = archive["scalars"].tolist()
        return IdfTable(archive["vocabulary"], archive["idf_q"], int(unseen_q), int(n_docs))


# -- reading and counting --------------------------------------------------------------------


@dataclass
class ScanTask:
    """One block of a corpus to read.

    ``kind`` is "jsonl" or "lines" (``payload``: bytes of whole lines, the
    first numbered ``first_line``) or "records" (``payload``: a list of
    ``(id, document)`` read by the main process).
    """

    kind: str
    payload: Any
    first_line: int = 1
    text_field: str = "text"
    id_field: str | None = "id"
    id_prefix: str = ""
    skip_bad: bool = False
    count_df: bool = True  # count document frequencies (the hasher is to be fitted) ...
    fingerprint: bool = False  # ... or fingerprint now (the hasher is fitted)
    lengths: bool = False  # keep="longest" needs each document's length
    separate_text: bool = False  # the tokenizer's text differs from the verification text: spill both
    spill_dir: str = "."  # where this worker's spill files go (:mod:`simdup.stream._spill`)


@dataclass
class ScanResult:
    """What one block gives the main process: where its texts and ids were spilled, and per-document arrays."""

    n_docs: int = 0
    skipped: int = 0
    error: tuple[int, str] | None = None  # (line, why): a bad record without skip_bad
    # Spilled: (file, offsets) as simdup.stream._spill.write returns them.
    ids: tuple[str, npt.NDArray[np.int64]] | None = None
    prepared: tuple[str, npt.NDArray[np.int64]] | None = None
    text: tuple[str, npt.NDArray[np.int64]] | None = None
    lines: npt.NDArray[np.int64] | None = None
    lengths: npt.NDArray[np.int64] | None = None
    terms: npt.NDArray[np.uint64] | None = None
    counts: npt.NDArray[np.int64] | None = None
    fps: npt.NDArray[np.uint64] | None = None
    n_tokens: npt.NDArray[np.int64] | None = None
    usage: tuple[int, int, float] = (0, 0, 0.0)  # the worker's (pid, peak memory, CPU seconds): see :func:`usage`


def _parse(task: ScanTask, result: ScanResult) -> tuple[list[str], list[Any], list[int]]:
    """The block's records: ids, documents and line numbers; bad records counted or reported."""
    ids: list[str] = []
    docs: list[Any] = []
    lines: list[int] = []
    if task.kind == "records":
        for doc_id, doc in task.payload:
            ids.append(doc_id)
            docs.append(doc)
        return ids, docs, lines
    raw_lines = task.payload.split(b"\n")
    if raw_lines and not raw_lines[-1]:
        raw_lines.pop()  # the block ends with a newline
    if task.kind == "lines":
        for n, raw in enumerate(raw_lines, task.first_line):
            ids.append(f"{task.id_prefix}{n}")
            docs.append(raw.rstrip(b"\r").decode("utf-8", "replace"))
            lines.append(n)
        return ids, docs, lines
    for n, raw in enumerate(raw_lines, task.first_line):
        parsed = parse_jsonl_line(raw, n, task.text_field, task.id_field)
        if parsed is None:
            continue
        if isinstance(parsed, str):
            if not task.skip_bad:
                result.error = (n, parsed)
                break
            result.skipped += 1
            continue
        ids.append(parsed[0])
        docs.append(parsed[1])
        lines.append(n)
    return ids, docs, lines


def scan(task: ScanTask) -> ScanResult:
    """Read a block: its records' ids, prepared texts and document frequencies (or fingerprints)."""
    result = ScanResult()
    ids, docs, lines = _parse(task, result)
    if result.error is not None:
        return result
    hasher, prepare = _state["hasher"], _state["preparer"]
    result.n_docs = len(docs)
    result.ids = _spill.write(task.spill_dir, "ids", [i.encode("utf-8", "surrogatepass") for i in ids])
    result.lines = np.array(lines, dtype=np.int64) if task.kind != "records" else None
    if task.lengths:
        result.lengths = np.fromiter((document_length(d) for d in docs), dtype=np.int64, count=len(docs))
    prepared = [prepare(d) for d in docs]
    text = [prepare.text_bytes(d) for d in docs] if task.separate_text else prepared
    result.text = _spill.write(task.spill_dir, "text", text)
    if task.fingerprint:
        result.fps, result.n_tokens = hasher._transform_prepared(prepared)
    else:
        if task.separate_text:
            result.prepared = _spill.write(task.spill_dir, "prepared", prepared)
        if task.count_df:
            lo, hi = hasher._check_params()
            _, terms = _core.doc_terms(prepared, lo, hi, prepare.flags)
            result.terms, result.counts = np.unique(terms, return_counts=True)
    result.usage = usage()
    return result


def pick_texts(task: tuple[ScanTask, str]) -> tuple[ScanResult, npt.NDArray[np.uint64]]:
    """Read a block of a reference's text files, keeping the records an index wants: ``(block, keys file)``.

    The keys file holds the ids (XXH64 of the names, sorted) whose text is
    wanted, loaded once per worker. The prepared verification text of each
    record whose id is among them is spilled (``result.text``, in block
    order); returns the result and those records' keys, in the same order.
    """
    block, keys_path = task
    if _state.get("keys_path") != keys_path:
        _state["keys"], _state["keys_path"] = np.load(keys_path), keys_path
    keys = _state["keys"]
    result = ScanResult()
    ids, docs, _ = _parse(block, result)
    if result.error is not None or not ids or not len(keys):
        result.usage = usage()
        return result, np.empty(0, np.uint64)
    hashed = _core.hash_strings([i.encode("utf-8", "surrogatepass") for i in ids])
    wanted = np.flatnonzero(find_sorted(keys, hashed)[1]).tolist()
    if wanted:
        prepare = _state["preparer"]
        result.text = _spill.write(block.spill_dir, "reference-text", [prepare.text_bytes(docs[x]) for x in wanted])
    result.n_docs = len(wanted)
    result.usage = usage()
    return result, hashed[wanted]


# -- fingerprints and verification -------------------------------------------------------------


def fingerprint(task: tuple[str, str, npt.NDArray[np.int64]]
                ) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64], tuple[int, int, float]]:
    """Fingerprints, token counts and the worker's :func:`usage`, for a block of spilled prepared texts.

    ``task`` is ``(table file, spill file, offsets)``.
    """
    table_path, spill_path, offsets = task
    fps, n_tokens = _hasher(table_path)._transform_prepared(_spill.read_block(spill_path, offsets))
    return fps, n_tokens, usage()


@dataclass
class Located:
    """Spilled documents: each at ``[starts, stops)`` of ``files[file]`` (:meth:`simdup.stream._spill.Spill.locate`)."""

    files: list[str]
    file: npt.NDArray[np.int32]
    starts: npt.NDArray[np.int64]
    stops: npt.NDArray[np.int64]

    def read(self) -> list[bytes]:
        return _spill.read_docs(self.files, self.file, self.starts, self.stops)


def shingles(task: tuple[Located, int, int, str]) -> tuple[str, npt.NDArray[np.int64], tuple[int, int, float]]:
    """Spill the shingle sets of some spilled texts: ``(texts, words, chars, spill dir)``.

    Each document's distinct shingle hashes, ascending, as uint64 bytes
    (:func:`simdup.batch.shingle_sets`): shingled once, however many pairs
    the document is in. Returns the spill's ``(file, offsets)`` and :func:`usage`.
    """
    texts, words, chars, spill_dir = task
    indptr, terms = text_shingle_sets(texts.read(), words, chars, _state["preparer"].shingle_flags)
    path, offsets = _spill.write_blob(spill_dir, "shingles", terms.tobytes(), indptr * 8)
    return path, offsets, usage()


def jaccard(task: tuple[Located, npt.NDArray[np.int64], npt.NDArray[np.int64]]
            ) -> tuple[npt.NDArray[np.float64], tuple[int, int, float]]:
    """Exact Jaccard of pairs ``(row_i, row_j)`` of spilled shingle sets: ``(sets, row_i, row_j)``; :func:`usage`."""
    sets, row_i, row_j = task
    blobs = sets.read()
    indptr = np.zeros(len(blobs) + 1, dtype=np.int64)
    np.cumsum((sets.stops - sets.starts) // 8, out=indptr[1:])
    terms = np.frombuffer(b"".join(blobs), dtype=np.uint64)
    del blobs
    return _core.jaccard_pairs(indptr, terms, row_i, row_j), usage()


def usage() -> tuple[int, int, float]:
    """This process's id, peak memory and CPU seconds so far: the run's summary adds up its workers'."""
    return os.getpid(), peak_rss(), cpu_seconds()
