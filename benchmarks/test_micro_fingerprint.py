"""Micro-benchmarks of the fingerprint path (pytest-benchmark).

The default test run executes each once as a smoke test (--benchmark-disable
in setup.cfg); measure with:

    pytest benchmarks/ --benchmark-enable --benchmark-only
"""

from __future__ import annotations

import numpy as np

from simdup import SimHasher, _core, hamming


def test_transform_english(benchmark, english: list[str]) -> None:
    hasher = SimHasher.default()
    fps = benchmark(hasher.transform, english)
    assert len(fps) == len(english)


def test_transform_english_bigrams(benchmark, english: list[str]) -> None:
    hasher = SimHasher(ngram_range=(1, 2)).fit(english)
    assert len(benchmark(hasher.transform, english)) == len(english)


def test_transform_chinese_rjieba(benchmark, chinese: list[str]) -> None:
    hasher = SimHasher.default().set_params(segmenter="rjieba")
    assert len(benchmark(hasher.transform, chinese)) == len(chinese)


def test_fingerprint_one_document(benchmark, english: list[str]) -> None:
    hasher = SimHasher.default()
    assert benchmark(hasher.fingerprint, english[0]) > 0


def test_xxh64_word(benchmark) -> None:
    assert benchmark(_core.xxh64, b"fingerprint") > 0


def test_hamming_one_million(benchmark) -> None:
    rng = np.random.default_rng(0)
    a, b = (rng.integers(0, 2**64, 1_000_000, dtype=np.uint64) for _ in range(2))
    assert benchmark(hamming, a, b).shape == (1_000_000,)
