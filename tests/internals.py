"""The simdup internals the tests call directly, imported in this one place.

Tests should use the public API (``import simdup``); the few kernels with no
public door (the verification shingles and their Jaccard) come from here, so
moving a module (as ``simdup/dedup.py`` became ``simdup/batch.py``) is a
change to these lines only.
"""

from __future__ import annotations

from simdup._core import jaccard_pairs
from simdup.batch import _links as candidate_links
from simdup.batch import choose_kept, clusters, join_masks, shingle_jaccard, shingle_sets, verify_links

__all__ = ["candidate_links", "choose_kept", "clusters", "jaccard_pairs", "join_masks", "shingle_jaccard",
           "shingle_sets", "verify_links"]
