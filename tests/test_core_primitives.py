"""The compiled core's shared primitives and exported constants, through ``simdup._core`` only.

The self-join and the index share one Hamming scan (popcount dispatch), one
radix sort and one growable array (simdup/_primitives.pxi). These tests aim
at their edges against brute force: runs and buckets longer than one scan
chunk, hit lists long enough for the radix sort with ids differing in every
byte, outputs that grow their arrays many times, and the saved layout by
name. They use the core directly (no planner), so a design is written out.
"""

from __future__ import annotations

import numpy as np
import pytest

from simdup import _core

SCAN_CHUNK = 256  # _primitives.pxi: longer runs and buckets cross a chunk boundary


def _blocks(k: int) -> list[tuple[int, int]]:
    """``k + 1`` bit ranges ``(lo, width)`` covering 64 bits."""
    edges = [round(64 * b / (k + 1)) for b in range(k + 2)]
    return [(lo, hi - lo) for lo, hi in zip(edges, edges[1:])]


def _masks(k: int) -> np.ndarray:
    """One key mask per block: every pair within k bits agrees on one (pigeonhole)."""
    return np.array([((1 << w) - 1) << lo for lo, w in _blocks(k)], dtype=np.uint64)


def _design(k: int) -> list[tuple[int, list[tuple[int, int]]]]:
    """Table t keys on block t; the other blocks follow it (an exact design for k)."""
    blocks = _blocks(k)
    return [(w, [(lo, w)] + [b for b in blocks if b != (lo, w)]) for lo, w in blocks]


def _index(k: int) -> _core.HammingIndex:
    ix = _core.HammingIndex()
    ix._configure(k, _design(k))
    return ix


def _clustered(rng: np.random.Generator, n: int, max_flips: int) -> np.ndarray:
    """``n`` fingerprints within ``max_flips`` bits of one centre (long runs, big buckets)."""
    centre = rng.integers(0, 2**64, dtype=np.uint64)
    out = np.full(n, centre, dtype=np.uint64)
    for i in range(n):
        for b in rng.choice(64, size=int(rng.integers(0, max_flips + 1)), replace=False):
            out[i] ^= np.uint64(1) << np.uint64(b)
    return out


def _brute_pairs(fps: np.ndarray, k: int) -> set[tuple[int, int, int]]:
    d = np.bitwise_count(fps[:, None] ^ fps[None, :])
    i, j = np.nonzero(np.triu(d <= k, 1))
    return set(zip(i.tolist(), j.tolist(), d[i, j].tolist()))


def _brute_hits(fps: np.ndarray, ids: np.ndarray, q: int, k: int) -> list[tuple[int, int]]:
    d = np.bitwise_count(fps ^ np.uint64(q))
    return sorted((int(d[r]), int(ids[r])) for r in np.nonzero(d <= k)[0])


# ----------------------------------------------------------------- self-join


@pytest.mark.parametrize("k", [0, 1, 3, 6])
def test_self_join_runs_longer_than_a_scan_chunk(k: int) -> None:
    rng = np.random.default_rng(k)
    fps = _clustered(rng, 3 * SCAN_CHUNK + 17, k + 2)
    fps = np.concatenate([fps, fps[:50], rng.integers(0, 2**64, 200, dtype=np.uint64)])
    i, j, d = _core.self_join(fps, _masks(k), k)
    got = list(zip(i.tolist(), j.tolist(), d.tolist()))
    assert len(got) == len(set(got))  # each pair once
    assert set(got) == _brute_pairs(fps, k)


def test_self_join_one_table_a_call_equals_all_at_once() -> None:
    rng = np.random.default_rng(7)
    fps = _clustered(rng, 600, 5)
    masks = _masks(3)
    whole = _core.self_join(fps, masks, 3)
    parts = [_core.self_join(fps, masks[: t + 1], 3, t) for t in range(len(masks))]
    for column in range(3):  # i, j, d
        assert np.array_equal(whole[column], np.concatenate([p[column] for p in parts]))


def test_self_join_many_pairs_grow_the_output() -> None:
    fps = np.full(1500, 0xDEADBEEF, dtype=np.uint64)  # 1,124,250 identical pairs
    i, j, d = _core.self_join(fps, _masks(0), 0)
    assert len(i) == 1500 * 1499 // 2
    assert (i < j).all() and not d.any()


# --------------------------------------------------------------------- index


@pytest.mark.parametrize("k", [1, 3, 5])
def test_index_big_buckets_and_long_hit_lists_match_brute_force(k: int) -> None:
    rng = np.random.default_rng(100 + k)
    n = 4 * SCAN_CHUNK
    fps = np.concatenate([_clustered(rng, n, k + 2), rng.integers(0, 2**64, n, dtype=np.uint64)])
    ids = np.unique(rng.integers(0, 2**64, 2 * fps.shape[0], dtype=np.uint64))  # every byte varies
    ids = rng.permutation(ids)[: fps.shape[0]]
    ix = _index(k)
    ix._add_many(fps[:-300], ids[:-300])              # segments
    for f, i in zip(fps[-300:].tolist(), ids[-300:].tolist()):
        ix.add(f, i)                                   # the buffer, past one scan chunk
    gone = ids[::7]
    for i in gone.tolist():
        ix.remove(i)
    keep = ~np.isin(ids, gone)
    queries = np.concatenate([fps[:20], rng.integers(0, 2**64, 20, dtype=np.uint64)])
    offsets, got_ids, got_d = ix._query_many(queries)
    for r, q in enumerate(queries.tolist()):
        want = _brute_hits(fps[keep], ids[keep], q, k)
        single = ix.query(q)
        assert [(d, i) for i, d in single] == want
        lo, hi = offsets[r], offsets[r + 1]
        assert list(zip(got_d[lo:hi].tolist(), got_ids[lo:hi].tolist())) == want
    assert max(np.diff(offsets)) > 48  # the radix sort of hits ran


