"""The insertion order of a windowed :class:`simdup.SimHashIndex`: which stored ids to evict next.

A window keeps at most ``size`` items, or the items added in the last
``seconds`` (by the index's clock), or both; the oldest go first. This module
only keeps the order; the index removes what it is told to evict (the
compiled core marks a removed item with a tombstone and rebuilds a segment
once half of it is removed, so evictions cost amortised O(log n) each, never
a rebuild per eviction).

Layout: two parallel numpy arrays used as a queue, ``ids[head:tail]`` (uint64)
and ``times[head:tail]`` (float64, non-decreasing), 16 bytes per entry
(the arrays grow by doubling when full, so up to twice that). An
id removed by the caller before its turn stays in the queue as a *dead*
entry, counted in ``dead`` (id -> number of its dead entries), and is
skipped when it reaches the head. Why counting works: entries of one id are
in insertion order, only the latest can be live (an id is stored at most
once), so the ``c`` dead entries of an id are always its ``c`` oldest ones.
A dict of the live ids would cost about 100 bytes an item; the dead ones are
few (explicit removals of items still in the window).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from simdup._validation import check_int

Clock = Callable[[], float]

_EMPTY_IDS: npt.NDArray[np.uint64] = np.empty(0, np.uint64)


def check_window(size: object, seconds: object) -> tuple[int | None, float | None]:
    """``(size, seconds)`` checked: a size is an int >= 1, seconds a finite number > 0; None is no limit.

    Raises
    ------
    TypeError
        ``size`` not an int (or a bool), ``seconds`` not a number.
    ValueError
        Out of range: ``size < 1``, ``seconds <= 0``, infinite or NaN.
    """
    if size is not None:
        size = check_int(size, "window_size", 1)
    if seconds is not None:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float, np.integer, np.floating)):
            raise TypeError(f"window_seconds must be a number of seconds, got {type(seconds).__name__}")
        seconds = float(seconds)
        if not (math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"window_seconds must be a finite number > 0, got {seconds}")
    return size, seconds


def check_clock(clock: object) -> Clock:
    """``clock``, or :func:`time.time` for None; a TypeError unless callable."""
    if clock is None:
        return time.time
    if not callable(clock):
        raise TypeError(f"clock must be a callable returning seconds, got {type(clock).__name__}")
    return clock


class Window:
    """FIFO of (id, time added) for the items of one index; see the module docstring.

    Not thread-safe: the index calls it under its own lock.
    """

    def __init__(self, size: int | None, seconds: float | None, clock: Clock) -> None:
        self.size = size
        self.seconds = seconds
        self.clock = clock
        self._ids: npt.NDArray[np.uint64] = np.empty(16, np.uint64)
        self._times: npt.NDArray[np.float64] = np.empty(16, np.float64)
        self._head = 0
        self._tail = 0
        self._dead: dict[int, int] = {}
        self._n_dead = 0
        self._last = -math.inf  # latest time stored: times never go backwards (see now())
        # Time of the head entry (inf when empty). Readers compare the clock
        # with it without the lock: one float attribute, replaced whole.
        self.oldest = math.inf

    # ------------------------------------------------------------ state

    def __len__(self) -> int:
        """Live entries: the items of the index."""
        return self._tail - self._head - self._n_dead

    @property
    def nbytes(self) -> int:
        return int(self._ids.nbytes + self._times.nbytes)

    def now(self) -> float:
        """The clock, never earlier than a time already stored.

        A wall clock can step back (NTP, a restored VM); keeping the stored
        times sorted keeps eviction a prefix of the queue and an item's
        age never negative.
        """
        t = float(self.clock())
        if not math.isfinite(t):
            raise ValueError(f"the window's clock returned {t}, not a finite number of seconds")
        return max(t, self._last)

    def due(self, now: float) -> bool:
        """Whether time has made the head entry old (cheap; no lock needed)."""
        return self.seconds is not None and self.oldest <= now - self.seconds

    # ---------------------------------------------------------- updates

    def push(self, ids: npt.NDArray[np.uint64] | list[int], t: float) -> None:
        """Append ids (just stored, in this order) added at time ``t`` (from :meth:`now`)."""
        m = len(ids)
        if m == 0:
            return
        if self._tail + m > self._ids.shape[0]:
            # Reallocate at twice the live length: the next reallocation is
            # that many pushes away, so each entry is copied O(1) times.
            live = self._tail - self._head
            cap = max(16, 2 * (live + m))
            ids_new = np.empty(cap, np.uint64)
            times_new = np.empty(cap, np.float64)
            ids_new[:live] = self._ids[self._head:self._tail]
            times_new[:live] = self._times[self._head:self._tail]
            self._ids, self._times, self._head, self._tail = ids_new, times_new, 0, live
        if m == 1:  # the online case: a scalar store is several times cheaper than a slice
            self._ids[self._tail] = ids[0]
            self._times[self._tail] = t
        else:
            self._ids[self._tail:self._tail + m] = ids
            self._times[self._tail:self._tail + m] = t
        if self._head == self._tail:
            self.oldest = t
        self._tail += m
        self._last = t

    def removed(self, id: int) -> None:
        """The caller removed stored item ``id``: its latest entry is dead from now on."""
        self._dead[id] = self._dead.get(id, 0) + 1
        self._n_dead += 1

    def pop_due(self, now: float) -> npt.NDArray[np.uint64]:
        """Pop the entries the limits evict at time ``now``; the live ids among them, oldest first."""
        head, tail = self._head, self._tail
        over = 0 if self.size is None else tail - head - self._n_dead - self.size
        cut = -math.inf if self.seconds is None else now - self.seconds  # added at or before: old
        old = self.oldest <= cut
        if over <= 0 and not old:  # the common case, in a few attribute reads
            return _EMPTY_IDS
        end = head
        if old:
            end += int(self._times[head:tail].searchsorted(np.float64(cut), side="right"))
        if over > 0:
            end = max(end, self._prefix_with_live(over))
        chunk = self._ids[head:end]
        if self._n_dead:
            out = chunk[~self._dead_mask(head, end, commit=True)]
        else:
            out = chunk.copy()
        if end == tail:
            self._head = self._tail = 0
            self.oldest = math.inf
        else:
            self._head = end
            self.oldest = float(self._times[end])
        return out

    def _prefix_with_live(self, m: int) -> int:
        """End of the shortest prefix holding ``m`` live entries."""
        end = self._head + m
        if not self._n_dead:
            return end
        while True:  # each round adds the dead entries the longer prefix holds; few rounds
            want = self._head + m + int(self._dead_mask(self._head, end, commit=False).sum())
            if want == end:
                return end
            end = want

    def _dead_mask(self, lo: int, hi: int, *, commit: bool) -> npt.NDArray[np.bool_]:
        """Which entries of ``[lo, hi)`` are dead (counting from the head); ``commit`` forgets them."""
        chunk = self._ids[lo:hi]
        mask = np.zeros(hi - lo, bool)
        keys = np.fromiter(self._dead, np.uint64, len(self._dead))
        counts = dict(self._dead)
        for pos in np.flatnonzero(np.isin(chunk, keys)).tolist():
            key = int(chunk[pos])
            if counts.get(key, 0) > 0:  # this id's oldest entries are the dead ones
                counts[key] -= 1
                mask[pos] = True
        if commit:
            self._dead = {k: c for k, c in counts.items() if c}
            self._n_dead -= int(mask.sum())
        return mask

    # ------------------------------------------------------- persistence

    def export(self) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.float64]]:
        """The live entries, oldest first: ``(ids, times)`` (copies)."""
        ids = self._ids[self._head:self._tail]
        times = self._times[self._head:self._tail]
        if self._n_dead:
            live = ~self._dead_mask(self._head, self._tail, commit=False)
            return ids[live].copy(), times[live].copy()
        return ids.copy(), times.copy()

    @property
    def last(self) -> float | None:
        """The latest time stored (None before the first item): saved, so a loaded window keeps it."""
        return None if self._last == -math.inf else self._last

    @classmethod
    def from_arrays(cls, size: int | None, seconds: float | None, clock: Clock,
                    ids: npt.NDArray[np.uint64], times: npt.NDArray[np.float64],
                    last: float | None = None) -> Window:
        """A window holding ``ids`` added at ``times`` (oldest first, checked by the caller)."""
        w = cls(size, seconds, clock)
        if last is not None:
            w._last = float(last)
        n = int(ids.shape[0])
        if n:
            cap = max(16, 2 * n)
            w._ids = np.empty(cap, np.uint64)
            w._times = np.empty(cap, np.float64)
            w._ids[:n] = ids
            w._times[:n] = times
            w._tail = n
            w._last = max(w._last, float(times[-1]))
            w.oldest = float(times[0])
        return w
