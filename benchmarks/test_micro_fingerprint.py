"""Micro-benchmarks of the fingerprint path (pytest-benchmark).

The default test run executes each once as a smoke test (--benchmark-disable
in setup.cfg); measure with:

    pytest benchmarks/ --benchmark-enable --benchmark-only

Each checks what it timed: the fingerprints against the slow pure-Python
reference of the spec (tests/reference.py) on a sample of the same documents,
the hashes against the xxhash package, the distances against Python's
``int.bit_count``.
"""

from __future__ import annotations

import numpy as np
import reference as ref
import xxhash

from simdup import SimHasher, _core, hamming

SAMPLE = 12  # documents checked against the reference per benchmark (it is slow on purpose)


def _table(hasher: SimHasher) -> dict[int, int]:
    return dict(zip(hasher.vocabulary_.tolist(), hasher._idf_q.tolist()))


def _sample(n: int, seed: int = 0) -> list[int]:
    return sorted(np.random.default_rng(seed).choice(n, size=min(SAMPLE, n), replace=False).tolist())


def _check_against_reference(hasher: SimHasher, docs: list[str], fps: np.ndarray, **ref_params: object) -> None:
    assert fps.dtype == np.uint64 and fps.shape == (len(docs),)
    table, unseen = _table(hasher), hasher._unseen_q
    params = hasher.get_params()
    for x in _sample(len(docs)):
        want, _ = ref.fingerprint(docs[x], table, unseen, tuple(params["ngram_range"]),
                                  traditional=params["fold_traditional"], **ref_params)  # type: ignore[arg-type]
        assert int(fps[x]) == want, f"document {x}"


def test_transform_english(benchmark, english: list[str]) -> None:
    hasher = SimHasher.default()
    fps = benchmark(hasher.transform, english)
    _check_against_reference(hasher, english, fps)


def test_transform_english_bigrams(benchmark, english: list[str]) -> None:
    hasher = SimHasher(ngram_range=(1, 2)).fit(english)
    fps = benchmark(hasher.transform, english)
    _check_against_reference(hasher, english, fps)


def test_transform_chinese(benchmark, chinese: list[str]) -> None:
    hasher = SimHasher.default()  # the "auto" tokenizer: character bigrams, no segmenter
    fps = benchmark(hasher.transform, chinese)
    _check_against_reference(hasher, chinese, fps)


def test_transform_chinese_rjieba(benchmark, chinese: list[str]) -> None:
    import rjieba

    # tokenizer="chinese" is what calls the segmenter (under "auto" it is never used)
    hasher = SimHasher.default().set_params(tokenizer="chinese", segmenter="rjieba")
    fps = benchmark(hasher.transform, chinese)
    _check_against_reference(hasher, chinese, fps, segment=rjieba.cut)


def test_fingerprint_one_document(benchmark, english: list[str]) -> None:
    hasher = SimHasher.default()
    fp = benchmark(hasher.fingerprint, english[0])
    assert fp == ref.fingerprint(english[0], _table(hasher), hasher._unseen_q, traditional=True)[0]


def test_xxh64_word(benchmark) -> None:
    assert benchmark(_core.xxh64, b"fingerprint") == xxhash.xxh64_intdigest(b"fingerprint")


def test_hamming_one_million(benchmark) -> None:
    rng = np.random.default_rng(0)
    a, b = (rng.integers(0, 2**64, 1_000_000, dtype=np.uint64) for _ in range(2))
    d = benchmark(hamming, a, b)
    assert d.shape == (1_000_000,) and d.dtype == np.int32
    # every distance, counted another way: the set bits of the XOR's bytes
    assert np.array_equal(d, np.unpackbits((a ^ b).view(np.uint8)).reshape(-1, 64).sum(axis=1))
    for x in rng.choice(len(a), 1000, replace=False).tolist():
        assert int(d[x]) == (int(a[x]) ^ int(b[x])).bit_count()
