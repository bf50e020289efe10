"""The permuted-table join of fingerprints: every pair within k bits, exactly, each once.

This is the batch mode of Manku, Jain and Das Sarma (WWW 2007): the 64 bits
are cut into ``b`` blocks; two fingerprints within ``k`` bits differ in at
most ``k`` blocks, so they agree exactly on at least ``b - k``. Each table
keys the fingerprints on one choice of ``b - k`` blocks, sorts them once, and
compares all pairs inside each run of equal keys. A pair is reported by the
first table that holds it, so each pair appears once.

Two joins: of one set with itself (:func:`find_duplicates`, the batch
dedup's), and of one set with another (:func:`find_duplicates_between`, a
dedup against a reference), where each run compares its rows of one set with
those of the other only.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import combinations, pairwise
from math import comb
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from . import _core
from ._validation import as_fingerprint_vector, check_k

MAX_K = _core.JOIN_MAX_K
ProgressFactory = Callable[..., Any]


class Pairs(NamedTuple):
    """Near-duplicate pairs: parallel arrays with ``i < j``."""

    i: npt.NDArray[np.int64]
    j: npt.NDArray[np.int64]
    distance: npt.NDArray[np.uint8]


def join_masks(k: int, n: int, record_cost: float = 0.0, n_left: int | None = None) -> npt.NDArray[np.uint64]:
    """Table keys (bit masks) for a join of ``n`` fingerprints at distance ``k``.

    Tries ``b`` = k+1 .. k+6 blocks and keeps the design with the lowest
    estimated cost: per table, packing the keys, a radix sort (a pass
    scatters memory and costs about three comparisons, measured) and the pair
    comparisons inside runs of equal keys (uniform fingerprints).
    ``record_cost`` adds a cost per fingerprint per table, in comparisons: on
    a cluster each table moves every fingerprint through a shuffle, which
    favours fewer tables with longer runs (:mod:`simdup.distributed.join`).
    ``n_left`` is for a join of the first ``n_left`` fingerprints with the
    rest (``_core.self_join``'s mode): a run then costs the product of its
    two parts, not all its pairs, which also favours fewer tables when one
    side is small. Any design finds the same pairs.
    """
    k = check_k(k, MAX_K)
    if k == 0:
        return np.array([2**64 - 1], dtype=np.uint64)
    blocks = _design(k, n, record_cost, n_left)[1]
    edges = [round(64 * b / blocks) for b in range(blocks + 1)]
    block_masks = [((1 << (hi - lo)) - 1) << lo for lo, hi in zip(edges, edges[1:])]
    masks = [sum(chosen) for chosen in combinations(block_masks, blocks - k)]
    return np.array(masks, dtype=np.uint64)


def join_cost(k: int, n: int, n_left: int | None = None) -> float:
    """The estimated cost of :func:`join_masks`' design for ``n`` fingerprints, in comparisons."""
    return _design(check_k(k, MAX_K), n, 0.0, n_left)[0] if k else float(n)


def _design(k: int, n: int, record_cost: float, n_left: int | None = None) -> tuple[float, int]:
    """The cheapest design's estimated cost and its number of blocks (see :func:`join_masks`)."""
    best: tuple[float, int] | None = None
    for blocks in range(k + 1, min(k + 7, 64) + 1):
        tables = comb(blocks, k)
        if tables > 2000:
            break
        key_bits = 64 * (blocks - k) // blocks
        if n_left is None:  # all pairs inside a run: n * (n / 2**key_bits) / 2, at least a scan
            pairs = n * max(n / 2.0**key_bits, 1.0) / 2
        else:  # left rows against right rows of each run only
            pairs = n_left * (n - n_left) / 2.0**key_bits
        cost = tables * (n * (1 + record_cost + 3 * -(-key_bits // _core.JOIN_RADIX_BITS)) + pairs)
        if best is None or cost < best[0]:
            best = (cost, blocks)
    assert best is not None
    return best


def find_duplicates(fingerprints: object, k: int = 3) -> Pairs:
    """Every pair of fingerprints within ``k`` bits, each pair once.

    Parameters
    ----------
    fingerprints : array-like of uint64, shape (n,)
    k : int, default=3
        Largest Hamming distance reported, 0 to 10.

    Returns
    -------
    Pairs
        ``(i, j, distance)`` arrays with ``i < j``, sorted by ``(i, j)``.
        Identical fingerprints are pairs too; a group of ``m`` identical
        fingerprints gives ``m * (m - 1) / 2`` pairs.
    """
    fps = as_fingerprint_vector(fingerprints)
    k = check_k(k, MAX_K)
    i, j, d = _core.self_join(fps, join_masks(k, len(fps)), k)
    order = np.lexsort((j, i))
    return Pairs(i[order], j[order], d[order])


def find_duplicates_between(left: object, right: object, k: int = 3, *, threads: int = 1) -> Pairs:
    """Every pair of a fingerprint of ``left`` and one of ``right`` within ``k`` bits, each pair once.

    Parameters
    ----------
    left, right : array-like of uint64
    k : int, default=3
        Largest Hamming distance reported, 0 to 10.
    threads : int, default=1
        Tables joined on this many threads at once (the core releases the GIL).

    Returns
    -------
    Pairs
        ``(i, j, distance)``: ``i`` indexes ``left``, ``j`` indexes ``right``;
        sorted by ``(i, j)``.

    Notes
    -----
    The two sets are joined as one, but each run of equal keys compares its
    fingerprints of ``left`` with those of ``right`` only: the cost is the
    tables' sorts of both sets plus, per run, the product of its two parts,
    never the pairs within ``right``. Against a large reference this is far
    cheaper than a query per fingerprint in an index when ``left`` is large.
    """
    a = as_fingerprint_vector(left, "left")
    b = as_fingerprint_vector(right, "right")
    k = check_k(k, MAX_K)
    i, j, d = threaded_join(np.concatenate([a, b]), k, None, threads, n_left=len(a))
    j = j - len(a)
    order = np.lexsort((j, i))
    return Pairs(i[order], j[order], d[order])


def threaded_join(unique: npt.NDArray[np.uint64], k: int, progress: ProgressFactory | None = None, threads: int = 1,
                  n_left: int = -1) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    """The self-join of distinct fingerprints, one table a call on ``threads`` threads (the core releases the GIL).

    A call for table ``t`` is given the masks up to ``t``, so a pair is still
    reported by its first table only, and the tables' pairs concatenated in
    table order are the one call's. Each thread sorts its own copy of the
    keys (32 bytes a fingerprint). With ``n_left``, only the pairs of a
    fingerprint before ``n_left`` and one from it on (``_core.self_join``).
    """
    masks = join_masks(k, len(unique), n_left=n_left if n_left >= 0 else None)
    if (progress is None and threads <= 1) or not len(unique):
        return _core.self_join(unique, masks, k, 0, n_left)
    # Runs of consecutive tables, a call each: a call allocates its sort arrays once for its run
    # (32 bytes a fingerprint), so `threads` calls at a time hold `threads` sets; a few runs a
    # thread keep a progress bar moving.
    runs = min(len(masks), 2 * max(1, threads)) if progress is not None else min(len(masks), max(1, threads))
    edges = [round(len(masks) * r / runs) for r in range(runs + 1)]
    bar = progress(total=len(masks), desc="joining", unit="table") if progress is not None else None
    parts = []
    try:
        with ThreadPoolExecutor(max(1, threads)) as pool:
            futures = [pool.submit(_core.self_join, unique, masks[:hi], k, lo, n_left) for lo, hi in pairwise(edges)]
            for future, (lo, hi) in zip(futures, pairwise(edges)):
                parts.append(future.result())
                if bar is not None:
                    bar.update(hi - lo)
    finally:
        if bar is not None:
            bar.close()
    return tuple(np.concatenate([p[x] for p in parts]) for x in range(3))  # type: ignore[return-value]


def group_identical(fps: npt.NDArray[np.uint64], docs: npt.NDArray[np.int64]
                    ) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64], npt.NDArray[np.int64],
                               npt.NDArray[np.int64]]:
    """Collapse identical fingerprints to their first (smallest-numbered) document.

    Returns ``(unique, first, star_i, star_j)``: the distinct fingerprints in
    ascending order, the first document of each, and a link from that first
    document (``star_i``) to every other document with its fingerprint
    (``star_j``). Links are a star, not all m*(m-1)/2 pairs of a group.
    """
    # A stable sort by fingerprint is the lexsort by (fingerprint, document) when documents ascend,
    # as they do from _links, at half the memory: this is the batch dedup's memory peak.
    order = np.argsort(fps, kind="stable") if _ascending(docs) else np.lexsort((docs, fps))
    fps, docs = fps[order], docs[order]
    del order
    head = np.empty(len(fps), dtype=bool)
    if len(fps):
        head[0] = True
        np.not_equal(fps[1:], fps[:-1], out=head[1:])
    first = docs[head]
    first_of_row = first[np.cumsum(head) - 1]
    tail = ~head
    return fps[head], first, first_of_row[tail], docs[tail]


def _ascending(values: npt.NDArray[np.int64]) -> bool:
    return bool(len(values) < 2 or (values[1:] > values[:-1]).all())
