"""Exact Hamming-distance index over 64-bit SimHash fingerprints.

:class:`SimHashIndex` answers "which stored fingerprints are within ``k``
bits of this one?" exactly, online (``add`` / ``query`` / ``remove`` /
``add_if_new``) and in bulk (``add_many`` / ``query_many`` on numpy arrays).
The engine is the compiled ``simdup._core.HammingIndex``; this module plans its
table design (:mod:`simdup.index.plan`), validates input, and saves and loads
it (:mod:`simdup.index._file`).

Threads
-------
Any number of threads may call ``query``, ``query_many``, ``__contains__``
and ``__len__`` while other threads write (``add``, ``add_many``,
``add_if_new``, ``remove``, ``save``). Writers are serialised. Every query
sees the index either before or after each single write: an ``add_many``
batch appears at once, never half. Queries run without the GIL, so they use
several cores. A query waits only while a writer swaps in a rebuilt segment
or touches the insert buffer (microseconds); rebuilding happens beside the
readers. ``query_many`` lets a waiting writer in every 1024 queries, so a
long batch can see writes made while it runs (each single query stays
consistent).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt

from simdup._core import HammingIndex
from simdup._validation import as_fingerprint_vector, check_int, check_k
from simdup.hasher import SPEC_VERSION
from simdup.index import _file
from simdup.index.plan import MAX_K, IndexPlan, make_plan, plan_index

__all__ = ["IndexPlan", "SimHashIndex", "plan_index"]

def _has_tokens(n_tokens: Any, n: int) -> npt.NDArray[np.bool_] | None:
    """Mask of the items with tokens, or None when all have (or no counts were given)."""
    if n_tokens is None:
        return None
    counts = np.asarray(n_tokens)
    if counts.dtype.kind not in "ui":
        raise TypeError(f"n_tokens must have an integer dtype, got {counts.dtype}")
    if counts.shape != (n,):
        raise ValueError(f"n_tokens has shape {counts.shape}, expected ({n},)")
    has = counts > 0
    return None if has.all() else has


class SimHashIndex(HammingIndex):
    """Exact index of 64-bit fingerprints under integer ids, searched by Hamming distance.

    Parameters
    ----------
    k : int, default 3
        Largest distance answered; 0 to 16. Every stored fingerprint within
        ``k`` bits of a query is returned, with its distance, and nothing else.
    expected_n : int, default 1_000_000
        Size to plan for. The index may grow past it and stays exact.
    memory_budget : int, optional
        Bytes allowed at ``expected_n`` (see :func:`simdup.index.plan.plan_index`).
    design : IndexPlan or sequence of tables, optional
        An explicit design (each table a sequence of ``(lo, width)`` key bit
        ranges) instead of the planner's choice. Checked to be exact for ``k``.

    Raises
    ------
    TypeError
        ``k`` or ``expected_n`` is not an int (Python or numpy; a bool is not).
    ValueError
        ``k`` outside ``[0, 16]``, a budget no design fits, or a design that
        is not exact for ``k``.

    Notes
    -----
    Ids are unique uint64 integers (map URLs to ids in your own layer, or use
    :class:`simdup.Deduper`); the same fingerprint may be stored under many ids.
    Querying an empty index is not an error: it returns no matches.

    Token-less documents (empty, punctuation, emoji or script only) have
    fingerprint 0 and no tokens, and are never near-duplicates (README). The
    index stores fingerprints, not documents, and 0 is a fingerprint like
    any other (an index of fingerprints made elsewhere may hold it
    legitimately), so it cannot tell such a document by its fingerprint:
    the token count has to come from the caller. Pass ``n_tokens`` (from
    ``SimHasher.transform(docs, return_n_tokens=True)``) to :meth:`add_many`
    and :meth:`query_many`, and token-less documents are neither stored nor
    matched; with the single-item methods, skip a document whose
    ``SimHasher.fingerprint(doc, return_n_tokens=True)`` gives 0 tokens
    (:class:`simdup.Deduper` does).

    Examples
    --------
    >>> index = SimHashIndex(k=3, expected_n=1000)
    >>> index.add(0b1011, id=1)
    >>> index.query(0b0011)
    [(1, 1)]
    """

    def __init__(self, k: int = 3, *, expected_n: int = 1_000_000,
                 memory_budget: int | None = None,
                 design: IndexPlan | Any | None = None) -> None:
        k = check_k(k, MAX_K)  # numpy integers welcome, bools not
        expected_n = check_int(expected_n, "expected_n", 0)
        if design is None:
            plan = plan_index(k, expected_n, memory_budget)
        elif isinstance(design, IndexPlan):
            if design.k != k:
                raise ValueError(f"design is for k={design.k}, index for k={k}")
            plan = make_plan(k, design.tables, expected_n)
        else:
            plan = make_plan(k, design, expected_n)
        self._configure(k, plan.core_spec())
        self._plan = plan
        self.fingerprint_spec_version = SPEC_VERSION

    @property
    def plan(self) -> IndexPlan:
        """The table design in use and its estimates (see :meth:`IndexPlan.describe`)."""
        return self._plan

    def __repr__(self) -> str:
        return f"SimHashIndex(k={self.k}, n={len(self)}, {self._plan.describe()})"

    def add_many(self, fingerprints: Any, ids: Any, *, n_tokens: Any = None) -> None:
        """Store many fingerprints at once (all or none).

        Parameters
        ----------
        fingerprints, ids : array-like of uint64
            Same length; ids unique and not stored yet.
        n_tokens : array-like of int, optional
            Token count of each document (``SimHasher.transform(...,
            return_n_tokens=True)``): items with 0 tokens are left out (not
            stored, so never matched), as token-less documents are never
            near-duplicates.

        Raises
        ------
        TypeError
            Non-integer dtype.
        ValueError
            Values outside uint64, lengths differ, or an id repeated or
            already stored (nothing is added then).
        """
        fps = as_fingerprint_vector(fingerprints, "fingerprints")
        keys = as_fingerprint_vector(ids, "ids")
        if fps.shape != keys.shape:
            raise ValueError(f"{fps.shape[0]} fingerprints but {keys.shape[0]} ids")
        has = _has_tokens(n_tokens, fps.shape[0])
        if has is not None:
            fps, keys = np.ascontiguousarray(fps[has]), np.ascontiguousarray(keys[has])
        self._add_many(fps, keys)

    def query_many(self, fingerprints: Any, *, n_threads: int = 1, n_tokens: Any = None) -> tuple[
            npt.NDArray[np.int64], npt.NDArray[np.uint64], npt.NDArray[np.uint8]]:
        """Query many fingerprints in one call (the GIL is released throughout).

        Parameters
        ----------
        fingerprints : array-like of uint64
        n_threads : int, default 1
            Split the batch over this many threads (each runs the compiled
            loop without the GIL).
        n_tokens : array-like of int, optional
            Token count of each query document: a query with 0 tokens
            matches nothing (token-less documents are never near-duplicates).

        Returns
        -------
        offsets : int64 array, shape (n + 1,)
            Matches of query ``i`` are ``ids[offsets[i]:offsets[i + 1]]``.
        ids : uint64 array
        distances : uint8 array
            Ordered by distance, then id, within each query.

        Raises
        ------
        TypeError, ValueError
            As :func:`simdup.as_fingerprints`, or ``n_threads < 1``.
        """
        fps = as_fingerprint_vector(fingerprints, "fingerprints")
        n_threads = check_int(n_threads, "n_threads", 1)
        has = _has_tokens(n_tokens, fps.shape[0])
        if has is not None:
            offsets, ids, dist = self.query_many(np.ascontiguousarray(fps[has]), n_threads=n_threads)
            counts = np.zeros(fps.shape[0], np.int64)
            counts[has] = np.diff(offsets)
            return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), ids, dist
        if n_threads == 1 or len(fps) < 2 * 1024:
            return self._query_many(fps)
        with ThreadPoolExecutor(n_threads) as pool:
            parts = list(pool.map(self._query_many, np.array_split(fps, n_threads)))
        starts = np.cumsum([0] + [len(p[1]) for p in parts[:-1]])
        offsets = np.concatenate([parts[0][0][:1]] + [p[0][1:] + s for p, s in zip(parts, starts)])
        return (offsets, np.concatenate([p[1] for p in parts]),
                np.concatenate([p[2] for p in parts]))

    # ----------------------------------------------------------- persistence

    def save(self, path: str | os.PathLike[str], *,
             fingerprint_spec_version: int | None = None) -> None:
        """Write the index to ``path`` atomically (temp file, fsync, rename).

        The file is versioned and checksummed (see :mod:`simdup.index._file`).
        Saving merges the index into one segment first (removed items dropped).

        Parameters
        ----------
        fingerprint_spec_version : int, optional
            Recorded in the header; default ``self.fingerprint_spec_version``.
        """
        spec = (self.fingerprint_spec_version if fingerprint_spec_version is None
                else int(fingerprint_spec_version))
        parts, bits = self._export()
        _file.write(path, parts, {
            "k": self.k,
            "tables": [[list(r) for r in t] for t in self._plan.tables],
            "design_name": self._plan.name,
            "dir_bits": bits,
            "fingerprint_spec_version": spec,
            "count": int(parts["fps"].shape[0]),
        })

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, mmap: bool = False,
             verify: bool | None = None,
             fingerprint_spec_version: int | None = SPEC_VERSION) -> SimHashIndex:
        """Open an index written by :meth:`save`.

        Parameters
        ----------
        mmap : bool, default False
            Map the arrays read-only instead of reading them: opening costs
            the header only, pages load as queries touch them. Adds and
            removes still work (new items live in memory).
        verify : bool, optional
            Check the checksum of every array (reads the whole file). Default:
            ``not mmap``. The header, its checksum, the format version, the
            file size (truncation) and each directory's ends are always
            checked. Unverified mapped data with flipped bits can give wrong
            answers but never a crash or an out-of-bounds read: queries
            bound-check every offset and row they follow.
        fingerprint_spec_version : int or None, default=SPEC_VERSION
            Require this fingerprint spec version: by default the one this
            simdup computes, so an index of fingerprints another version
            computed (which a query by document could not match) is refused.
            None accepts any (an index of fingerprints made elsewhere).

        Raises
        ------
        FileNotFoundError
            No such file.
        ValueError
            Not an index file, another format version, another fingerprint
            spec version than required, a truncated or corrupted file.
        """
        if verify is None:
            verify = not mmap
        header, parts = _file.read(path, mmap=mmap, verify=verify)
        if (fingerprint_spec_version is not None
                and header["fingerprint_spec_version"] != fingerprint_spec_version):
            raise ValueError(
                f"{os.fspath(path)}: index holds fingerprints of spec v{header['fingerprint_spec_version']}, "
                f"expected v{fingerprint_spec_version}: rebuild it from the documents with this simdup "
                "(or pass fingerprint_spec_version=None to load fingerprints made elsewhere)")
        k = header["k"]
        if not isinstance(k, int) or not 0 <= k <= MAX_K:
            raise ValueError(f"corrupted index header: k={k!r}")
        try:
            index = cls(k, expected_n=max(header["count"], 1), design=header["tables"])
        except (TypeError, ValueError) as e:
            raise ValueError(f"corrupted index header: {e}") from None
        index._plan = IndexPlan(k, index._plan.tables, header.get("design_name", "custom"),
                                max(header["count"], 1))
        index.fingerprint_spec_version = header["fingerprint_spec_version"]
        index._attach(parts, list(header["dir_bits"]))
        return index
