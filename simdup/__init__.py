"""simdup: near-duplicate detection with weighted 64-bit SimHash.

>>> import simdup
>>> a = simdup.simhash("The quick brown fox jumps over the lazy dog")
>>> b = simdup.simhash("The quick brown fox jumped over the lazy dog")
>>> simdup.hamming(a, b) <= 10
True
"""

from __future__ import annotations

__version__ = "0.1.0"

from .dedup import DedupResult, Pairs, dedup, find_duplicates
from .deduper import Deduper
from .distance import as_fingerprints, hamming, similarity
from .hasher import SPEC_VERSION, NotFittedError, SimHasher
from .index import IndexPlan, SimHashIndex
from .index_plan import plan_index
from .tokenize import Document

__all__ = [
    "SPEC_VERSION",
    "DedupResult",
    "Deduper",
    "IndexPlan",
    "NotFittedError",
    "Pairs",
    "SimHashIndex",
    "SimHasher",
    "as_fingerprints",
    "dedup",
    "find_duplicates",
    "plan_index",
    "hamming",
    "similarity",
    "simhash",
]


def simhash(doc: Document) -> int:
    """Fingerprint of one document on the embedded default model.

    Equivalent to ``SimHasher.default().fingerprint(doc)``; see
    :mod:`simdup.hasher` for the spec.
    """
    return _default_hasher().fingerprint(doc)


_default: list[SimHasher] = []


def _default_hasher() -> SimHasher:
    if not _default:
        _default.append(SimHasher.default())
    return _default[0]
