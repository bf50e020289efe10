"""Batch dedup and its verification kernels against brute force (tests/reference_dedup.py).

* ``jaccard_pairs`` (the compiled Jaccard of CSR rows) against Python sets;
* ``shingle_sets`` / ``shingle_jaccard`` against ``reference.shingles``;
* ``simdup.dedup`` end to end against every pair of a small corpus:
  fingerprints within ``k``, verification by exact shingle Jaccard,
  clusters as connected components, the keep rules;
* the evidence of each removal (``DedupResult.evidence``: the breadth-first
  forest of ``spanning_parents``) and dedup against a reference (a list of
  documents, or an index) against the oracle's rules;
* ``verify_links`` (which pairs verification compares: the hubs of shared
  fingerprints) against ``reference_dedup.hub_links`` on made-up similarities.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np
import pytest
import reference as ref
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from internals import candidate_links, jaccard_pairs, shingle_jaccard, shingle_sets, verify_links
from reference_dedup import (
    Expected,
    brute_force_dedup,
    components,
    evidence,
    hub_links,
    jaccard,
    kept,
    popcount,
    reference_matches,
    spanning_parents,
)

import simdup
from simdup import SimHasher

_DEFAULTS = {name: p.default for name, p in inspect.signature(simdup.dedup).parameters.items()}
DEFAULT_VERIFY = _DEFAULTS["verify"]
DEFAULT_SHINGLES = _DEFAULTS["shingle_size"]
MAX_K = 10  # simdup.dedup's documented range of k


def shingle_pair(size: int | tuple[int, int]) -> tuple[int, int]:
    """``shingle_size`` as (words, characters): an int sets the word size only."""
    return (size, DEFAULT_SHINGLES[1]) if isinstance(size, int) else size


# -- jaccard_pairs: the compiled Jaccard of sorted CSR rows ------------------------------------------------

term_sets = st.lists(st.sets(st.integers(0, 40) | st.integers(0, 2**64 - 1), max_size=25), min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(term_sets, st.data())
def test_jaccard_pairs_equals_python_sets(rows: list[set[int]], data: st.DataObject) -> None:
    indptr = np.cumsum([0] + [len(r) for r in rows]).astype(np.int64)
    terms = np.array([t for r in rows for t in sorted(r)], dtype=np.uint64)
    pairs = data.draw(st.lists(st.tuples(st.integers(0, len(rows) - 1), st.integers(0, len(rows) - 1)), max_size=30))
    i = np.array([a for a, _ in pairs], dtype=np.int64)
    j = np.array([b for _, b in pairs], dtype=np.int64)
    got = jaccard_pairs(indptr, terms, i, j)
    assert got.dtype == np.float64 and got.shape == (len(pairs),)
    assert got.tolist() == [jaccard(rows[a], rows[b]) for a, b in pairs]  # exact: the same division


def test_jaccard_pairs_small_cases() -> None:
    rows = [{1, 2, 3}, {2, 3, 4}, set(), set(), {5}]
    indptr = np.cumsum([0] + [len(r) for r in rows]).astype(np.int64)
    terms = np.array([t for r in rows for t in sorted(r)], dtype=np.uint64)
    got = jaccard_pairs(indptr, terms, np.array([0, 2, 0, 4, 1], np.int64), np.array([1, 3, 2, 4, 0], np.int64))
    assert got.tolist() == [0.5, 1.0, 0.0, 1.0, 0.5]  # 2 shared of 4; two empty sets are alike; ...


# -- shingle_sets and shingle_jaccard against reference.shingles ------------------------------------------

WORDS = ["oil", "Prices", "rose", "fell", "traders", "said", "crude", "café", "CAFE", "naïve", "2024", "x", "ﬁne"]
HAN = list("中文字测试國家发展經濟们")
SEPARATORS = [" ", "  ", ", ", ". ", "\n", " - ", "! "]
TOKENLESS = ["", " ", "!!", "— …", "😀", "\u200b", "..."]


@st.composite
def english_text(draw: st.DrawFn) -> list[str]:
    n = draw(st.integers(1, 8) | st.integers(20, 60))  # short texts, and long ones that small edits move little
    return draw(st.lists(st.sampled_from(WORDS), min_size=n, max_size=n))


@st.composite
def chinese_text(draw: st.DrawFn) -> list[str]:
    n = draw(st.integers(1, 10) | st.integers(30, 80))
    chars = draw(st.lists(st.sampled_from(HAN), min_size=n, max_size=n))
    if draw(st.booleans()):  # a Latin word or two among the characters
        chars.insert(draw(st.integers(0, len(chars))), " " + draw(st.sampled_from(WORDS)) + " ")
    return chars


def render(units: list[str], draw: st.DrawFn, chinese: bool) -> str:
    if chinese:
        return "".join(units)
    out = units[0]
    for u in units[1:]:
        out += draw(st.sampled_from(SEPARATORS)) + u
    return out


@st.composite
def variant(draw: st.DrawFn, units: list[str], chinese: bool) -> list[str]:
    """``units`` after a few edits: substitute, delete, insert, swap neighbours, change case, shuffle.

    A shuffle keeps the bag of words, so the fingerprint, but not the shingles: a
    fingerprint shared by different texts.
    """
    units = list(units)
    pool = HAN if chinese else WORDS
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["sub", "del", "ins", "swap", "case", "shuffle"]))
        if op == "shuffle":
            units = draw(st.permutations(units))
            continue
        at = draw(st.integers(0, len(units) - 1))
        if op == "sub":
            units[at] = draw(st.sampled_from(pool))
        elif op == "del" and len(units) > 1:
            del units[at]
        elif op == "ins":
            units.insert(at, draw(st.sampled_from(pool)))
        elif op == "swap" and at + 1 < len(units):
            units[at], units[at + 1] = units[at + 1], units[at]
        elif op == "case":
            units[at] = units[at].upper() if units[at].islower() else units[at].lower()
    return units


@st.composite
def corpora(draw: st.DrawFn, max_sources: int = 4) -> list[str | bytes]:
    """A few source texts, each with near copies (edited, exact), token-less documents, some as UTF-8 bytes."""
    docs: list[str] = []
    for _ in range(draw(st.integers(0, max_sources))):
        chinese = draw(st.booleans())
        units = draw(chinese_text() if chinese else english_text())
        docs.append(render(units, draw, chinese))
        for _ in range(draw(st.integers(0, 4))):
            edited = draw(variant(units, chinese))
            docs.append(render(edited, draw, chinese))
            if draw(st.booleans()):  # chains of edits: a copy of a copy
                units = edited
    docs += draw(st.lists(st.sampled_from(TOKENLESS), max_size=2))
    docs = draw(st.permutations(docs))
    as_bytes = draw(st.lists(st.booleans(), min_size=len(docs), max_size=len(docs)))
    return [d.encode("utf-8") if b else d for d, b in zip(docs, as_bytes)]


def text_of(doc: str | bytes) -> str:
    return doc if isinstance(doc, str) else doc.decode("utf-8")


shingle_sizes = st.integers(1, 4) | st.tuples(st.integers(1, 4), st.integers(1, 6))


@settings(max_examples=150, deadline=None)
@given(corpora(), shingle_sizes, st.booleans())
def test_shingle_sets_are_the_reference_shingles_sorted(docs, size, traditional: bool) -> None:
    words, chars = shingle_pair(size)
    hasher = SimHasher(input="text", fold_traditional=traditional)
    indptr, terms = shingle_sets(hasher, docs, size)
    assert indptr.tolist()[0] == 0 and len(indptr) == len(docs) + 1 and indptr[-1] == len(terms)
    for row, doc in enumerate(docs):
        got = terms[indptr[row]:indptr[row + 1]].tolist()
        assert got == sorted(set(got)), "each row distinct and ascending (jaccard_pairs relies on it)"
        assert set(got) == ref.shingles(text_of(doc), words, chars, True, traditional)


@settings(max_examples=150, deadline=None)
@given(corpora(), shingle_sizes, st.data())
def test_shingle_jaccard_equals_reference_jaccard(docs, size, data: st.DataObject) -> None:
    assume(docs)
    words, chars = shingle_pair(size)
    pairs = data.draw(st.lists(st.tuples(st.integers(0, len(docs) - 1), st.integers(0, len(docs) - 1)),
                               min_size=1, max_size=20))
    hasher = SimHasher(use_idf=False)
    got = shingle_jaccard(hasher, docs, [a for a, _ in pairs], [b for _, b in pairs], size)
    sets = [ref.shingles(text_of(d), words, chars) for d in docs]
    assert got.tolist() == [jaccard(sets[a], sets[b]) for a, b in pairs]


# -- dedup end to end against every pair -------------------------------------------------------------------


class Progress:
    """A tqdm-like factory that records its calls (dedup's ``progress``)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, iterable=None, *, total=None, desc=None, unit=None):
        self.calls.append(desc)
        if iterable is not None:
            return iterable
        return self

    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def partition(labels) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for x, label in enumerate(list(labels)):
        groups.setdefault(int(label), set()).add(x)
    return {frozenset(g) for g in groups.values()}


def check_against_oracle(docs, result: simdup.DedupResult, expected: Expected, verify) -> None:
    n = len(docs)
    assert partition(result.labels) == partition(expected.labels)
    assert result.labels.tolist() == expected.labels  # a cluster is named by its first document
    assert result.representative.tolist() == expected.representative
    assert result.keep.tolist() == [expected.representative[x] == x for x in range(n)]
    assert result.distance.tolist() == expected.distance
    # The links dedup reports are verified candidates, each once, sorted, with their distance and Jaccard.
    i, j, d = result.pairs.i.tolist(), result.pairs.j.tolist(), result.pairs.distance.tolist()
    links = list(zip(i, j))
    assert links == sorted(set(links)) and all(a < b for a, b in links)
    assert set(links) <= expected.links
    assert set(links) == expected.hub_links  # what dedup compares (the hubs), what passes
    fps = [int(f) for f in result.fingerprints]
    assert d == [popcount(fps[a] ^ fps[b]) for a, b in links]
    if verify is None or not expected.candidates:
        assert result.jaccard is None
    else:
        assert result.jaccard is not None
        assert result.jaccard.tolist() == [expected.jaccard[p] for p in links]
    check_evidence(result, expected, verify)
    sizes = [expected.labels.count(x) for x in range(n)]
    summary = result.summary
    assert summary["documents"] == n and summary["kept"] == sum(result.keep.tolist())
    assert summary["duplicates_removed"] == n - summary["kept"]
    assert summary["clusters"] == sum(s > 1 for s in sizes)
    assert summary["largest_cluster"] == max(sizes, default=0)
    assert summary["token_less_documents"] == sum(t == 0 for t in result.n_tokens.tolist())


def check_evidence(result: simdup.DedupResult, expected: Expected, verify,
                   ref_match: dict[int, tuple[int, int]] | None = None,
                   ref_jaccard: Callable[[int, int], float] | None = None) -> None:
    """Each document's evidence is the oracle's: its parent in the forest from the kept documents (and the
    reference documents matched), the distance and Jaccard of that link, and the reason."""
    n = len(result.keep)
    fps = [int(f) for f in result.fingerprints]
    ev = evidence(n, fps, expected.hub_links, expected.representative, ref_match)
    got = result.evidence
    assert got is not None
    assert got.match.tolist() == ev.match
    assert got.distance.tolist() == ev.distance
    assert got.reason_names() == ev.reason
    assert result.representative.tolist() == ev.representative
    if ref_match is not None:
        assert got.reference is not None and result.kept_reference is not None
        assert [int(r) if name == "reference" else -1 for r, name in zip(got.reference.tolist(), ev.reason)] \
            == ev.reference
        assert [int(r) if rep < 0 else -1 for r, rep in zip(result.kept_reference.tolist(), ev.representative)] \
            == ev.kept_reference
    for x in range(n):
        if ev.match[x] >= 0 and verify is not None:
            assert got.jaccard[x] == expected.jaccard[min(x, ev.match[x]), max(x, ev.match[x])]
        elif ev.reason[x] == "reference" and verify is not None and ref_jaccard is not None:
            assert got.jaccard[x] == ref_jaccard(x, ev.reference[x])
        else:
            assert np.isnan(got.jaccard[x])


keep_rules = st.sampled_from(["first", "longest", "key"])
verify_values = st.none() | st.sampled_from([0.0, 0.3, 0.5, DEFAULT_VERIFY, 1.0]) | st.floats(0, 1)
# (the test without verification sets verify=None; the one with it takes the default for None)


@st.composite
def dedup_case(draw: st.DrawFn, max_sources: int = 4):
    docs = draw(corpora(max_sources))
    k = draw(st.integers(0, MAX_K))
    verify = draw(verify_values)
    size = draw(st.sampled_from([DEFAULT_SHINGLES]) | shingle_sizes)
    rule = draw(keep_rules)
    keys = draw(st.lists(st.integers(0, 3), min_size=len(docs), max_size=len(docs)))
    keep = keys.__getitem__ if rule == "key" else rule
    hasher = draw(st.sampled_from(["fit", "uniform", "default"]))
    progress = draw(st.booleans())
    return docs, k, verify, size, keep, hasher, progress


def run_both(docs, k, verify, size, keep, hasher_kind, with_progress):
    """simdup.dedup's result, and the brute force's on the same fingerprints."""
    if hasher_kind == "fit":  # unfitted: dedup fits it on the documents, the oracle fits its own twin
        hasher, twin = SimHasher(), SimHasher().fit(docs) if docs else SimHasher()
    elif hasher_kind == "uniform":
        hasher = twin = SimHasher(use_idf=False)
    else:
        hasher = twin = SimHasher.default()
    progress = Progress() if with_progress else None
    result = simdup.dedup(docs, k, hasher=hasher, keep=keep, verify=verify, shingle_size=size, progress=progress)
    if not docs:
        return result, None
    fps, n_tokens = twin.transform(docs, return_n_tokens=True)
    assert result.fingerprints.tolist() == fps.tolist() and result.n_tokens.tolist() == n_tokens.tolist()
    # token-less: no spec v2 term at all (the reference's tokenizer)
    assert [n == 0 for n in n_tokens.tolist()] == [not ref.terms(text_of(d)) for d in docs]
    expected = brute_force_dedup(docs, fps.tolist(), n_tokens.tolist(), k, verify, shingle_pair(size), keep)
    if progress is not None:
        assert progress.calls, "a progress factory is called once a phase"
    return result, expected


FAST = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LONG = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(dedup_case())
def test_dedup_without_verification_equals_brute_force(case) -> None:
    check_without_verification(case)


@pytest.mark.slow
@LONG
@given(dedup_case(max_sources=6))
def test_dedup_without_verification_equals_brute_force_long(case) -> None:
    check_without_verification(case)


def check_without_verification(case) -> None:
    docs, k, _, size, keep, hasher, progress = case
    result, expected = run_both(docs, k, None, size, keep, hasher, progress)
    if expected is None:
        assert len(result.keep) == 0
        return
    check_against_oracle(docs, result, expected, None)


def mixed_fingerprint_groups(docs, expected: Expected, size) -> bool:
    """True if two documents with tokens share a fingerprint but not their shingle sets."""
    words, chars = shingle_pair(size)
    seen: dict[int, set[int]] = {}
    for x, fp in enumerate(expected.fingerprints):
        if expected.n_tokens[x] > 0:
            sh = ref.shingles(text_of(docs[x]), words, chars)
            if seen.setdefault(fp, sh) != sh:
                return True
    return False


@FAST
@given(dedup_case())
def test_dedup_with_verification_equals_brute_force(case) -> None:
    check_with_verification(case)


@pytest.mark.slow
@LONG
@given(dedup_case(max_sources=6))
def test_dedup_with_verification_equals_brute_force_long(case) -> None:
    check_with_verification(case)


def check_with_verification(case) -> None:
    """The brute force's result exactly, unless a fingerprint is shared by different texts: then the
    links of the hub rule (reference_dedup.hub_links) and their clusters."""
    docs, k, verify, size, keep, hasher, progress = case
    verify = DEFAULT_VERIFY if verify is None else verify
    result, expected = run_both(docs, k, verify, size, keep, hasher, progress)
    if expected is None:
        assert len(result.keep) == 0
        return
    mixed = mixed_fingerprint_groups(docs, expected, size)
    event(f"candidates: {'some' if expected.candidates else 'none'}, "
          f"rejected by verification: {'some' if expected.candidates - expected.links else 'none'}, "
          f"a fingerprint shared by different texts: {mixed}")
    if not mixed:
        check_against_oracle(docs, result, expected, verify)
        return
    # dedup compares a document with the hubs of its fingerprint, and hubs with hubs (DedupResult.pairs):
    # when a fingerprint is shared by different texts, a document that is not a hub is compared with no
    # other fingerprint, so its clusters can split the brute force's. Its links are the hub rule's:
    i, j = result.pairs.i.tolist(), result.pairs.j.tolist()
    links = set(zip(i, j))
    assert list(zip(i, j)) == sorted(links) and all(a < b for a, b in links)
    assert links <= expected.links  # every link is a verified candidate (so its clusters split the brute force's)
    assert links == expected.hub_links
    if result.jaccard is not None:
        assert result.jaccard.tolist() == [expected.jaccard[p] for p in zip(i, j)]
    fps, n_tokens = expected.fingerprints, expected.n_tokens
    first: dict[int, int] = {}  # each fingerprint's first document with tokens
    for x, fp in enumerate(fps):
        if n_tokens[x] > 0:
            first.setdefault(fp, x)
    for a, b in expected.links:
        if first[fps[a]] == a and (first[fps[b]] == b or fps[a] == fps[b]):
            # a verified link between the first documents of two fingerprints, or from a
            # fingerprint's first document to another document of that fingerprint
            assert (a, b) in links, (a, b)
    words, chars = shingle_pair(size)
    shingles = [ref.shingles(text_of(d), words, chars) for d in docs]
    for a in range(len(docs)):
        for b in range(a + 1, len(docs)):
            if n_tokens[a] > 0 and fps[a] == fps[b] and shingles[a] == shingles[b]:
                # the same fingerprint and the same text stay together whatever the group's first is
                assert result.labels[a] == result.labels[b], (a, b)
    own = components(len(docs), links)
    assert result.labels.tolist() == own
    assert result.representative.tolist() == kept(own, docs, keep)
    assert result.distance.tolist() == [popcount(fps[x] ^ fps[r]) for x, r in enumerate(kept(own, docs, keep))]


def test_verification_finds_a_link_behind_a_shared_fingerprint() -> None:
    # A document that shares its fingerprint with a different text (the same words in another order)
    # becomes a hub of its own and is compared with the other fingerprints' hubs: b with c here.
    words = ("crude oil prices rose sharply on monday as traders said the cartel would cut output again "
             "next month while stocks in the united states fell for a third week running").split()
    a = " ".join(words)
    b = " ".join(reversed(words))  # the same bag of words: the same fingerprint, other shingles
    c = " ".join(list(reversed(words))[:-1] + ["today"])  # b with its last word changed
    docs = [a, b, c]
    hasher = SimHasher(use_idf=False)
    fps, n_tokens = hasher.transform(docs, return_n_tokens=True)
    assert fps[0] == fps[1] and simdup.hamming(int(fps[1]), int(fps[2])) <= 3
    expected = brute_force_dedup(docs, fps.tolist(), n_tokens.tolist(), 8, 0.8, DEFAULT_SHINGLES)
    assert expected.links == {(1, 2)} and expected.jaccard[(1, 2)] > 0.9  # b and c: 27 of 29 shingles
    result = simdup.dedup(docs, 8, hasher=hasher, verify=0.8)
    check_against_oracle(docs, result, expected, 0.8)  # labels [0, 1, 1] (joining heads only gave [0, 1, 2])


# -- verify_links: the hub rule on made-up fingerprints and similarities ---------------------------------
# Texts rarely give several hubs in each of two joined fingerprints; here a document's "text" is a label
# and the similarity of two labels is drawn, so fingerprints shared by many texts, chains of hubs and
# hubs joined with hubs are common.

@st.composite
def link_cases(draw: st.DrawFn):
    n = draw(st.integers(0, 30))
    pool = draw(st.lists(st.integers(0, 31), min_size=1, max_size=6))  # 5 bits: shared and near fingerprints
    fps = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
    n_tokens = draw(st.lists(st.sampled_from([0, 1, 1, 1]), min_size=n, max_size=n))
    texts = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    table = {(a, b): draw(st.sampled_from([0.0, 0.4, 0.6, 0.9])) for a in range(6) for b in range(a + 1, 6)}
    k = draw(st.integers(0, 5))
    threshold = draw(st.sampled_from([0.0, 0.5, 0.8, 1.0]))
    return fps, n_tokens, texts, table, k, threshold


@settings(max_examples=500, deadline=None)
@given(link_cases())
def test_verify_links_follows_the_hub_rule(case) -> None:
    fps, n_tokens, texts, table, k, threshold = case

    def similarity(a: int, b: int) -> float:
        ta, tb = sorted((texts[a], texts[b]))
        return 1.0 if ta == tb else table[ta, tb]

    asked: list[tuple[int, int]] = []

    def jac(i, j):
        asked.extend(zip(i.tolist(), j.tolist()))
        return np.array([similarity(a, b) for a, b in zip(i.tolist(), j.tolist())], dtype=np.float64)

    pairs = candidate_links(np.array(fps, np.uint64), np.array(n_tokens, np.int64), k)
    got, got_jaccard = verify_links(pairs, threshold, jac)
    links = list(zip(got.i.tolist(), got.j.tolist()))
    expected = hub_links(fps, n_tokens, k, threshold, similarity)
    members = {b for a, b in expected if fps[a] == fps[b]}
    hubs = [x for x in range(len(fps)) if n_tokens[x] and x not in members]
    event(f"a fingerprint with several hubs: {len({fps[x] for x in hubs}) < len(hubs)}")
    assert links == sorted(expected)  # sorted, each once
    assert got.distance.tolist() == [popcount(fps[a] ^ fps[b]) for a, b in links]
    assert got_jaccard.tolist() == [similarity(a, b) for a, b in links]
    assert len(asked) == len(set(asked)) and all(a < b for a, b in asked)  # no pair compared twice
    assert all(n_tokens[a] and n_tokens[b] and popcount(fps[a] ^ fps[b]) <= k for a, b in asked)


def test_verify_links_pairs_every_hub_of_two_joined_fingerprints() -> None:
    # Fingerprint 0: documents 0, 1, 2, three texts (hubs 0, 1, 2); fingerprint 1: documents 3, 4, 5,
    # texts of 2, 0, 1 (hubs 3, 4, 5); the join links heads 0 and 3 only. Each text's two documents meet.
    texts = [0, 1, 2, 2, 0, 1]
    pairs = candidate_links(np.array([0, 0, 0, 1, 1, 1], np.uint64), np.ones(6, np.int64), 1)
    assert list(zip(pairs.i.tolist(), pairs.j.tolist())) == [(0, 1), (0, 2), (0, 3), (3, 4), (3, 5)]
    got, jac = verify_links(pairs, 0.5, lambda i, j: (np.array(texts)[i] == np.array(texts)[j]).astype(float))
    assert list(zip(got.i.tolist(), got.j.tolist())) == [(0, 4), (1, 5), (2, 3)]
    assert got.distance.tolist() == [1, 1, 1] and jac.tolist() == [1.0, 1.0, 1.0]


# -- evidence and reference ---------------------------------------------------------------


@st.composite
def graphs(draw: st.DrawFn) -> tuple[int, list[tuple[int, int]], set[int]]:
    n = draw(st.integers(0, 12))
    if n < 2:
        return n, [], set(draw(st.sets(st.integers(0, max(n - 1, 0)), max_size=n)))
    pairs = draw(st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] < p[1]),
                         max_size=30))
    edges = draw(st.permutations(sorted(pairs)))
    # (a, b) or (b, a): the kernel must not depend on the edges' order or orientation
    flips = draw(st.lists(st.booleans(), min_size=len(edges), max_size=len(edges)))
    edges = [(b, a) if f else (a, b) for (a, b), f in zip(edges, flips)]
    return n, edges, draw(st.sets(st.integers(0, n - 1), max_size=n))


