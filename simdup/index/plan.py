"""Table designs for the permuted-table Hamming index and the planner that picks one.

A design is a list of tables; each table keeps the fingerprints under a
permutation whose top bits (its *key*) are a chosen set of bit ranges. A design
is exact for ``k`` when every pattern of at most ``k`` differing bits leaves at
least one table's key untouched (Manku, Jain and Das Sarma 2007, section 3.1):
then every stored fingerprint within ``k`` bits shares a whole key with the
query in some table.

Candidate designs, for ``B`` blocks:

* one level: cut 64 bits into ``B >= k + 1`` blocks, one table per choice of
  ``B - k`` blocks (``C(B, k)`` tables);
* two levels: as above with ``B1`` blocks, then cut the ``k`` blocks left over
  into ``B2`` pieces and choose ``B2 - k`` of them too (``C(B1, k) * C(B2, k)``
  tables, longer keys);
* scan: one table with an empty key (a linear scan; best for tiny sets).

The planner estimates, for the expected number of fingerprints, the work of a
query (probes, bucket entries scanned, rows fetched) and the memory of each
design, and keeps the cheapest one within the memory budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations, pairwise

from simdup._core import INDEX_BUFFER_CAP, INDEX_MAX_DIR_BITS, INDEX_MAX_K, index_dir_bits
from simdup._validation import check_int, check_k

__all__ = [
    "COVERS_MAX_NODES",
    "DEFAULT_BYTES_PER_FINGERPRINT",
    "MAX_K",
    "BitRange",
    "DesignTooComplex",
    "IndexPlan",
    "candidate_plans",
    "covers",
    "dir_bits",
    "make_plan",
    "plan_index",
]

BitRange = tuple[int, int]
"""``(lo, width)``: bits ``lo .. lo + width - 1`` of the fingerprint (bit 63 is the top)."""

MAX_K = INDEX_MAX_K
DEFAULT_BYTES_PER_FINGERPRINT = 48
MAX_TABLES = 256
MAX_DIR_BITS = INDEX_MAX_DIR_BITS
BUFFER_BYTES = 2 * 8 * INDEX_BUFFER_CAP  # the insert buffer

# Cost model, in nanoseconds, fitted roughly on this machine (see benchmarks/README.md, Hamming index).
# Only the ratios matter: they rank designs.
_NS_PROBE = 40.0    # permute, read two directory offsets, start a bucket
_NS_SCAN = 1.0      # one bucket entry through the scan kernel
_NS_FETCH = 40.0    # a residual hit: fetch the full fingerprint by row


def dir_bits(n: int, p: int) -> int:
    """Directory bits of a table with a ``p``-bit key over ``n`` items (the core's rule)."""
    return index_dir_bits(n, p)


def _binom_cdf(n: int, k: int) -> float:
    """P(popcount of n uniform random bits <= k)."""
    return sum(math.comb(n, i) for i in range(min(k, n) + 1)) / 2.0**n


@dataclass(frozen=True)
class IndexPlan:
    """A table design and its estimated cost at ``expected_n`` fingerprints.

    Attributes
    ----------
    k : int
        Largest Hamming distance answered exactly.
    tables : tuple of tuple of BitRange
        Each table's key: bit ranges, top of the permuted word first.
    name : str
        Which family the design comes from.
    expected_n : int
        Size the estimates are for.
    """

    k: int
    tables: tuple[tuple[BitRange, ...], ...]
    name: str = "custom"
    expected_n: int = 1_000_000
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def n_tables(self) -> int:
        return len(self.tables)

    @property
    def key_bits(self) -> tuple[int, ...]:
        """Key width of each table."""
        return tuple(sum(w for _, w in t) for t in self.tables)

    def _estimate(self) -> tuple[float, float, float]:
        if "est" not in self._cache:
            n = max(self.expected_n, 1)
            scanned = fetched = 0.0
            mem = n * (20 + 8 * (len(self.tables) - 1)) + BUFFER_BYTES
            for t, p in enumerate(self.key_bits):
                d = dir_bits(n, p)
                mem += 4 * ((1 << d) + 1)
                bucket = n / 2.0**d
                scanned += bucket
                if t:
                    extra = min(32, max(0, p - d))  # key bits inside the 32-bit residual
                    fetched += bucket / 2.0**extra * _binom_cdf(32 - extra, self.k)
            cost = len(self.tables) * _NS_PROBE + scanned * _NS_SCAN + fetched * _NS_FETCH
            self._cache["est"] = (scanned, mem, cost)
        return self._cache["est"]

    @property
    def expected_candidates(self) -> float:
        """Bucket entries a query scans (all tables) at ``expected_n`` uniform fingerprints."""
        return self._estimate()[0]

    @property
    def candidates_per_probe(self) -> float:
        """Bucket entries one table probe scans, on average over the tables."""
        return self.expected_candidates / len(self.tables)

    @property
    def memory_bytes(self) -> float:
        """Estimated bytes of the index at ``expected_n`` fingerprints (ids included)."""
        return self._estimate()[1]

    @property
    def bytes_per_fingerprint(self) -> float:
        return self.memory_bytes / max(self.expected_n, 1)

    @property
    def cost_ns(self) -> float:
        """Modelled time of one query in the compiled core, in nanoseconds."""
        return self._estimate()[2]

    def with_n(self, expected_n: int) -> IndexPlan:
        """The same design with estimates for another size."""
        return IndexPlan(self.k, self.tables, self.name, int(expected_n))

    def describe(self) -> str:
        """One line: design, key widths, estimated candidates and memory."""
        keys = sorted(set(self.key_bits))
        return (
            f"{self.name}: {self.n_tables} tables, key bits {keys}, "
            f"~{self.candidates_per_probe:.1f} candidates/probe "
            f"({self.expected_candidates:.1f}/query) and "
            f"{self.bytes_per_fingerprint:.1f} B/fingerprint at n={self.expected_n:,}"
        )

    def core_spec(self) -> list[tuple[int, list[BitRange]]]:
        """Per table ``(p, permutation ranges)``: the key ranges, then the other bits."""
        spec = []
        for key in self.tables:
            used = 0
            for lo, w in key:
                used |= ((1 << w) - 1) << lo
            rest: list[BitRange] = []
            bit = 63
            while bit >= 0:  # remaining bits as maximal runs, top first
                if used >> bit & 1:
                    bit -= 1
                    continue
                top = bit
                while bit >= 0 and not used >> bit & 1:
                    bit -= 1
                rest.append((bit + 1, top - bit))
            spec.append((sum(w for _, w in key), list(key) + rest))
        return spec


def _split(ranges: list[BitRange], parts: int) -> list[list[BitRange]]:
    """Cut bit ranges (top first) into ``parts`` pieces of near-equal width, top first."""
    total = sum(w for _, w in ranges)
    widths = [total // parts + (1 if i < total % parts else 0) for i in range(parts)]
    pieces: list[list[BitRange]] = []
    queue = list(ranges)
    for want in widths:
        piece: list[BitRange] = []
        while want:
            lo, w = queue.pop(0)
            take = min(w, want)
            piece.append((lo + w - take, take))  # the top ``take`` bits of this range
            if take < w:
                queue.insert(0, (lo, w - take))
            want -= take
        pieces.append(piece)
    return pieces


def _one_level(k: int, blocks: int) -> list[tuple[BitRange, ...]]:
    pieces = _split([(0, 64)], blocks)
    return [
        tuple(r for i in chosen for r in pieces[i])
        for chosen in combinations(range(blocks), blocks - k)
    ]


def _two_level(k: int, b1: int, b2: int) -> list[tuple[BitRange, ...]]:
    first = _split([(0, 64)], b1)
    tables = []
    for chosen in combinations(range(b1), b1 - k):
        rest = [r for i in range(b1) if i not in chosen for r in first[i]]
        second = _split(rest, b2)
        head = tuple(r for i in chosen for r in first[i])
        for sub in combinations(range(b2), b2 - k):
            tables.append(head + tuple(r for i in sub for r in second[i]))
    return tables


def candidate_plans(k: int, expected_n: int = 1_000_000) -> list[IndexPlan]:
    """All designs the planner weighs for ``k``, with estimates at ``expected_n``."""
    k = check_k(k, MAX_K)
    plans = [IndexPlan(k, ((),), "scan", expected_n)]
    for blocks in range(k + 1, min(k + 7, 64) + 1):
        if math.comb(blocks, k) <= MAX_TABLES:
            plans.append(IndexPlan(k, tuple(_one_level(k, blocks)),
                                   f"{blocks} blocks choose {blocks - k}", expected_n))
    if 1 <= k <= 5:
        for b1 in (k + 1, k + 2):
            for b2 in (k + 1, k + 2):
                if math.comb(b1, k) * math.comb(b2, k) <= MAX_TABLES:
                    plans.append(IndexPlan(
                        k, tuple(_two_level(k, b1, b2)),
                        f"two-level {b1} choose {b1 - k}, then {b2} choose {b2 - k}",
                        expected_n))
    return plans


def plan_index(k: int = 3, expected_n: int = 1_000_000,
               memory_budget: int | None = None) -> IndexPlan:
    """Pick the design with the lowest modelled query cost within a memory budget.

    Parameters
    ----------
    k : int
        Largest distance to answer, 0 to ``MAX_K``.
    expected_n : int
        Number of fingerprints the index is planned for (it can grow past it;
        directories then get fuller and queries slower, answers stay exact).
    memory_budget : int, optional
        Bytes allowed at ``expected_n``. Default: 48 bytes per fingerprint, or
        the size of the smallest indexed design (``k + 1`` tables) when that is
        larger (k >= 4 at one million fingerprints).

    Returns
    -------
    IndexPlan

    Raises
    ------
    ValueError
        ``k`` out of range, ``expected_n`` negative, or an explicit budget
        no design fits.
    """
    k = check_k(k, MAX_K)
    expected_n = check_int(expected_n, "expected_n", 0)
    plans = candidate_plans(k, expected_n)
    budget: float
    if memory_budget is not None:
        budget = memory_budget
    else:
        smallest_indexed = min(p.memory_bytes for p in plans if p.name != "scan")
        budget = max(DEFAULT_BYTES_PER_FINGERPRINT * max(expected_n, 1), smallest_indexed)
    fitting = [p for p in plans if p.memory_bytes <= budget]
    if not fitting:
        least = min(plans, key=lambda p: p.memory_bytes)
        raise ValueError(
            f"no design fits {budget:,} bytes; the smallest needs "
            f"{least.memory_bytes:,.0f} ({least.describe()})")
    return min(fitting, key=lambda p: (p.cost_ns, p.memory_bytes))


COVERS_MAX_NODES = 20_000
"""Search nodes :func:`covers` may visit before it gives up (a ValueError).

Whether a design is exact is a hitting-set question, exponential in ``k`` in
general: a crafted design (say 256 tables of three scattered bits at k=16)
would keep an exhaustive search busy for many minutes, and an index file's
header is such a design. The planner's own designs never reach the search
(:func:`make_plan` knows them); with the packing bound below, the hardest
exact designs tried (two-level, k up to 5, up to 256 tables) take a few
hundred nodes.
"""


class DesignTooComplex(ValueError):
    """:func:`covers` could not decide within :data:`COVERS_MAX_NODES` search nodes."""


def covers(tables: tuple[tuple[BitRange, ...], ...] | list, k: int, *,
           max_nodes: int = COVERS_MAX_NODES) -> bool:
    """True when every set of at most ``k`` flipped bits misses some table's key.

    Exhaustive over the elementary intervals cut by all range boundaries (a
    flip pattern only matters by which intervals it touches), pruned by a
    lower bound, and bounded: at most ``max_nodes`` search nodes.

    Raises
    ------
    DesignTooComplex
        (a ``ValueError``) when the search needs more than ``max_nodes``
        nodes: the design is refused rather than checked for minutes.
    """
    bounds = {0, 64}
    for key in tables:
        for lo, w in key:
            bounds.update((lo, lo + w))
    cuts = sorted(bounds)
    intervals = list(pairwise(cuts))
    masks = []
    for key in tables:
        m = 0
        for i, (a, b) in enumerate(intervals):
            if any(lo <= a and b <= lo + w for lo, w in key):
                m |= 1 << i
        masks.append(m)
    # Smallest keys first: the branching below takes the first untouched one,
    # and the greedy packing is best with small keys first.
    masks.sort(key=int.bit_count)
    # Search for a flip pattern that touches every table's key with at most k
    # intervals (a hitting set): branch on the intervals of an untouched table.
    seen: set[int] = set()
    nodes = 0

    def defeats(touched: int, budget: int) -> bool:
        nonlocal nodes
        free = [m for m in masks if not m & touched]
        if not free:
            return True
        if budget == 0 or touched in seen:
            return False
        nodes += 1
        if nodes > max_nodes:
            raise DesignTooComplex(
                f"cannot verify that this design is exact for k={k} within {max_nodes:,} "
                "search steps; use a design the planner makes (plan_index / candidate_plans)")
        seen.add(touched)
        # Untouched keys that share no interval each need a flip of their own:
        # more of them than flips left means no pattern defeats the design.
        packed = used = 0
        for m in free:
            if not m & used:
                used |= m
                packed += 1
                if packed > budget:
                    return False
        m = free[0]
        return any(defeats(touched | (1 << i), budget - 1)
                   for i in range(len(intervals)) if m >> i & 1)

    return not defeats(0, k)


@lru_cache(maxsize=MAX_K + 1)
def _planner_designs(k: int) -> frozenset[tuple[tuple[BitRange, ...], ...]]:
    """The designs :func:`candidate_plans` makes for ``k`` (exact by construction; tested)."""
    return frozenset(p.tables for p in candidate_plans(k, 1))


def make_plan(k: int, tables, expected_n: int = 1_000_000) -> IndexPlan:
    """An explicit design, validated.

    Parameters
    ----------
    tables : sequence of sequence of (lo, width)
        Each table's key ranges, top of the permuted word first.

    Raises
    ------
    ValueError
        Malformed ranges, overlapping ranges in a table, too many tables, a
        design that is not exact for ``k``, or one too complex to check
        (:class:`DesignTooComplex`).
    """
    k = check_k(k, MAX_K)
    norm = []
    try:
        for key in tables:
            used = 0
            rs = []
            for lo, w in key:
                lo, w = int(lo), int(w)
                if lo < 0 or w < 1 or lo + w > 64:
                    raise ValueError(f"bit range ({lo}, {w}) is outside 0..63")
                m = ((1 << w) - 1) << lo
                if used & m:
                    raise ValueError("bit ranges of one table overlap")
                used |= m
                rs.append((lo, w))
            norm.append(tuple(rs))
    except TypeError as e:
        raise ValueError(f"a design is a list of tables of (lo, width) ranges: {e}") from None
    if not 1 <= len(norm) <= MAX_TABLES:
        raise ValueError(f"a design has 1 to {MAX_TABLES} tables, got {len(norm)}")
    # A planner design (what an index saved from a planned index holds) needs
    # no search; any other is searched within covers()' node budget.
    if tuple(norm) not in _planner_designs(k) and not covers(norm, k):
        raise ValueError(f"this design misses some fingerprints within k={k} bits")
    return IndexPlan(k, tuple(norm), "custom", expected_n)
