"""Dedup against a reference: which new documents match something already kept elsewhere.

Recurring batch dedup (a weekly crawl against everything published before)
compares each new document with a reference: a saved
:class:`~simdup.SimHashIndex` (fingerprints only) or a corpus (fingerprints
and text). Every reference fingerprint within ``k`` bits of a new document's
is a candidate (found by the join of the two sets, or for a few documents
against an index, by its queries); with the text available, candidates are verified like any
other link (shingle Jaccard), nearest first, until one passes. A new
document needs one match to be removed, so no more are checked.

Links among reference documents are not looked for: they cannot change which
new documents are removed (:func:`simdup.clustering.settle`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from .clustering import ReferenceMatches
from .index import SimHashIndex
from .join import Pairs, find_duplicates_between, join_cost

_TURN_PAIRS = 1 << 16  # a turn checking fewer candidates than this widens its window of ranks

JaccardFunction = Callable[[npt.NDArray[np.int64], npt.NDArray[np.int64]], npt.NDArray[np.float64]]


def candidates_between(fps: npt.NDArray[np.uint64], n_tokens: npt.NDArray[np.int64], ref_fps: npt.NDArray[np.uint64],
                       ref_tokens: npt.NDArray[np.int64], k: int, threads: int = 1
                       ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64], npt.NDArray[np.uint8]]:
    """Every (new document, reference position, distance) within ``k`` bits, as :func:`reference_candidates` orders
    them: the two sets joined (:func:`simdup.join.find_duplicates_between`), token-less documents left out."""
    has = np.flatnonzero(n_tokens > 0)
    ref_has = np.flatnonzero(ref_tokens > 0)
    return _ordered(has, ref_has.astype(np.uint64), find_duplicates_between(fps[has], ref_fps[ref_has], k,
                                                                           threads=threads))


def _ordered(docs: npt.NDArray[np.int64], keys: npt.NDArray[np.uint64], pairs: Pairs
             ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64], npt.NDArray[np.uint8]]:
    doc, key, dist = docs[pairs.i], keys[pairs.j], pairs.distance
    order = np.lexsort((key, dist, doc))
    return doc[order], key[order], dist[order]


def match_reference(fps: npt.NDArray[np.uint64], n_tokens: npt.NDArray[np.int64], index: SimHashIndex, k: int,
                    jaccard: JaccardFunction | None = None, threshold: float | None = None,
                    threads: int = 1) -> ReferenceMatches:
    """Each new document's match among the reference's fingerprints within ``k`` bits.

    Parameters
    ----------
    fps, n_tokens : arrays
        The new documents' fingerprints and token counts (token-less
        documents match nothing).
    index : SimHashIndex
        The reference. Its ``k`` must be at least ``k``.
    k : int
    jaccard : callable, optional
        ``jaccard(doc, key)``: Jaccard of new documents and reference
        documents (by index id); NaN for a reference document whose text is
        not available, which then matches by fingerprint alone. None:
        fingerprints alone decide.
    threshold : float, optional
        The Jaccard a match needs (with ``jaccard``).
    threads : int, default=1
        Query threads.

    Returns
    -------
    ReferenceMatches
        One match per new document matched: the nearest candidate (smallest
        distance, then smallest id) whose Jaccard passes, or without
        ``jaccard`` the nearest candidate.
    """
    return choose_matches(*reference_candidates(fps, n_tokens, index, k, threads), len(fps), jaccard, threshold)


def reference_candidates(fps: npt.NDArray[np.uint64], n_tokens: npt.NDArray[np.int64], index: SimHashIndex, k: int,
                         threads: int = 1, how: str = "auto") -> tuple[npt.NDArray[np.int64],
                                                                       npt.NDArray[np.uint64], npt.NDArray[np.uint8]]:
    """Every (new document, reference id, distance) within ``k`` bits, by document, nearest first, then by id.

    A few documents are queried in the index; many are joined with all its
    fingerprints (:func:`simdup.join.find_duplicates_between`), whichever
    costs less by the two designs' estimates: the index's tables suit a
    crawler's single lookups, and at ``k = 8`` a lookup in 10 million
    fingerprints scans about 660,000 of them (measured: 5.7 ms), where the
    join sorts both sets a few dozen times and compares only equal keys.
    ``how`` ("join" or "query") forces one; both give the same candidates.
    """
    if k > index.k:
        raise ValueError(f"the reference index answers queries within {index.k} bits; k={k} needs an index "
                         f"built with k >= {k}")
    has = np.flatnonzero(n_tokens > 0)
    plan = index.plan
    per_query = plan.expected_candidates * len(index) / max(plan.expected_n, 1)
    if how not in ("auto", "join", "query"):
        raise ValueError(f'how must be "auto", "join" or "query", got {how!r}')
    if how == "join" or (how == "auto" and len(has) * per_query > join_cost(k, len(has) + len(index), n_left=len(has))):
        ref_fps, ref_ids = index.items()
        return _ordered(has, ref_ids, find_duplicates_between(fps[has], ref_fps, k, threads=threads))
    offsets, ids, dist = index.query_many(fps, n_threads=threads, n_tokens=n_tokens)
    within = dist <= k  # (an index with a larger k answers farther)
    doc = np.repeat(np.arange(len(fps), dtype=np.int64), np.diff(offsets))[within]
    return doc, ids[within], dist[within]


def choose_matches(doc: npt.NDArray[np.int64], ids: npt.NDArray[np.uint64], dist: npt.NDArray[np.uint8], n: int,
                   jaccard: JaccardFunction | None = None, threshold: float | None = None) -> ReferenceMatches:
    """Each document's match among its candidates (:func:`reference_candidates`): see :func:`match_reference`."""
    if not len(doc):
        return ReferenceMatches(np.empty(0, np.int64), np.empty(0, ids.dtype), np.empty(0, np.uint8),
                                np.empty(0, np.float64))
    # Candidates come nearest first within each document (by distance, then id): its rank is its turn.
    first = np.r_[True, doc[1:] != doc[:-1]]
    start = np.flatnonzero(first)
    rank = np.arange(len(doc)) - start[np.cumsum(first) - 1]
    if jaccard is None:
        return ReferenceMatches(doc[first], ids[first], dist[first], np.full(int(first.sum()), np.nan))
    assert threshold is not None
    chosen = np.full(n, -1, np.int64)
    jac_of = np.full(len(doc), np.nan)
    by_rank = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[by_rank], np.arange(int(rank.max()) + 2))
    # Turns take a window of ranks, which doubles while a turn checks few pairs: a document with
    # hundreds of candidates that all fail would otherwise cost hundreds of turns of a few pairs
    # each. A window may check candidates past a document's match; the nearest that passes wins.
    low, width = 0, 1
    while low < len(bounds) - 1:
        high = min(low + width, len(bounds) - 1)
        rows = np.sort(by_rank[bounds[low]:bounds[high]])  # (by document, nearest first)
        rows = rows[chosen[doc[rows]] < 0]  # documents not matched in an earlier turn
        low = high
        if len(rows) < _TURN_PAIRS:
            width *= 2
        if not len(rows):
            continue
        jac = jaccard(doc[rows], ids[rows].astype(np.int64))  # (the ids of a corpus's index are positions)
        jac_of[rows] = jac
        ok = rows[(jac >= threshold) | np.isnan(jac)]  # NaN: no text to check, the fingerprint decides
        first_ok = ok[np.r_[True, doc[ok[1:]] != doc[ok[:-1]]]] if len(ok) else ok
        chosen[doc[first_ok]] = first_ok
    matched = np.flatnonzero(chosen >= 0)
    rows = chosen[matched]
    return ReferenceMatches(matched, ids[rows], dist[rows], jac_of[rows])