@settings(max_examples=400, deadline=None)
@given(graphs())
def test_spanning_parents_equals_the_level_by_level_oracle(graph) -> None:
    n, edges, roots = graph
    i = np.array([a for a, _ in edges], np.int64)
    j = np.array([b for _, b in edges], np.int64)
    is_root = np.zeros(n, np.uint8)
    is_root[list(roots)] = 1
    parent, edge = simdup._core.spanning_parents(n, i, j, is_root)
    assert parent.tolist() == spanning_parents(n, edges, roots)
    for x, e in enumerate(edge.tolist()):
        assert (e < 0) == (parent[x] < 0)
        if e >= 0:
            assert {int(i[e]), int(j[e])} == {x, int(parent[x])}


def test_spanning_parents_rejects_bad_input() -> None:
    one = np.array([0], np.int64)
    with pytest.raises(ValueError, match="outside"):
        simdup._core.spanning_parents(2, one, np.array([2], np.int64), np.zeros(2, np.uint8))
    with pytest.raises(ValueError, match="differ in length"):
        simdup._core.spanning_parents(2, one, np.array([0, 1], np.int64), np.zeros(2, np.uint8))
    with pytest.raises(ValueError, match="is_root"):
        simdup._core.spanning_parents(2, one, one, np.zeros(3, np.uint8))


