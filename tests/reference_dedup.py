"""Brute-force oracle of batch dedup (``simdup.dedup``): every pair, Python sets, a graph search.

Slow and obvious on purpose. What it takes from simdup is only what is not
under test here: the fingerprints and token counts (the hasher has its own
oracle, tests/reference.py). Shingles come from ``reference.shingles``.

The contract it follows (``simdup.dedup``'s docstring and ``DedupResult``'s):

* documents whose fingerprints differ in at most ``k`` bits are candidates,
  except token-less documents (0 tokens), which are never duplicates;
* with ``verify``, a candidate pair is a link only when the Jaccard
  similarity of the two documents' shingle sets is at least ``verify``
  (two empty sets: 1); with ``verify=None`` every candidate is a link;
* clusters are the connected components of the links; a cluster's label is
  its first (smallest) document;
* the links dedup reports (``DedupResult.pairs``) are the candidates that
  :func:`hub_links` compares and that pass: each document is compared with
  the hubs of its fingerprint, then the hubs of fingerprints within ``k``
  with each other. Unless one fingerprint is shared by different texts, their
  components are those of all the links above; when it is, they are links
  all the same, but their components may split the brute force's (Jaccard is
  not transitive: a document can be like its hub and like another
  fingerprint's hub that its own hub is not like);
* ``keep="first"`` keeps the first document of a cluster, ``"longest"`` the
  longest (``len`` of the str or bytes), the earliest among equals, a
  callable ``key(index)`` the document with the smallest key, the earliest
  among equals;
* ``distance`` is each document's Hamming distance to its cluster's kept document.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Union

import reference as ref

Keep = Union[str, Callable[[int], object]]


def popcount(x: int) -> int:
    return bin(x).count("1")


def jaccard(a: set[int], b: set[int]) -> float:
    """``|a & b| / |a | b|``; two empty sets are identical (1.0)."""
    union = len(a | b)
    return 1.0 if union == 0 else len(a & b) / union


def as_text(doc: str | bytes) -> str:
    return doc if isinstance(doc, str) else doc.decode("utf-8")


@dataclass
class Expected:
    fingerprints: list[int]
    n_tokens: list[int]
    candidates: set[tuple[int, int]]  # pairs within k, both with tokens
    links: set[tuple[int, int]]  # candidates that pass verification
    hub_links: set[tuple[int, int]]  # the links dedup reports (see hub_links)
    jaccard: dict[tuple[int, int], float]  # of every candidate (when verify is not None)
    labels: list[int]
    representative: list[int]
    distance: list[int]


def hub_links(fingerprints: Sequence[int], n_tokens: Sequence[int], k: int, verify: float,
              similarity: Callable[[int, int], float]) -> set[tuple[int, int]]:
    """The links dedup reports with verification: a rule on documents, by brute force.

    Documents with tokens, in order: each is compared with the hubs of its
    fingerprint so far, in order, and linked to the first whose
    ``similarity`` reaches ``verify``; if none does, it is a hub itself (so
    a fingerprint's first document is its first hub). Then every two hubs of
    different fingerprints within ``k`` bits are linked when their
    ``similarity`` reaches ``verify``. (Without verification every
    comparison passes: a star from each fingerprint's first document, and
    those first documents linked with each other.)
    """
    hubs: dict[int, list[int]] = {}
    links = set()
    for x, fp in enumerate(fingerprints):
        if n_tokens[x] > 0:
            own = hubs.setdefault(fp, [])
            hub = next((h for h in own if similarity(h, x) >= verify), None)
            if hub is None:
                own.append(x)
            else:
                links.add((hub, x))
    every_hub = sorted(h for own in hubs.values() for h in own)
    for at, a in enumerate(every_hub):
        for b in every_hub[at + 1:]:
            if (fingerprints[a] != fingerprints[b] and popcount(fingerprints[a] ^ fingerprints[b]) <= k
                    and similarity(a, b) >= verify):
                links.add((a, b))
    return links


def components(n: int, links: set[tuple[int, int]]) -> list[int]:
    """Each node's component, named by its smallest node (a depth-first search from each node in order)."""
    neighbours: list[list[int]] = [[] for _ in range(n)]
    for a, b in links:
        neighbours[a].append(b)
        neighbours[b].append(a)
    label = [-1] * n
    for start in range(n):
        if label[start] >= 0:
            continue
        label[start] = start
        stack = [start]
        while stack:
            for nxt in neighbours[stack.pop()]:
                if label[nxt] < 0:
                    label[nxt] = start
                    stack.append(nxt)
    return label


def kept(labels: list[int], docs: Sequence[str | bytes], keep: Keep) -> list[int]:
    """The document each cluster keeps, for every document."""
    members: dict[int, list[int]] = {}
    for x, label in enumerate(labels):
        members.setdefault(label, []).append(x)
    if keep == "first":
        def rank(x: int) -> tuple:
            return (x,)
    elif keep == "longest":
        def rank(x: int) -> tuple:
            return (-len(docs[x]), x)
    else:
        assert callable(keep)
        keys = [keep(x) for x in range(len(docs))]

        def rank(x: int) -> tuple:
            return (keys[x], x)
    winner = {label: min(group, key=rank) for label, group in members.items()}
    return [winner[label] for label in labels]


def brute_force_dedup(docs: Sequence[str | bytes], fingerprints: Sequence[int], n_tokens: Sequence[int], k: int,
                      verify: float | None, shingle_size: tuple[int, int], keep: Keep = "first",
                      lower: bool = True, traditional: bool = True) -> Expected:
    """What ``simdup.dedup`` should return for plain-text ``docs`` fingerprinted as ``fingerprints``."""
    n = len(docs)
    fps = [int(f) for f in fingerprints]
    candidates = {(a, b) for a in range(n) for b in range(a + 1, n)
                  if n_tokens[a] > 0 and n_tokens[b] > 0 and popcount(fps[a] ^ fps[b]) <= k}
    sims: dict[tuple[int, int], float] = {}
    if verify is None:
        links = set(candidates)
        reported = hub_links(fps, n_tokens, k, 1.0, lambda a, b: 1.0)  # every comparison passes
    else:
        words, chars = shingle_size
        shingles = [ref.shingles(as_text(d), words, chars, lower, traditional) for d in docs]
        sims = {(a, b): jaccard(shingles[a], shingles[b]) for a, b in candidates}
        links = {pair for pair, s in sims.items() if s >= verify}
        reported = hub_links(fps, n_tokens, k, verify, lambda a, b: sims[min(a, b), max(a, b)])
    labels = components(n, links)
    representative = kept(labels, docs, keep)
    distance = [popcount(fps[x] ^ fps[representative[x]]) for x in range(n)]
    return Expected(fps, [int(t) for t in n_tokens], candidates, links, reported, sims, labels, representative,
                    distance)


def spanning_parents(n: int, links: Sequence[tuple[int, int]], roots: set[int]) -> list[int]:
    """Each node's parent in the breadth-first forest from ``roots``: among its neighbours one level nearer
    the roots, the smallest; -1 for roots and nodes no root reaches (level by level, by brute force)."""
    neighbours: list[set[int]] = [set() for _ in range(n)]
    for a, b in links:
        neighbours[a].add(b)
        neighbours[b].add(a)
    parent = [-1] * n
    seen = set(roots)
    level = set(roots)
    while level:
        following = {v for u in level for v in neighbours[u]} - seen
        for v in following:
            parent[v] = min(u for u in neighbours[v] if u in level)
        seen |= following
        level = following
    return parent


REASONS = ("unique", "kept", "same_fingerprint", "near_duplicate", "reference")


@dataclass
class ExpectedEvidence:
    match: list[int]  # -1: none, or the match is a reference document
    distance: list[int]  # -1: none
    reason: list[str]
    reference: list[int]  # the reference document matched (reason "reference"), else -1
    representative: list[int]  # -1: kept in the reference
    kept_reference: list[int]  # the cluster's reference document, else -1


def evidence(n: int, fps: Sequence[int], links: set[tuple[int, int]], representative: Sequence[int],
             ref_match: dict[int, tuple[int, int]] | None = None) -> ExpectedEvidence:
    """Why each of ``n`` documents is kept or removed, given the links dedup reports and the kept documents.

    ``ref_match`` maps a document that matched the reference to ``(reference document, distance)``. A
    cluster (a component of the links and those matches) holding a reference document is removed whole,
    and keeps its smallest reference document; every reference document is a root of the forest whose
    parents are the evidence.
    """
    ref_match = ref_match or {}
    refs = sorted({r for r, _ in ref_match.values()})
    node = {r: n + at for at, r in enumerate(refs)}
    edges = list(links) + [(x, node[r]) for x, (r, _) in ref_match.items()]
    labels = components(n + len(refs), set(edges))
    in_reference = {labels[node[r]] for r in refs}
    rep = [-1 if labels[x] in in_reference else representative[x] for x in range(n)]
    kept_reference = [min((r for r in refs if labels[node[r]] == labels[x]), default=-1) for x in range(n)]
    roots = {rep[x] for x in range(n) if rep[x] >= 0} | set(node.values())
    parent = spanning_parents(n + len(refs), edges, roots)
    size = [labels.count(labels[x]) for x in range(n)]
    rows = []  # (match, distance, reason, reference) of each document
    for x in range(n):
        p = parent[x]
        if p >= n:
            r, d = ref_match[x]
            rows.append((-1, d, "reference", r))
        elif p >= 0:
            d = popcount(fps[x] ^ fps[p])
            rows.append((p, d, "same_fingerprint" if d == 0 else "near_duplicate", -1))
        else:
            rows.append((-1, -1, "kept" if size[x] > 1 else "unique", -1))
    match, distance, reason, reference = ([row[c] for row in rows] for c in range(4))
    return ExpectedEvidence(match, distance, reason, reference, rep, kept_reference)


def reference_matches(fps: Sequence[int], n_tokens: Sequence[int], ref_fps: Sequence[int],
                      ref_tokens: Sequence[int], k: int, similarity: Callable[[int, int], float] | None,
                      verify: float | None) -> dict[int, tuple[int, int]]:
    """Each new document's match in the reference: the nearest reference document (then the first) within ``k``
    whose ``similarity(doc, reference document)`` reaches ``verify`` (any, without ``similarity``)."""
    out = {}
    for x, fp in enumerate(fps):
        if n_tokens[x] == 0:
            continue
        near = sorted((popcount(fp ^ g), r) for r, g in enumerate(ref_fps) if ref_tokens[r] > 0
                      and popcount(fp ^ g) <= k)
        for d, r in near:
            if similarity is None or verify is None or similarity(x, r) >= verify:
                out[x] = (r, d)
                break
    return out
