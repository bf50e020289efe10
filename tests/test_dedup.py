"""Batch dedup: self-join, clusters, keep rule, verification, against brute force."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from internals import choose_kept, clusters, join_masks, shingle_jaccard

from simdup import SimHasher, SimHashIndex, dedup, find_duplicates
from simdup.join import find_duplicates_between
from simdup.reference import reference_candidates


def brute_pairs(fps: list[int], k: int) -> set[tuple[int, int, int]]:
    return {(a, b, (fps[a] ^ fps[b]).bit_count())
            for a in range(len(fps)) for b in range(a + 1, len(fps)) if (fps[a] ^ fps[b]).bit_count() <= k}


def brute_components(n: int, edges: list[tuple[int, int]]) -> list[int]:
    graph = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
        graph[b].add(a)
    label = [-1] * n
    for start in range(n):
        if label[start] < 0:
            stack, members = [start], []
            label[start] = start
            while stack:
                node = stack.pop()
                members.append(node)
                for nxt in graph[node]:
                    if label[nxt] < 0:
                        label[nxt] = start
                        stack.append(nxt)
    return label


@st.composite
def clustered_fingerprints(draw: st.DrawFn) -> list[int]:
    """A few random centres, each with copies that flip up to 12 random bits."""
    centres = draw(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=6))
    out = []
    for c in centres:
        for flips in draw(st.lists(st.lists(st.integers(0, 63), max_size=12), max_size=8)):
            v = c
            for bit in flips:
                v ^= 1 << bit
            out.append(v)
        out.append(c)
    return draw(st.permutations(out))


@settings(max_examples=150, deadline=None)
@given(st.one_of(clustered_fingerprints(), st.lists(st.integers(0, 2**64 - 1), max_size=60)),
       st.integers(0, 10))
def test_find_duplicates_equals_brute_force(fps: list[int], k: int) -> None:
    pairs = find_duplicates(np.array(fps, dtype=np.uint64), k)
    got = list(zip(pairs.i.tolist(), pairs.j.tolist(), pairs.distance.tolist()))
    assert len(got) == len(set(got))  # each pair once
    assert set(got) == brute_pairs(fps, k)
    assert got == sorted(got)


@settings(max_examples=150, deadline=None)
@given(st.one_of(clustered_fingerprints(), st.lists(st.integers(0, 2**64 - 1), max_size=60)), st.data(),
       st.integers(0, 10), st.integers(1, 3))
def test_find_duplicates_between_equals_brute_force(fps: list[int], data: st.DataObject, k: int,
                                                    threads: int) -> None:
    """Every (left, right) pair within k, each once, never a pair within one side (a split of one draw, so
    the two sides share clusters)."""
    cut = data.draw(st.integers(0, len(fps)))
    left, right = fps[:cut], fps[cut:]
    pairs = find_duplicates_between(np.array(left, dtype=np.uint64), np.array(right, dtype=np.uint64), k,
                                    threads=threads)
    got = list(zip(pairs.i.tolist(), pairs.j.tolist(), pairs.distance.tolist()))
    expected = {(a, b, bin(x ^ y).count("1")) for a, x in enumerate(left) for b, y in enumerate(right)
                if bin(x ^ y).count("1") <= k}
    assert len(got) == len(set(got)) and set(got) == expected and got == sorted(got)


def test_reference_candidates_by_join_equal_those_by_query() -> None:
    """Many documents against an index are joined with its fingerprints, few are queried: the same candidates."""
    rng = np.random.default_rng(5)
    centres = rng.integers(0, 2**63, 300, dtype=np.uint64)
    flips = (np.uint64(1) << rng.integers(0, 64, (3000, 4)).astype(np.uint64))
    ref = centres[rng.integers(0, 300, 3000)] ^ np.bitwise_xor.reduce(flips * (rng.random((3000, 4)) < 0.5), axis=1)
    new = centres[rng.integers(0, 300, 2000)] ^ (np.uint64(1) << rng.integers(0, 64, 2000).astype(np.uint64))
    index = SimHashIndex(6)
    index.add_many(ref, rng.permutation(3000).astype(np.uint64) * np.uint64(7919))
    tokens = np.where(rng.random(2000) < 0.05, 0, 5)
    joined = reference_candidates(new, tokens, index, 6, how="join")
    by_query = [reference_candidates(new[a:a + 1], tokens[a:a + 1], index, 6, how="query") for a in range(len(new))]
    queried = (np.concatenate([d + a for a, (d, _, _) in enumerate(by_query)]),
               np.concatenate([i for _, i, _ in by_query]), np.concatenate([x for _, _, x in by_query]))
    assert len(joined[0]) > 1000
    for a, b, c in zip(joined, queried, reference_candidates(new, tokens, index, 6, threads=2)):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("k", range(11))
@pytest.mark.parametrize("n", [10, 10**6, 10**9])
@pytest.mark.parametrize("left", [None, 1, 10])
def test_join_masks_cover_every_pattern_of_k_differing_bits(k: int, n: int, left: int | None) -> None:
    # Pigeonhole: whatever k bits differ, some table's key avoids all of them (a self-join's design,
    # or a join of n // left fingerprints with the rest).
    masks = [int(m) for m in join_masks(k, n, n_left=None if left is None else n // left)]
    rng = np.random.default_rng(k)
    for _ in range(3000):
        diff = 0
        for bit in rng.choice(64, size=k, replace=False):
            diff |= 1 << int(bit)
        assert any(diff & m == 0 for m in masks)


def test_a_small_left_side_gets_a_design_of_fewer_tables() -> None:
    # 1M new fingerprints against 10M: a run's cost is its new rows times its reference rows, far
    # below all its pairs, so longer runs (fewer blocks, fewer tables to sort) cost less.
    between, self_join = join_masks(8, 11_000_000, n_left=1_000_000), join_masks(8, 11_000_000)
    assert len(between) < len(self_join)
    assert len(join_masks(8, 11_000_000, n_left=5_500_000)) <= len(self_join)


def test_identical_fingerprints_are_pairs() -> None:
    pairs = find_duplicates(np.array([7, 7, 7, 8], dtype=np.uint64), 0)
    assert list(zip(pairs.i.tolist(), pairs.j.tolist())) == [(0, 1), (0, 2), (1, 2)]


def test_find_duplicates_on_real_fingerprints(reuters_texts: list[str]) -> None:
    fps = SimHasher.default().transform(reuters_texts[:600])
    for k in (0, 3, 8):
        pairs = find_duplicates(fps, k)
        assert set(zip(pairs.i.tolist(), pairs.j.tolist(), pairs.distance.tolist())) == brute_pairs(fps.tolist(), k)


@given(st.integers(1, 40), st.lists(st.tuples(st.integers(0, 39), st.integers(0, 39)), max_size=60))
def test_clusters_equal_connected_components(n: int, edges: list[tuple[int, int]]) -> None:
    edges = [(a % n, b % n) for a, b in edges]
    i = [a for a, _ in edges]
    j = [b for _, b in edges]
    assert clusters(n, i, j).tolist() == brute_components(n, edges)


def test_choose_kept_rules() -> None:
    labels = clusters(5, [0, 1, 3], [1, 2, 4])  # {0,1,2}, {3,4}
    assert choose_kept(labels).tolist() == [0, 0, 0, 3, 3]
    assert choose_kept(labels, "longest", [5, 9, 9, 1, 2]).tolist() == [1, 1, 1, 4, 4]
    assert choose_kept(labels, lambda x: -x).tolist() == [2, 2, 2, 4, 4]
    with pytest.raises(ValueError, match="keep"):
        choose_kept(labels, "shortest")


def test_shingle_jaccard_matches_python_sets() -> None:
    docs = ["a b c d e f", "a b c d e g", "x y", "x y", "totally different words here"]
    hasher = SimHasher(use_idf=False)
    sims = shingle_jaccard(hasher, docs, [0, 2, 0], [1, 3, 4], shingle_size=3)

    def shingles(text: str, n: int = 3) -> set[tuple[str, ...]]:
        w = text.split()
        return {tuple(w[x:x + n]) for x in range(len(w) - n + 1)} if len(w) >= n else set(w)

    expected = [len(shingles(docs[a]) & shingles(docs[b])) / len(shingles(docs[a]) | shingles(docs[b]))
                for a, b in [(0, 1), (2, 3), (0, 4)]]
    assert sims.tolist() == pytest.approx(expected)


def test_dedup_on_reuters_finds_the_exact_repeats(reuters_texts: list[str]) -> None:
    base = reuters_texts[:1000]
    docs = base + base[:40]  # 40 exact copies at the end
    result = dedup(docs, k=3)
    n = len(docs)
    assert not result.keep[1000:].any()  # a copy is never kept over its original
    assert (result.representative[1000:] <= np.arange(40)).all()
    assert (result.distance[1000:] == result.distance[:40]).all()
    summary = result.summary
    assert summary["documents"] == n and summary["kept"] == result.keep.sum()
    assert summary["duplicates_removed"] >= 40 and summary["largest_cluster"] >= 2
    assert (result.labels[result.representative] == result.labels).all()
    assert (result.keep == (result.representative == np.arange(n))).all()


def test_verification_only_removes_links(reuters_texts: list[str]) -> None:
    docs = reuters_texts[:1500]
    wide = dedup(docs, k=8, verify=None)
    verified = dedup(docs, k=8, verify=0.8)
    assert verified.jaccard is not None and (verified.jaccard >= 0.8).all()
    assert len(verified.pairs.i) <= len(wide.pairs.i)
    assert verified.keep.sum() >= wide.keep.sum()


def test_token_less_documents_are_never_duplicates() -> None:
    result = dedup(["", "", "!!!", "same words here", "same words here"], k=3, hasher=SimHasher(use_idf=False))
    assert result.keep.tolist() == [True, True, True, True, False]
    assert result.summary["token_less_documents"] == 3


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="k must be"):
        find_duplicates(np.zeros(3, np.uint64), 11)
    with pytest.raises(TypeError, match="k must be an int"):
        find_duplicates(np.zeros(3, np.uint64), 2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="integer dtype"):
        find_duplicates(np.zeros(3, np.float64), 3)
    with pytest.raises(ValueError, match="negative"):
        find_duplicates(np.array([-1, 2]), 3)
    with pytest.raises(ValueError, match="one-dimensional"):
        find_duplicates(np.zeros((2, 2), np.uint64), 3)
    with pytest.raises(ValueError, match="verify"):
        dedup(["a"], verify=1.5)
    assert len(find_duplicates(np.zeros(0, np.uint64), 3).i) == 0


def test_verification_keeps_identical_texts_linked_under_a_colliding_fingerprint() -> None:
    # All three share one fingerprint (k=0) but the first is a different text.
    docs = ["apple apple banana", "apple apple cherry", "apple apple cherry"]
    hasher = SimHasher(use_idf=False)
    assert len(set(hasher.transform(docs).tolist())) == 1
    result = dedup(docs, k=0, hasher=hasher, verify=0.8)
    assert result.keep.tolist() == [True, True, False]


def test_empty_input() -> None:
    result = dedup([])
    assert len(result.keep) == 0 and result.summary["documents"] == 0
    assert dedup([], keep="longest", hasher=SimHasher(use_idf=False)).summary["kept"] == 0
    assert choose_kept(np.empty(0, np.int64), "longest", []).tolist() == []
