"""Choosing ``k`` from a corpus: exact shingle Jaccard of pairs sampled at each Hamming distance.

How similar are two documents whose fingerprints differ in ``d`` bits? It
depends on the corpus (its lengths, its language, its boilerplate), so
:func:`calibrate` measures it on the corpus itself: for each distance ``d``
in ``0..max_distance`` (default 16) it counts the pairs of documents at that
distance, computes the exact shingle Jaccard of a uniform sample of them (the
shingles :func:`simdup.dedup`'s verification uses, so the figures are the ones
``verify`` checks), and :meth:`Calibration.suggest` picks the ``k`` that
meets a target precision or recall.

Counting pairs (:func:`sample_pairs`). Identical fingerprints are collapsed
first (a group of ``m`` documents is one fingerprint of multiplicity ``m``,
its ``m(m-1)/2`` pairs counted, never listed), and token-less documents are
left out, as :func:`simdup.dedup` leaves them out.

* Distances ``0..min(max_distance, MAX_K)``, every ``k`` ``dedup`` can use:
  counted **exactly**, by the self-join of :func:`simdup.batch.find_duplicates`
  at ``MAX_K`` over the distinct fingerprints (seconds on a million).
* Distances above ``MAX_K`` (11..16): a join there would list too many pairs,
  so ``queries`` documents drawn at random are looked up in a
  :class:`simdup.SimHashIndex` (``k = max_distance``) of every distinct
  fingerprint. Every pair with at least one queried document is found once; a
  pair is found with probability ``1 - (N-Q)(N-Q-1) / (N(N-1))`` (``N``
  documents, ``Q`` queried), and the count at each distance is the pairs
  found divided by that probability (exact when every document is queried).

Sampling pairs. At each distance up to ``sample`` pairs are drawn uniformly,
without replacement, from the pairs found there (all of them when there are
fewer), and only their documents are shingled.

Precision and recall (:meth:`Calibration.precision`, :meth:`Calibration.recall`)
are those of the fingerprints alone, *before* verification: at ``k``, the
precision is the share of the pairs within ``k`` bits whose Jaccard is at
least the target, each distance's sampled share weighted by its (exact or
estimated) count of pairs; the recall is the share of the pairs with Jaccard
at least the target that lie within ``k`` bits, **among the pairs within
``max_distance`` bits**: pairs farther apart are not seen, so the recall is an
upper bound. Both are about pairs, not about the clusters ``dedup`` forms.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ._atomic import atomic_output
from ._validation import as_fingerprint_vector, check_k, is_int
from .batch import (
    DEFAULT_SHINGLE_SIZE,
    MAX_K,
    DedupResult,
    JaccardFunction,
    Pairs,
    ProgressFactory,
    ShingleSize,
    _progress_iter,
    check_shingle_size,
    fingerprint_with_progress,
    shingle_jaccard,
)
from .hasher import SimHasher
from .index import SimHashIndex
from .join import threaded_join

__all__ = ["Calibration", "PairSample", "Suggestion", "calibrate", "calibrate_files", "calibrate_fingerprints",
           "plot", "sample_pairs"]

MAX_DISTANCE = 16
"""Largest distance measured (the largest :class:`simdup.SimHashIndex` answers)."""
DEFAULT_SAMPLE = 1000
"""Pairs per distance whose Jaccard is computed."""
DEFAULT_QUERIES = 10_000
"""Documents looked up for the distances above ``MAX_K`` (all of them in a smaller corpus)."""
DEFAULT_PRECISION = 0.99
DEFAULT_JACCARD = 0.8
_QUERY_CHUNK = 2048  # queries a call: keeps the progress bar moving


# -- counting and sampling pairs ----------------------------------------------------------------


@dataclass
class PairSample:
    """Pairs of documents per Hamming distance, counted and sampled (:func:`sample_pairs`).

    Attributes
    ----------
    documents : int
        Documents with tokens (the others are never near-duplicates and are left out).
    queried : int
        Documents looked up for the distances above ``exact_distance``.
    exact_distance : int
        Distances ``0..exact_distance`` are counted exactly.
    found : int64 array, shape (max_distance + 1,)
        Distinct pairs found at each distance.
    pairs : float64 array, shape (max_distance + 1,)
        Pairs in the corpus at each distance: ``found`` up to
        ``exact_distance``, then ``found`` divided by the chance that a pair
        has a queried document.
    i, j : int64 arrays
        The pairs sampled (``i < j``, document numbers in the input order).
    distance : uint8 array
        Their distance.
    """

    documents: int
    queried: int
    exact_distance: int
    found: npt.NDArray[np.int64]
    pairs: npt.NDArray[np.float64]
    i: npt.NDArray[np.int64]
    j: npt.NDArray[np.int64]
    distance: npt.NDArray[np.uint8]
    timings: dict[str, float] = field(default_factory=dict)


def sample_pairs(fingerprints: object, n_tokens: object = None, *, max_distance: int = MAX_DISTANCE,
                 sample: int = DEFAULT_SAMPLE, queries: int | None = DEFAULT_QUERIES, seed: int = 0,
                 threads: int = 1, progress: ProgressFactory | None = None) -> PairSample:
    """Count the pairs of fingerprints at each distance ``0..max_distance`` and sample up to ``sample`` of each.

    Parameters
    ----------
    fingerprints : array-like of uint64
    n_tokens : array-like of int, optional
        Tokens per document: documents with none are left out (as
        :func:`simdup.dedup` leaves them out). Default: all are kept.
    max_distance : int, default=16
        Largest distance, 0 to 16.
    sample : int, default=1000
        Pairs drawn per distance (all of them when there are fewer).
    queries : int or None, default=10000
        Documents looked up for the distances above ``MAX_K`` (None: all);
        distances up to ``MAX_K`` are always counted exactly.
    seed : int, default=0
    threads : int, default=1
        Threads of the join and the lookups.
    progress : callable, optional
        A tqdm-like factory, as for :func:`simdup.dedup`.

    Returns
    -------
    PairSample
    """
    fps = as_fingerprint_vector(fingerprints, "fingerprints")
    max_distance = check_k(max_distance, MAX_DISTANCE)
    sample = _check_count(sample, "sample", 1)
    queries = None if queries is None else _check_count(queries, "queries", 1)
    threads = _check_count(threads, "threads", 1)
    if n_tokens is None:
        cand = np.arange(len(fps), dtype=np.int64)
    else:
        tokens = np.asarray(n_tokens)
        if tokens.shape != fps.shape:
            raise ValueError(f"{len(fps)} fingerprints but {tokens.shape} token counts")
        cand = np.flatnonzero(tokens > 0).astype(np.int64)
    n = len(cand)
    exact = min(max_distance, MAX_K)
    rng = np.random.default_rng(seed)
    timings: dict[str, float] = {}
    found = np.zeros(max_distance + 1, np.int64)
    pairs = np.zeros(max_distance + 1, np.float64)
    picked: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], int]] = []
    n_queried = 0
    if n >= 2:
        start = time.perf_counter()
        uniq, inv, cnt = np.unique(fps[cand], return_inverse=True, return_counts=True)
        inv = inv.astype(np.int64)
        cnt = cnt.astype(np.int64)
        first = np.cumsum(cnt) - cnt  # each distinct fingerprint's block in a layout of the documents

        # Distances 0..exact: every pair, from the groups of identical fingerprints and the join.
        layout = np.argsort(inv, kind="stable")
        groups = np.flatnonzero(cnt > 1)
        m = cnt[groups]
        found[0] = int((m * (m - 1) // 2).sum())
        picked.append((*_draw_triangles(first[groups], m, sample, rng, layout), 0))
        if exact > 0:
            ui, uj, ud = threaded_join(uniq, exact, progress, threads)
            ui, uj = ui.astype(np.int64), uj.astype(np.int64)
            for d in range(1, exact + 1):
                at = ud == d
                a, b = ui[at], uj[at]
                found[d] = int((cnt[a] * cnt[b]).sum())
                picked.append((*_draw_rectangles(first[a], cnt[a], first[b], cnt[b], sample, rng, layout), d))
        pairs[:exact + 1] = found[:exact + 1]
        timings["join"] = time.perf_counter() - start

        if max_distance > exact:
            start = time.perf_counter()
            n_queried = n if queries is None else min(queries, n)
            in_s = np.zeros(n, dtype=bool)
            in_s[rng.choice(n, n_queried, replace=False) if n_queried < n else slice(None)] = True
            # Within each fingerprint's block: documents not queried first, then the queried ones.
            layout = np.lexsort((np.arange(n), in_s, inv))
            # (int32: group sizes, indexed by ~10^7 matches below)
            cnt_s = np.bincount(inv[in_s], minlength=len(uniq)).astype(np.int32)
            cnt_not = (cnt - cnt_s).astype(np.int32)
            matches = _lookup(uniq, np.flatnonzero(cnt_s), max_distance, exact, threads, progress)
            chance = 1.0 - (n - n_queried) * (n - n_queried - 1) / (n * (n - 1))
            for d in range(exact + 1, max_distance + 1):
                u, v = matches.pop(d)
                # A pair (queried a, other b) is counted from a's side unless b is queried too, then only
                # from the side of the smaller fingerprint: each pair with a queried document once.
                a_size = cnt_s[u]
                b_size = cnt_not[v]
                b_size += np.where(u < v, cnt_s[v], 0).astype(np.int32)
                weight = a_size.astype(np.int64) * b_size
                found[d] = int(weight.sum())
                pairs[d] = found[d] / chance
                entry, rank = _draws(weight, sample, rng)
                del weight
                x, y = np.divmod(rank, b_size[entry])
                ue, ve = u[entry].astype(np.int64), v[entry].astype(np.int64)
                picked.append((layout[first[ue] + cnt_not[ue] + x], layout[first[ve] + y], d))
                del u, v, a_size, b_size
            timings["query"] = time.perf_counter() - start
    i = np.concatenate([p[0] for p in picked]) if picked else np.empty(0, np.int64)
    j = np.concatenate([p[1] for p in picked]) if picked else np.empty(0, np.int64)
    d_all = np.concatenate([np.full(len(p[0]), p[2], np.uint8) for p in picked]) if picked else np.empty(0, np.uint8)
    i, j = cand[i], cand[j]
    if n_queried == n:  # every document looked up: the larger distances are exact too
        exact = max_distance
    return PairSample(n, n_queried, exact, found, pairs, np.minimum(i, j), np.maximum(i, j), d_all, timings)


def _check_count(value: object, name: str, low: int) -> int:
    if not is_int(value) or int(value) < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def _lookup(uniq: npt.NDArray[np.uint64], queried: npt.NDArray[np.int64], max_distance: int, beyond: int,
            threads: int, progress: ProgressFactory | None
            ) -> dict[int, tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]]:
    """Every (query, match) with ``beyond < distance <= max_distance``, by distinct fingerprint number, per distance."""
    index = SimHashIndex(max_distance, expected_n=max(len(uniq), 1))
    index.add_many(uniq, np.arange(len(uniq), dtype=np.uint64))
    found: dict[int, tuple[list[npt.NDArray[np.int32]], list[npt.NDArray[np.int32]]]] = {
        d: ([], []) for d in range(beyond + 1, max_distance + 1)}
    bar = progress(total=len(queried), desc="looking up", unit="doc") if progress is not None else None
    try:
        for s in range(0, len(queried), _QUERY_CHUNK):
            q = queried[s:s + _QUERY_CHUNK]
            offsets, ids, dist = index.query_many(uniq[q], n_threads=threads)
            query = np.repeat(q.astype(np.int32), np.diff(offsets))
            # Compact (8 bytes a match), bucketed by distance: a million documents' 10,000 lookups find
            # ~10^7 matches within 16 bits.
            for d, (us, vs) in found.items():
                at = dist == d
                us.append(query[at])
                vs.append(ids[at].astype(np.int32))
            if bar is not None:
                bar.update(len(q))
    finally:
        if bar is not None:
            bar.close()
    out = {}
    for d in list(found):
        us, vs = found.pop(d)
        out[d] = (np.concatenate(us) if us else np.empty(0, np.int32), np.concatenate(vs) if vs else np.empty(0, np.int32))
    return out


def _draws(weight: npt.NDArray[np.int64], sample: int, rng: np.random.Generator
           ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Up to ``sample`` distinct items of the population where entry ``e`` holds ``weight[e]`` items.

    Returns each draw's entry and its rank inside the entry: all items when
    there are at most ``sample``, else a uniform sample without replacement.
    """
    cum = np.cumsum(weight, out=weight)  # in place: the weights may number 10^7 (the caller's to lose)
    total = int(cum[-1]) if len(cum) else 0
    if total <= sample:
        t = np.arange(total, dtype=np.int64)
    else:
        t = np.sort(rng.choice(total, sample, replace=False)).astype(np.int64)
    entry = np.searchsorted(cum, t, side="right")
    return entry, t - np.where(entry > 0, cum[entry - 1], 0)


