"""Shared fixtures for the index tests: fingerprint generators and real fingerprints."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import shared_data

REUTERS = "reuters21578.jsonl.gz"


def flip(fp: int, rng: np.random.Generator, bits: int) -> int:
    """``fp`` with ``bits`` distinct random bits flipped."""
    for b in rng.choice(64, size=bits, replace=False):
        fp ^= 1 << int(b)
    return fp


def clustered(rng: np.random.Generator, n: int, k: int, centers: int) -> list[int]:
    """Fingerprints around a few centres, at distances 0..k+2 (many near the boundary)."""
    base = [int(x) for x in rng.integers(0, 2**64, size=centers, dtype=np.uint64)]
    return [flip(base[i % centers], rng, int(rng.integers(0, min(k + 3, 64) + 1)))
            for i in range(n)]


def _doc_text(rec: dict) -> str:
    return f"{rec.get('title', '')} {rec.get('text', '')}"


@lru_cache(maxsize=1)
def reuters_fingerprints() -> np.ndarray:
    """A stand-in SimHash (XXH64 word hashes weighted by count) of every Reuters document.

    Real text gives skewed fingerprints: exact duplicates and near-duplicate
    wire stories. Skips when the shared corpus is absent.
    """
    shared_data.require(REUTERS)
    from simdup._core import simhash_weighted, token_hashes

    out = []
    for rec in shared_data.iter_records(REUTERS):
        text = _doc_text(rec).lower()
        hashes, counts = token_hashes(re.sub(r"\s+", " ", text).encode())
        out.append(simhash_weighted(hashes, counts.astype(np.int64)))
    return np.array(out, dtype=np.uint64)


def brute_force_many(stored: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int):
    """numpy XOR + popcount oracle in query_many's output shape."""
    offsets, out_ids, out_d = [0], [], []
    for q in queries:
        d = np.bitwise_count(stored ^ q)
        sel = np.flatnonzero(d <= k)
        order = np.lexsort((ids[sel], d[sel]))
        out_ids.append(ids[sel][order])
        out_d.append(d[sel][order])
        offsets.append(offsets[-1] + len(sel))
    def cat(xs, t):
        return np.concatenate(xs).astype(t) if xs else np.empty(0, t)
    return np.array(offsets, np.int64), cat(out_ids, np.uint64), cat(out_d, np.uint8)
