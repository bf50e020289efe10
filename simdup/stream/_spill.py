"""Spill files: each document's bytes written once to a temporary file, read back by document number.

The streaming dedup reads the corpus once; what later phases need of each
document (the prepared text to fingerprint, the text to shingle, the id for
the clusters file) is written to disk by the worker process that read it,
each worker to a file of its own (the bytes never travel back to the main
process). The main process keeps only where each document is: its block
(which file) and its offset and length (12 bytes a document). A later phase
reads back a block (fingerprinting) or a scattered set of documents
(verification, the clusters file) with ``pread``, so what it reads never stays resident.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

_open: dict[str, IO[bytes]] = {}  # this process's spill files, by path


def write(directory: str, kind: str, items: Sequence[bytes]) -> tuple[str, npt.NDArray[np.int64]]:
    """Append ``items`` to this process's ``kind`` spill file in ``directory``: its path, and their offsets.

    The ``len(items) + 1`` offsets are absolute in the file. Writes are
    unbuffered, so any process may read them back as soon as this returns.
    """
    offsets = np.zeros(len(items) + 1, dtype=np.int64)
    np.cumsum(np.fromiter((len(x) for x in items), dtype=np.int64, count=len(items)), out=offsets[1:])
    return write_blob(directory, kind, b"".join(items), offsets)


def write_blob(directory: str, kind: str, blob: bytes | memoryview, offsets: npt.NDArray[np.int64]
               ) -> tuple[str, npt.NDArray[np.int64]]:
    """:func:`write` for items already joined: ``blob``, cut at ``offsets`` (from 0)."""
    path = os.path.join(directory, f"{kind}-{os.getpid()}.bin")
    f = _open.get(path)
    if f is None:
        f = _open[path] = open(path, "ab", buffering=0)  # noqa: SIM115 - open for the process's life
    start = f.seek(0, os.SEEK_END)
    view = memoryview(blob).cast("B")
    while view:  # an unbuffered write may write less than asked
        view = view[f.write(view):]
    return path, offsets + start


def close_all() -> None:
    """Close this process's spill files (the files stay for reading)."""
    for f in _open.values():
        f.close()
    _open.clear()


class Spill:
    """Where each spilled document is: the main process's record of one kind of spill.

    Documents are added block by block (:meth:`add`), in document order;
    ``path[d]``, ``start[d]`` and ``length[d]`` locate document ``d``.
    """

    def __init__(self) -> None:
        self.files: list[str] = []
        self._file_index: dict[str, int] = {}
        self._block_first: list[int] = []
        self._block_file: list[int] = []
        self._starts: list[npt.NDArray[np.int64]] = []
        self._lengths: list[npt.NDArray[np.uint32]] = []
        self.n_docs = 0
        self.start = np.empty(0, np.int64)
        self.length = np.empty(0, np.uint32)
        self.block_first = np.empty(0, np.int64)
        self.block_file = np.empty(0, np.int32)

    def add(self, path: str, offsets: npt.NDArray[np.int64]) -> None:
        """The next block's documents: in ``path`` at ``offsets`` (as :func:`write` returned them)."""
        index = self._file_index.setdefault(path, len(self.files))
        if index == len(self.files):
            self.files.append(path)
        self._block_first.append(self.n_docs)
        self._block_file.append(index)
        self._starts.append(offsets[:-1])
        self._lengths.append(np.diff(offsets).astype(np.uint32))
        self.n_docs += len(offsets) - 1

    def finish(self, page_out: Path | None = None) -> None:
        """Fix the arrays; reads may start (and more blocks may still be added, then finished again).

        With ``page_out`` (a path prefix), the per-document arrays are written
        there and mapped back: the pages a later phase does not touch stay on
        disk, out of resident memory, through the join (the run's memory
        peak), and are read back only where needed.
        """
        self.start = np.concatenate([self.start, *self._starts])
        self.length = np.concatenate([self.length, *self._lengths])
        self.block_first = np.array(self._block_first, dtype=np.int64)
        self.block_file = np.array(self._block_file, dtype=np.int32)
        self._starts, self._lengths = [], []
        if page_out is not None and len(self.start):
            self.start = page(self.start, page_out.with_name(page_out.name + ".start.npy"))
            self.length = page(self.length, page_out.with_name(page_out.name + ".length.npy"))

    def blocks(self) -> list[tuple[str, npt.NDArray[np.int64], int, int]]:
        """Each block: ``(path, offsets, first document, stop)`` for :func:`read_block`."""
        bounds = [*self.block_first.tolist(), self.n_docs]
        out = []
        for (a, b), file in zip(pairwise(bounds), self.block_file.tolist()):
            offsets = np.append(self.start[a:b], self.start[b - 1] + self.length[b - 1] if b > a else 0)
            out.append((self.files[file], offsets, a, b))
        return out

    def locate(self, docs: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64],
                                                          npt.NDArray[np.int64]]:
        """For each of ``docs``: its file (index into :attr:`files`), start and stop."""
        block = np.searchsorted(self.block_first, docs, side="right") - 1
        start = self.start[docs]
        return self.block_file[block], start, start + self.length[docs]

    def read(self, docs: npt.NDArray[np.int64]) -> list[bytes]:
        """Documents ``docs`` (any order, repeats allowed), in that order."""
        return read_docs(self.files, *self.locate(docs))