def _draw_rectangles(a_first: npt.NDArray[np.int64], a_size: npt.NDArray[np.int64], b_first: npt.NDArray[np.int64],
                     b_size: npt.NDArray[np.int64], sample: int, rng: np.random.Generator,
                     layout: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Pairs drawn from entries of ``a_size * b_size`` pairs: ``layout[a_first + x]`` with ``layout[b_first + y]``."""
    entry, rank = _draws(a_size.astype(np.int64) * b_size, sample, rng)
    x, y = np.divmod(rank, b_size[entry])
    return layout[a_first[entry] + x], layout[b_first[entry] + y]


def _draw_triangles(first: npt.NDArray[np.int64], size: npt.NDArray[np.int64], sample: int, rng: np.random.Generator,
                    layout: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Pairs drawn from groups: each group of ``size`` documents ``layout[first:first + size]`` has size*(size-1)/2."""
    entry, rank = _draws(size * (size - 1) // 2, sample, rng)
    s = size[entry]
    # Pair number `rank` among (x, y), x < y, in order: row x starts at x*s - x*(x+1)/2.
    x = np.floor(((2 * s - 1) - np.sqrt(np.maximum((2 * s - 1) ** 2 - 8 * rank, 0).astype(np.float64))) / 2)
    x = x.astype(np.int64)

    def row_start(r: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return r * s - r * (r + 1) // 2

    # Float rounding can be one row off either way: fix it with integer arithmetic.
    x = np.where(row_start(x) > rank, x - 1, x)
    x = np.where(row_start(x + 1) <= rank, x + 1, x)
    y = rank - row_start(x) + x + 1
    return layout[first[entry] + x], layout[first[entry] + y]


# -- the calibration: shares, precision, recall, suggestion ----------------------------------


@dataclass(frozen=True)
class Suggestion:
    """The ``k`` and verification threshold :meth:`Calibration.suggest` recommends.

    Attributes
    ----------
    k : int
        Largest Hamming distance of candidate pairs (``dedup -k``), 0 to ``MAX_K``.
    verify : float
        Verification threshold (``dedup --verify``): the target Jaccard.
        Verification keeps exactly the candidates whose shingle Jaccard
        reaches it, so after it every pair kept is at or above the target
        (precision 1 on these shingles) and the recall is the fingerprints'
        recall at ``k``; a lower threshold would keep pairs below the
        target, a higher one drop pairs above it.
    precision, recall : float or None
        Estimated precision and recall of the fingerprints alone at ``k``
        (before verification; see :class:`Calibration`). None when undefined
        (no pair within ``k``; no pair at the target Jaccard seen).
    target : {"precision", "recall"}
    value : float
        The target asked for.
    jaccard : float
        The Jaccard that makes a pair a near-duplicate.
    met : bool
        Whether ``k`` meets the target. When none does: for precision, the
        ``k`` of the highest precision; for recall, ``MAX_K``.
    """

    k: int
    verify: float
    precision: float | None
    recall: float | None
    target: str
    value: float
    jaccard: float
    met: bool


@dataclass
class Calibration:
    """Pairs per Hamming distance and their sampled shingle Jaccard (:func:`calibrate`).

    Attributes
    ----------
    documents : int
        Documents with tokens.
    queried : int
        Documents looked up for the distances above ``exact_distance``.
    exact_distance : int
        Distances ``0..exact_distance`` are counted exactly; those above are estimated.
    pairs : float64 array, shape (max_distance + 1,)
        Pairs in the corpus at each distance (estimated above ``exact_distance``).
    found : int64 array
        Pairs found at each distance.
    jaccard : list of float64 arrays
        The sampled pairs' Jaccard, per distance.
    timings : dict
        Seconds per phase.

    Notes
    -----
    At ``k``, the precision is ``sum_{d<=k} pairs[d] * share_d /
    sum_{d<=k} pairs[d]``, with ``share_d`` the share of the sampled pairs at
    distance ``d`` whose Jaccard is at least the target: the precision of
    the fingerprints alone, before verification. The recall is
    ``sum_{d<=k} pairs[d] * share_d / sum_{d<=max_distance} pairs[d] * share_d``:
    pairs more than ``max_distance`` bits apart are not seen, so it is the
    recall among the pairs within ``max_distance`` bits.
    """

    documents: int
    queried: int
    exact_distance: int
    pairs: npt.NDArray[np.float64]
    found: npt.NDArray[np.int64]
    jaccard: list[npt.NDArray[np.float64]]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def max_distance(self) -> int:
        return len(self.pairs) - 1

    @property
    def sampled(self) -> npt.NDArray[np.int64]:
        """Pairs whose Jaccard was computed, per distance."""
        return np.array([len(x) for x in self.jaccard], dtype=np.int64)

    def share(self, jaccard: float = DEFAULT_JACCARD) -> npt.NDArray[np.float64]:
        """Share of the sampled pairs at each distance with Jaccard >= ``jaccard`` (NaN: none sampled)."""
        jaccard = _check_fraction(jaccard, "jaccard", closed=True)
        return np.array([float(np.mean(x >= jaccard)) if len(x) else math.nan for x in self.jaccard])

    def median(self) -> npt.NDArray[np.float64]:
        """Median Jaccard of the sampled pairs at each distance (NaN: none sampled)."""
        return np.array([float(np.median(x)) if len(x) else math.nan for x in self.jaccard])

    def _positives(self, jaccard: float) -> npt.NDArray[np.float64]:
        return np.where(self.pairs > 0, self.pairs * np.nan_to_num(self.share(jaccard)), 0.0)

    def precision(self, jaccard: float = DEFAULT_JACCARD) -> npt.NDArray[np.float64]:
        """Estimated precision of the pairs within ``k`` bits, for each ``k`` (NaN: no pair within ``k``)."""
        pos, pairs = np.cumsum(self._positives(jaccard)), np.cumsum(self.pairs)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(pairs > 0, pos / pairs, math.nan)

    def recall(self, jaccard: float = DEFAULT_JACCARD) -> npt.NDArray[np.float64]:
        """Estimated recall within ``k`` bits among the pairs within ``max_distance``, for each ``k`` (NaN: none)."""
        pos = np.cumsum(self._positives(jaccard))
        total = pos[-1]
        return pos / total if total > 0 else np.full(len(pos), math.nan)

    def suggest(self, precision: float | None = None, recall: float | None = None,
                jaccard: float = DEFAULT_JACCARD) -> Suggestion:
        """The ``k`` (0..``MAX_K``) and verification threshold for a target precision or recall.

        Parameters
        ----------
        precision : float, optional
            Target precision of the fingerprints alone, in (0, 1]: the
            largest ``k`` whose estimated precision reaches it (a larger
            ``k`` finds more). Default 0.99 when ``recall`` is not given.
        recall : float, optional
            Target recall, in (0, 1]: the smallest ``k`` whose estimated
            recall (among the pairs within ``max_distance``) reaches it.
        jaccard : float, default=0.8
            A pair is a near-duplicate when its shingle Jaccard is at least this.

        Returns
        -------
        Suggestion

        Raises
        ------
        ValueError
            Both targets given, or a value out of range.
        """
        if precision is not None and recall is not None:
            raise ValueError("give a target precision or a target recall, not both")
        jaccard = _check_fraction(jaccard, "jaccard", closed=True)
        if recall is None:
            target, value = "precision", _check_fraction(DEFAULT_PRECISION if precision is None else precision,
                                                         "precision")
        else:
            target, value = "recall", _check_fraction(recall, "recall")
        top = min(MAX_K, self.max_distance)
        p = self.precision(jaccard)[:top + 1]
        r = self.recall(jaccard)[:top + 1]
        if target == "precision":
            # No pair within k: nothing wrong can be found (precision is vacuous).
            ok = np.flatnonzero(np.isnan(p) | (p >= value))
            met = bool(len(ok))
            k = int(ok[-1]) if met else int(np.nanargmax(p))
        else:
            ok = np.flatnonzero(np.isnan(r) | (r >= value))  # no near-duplicate seen: nothing to miss
            met = bool(len(ok))
            k = int(ok[0]) if met else top
        return Suggestion(k, jaccard, _number(p[k]), _number(r[k]), target, value, jaccard, met)

    def table(self, jaccard: float = DEFAULT_JACCARD) -> list[dict[str, Any]]:
        """One row per distance: pairs, sampled, shares >= 0.8 and 0.9 (and ``jaccard``), median, P and R at k."""
        shares = {t: self.share(t) for t in sorted({0.8, 0.9, jaccard})}
        median, p, r = self.median(), self.precision(jaccard), self.recall(jaccard)
        rows = []
        for d in range(self.max_distance + 1):
            row: dict[str, Any] = {"distance": d, "pairs": _count(self.pairs[d]), "estimated": d > self.exact_distance,
                                   "sampled": len(self.jaccard[d])}
            row.update({f"share_{t:g}": _number(s[d]) for t, s in shares.items()})
            row.update({"median_jaccard": _number(median[d]), "precision_at_k": _number(p[d]),
                        "recall_at_k": _number(r[d])})
            rows.append(row)
        return rows

    def to_dict(self, jaccard: float = DEFAULT_JACCARD) -> dict[str, Any]:
        """A JSON-able summary: counts, the table, timings."""
        return {"documents": self.documents, "queried": self.queried, "exact_distance": self.exact_distance,
                "max_distance": self.max_distance, "jaccard": jaccard, "table": self.table(jaccard),
                "timings": {k: round(v, 4) for k, v in self.timings.items()}}


def _number(x: float) -> float | None:
    return None if math.isnan(float(x)) else float(x)


def _count(x: float) -> int:
    return round(float(x))


def _check_fraction(value: object, name: str, closed: bool = False) -> float:
    """A float in (0, 1] (``closed``: [0, 1]), else ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ValueError(f"{name} must be a number in {'[0, 1]' if closed else '(0, 1]'}, got {value!r}")
    x = float(value)
    if not (0.0 <= x <= 1.0 if closed else 0.0 < x <= 1.0):
        raise ValueError(f"{name} must be in {'[0, 1]' if closed else '(0, 1]'}, got {value!r}")
    return x


# -- entry points ------------------------------------------------------------------------------


def calibrate_fingerprints(fingerprints: object, jaccard: JaccardFunction, n_tokens: object = None, *,
                           max_distance: int = MAX_DISTANCE, sample: int = DEFAULT_SAMPLE,
                           queries: int | None = DEFAULT_QUERIES, seed: int = 0, threads: int = 1,
                           progress: ProgressFactory | None = None) -> Calibration:
    """:func:`calibrate` on fingerprints already made, with ``jaccard(i, j)`` giving the Jaccard of document pairs.

    ``jaccard`` is called once, on every pair sampled (each document can
    then be shingled once). The other parameters are :func:`sample_pairs`'s.
    """
    drawn = sample_pairs(fingerprints, n_tokens, max_distance=max_distance, sample=sample, queries=queries,
                         seed=seed, threads=threads, progress=progress)
    start = time.perf_counter()
    jac = np.asarray(jaccard(drawn.i, drawn.j), dtype=np.float64) if len(drawn.i) else np.empty(0, np.float64)
    timings = {**drawn.timings, "jaccard": time.perf_counter() - start}
    per_distance = [jac[drawn.distance == d] for d in range(len(drawn.pairs))]
    return Calibration(drawn.documents, drawn.queried, drawn.exact_distance, drawn.pairs, drawn.found,
                       per_distance, timings)


def calibrate(docs: Iterable[str | bytes], *, hasher: SimHasher | None = None, sample: int = DEFAULT_SAMPLE,
              queries: int | None = DEFAULT_QUERIES, max_distance: int = MAX_DISTANCE,
              shingle_size: ShingleSize = DEFAULT_SHINGLE_SIZE, seed: int = 0,
              progress: ProgressFactory | None = None) -> Calibration:
    """Pairs per Hamming distance ``0..max_distance`` in ``docs``, and the shingle Jaccard of a sample of each.

    Parameters
    ----------
    docs : iterable of str or bytes
    hasher : SimHasher, optional
        Fitted on ``docs`` first unless already fitted, exactly as
        :func:`simdup.dedup` does, so the distances are the ones ``dedup``
        sees. Default: a ``SimHasher()`` fitted on ``docs``.
    sample : int, default=1000
        Pairs per distance whose exact Jaccard is computed.
    queries : int or None, default=10000
        Documents looked up for the distances above ``MAX_K`` (None: all).
    max_distance : int, default=16
    shingle_size : int or (int, int), default=(3, 5)
        Verification shingles, as for :func:`simdup.dedup`.
    seed : int, default=0
    progress : callable, optional
        A tqdm-like factory, as for :func:`simdup.dedup`.

    Returns
    -------
    Calibration
        See the module's documentation for how pairs are counted and what
        :meth:`Calibration.suggest`'s precision and recall mean.

    Raises
    ------
    TypeError
        ``docs`` is one document (a ``str`` or ``bytes``).
    ValueError
        A parameter out of range.
    """
    if isinstance(docs, (str, bytes, bytearray, memoryview)):
        raise TypeError(f"docs must be an iterable of documents, got a single document "
                        f"({type(docs).__name__}); wrap it in a list")
    check_shingle_size(shingle_size)
    check_k(max_distance, MAX_DISTANCE)
    _check_count(sample, "sample", 1)
    docs = docs if isinstance(docs, list) else list(docs)
    hasher = SimHasher() if hasher is None else hasher
    start = time.perf_counter()
    if not docs:
        fps, n_tokens = np.empty(0, np.uint64), np.empty(0, np.int64)
    elif not hasher.__sklearn_is_fitted__():
        prepared = hasher._prepare(_progress_iter(docs, progress, "tokenizing"))  # as simdup.dedup: tokenize once
        hasher._fit_prepared(prepared)
        fps, n_tokens = hasher._transform_prepared(prepared)
        del prepared
    else:
        fps, n_tokens = fingerprint_with_progress(hasher, docs, progress)
    seconds = time.perf_counter() - start
    result = calibrate_fingerprints(fps, lambda i, j: shingle_jaccard(hasher, docs, i, j, shingle_size), n_tokens,
                                    max_distance=max_distance, sample=sample, queries=queries, seed=seed,
                                    progress=progress)
    result.timings = {"fingerprint": seconds, **result.timings}
    return result


def calibrate_files(paths: Sequence[str | os.PathLike[str]], *, hasher: SimHasher | None = None,
                    sample: int = DEFAULT_SAMPLE, queries: int | None = DEFAULT_QUERIES,
                    max_distance: int = MAX_DISTANCE, shingle_size: ShingleSize = DEFAULT_SHINGLE_SIZE, seed: int = 0,
                    jobs: int | None = None, memory_limit: int | None = None,
                    tmp_dir: str | os.PathLike[str] | None = None, text_field: str = "text",
                    id_field: str | None = "id", skip_bad: bool = False,
                    progress: ProgressFactory | None = None) -> tuple[Calibration, dict[str, Any]]:
    """:func:`calibrate` of corpus files, read and fingerprinted as ``simdup dedup`` streams them.

    The files are read, fitted and fingerprinted by
    :class:`simdup.stream.FileDedup` (worker processes, texts spilled to
    ``tmp_dir``, only fingerprints in memory); the sampled pairs' documents
    are then shingled from the spill. Parameters as for :func:`calibrate`
    and :class:`~simdup.stream.FileDedup`.

    Returns
    -------
    (Calibration, dict)
        The calibration (its timings include the read's phases) and
        ``{"documents": all documents read, "skipped": records skipped,
        "peak_rss": bytes}``.
    """
    from .stream import FileDedup  # the streaming machinery: worker pools, spill files

    check_k(max_distance, MAX_DISTANCE)
    _check_count(sample, "sample", 1)
    if queries is not None:
        _check_count(queries, "queries", 1)

    class _Run(FileDedup):
        # The read, fit and fingerprint phases of FileDedup, then calibration instead of the join.
        calibration: Calibration | None = None

        def _dedup(self, pool: Any, fps: npt.NDArray[np.uint64], n_tokens: npt.NDArray[np.int64],
                   lengths: Any) -> DedupResult:
            self.calibration = calibrate_fingerprints(
                fps, lambda i, j: self._jaccard(pool, i, j), n_tokens, max_distance=max_distance, sample=sample,
                queries=queries, seed=seed, threads=self.jobs, progress=self.progress)
            n = len(fps)
            labels = np.arange(n, dtype=np.int64)
            empty = np.empty(0, np.int64)
            return DedupResult(fps, n_tokens, labels, labels, np.ones(n, bool), np.zeros(n, np.int32),
                               Pairs(empty, empty, np.empty(0, np.uint8)))

    run = _Run(paths, 0, hasher=hasher, verify=None, shingle_size=shingle_size, jobs=jobs, memory_limit=memory_limit,
               tmp_dir=tmp_dir, text_field=text_field, id_field=id_field, skip_bad=skip_bad,
               progress=progress)
    with run:
        result = run.run()
        calibration = run.calibration
        if calibration is None:  # no documents: nothing was calibrated
            calibration = calibrate_fingerprints(np.empty(0, np.uint64), lambda i, j: np.empty(0),
                                                 max_distance=max_distance, sample=sample, queries=queries)
        calibration.timings = {**run.timings, **calibration.timings}
        info = {"documents": len(result.fingerprints), "skipped": run.skipped, "peak_rss": run.peak_rss,
                "peak_rss_workers": run.peak_rss_workers, "jobs": run.jobs}
    return calibration, info


# -- the plot ----------------------------------------------------------------------------------


def plot(calibration: Calibration, path: str | os.PathLike[str], *, jaccard: float = DEFAULT_JACCARD,
         title: str | None = None) -> None:
    """Write a PNG of the sampled Jaccard against the Hamming distance (a box and points per distance).

    Needs matplotlib (``pip install 'simdup[plot]'``); written atomically.

    Raises
    ------
    ImportError
        matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("--plot needs matplotlib: pip install 'simdup[plot]'") from None
    d_max = calibration.max_distance
    rng = np.random.default_rng(0)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ds = [d for d in range(d_max + 1) if len(calibration.jaccard[d])]
    if ds:
        ax.boxplot([calibration.jaccard[d] for d in ds], positions=ds, widths=0.6, showfliers=False,
                   medianprops={"color": "black"})
        for d in ds:
            y = calibration.jaccard[d]
            ax.scatter(d + rng.uniform(-0.25, 0.25, len(y)), y, s=4, alpha=0.4, color="tab:blue", linewidths=0)
    for t, style in ((0.8, "--"), (0.9, ":")):
        ax.axhline(t, color="tab:red", linestyle=style, linewidth=1, label=f"Jaccard {t}")
    if jaccard not in (0.8, 0.9):
        ax.axhline(jaccard, color="tab:green", linestyle="-.", linewidth=1, label=f"Jaccard {jaccard:g}")
    ax.set_xticks(range(d_max + 1), [str(d) for d in range(d_max + 1)])  # (boxplot labelled only its boxes)
    ax.set_xlim(-0.7, d_max + 0.7)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("Hamming distance of the fingerprints (bits)")
    ax.set_ylabel("shingle Jaccard of sampled pairs")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title or f"{calibration.documents:,} documents: Jaccard against distance", fontsize=10)
    fig.tight_layout()
    try:
        with atomic_output(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
    finally:
        plt.close(fig)