@st.composite
def against_case(draw: st.DrawFn):
    docs = draw(corpora(4))
    cut = draw(st.integers(0, len(docs)))
    k = draw(st.integers(0, MAX_K))
    verify = draw(st.none() | st.sampled_from([0.5, DEFAULT_VERIFY, 1.0]))
    keep = draw(st.sampled_from(["first", "longest"]))
    hasher = draw(st.sampled_from(["fit", "uniform", "default"]))
    return docs[:cut], docs[cut:], k, verify, keep, hasher


@FAST
@given(against_case())
def test_dedup_against_documents_equals_brute_force(case) -> None:
    """New documents against reference documents: the oracle's matches (nearest verified), clusters kept in
    the reference, and evidence; an index of the reference's fingerprints gives the same without verification."""
    new, reference, k, verify, keep, hasher_kind = case
    if hasher_kind == "fit":  # fitted on the new and reference documents together
        hasher, twin = SimHasher(), SimHasher().fit(new + reference) if new + reference else SimHasher()
    elif hasher_kind == "uniform":
        hasher = twin = SimHasher(use_idf=False)
    else:
        hasher = twin = SimHasher.default()
    result = simdup.dedup(new, k, hasher=hasher, keep=keep, verify=verify, against=reference)
    if not new:
        assert len(result.keep) == 0
        return
    fps, n_tokens = twin.transform(new, return_n_tokens=True)
    ref_fps, ref_tokens = twin.transform(reference, return_n_tokens=True) if reference else ([], [])
    expected = brute_force_dedup(new, fps.tolist(), n_tokens.tolist(), k, verify, shingle_pair(DEFAULT_SHINGLES), keep)
    assume(verify is None or not mixed_fingerprint_groups(new, expected, DEFAULT_SHINGLES))
    words, chars = shingle_pair(DEFAULT_SHINGLES)
    sets = [ref.shingles(text_of(d), words, chars) for d in new + reference]

    def similarity(x: int, r: int) -> float:
        return jaccard(sets[x], sets[len(new) + r])

    matches = reference_matches([int(f) for f in fps], n_tokens.tolist(), [int(f) for f in ref_fps],
                                list(ref_tokens), k, similarity, verify)
    event(f"reference matches: {'some' if matches else 'none'}")
    check_evidence(result, expected, verify, matches, similarity)
    assert result.keep.tolist() == [r == x for x, r in enumerate(result.representative.tolist())]
    assert result.summary["reference"]["matched"] == len(matches)

    # The reference's fingerprints in an index: fingerprints alone decide.
    index = simdup.SimHashIndex(k)
    has = np.flatnonzero(np.asarray(ref_tokens, np.int64) > 0)  # (token-less documents match nothing)
    index.add_many(np.asarray(ref_fps, np.uint64)[has], has.astype(np.uint64))
    fitted = hasher if hasher.__sklearn_is_fitted__() else twin
    by_index = simdup.dedup(new, k, hasher=fitted, keep=keep, verify=verify, against=index)
    unverified = reference_matches([int(f) for f in fps], n_tokens.tolist(), [int(f) for f in ref_fps],
                                   list(ref_tokens), k, None, None)
    check_evidence(by_index, expected, verify, unverified)
    if verify is None:
        assert by_index.keep.tolist() == result.keep.tolist()