def read_block(path: str, offsets: npt.NDArray[np.int64]) -> list[bytes]:
    """The consecutive documents at ``offsets`` (absolute) of ``path``: one read."""
    if len(offsets) < 2 or offsets[-1] == offsets[0]:
        return [b""] * max(len(offsets) - 1, 0)
    with open(path, "rb") as f:
        f.seek(int(offsets[0]))
        blob = f.read(int(offsets[-1] - offsets[0]))
    bounds = (offsets - offsets[0]).tolist()
    return [blob[a:b] for a, b in pairwise(bounds)]


# Documents this close in a file are read with one call. The bytes between are read too, so a
# read holds at most _GAP more bytes a document than it needs, however the documents are spread.
_GAP = 512


def read_docs(files: Sequence[str], file: npt.NDArray[np.int32], starts: npt.NDArray[np.int64],
              stops: npt.NDArray[np.int64]) -> list[bytes]:
    """The blobs ``[starts[x], stops[x])`` of ``files[file[x]]``, in order.

    Read with ``pread``, one call per span of documents less than 512 bytes
    apart, not through a mapping: the kernel maps the neighbours of every
    page a mapping touches, so scattered reads of a mapped file would make
    most of it resident.
    """
    out: list[bytes] = [b""] * len(starts)
    for f_index in np.unique(file).tolist():
        rows = np.flatnonzero(file == f_index)
        rows = rows[np.argsort(starts[rows], kind="stable")]
        a_sorted, b_sorted = starts[rows], stops[rows]
        # A span ends where the next document starts more than _GAP past every document before it.
        furthest = np.maximum.accumulate(b_sorted)
        heads = np.flatnonzero(np.r_[True, a_sorted[1:] - furthest[:-1] > _GAP])
        ends = np.maximum.reduceat(b_sorted, heads)
        fd = os.open(files[f_index], os.O_RDONLY)
        try:
            bounds = [*heads.tolist(), len(rows)]
            for span, (head, stop) in enumerate(pairwise(bounds)):
                base = int(a_sorted[head])
                blob = os.pread(fd, int(ends[span]) - base, base)
                for row, a, b in zip(rows[head:stop].tolist(), (a_sorted[head:stop] - base).tolist(),
                                     (b_sorted[head:stop] - base).tolist()):
                    out[row] = blob[a:b]
        finally:
            os.close(fd)
    return out


def page(array: npt.NDArray[Any], path: Path) -> npt.NDArray[Any]:
    """``array`` written to ``path`` and mapped back read-only (see :meth:`Spill.finish`)."""
    np.save(path, array)
    return np.load(path, mmap_mode="r")
