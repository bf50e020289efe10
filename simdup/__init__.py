"""simdup: near-duplicate detection with weighted 64-bit SimHash; this module is the public API.

The package follows the data: :mod:`simdup.text` (document to text),
:mod:`simdup.hasher` (text to fingerprint), :mod:`simdup.index` and
:mod:`simdup.deduper` (online lookups), :mod:`simdup.batch` and
:mod:`simdup.distributed` (self-join, clusters, kept documents; on Dask the
latter, public as ``simdup.dask``), :mod:`simdup.corpus` (corpus files in
and out) and :mod:`simdup.cli` (the command line).

>>> import simdup
>>> a = simdup.simhash("The quick brown fox jumps over the lazy dog")
>>> b = simdup.simhash("The quick brown fox jumped over the lazy dog")
>>> simdup.hamming(a, b) <= 10
True
"""

from __future__ import annotations

__version__ = "0.1.0"

from ._validation import as_fingerprints
from .batch import DedupResult, Pairs, dedup, find_duplicates
from .deduper import Deduper
from .distance import hamming, similarity
from .hasher import SPEC_VERSION, NotFittedError, SimHasher
from .index import IndexPlan, SimHashIndex, plan_index
from .text.tokenize import Document

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


def simhash(doc: Document, *, input: str = "auto", html_content: str = "main",
            content_type: str | None = None) -> int:
    """Fingerprint of one document on the embedded default model.

    Equivalent to ``SimHasher.default().set_params(input=input,
    html_content=html_content).fingerprint(doc, content_type)``; see
    :mod:`simdup.hasher` for the spec and :class:`SimHasher` for the parameters.

    """
    return _default_hasher(input, html_content).fingerprint(doc, content_type)


_default: dict[tuple[str, str], SimHasher] = {}


def _default_hasher(input: str = "auto", html_content: str = "main") -> SimHasher:
    key = (input, html_content)
    if key not in _default:
        _default[key] = SimHasher.default().set_params(input=input, html_content=html_content)
    return _default[key]
