"""Spill files: each document's bytes appended once to a temporary file, read back by document number.

The streaming dedup reads the corpus once; what later phases need of each
document (the prepared text to fingerprint, the text to shingle, the id for
the clusters file) goes to a spill file on disk, and only its offsets stay
in memory (8 bytes a document). A later phase reads back a range of
documents (fingerprinting) or a scattered set of them (verification) by
mapping the file only while it reads, so the pages it touched leave the
process's resident memory with the mapping.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt


def pack(items: Sequence[bytes]) -> tuple[bytes, npt.NDArray[np.int64]]:
    """Items joined into one blob, and their ``len(items) + 1`` offsets in it (from 0)."""
    lengths = np.fromiter((len(x) for x in items), dtype=np.int64, count=len(items))
    offsets = np.zeros(len(items) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return b"".join(items), offsets


def unpack(blob: bytes | memoryview, offsets: npt.NDArray[np.int64]) -> list[bytes]:
    """The items :func:`pack` joined (``offsets`` relative to ``blob``)."""
    bounds = offsets.tolist()
    return [bytes(blob[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


class SpillFile:
    """An append-only file of document blobs, and each document's offsets into it.

    Attributes
    ----------
    path : Path
    offsets : int64 array
        ``offsets[d]`` to ``offsets[d + 1]`` is document ``d``'s blob; fixed by :meth:`finish`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = open(path, "wb")  # noqa: SIM115 - closed by finish()
        self._parts: list[npt.NDArray[np.int64]] = [np.zeros(1, np.int64)]
        self._size = 0
        self.offsets = np.zeros(1, np.int64)

    def append(self, blob: bytes, offsets: npt.NDArray[np.int64]) -> None:
        """Append the documents :func:`pack` packed."""
        self._file.write(blob)
        self._parts.append(offsets[1:] + self._size)
        self._size += len(blob)

    def finish(self) -> None:
        """Flush the file and fix :attr:`offsets`; reads may start."""
        if not self._file.closed:
            self._file.close()
            self.offsets = np.concatenate(self._parts)
            self._parts = []

    @property
    def n_docs(self) -> int:
        return len(self.offsets) - 1

    def read_range(self, start: int, stop: int) -> list[bytes]:
        """Documents ``start`` to ``stop - 1``: one read of their bytes."""
        return read_range(self.path, self.offsets[start:stop + 1])

    def read_docs(self, docs: npt.NDArray[np.int64]) -> list[bytes]:
        """Documents ``docs`` (any order, repeats allowed), in that order."""
        return read_docs(self.path, self.offsets[docs], self.offsets[docs + 1])


def read_range(path: Path | str, offsets: npt.NDArray[np.int64]) -> list[bytes]:
    """The documents whose consecutive ``offsets`` (absolute, into ``path``) are given."""
    if len(offsets) < 2 or offsets[-1] == offsets[0]:
        return [b""] * max(len(offsets) - 1, 0)
    with open(path, "rb") as f:
        f.seek(int(offsets[0]))
        blob = f.read(int(offsets[-1] - offsets[0]))
    return unpack(blob, offsets - offsets[0])


def read_docs(path: Path | str, starts: npt.NDArray[np.int64], stops: npt.NDArray[np.int64]) -> list[bytes]:
    """The blobs ``[starts[x], stops[x])`` of ``path``, scattered: one mapping, closed before returning."""
    if not len(starts) or os.path.getsize(path) == 0:
        return [b""] * len(starts)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
        return [view[a:b] for a, b in zip(starts.tolist(), stops.tolist())]