def test_index_buffer_holds_exactly_the_exported_capacity() -> None:
    ix = _index(2)
    for i in range(_core.INDEX_BUFFER_CAP):
        ix.add(i * 0x9E3779B97F4A7C15 % 2**64, i)
    assert ix._stats()["buffered"] == _core.INDEX_BUFFER_CAP and ix._stats()["segments"] == []
    ix.add(12345, _core.INDEX_BUFFER_CAP)
    stats = ix._stats()
    assert stats["buffered"] == 1 and stats["segments"] == [_core.INDEX_BUFFER_CAP]


def test_index_k_limit_is_the_exported_one() -> None:
    _index(_core.INDEX_MAX_K)
    with pytest.raises(ValueError, match=f"k must be in \\[0, {_core.INDEX_MAX_K}\\]"):
        _core.HammingIndex()._configure(_core.INDEX_MAX_K + 1, _design(3))


def test_export_of_an_unconfigured_index_raises() -> None:
    with pytest.raises(RuntimeError, match="not configured"):
        _core.HammingIndex()._export()


# ------------------------------------------------------------ saved layout


@pytest.mark.parametrize("n", [0, 1, 5000])
def test_export_follows_index_sections_and_attaches_back(n: int) -> None:
    rng = np.random.default_rng(n)
    fps = rng.integers(0, 2**64, n, dtype=np.uint64)
    ids = np.arange(n, dtype=np.uint64) * np.uint64(3)
    ix = _index(3)
    ix._add_many(fps, ids)
    parts, bits = ix._export()
    sections = _core.index_sections(n, bits)
    assert list(parts) == list(sections)
    for name, (dtype, length) in sections.items():
        assert parts[name].dtype == dtype and parts[name].shape == (length,), name
    back = _index(3)
    back._attach({name: a.copy() for name, a in parts.items()}, bits)
    assert len(back) == n
    for q in fps[:50].tolist():
        assert back.query(q) == ix.query(q)


def test_index_sections_refuses_a_directory_past_the_limit() -> None:
    assert list(_core.index_sections(0, [_core.INDEX_MAX_DIR_BITS])) == ["fps", "ids", "id_order", "dir0"]
    with pytest.raises(ValueError, match="bad directory size"):
        _core.index_sections(0, [_core.INDEX_MAX_DIR_BITS + 1])


def test_index_dir_bits_formula() -> None:
    for n in [-3, 0, 1, 2, 3, 4, 7, 8, 31, 32, 1000, 2**20, 2**31 + 5, 2**40, 10**30]:
        for p in [0, 1, 5, 16, 26, 32, 64]:
            lg = max(n, 1).bit_length() - 1
            assert _core.index_dir_bits(n, p) == max(0, min(p, lg - 2, _core.INDEX_MAX_DIR_BITS))


# ----------------------------------------------------- fingerprint kernels


def test_doc_terms_grows_past_many_documents() -> None:
    docs = [" ".join(f"w{d}x{i}" for i in range(300)).encode() for d in range(300)]  # 90,000 terms
    flags = _core.FLAGS["fold_case"]
    indptr, terms = _core.doc_terms(docs, 1, 1, flags)
    assert indptr[-1] == 90_000
    for d in (0, 150, 299):
        hashes, _ = _core.token_hashes(docs[d], 1, 1, flags)
        assert np.array_equal(terms[indptr[d]:indptr[d + 1]], hashes)


def test_shingle_streams_grow_past_their_first_allocation() -> None:
    flags = _core.FLAGS["shingles"] | _core.FLAGS["fold_case"]
    words = " ".join(f"w{i}" for i in range(1000)).encode()
    han = "".join(chr(0x4E00 + i) for i in range(600)).encode()
    _, word_terms = _core.doc_terms([words], 3, 3, flags, 5)
    _, char_terms = _core.doc_terms([han], 3, 3, flags, 5)
    assert len(word_terms) == 998 and len(char_terms) == 596


def test_ngram_limit_and_tf_modes_are_the_exported_ones() -> None:
    flags = _core.FLAGS["auto"]
    _core.doc_terms([b"a b c"], 1, _core.MAX_NGRAM, flags)
    with pytest.raises(ValueError, match="ngram range"):
        _core.doc_terms([b"a b c"], 1, _core.MAX_NGRAM + 1, flags)
    weights = _core.TermWeights(np.empty(0, np.uint64), np.empty(0, np.uint32), 1 << 16)
    out, counts = np.empty(1, np.uint64), np.empty(1, np.int64)
    for mode in _core.TF_MODES.values():
        _core.fingerprint_batch([b"a b a"], weights, 1, 1, mode, flags, out, counts)
    with pytest.raises(ValueError, match="tf mode"):
        _core.fingerprint_batch([b"a"], weights, 1, 1, max(_core.TF_MODES.values()) + 1, flags, out, counts)
    assert sorted(_core.TF_MODES) == ["binary", "raw", "sublinear"]


def test_join_radix_bits_is_a_whole_number_of_passes_per_key() -> None:
    assert 64 % _core.JOIN_RADIX_BITS == 0 and 1 <= _core.JOIN_RADIX_BITS <= 16


def test_join_limit_is_within_what_the_kernel_accepts() -> None:
    # self_join is exact for any k in [0, 64]; JOIN_MAX_K is the batch dedup's policy.
    assert 0 < _core.JOIN_MAX_K < 64
    _core.self_join(np.zeros(2, np.uint64), _masks(_core.JOIN_MAX_K), 64)
    with pytest.raises(ValueError, match="k must be in"):
        _core.self_join(np.zeros(2, np.uint64), _masks(1), 65)
