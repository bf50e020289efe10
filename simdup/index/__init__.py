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

Window
------
``SimHashIndex(window_size=N)`` keeps the N most recently added items,
``window_seconds=T`` the items added in the last T seconds of its ``clock``
(``time.time`` unless given), or both; the oldest are evicted first, as
part of the write (or, for a time window, the query) that makes them old.
A query never returns an evicted item. Eviction goes through the core's
``remove``: a tombstone now, the segment rebuilt once half of it is removed,
so each eviction costs amortised O(log n), never a rebuild per eviction.
The insertion order costs 16 bytes an item (:mod:`simdup.index._window`),
and is saved with the index.
"""

from __future__ import annotations

import operator
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt

from simdup._core import HammingIndex
from simdup._validation import as_fingerprint_vector, check_int, check_k
from simdup.hasher import SPEC_VERSION
from simdup.index import _file
from simdup.index._window import Clock, Window, check_clock, check_window
from simdup.index.plan import MAX_K, IndexPlan, make_plan, plan_index

__all__ = ["IndexPlan", "SimHashIndex", "plan_index"]

_NO_IDS: npt.NDArray[np.uint64] = np.empty(0, np.uint64)

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
    window_size : int, optional
        Keep at most this many items: each add beyond it evicts the oldest
        (first added) ones. None (default): no limit.
    window_seconds : float, optional
        Keep only the items added less than this many seconds ago by
        ``clock``: older ones are evicted before any add, query, ``len`` or
        ``in``. None (default): no limit. Both limits may be set.
    clock : callable returning float, optional
        The time of the window, in seconds; default :func:`time.time` (a
        wall clock, so the times saved with the index mean the same in the
        next process). A caller's clock may count anything that grows, e.g.
        pages fetched. Stored times never go backwards, even if the clock does.

    Raises
    ------
    TypeError
        ``k``, ``expected_n`` or ``window_size`` is not an int (Python or
        numpy; a bool is not), ``window_seconds`` not a number, ``clock``
        not callable.
    ValueError
        ``k`` outside ``[0, 16]``, a budget no design fits, a design that
        is not exact for ``k``, ``window_size < 1``, ``window_seconds`` not
        finite and positive.

    Notes
    -----
    Ids are unique uint64 integers (map URLs to ids in your own layer, or use
    :class:`simdup.Deduper`); the same fingerprint may be stored under many ids.
    Querying an empty index is not an error: it returns no matches.

    With a window, every operation sees only the items the window holds:
    each evicts what time made old before it runs (and an add, after it
    runs, the oldest items beyond ``window_size``), under the index's lock; :meth:`add_eviction_callback` tells the caller which
    ids went (to drop what it keeps about them). An id evicted or removed
    may be added again.

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
    >>> recent = SimHashIndex(k=3, window_size=2)
    >>> for i in range(3):
    ...     recent.add(0b1011 << (8 * i), id=i)
    >>> [i for i in range(3) if i in recent]    # the oldest, 0, was evicted
    [1, 2]
    """

    def __init__(self, k: int = 3, *, expected_n: int = 1_000_000,
                 memory_budget: int | None = None,
                 design: IndexPlan | Any | None = None,
                 window_size: int | None = None, window_seconds: float | None = None,
                 clock: Clock | None = None) -> None:
        k = check_k(k, MAX_K)  # numpy integers welcome, bools not
        expected_n = check_int(expected_n, "expected_n", 0)
        window_size, window_seconds = check_window(window_size, window_seconds)
        # One lock over every write and the window's bookkeeping of it (the
        # core serialises its own writes, but "store, then record the order,
        # then evict" must be one step). Reentrant: a Deduper shares it.
        self._lock = threading.RLock()
        self._clock = check_clock(clock)
        self._window: Window | None = None
        if window_size is not None or window_seconds is not None:
            self._window = Window(window_size, window_seconds, self._clock)
        self._evict_callbacks: list[Callable[[npt.NDArray[np.uint64]], None]] = []
        self._set_read_path()
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
        w = self._window
        window = "" if w is None else f", window_size={w.size}, window_seconds={w.seconds}"
        return f"SimHashIndex(k={self.k}, n={len(self)}{window}, {self._plan.describe()})"

    # ---------------------------------------------------------------- window

    @property
    def window_size(self) -> int | None:
        """Most items kept (None: no limit)."""
        return None if self._window is None else self._window.size

    @property
    def window_seconds(self) -> float | None:
        """Seconds an item is kept after it is added (None: no limit)."""
        return None if self._window is None else self._window.seconds

    @property
    def clock(self) -> Clock:
        """The window's clock."""
        return self._clock

    def set_window(self, size: int | None = None, seconds: float | None = None, *,
                   clock: Clock | None = None) -> npt.NDArray[np.uint64]:
        """Set (or, with both None, remove) the window; evict what it no longer holds.

        Items stored while there was no window (added before, or loaded from
        a file saved without one) enter the order as added now, in an
        arbitrary order among themselves. Removing the window keeps every item.

        Parameters
        ----------
        size, seconds : as ``window_size`` and ``window_seconds`` of the constructor
        clock : callable, optional
            A new clock (default: keep the current one).

        Returns
        -------
        uint64 array
            The ids evicted now, oldest first.

        Raises
        ------
        TypeError, ValueError
            As the constructor's for these arguments.
        """
        size, seconds = check_window(size, seconds)
        new_clock = None if clock is None else check_clock(clock)
        with self._lock:
            if new_clock is not None:
                self._clock = new_clock
            if size is None and seconds is None:
                self._window = None
                self._set_read_path()
                return _NO_IDS
            w = self._window
            if w is None:
                w = Window(size, seconds, self._clock)
                if HammingIndex.__len__(self):
                    w.push(self._export()[0]["ids"].copy(), w.now())
                self._window = w
            else:
                w.size, w.seconds, w.clock = size, seconds, self._clock
            self._set_read_path()
            return self._evict(w.pop_due(w.now()))

    def expire(self) -> npt.NDArray[np.uint64]:
        """Evict the items the time window no longer holds; their ids, oldest first.

        Adds, queries, ``len`` and ``in`` do this themselves; call it to
        release memory (and learn the evicted ids) while the index is idle.
        """
        with self._lock:
            w = self._window
            if w is None:
                return _NO_IDS
            return self._evict(w.pop_due(w.now()))

    def add_eviction_callback(self, callback: Callable[[npt.NDArray[np.uint64]], None]) -> None:
        """Call ``callback(ids)`` (uint64 array, oldest first) after each eviction.

        Called with the index's lock held, from whichever thread made the
        items old: keep it short, and do not write to the index from it.
        """
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {type(callback).__name__}")
        with self._lock:
            self._evict_callbacks.append(callback)

    def remove_eviction_callback(self, callback: Callable[[npt.NDArray[np.uint64]], None]) -> None:
        """Stop calling ``callback``; ValueError if it was not registered."""
        with self._lock:
            self._evict_callbacks.remove(callback)

    def _evict(self, ids: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
        """Remove ``ids`` (popped from the window) from the core and tell the callbacks; lock held."""
        if ids.shape[0] == 0:
            return ids
        remove = super().remove
        for i in ids.tolist():
            try:
                remove(i)
            except KeyError:
                # Only an unverified, damaged mapped file can list an id the
                # index lacks: the goal (the id is not stored) holds anyway.
                pass
        for callback in list(self._evict_callbacks):
            callback(ids)
        return ids

    def _expire_if_due(self) -> None:
        """Before a read: evict what the time window made old (the lock only when there is some)."""
        w = self._window
        if w is not None and w.seconds is not None and w.due(w.now()):
            self.expire()

    # ------------------------------------------------- writes and reads, windowed

    def add(self, fingerprint: int, id: int) -> None:
        """Store ``fingerprint`` under ``id``; with a window, evict what it no longer holds.

        Parameters
        ----------
        fingerprint : int
            In ``[0, 2**64)``.
        id : int
            In ``[0, 2**64)``, not already stored.

        Raises
        ------
        TypeError
            A non-integer argument.
        ValueError
            An argument outside ``[0, 2**64)``, or ``id`` already stored.
        """
        with self._lock:
            w = self._window
            if w is None:
                super().add(fingerprint, id)
                return
            now = w.now()
            self._evict(w.pop_due(now))  # first: an id whose time is up is free again
            super().add(fingerprint, id)
            w.push([operator.index(id)], now)
            self._evict(w.pop_due(now))

    def add_if_new(self, fingerprint: int, id: int) -> tuple[bool, list[tuple[int, int]]]:
        """Store ``fingerprint`` unless an item within ``k`` bits is stored, atomically: ``(added, matches)``.

        With a window, only the items it holds are compared: the ones time
        made old are evicted first; the add may then evict the oldest.

        Raises
        ------
        TypeError, ValueError
            As :meth:`add` (an id already stored raises even if a
            near-duplicate exists).
        """
        with self._lock:
            w = self._window
            if w is None:
                return super().add_if_new(fingerprint, id)
            now = w.now()
            self._evict(w.pop_due(now))
            added, hits = super().add_if_new(fingerprint, id)
            if added:
                w.push([operator.index(id)], now)
                self._evict(w.pop_due(now))
            return added, hits

    def remove(self, id: int) -> None:
        """Remove the item stored under ``id``; ``KeyError`` when it is not stored (or its time is up)."""
        with self._lock:
            w = self._window
            if w is None:
                super().remove(id)
                return
            self._evict(w.pop_due(w.now()))
            super().remove(id)
            w.removed(operator.index(id))

    def _timed_query(self, fingerprint: int) -> list[tuple[int, int]]:
        """``query`` of an index with a time window: evict what time made old first."""
        self._expire_if_due()
        return HammingIndex.query(self, fingerprint)

    def _set_read_path(self) -> None:
        """Route ``query`` through the time check only when a time window needs it.

        A Python override of ``query`` would cost every index about 1 us a
        call (half the compiled query's speed); an untimed index keeps the
        compiled method, a timed one gets an instance attribute that shadows it.
        """
        if self._window is not None and self._window.seconds is not None:
            self.__dict__["query"] = self._timed_query
        else:
            self.__dict__.pop("query", None)

    def __len__(self) -> int:
        if self._window is not None:
            self._expire_if_due()
        return HammingIndex.__len__(self)

    def __contains__(self, id: object) -> bool:
        if self._window is not None:
            self._expire_if_due()
        return HammingIndex.__contains__(self, id)

    @property
    def nbytes(self) -> int:
        """Bytes held by the index arrays (segments, directories, insert buffer, window order)."""
        return int(super().nbytes) + (0 if self._window is None else self._window.nbytes)

    def items(self) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
        """Every stored fingerprint and its id: two uint64 arrays (copies, in no particular order).

        For a batch against the whole index (:func:`simdup.join.find_duplicates_between`),
        which beats a query per fingerprint when the batch is large.
        """
        parts, _ = self._export()
        return parts["fps"].copy(), parts["ids"].copy()

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
        with self._lock:
            w = self._window
            if w is None:
                self._add_many(fps, keys)
                return
            now = w.now()
            self._evict(w.pop_due(now))
            self._add_many(fps, keys)  # all or nothing: raises before anything is stored
            w.push(keys, now)
            self._evict(w.pop_due(now))

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
        self._expire_if_due()
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
        A window is saved with its limits and each item's time added (not
        its clock: give that to :meth:`load`).

        Parameters
        ----------
        fingerprint_spec_version : int, optional
            Recorded in the header; default ``self.fingerprint_spec_version``.
        """
        spec = (self.fingerprint_spec_version if fingerprint_spec_version is None
                else int(fingerprint_spec_version))
        with self._lock:  # the window's order and the items it orders, from one moment
            w = self._window
            if w is not None:
                self._evict(w.pop_due(w.now()))
            parts, bits = self._export()
            meta: dict[str, Any] = {
                "k": self.k,
                "tables": [[list(r) for r in t] for t in self._plan.tables],
                "design_name": self._plan.name,
                "dir_bits": bits,
                "fingerprint_spec_version": spec,
                "count": int(parts["fps"].shape[0]),
            }
            if w is not None:
                parts = dict(parts)
                parts["win_ids"], parts["win_times"] = w.export()
                meta["window"] = {"size": w.size, "seconds": w.seconds, "last": w.last}
            _file.write(path, parts, meta)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, mmap: bool = False,
             verify: bool | None = None,
             fingerprint_spec_version: int | None = SPEC_VERSION,
             clock: Clock | None = None) -> SimHashIndex:
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
        clock : callable, optional
            The window's clock (default :func:`time.time`). The window's
            limits and the times its items were added come from the file;
            items whose time is up are evicted at the first operation.
            :meth:`set_window` changes the limits. The window's order is read
            into memory (16 bytes an item) even with ``mmap``.

        Raises
        ------
        FileNotFoundError
            No such file.
        ValueError
            Not an index file, another format version, another fingerprint
            spec version than required, a truncated or corrupted file.
        """
        clock = check_clock(clock)
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
        index._clock = clock
        if "window" in header:
            index._window = _load_window(path, header["window"], parts, clock, verify)
            index._set_read_path()
        return index


def _load_window(path: str | os.PathLike[str], spec: dict[str, Any], parts: dict[str, np.ndarray],
                 clock: Clock, verify: bool) -> Window:
    """The window saved in an index file (its header was checked by :mod:`simdup.index._file`)."""
    ids = np.array(parts["win_ids"], np.uint64)  # copies: the queue grows, a mapped file cannot
    times = np.array(parts["win_times"], np.float64)
    if times.size and not (np.isfinite(times).all() and (np.diff(times) >= 0).all()):
        raise ValueError(f"{os.fspath(path)}: corrupted index file: window times are not sorted finite numbers")
    # Every stored item exactly once: with unique stored ids and equal lengths,
    # equal sorted arrays. Reads the ids, so only when the arrays are verified.
    if verify and not np.array_equal(np.sort(ids), np.sort(np.asarray(parts["ids"]))):
        raise ValueError(f"{os.fspath(path)}: corrupted index file: the window lists other ids than the index")
    if times.size and spec["last"] is not None and times[-1] > spec["last"]:
        raise ValueError(f"{os.fspath(path)}: corrupted index file: a window time is after the latest time stored")
    return Window.from_arrays(spec["size"], spec["seconds"], clock, ids, times, spec["last"])
