"""From links to clusters: components, the document each keeps, and the evidence for every removal.

The links found (after verification) and, with a reference, each new
document's match in it, become clusters here, on one machine; the Dask run
(:mod:`simdup.distributed.keep`) applies the same rules cluster by cluster.

Evidence. A removed document is linked, directly or through others, to the
document its cluster keeps. Its evidence is one link: to its parent in the
breadth-first forest grown from the kept documents over the links
(:func:`simdup._core.spanning_parents`), so a document linked to its kept
document directly gets that link, and otherwise a link one step nearer it
(the smallest-numbered such neighbour). With a reference, every reference
document matched is a root: a document that matched the reference directly
has that match as evidence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Union

import numpy as np
import numpy.typing as npt

from . import _core

KeepRule = Union[str, Callable[[int], Any]]

REASONS = ("unique", "kept", "same_fingerprint", "near_duplicate", "reference")
"""Names of the reason codes of :attr:`Evidence.reason`, by code:

- ``unique`` (0): in no cluster;
- ``kept`` (1): the document its cluster keeps;
- ``same_fingerprint`` (2): removed; its match has the same fingerprint (and,
  with verification, shingle Jaccard at least the threshold);
- ``near_duplicate`` (3): removed; its match is within k bits (and verified);
- ``reference`` (4): removed; it matched a reference document (verified when
  the reference's text was available).
"""
UNIQUE, KEPT, SAME_FINGERPRINT, NEAR_DUPLICATE, REFERENCE = range(len(REASONS))

CLUSTER_COLUMNS = ("id", "cluster", "kept_id", "matched_id", "distance", "jaccard", "reason")
"""The columns of a clusters file, one row per document in a cluster (``simdup dedup --clusters``):

- ``id``: the document;
- ``cluster``: its cluster, numbered 0, 1, ... in order of first documents;
- ``kept_id``: the document the cluster keeps (a reference document's id
  when the cluster matched the reference);
- ``matched_id``: the evidence: the document whose link put this one in the
  cluster (the kept document when they are linked directly), empty for the
  kept document;
- ``distance``: Hamming distance between the fingerprints of ``id`` and
  ``matched_id``;
- ``jaccard``: their verified shingle Jaccard, empty when not verified;
- ``reason``: a name of :data:`REASONS`.
"""


class ReferenceMatches(NamedTuple):
    """New documents that matched a reference, one match each (see :func:`simdup.reference.match_reference`).

    Attributes
    ----------
    doc : int64 array
        The new documents matched, ascending.
    key : int64 or uint64 array
        The reference document each matched: its position among reference
        documents, or its id in a :class:`~simdup.SimHashIndex`.
    distance : uint8 array
        Hamming distance of the two fingerprints.
    jaccard : float64 array
        Shingle Jaccard of the two texts; NaN when not verified.
    """

    doc: npt.NDArray[np.int64]
    key: npt.NDArray[Any]
    distance: npt.NDArray[np.uint8]
    jaccard: npt.NDArray[np.float64]


class Evidence(NamedTuple):
    """Why each document was kept or removed: its match, their distance and Jaccard, and a reason.

    Attributes
    ----------
    match : int64 array
        The document whose link is the evidence (a document of the input),
        -1 for a kept document, one in no cluster, and one that matched the
        reference (see ``reference``).
    distance : int32 array
        Hamming distance to the match (to the reference document for reason
        ``reference``), -1 when there is none.
    jaccard : float64 array
        Verified shingle Jaccard of that pair; NaN without verification.
    reason : uint8 array
        A code of :data:`REASONS`.
    reference : int64 or uint64 array, or None
        With a reference: for reason ``reference``, the reference document
        matched (its position among reference documents, or its index id);
        0 elsewhere.
    """

    match: npt.NDArray[np.int64]
    distance: npt.NDArray[np.int32]
    jaccard: npt.NDArray[np.float64]
    reason: npt.NDArray[np.uint8]
    reference: npt.NDArray[Any] | None = None

    def reason_names(self) -> list[str]:
        """Each document's reason by name (:data:`REASONS`)."""
        return np.asarray(REASONS, dtype=object)[self.reason].tolist()


class Settled(NamedTuple):
    """Clusters, kept documents and evidence of ``n`` documents (:func:`settle`).

    ``representative`` is -1 for the documents of a cluster kept in the
    reference, whose reference document is ``kept_reference`` (a reference
    key, 0 elsewhere; None without a reference); ``distance`` to the
    representative is then -1.
    """

    labels: npt.NDArray[np.int64]
    representative: npt.NDArray[np.int64]
    distance: npt.NDArray[np.int32]
    evidence: Evidence
    kept_reference: npt.NDArray[Any] | None


def clusters(n: int, i: npt.ArrayLike, j: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Connected components of ``n`` documents linked by pairs ``(i, j)``.

    Returns each document's cluster label: the index of the cluster's first
    document (a document in no pair is its own cluster).
    """
    return _core.connected_components(
        int(n), np.ascontiguousarray(i, dtype=np.int64), np.ascontiguousarray(j, dtype=np.int64)
    )


def choose_kept(labels: npt.NDArray[np.int64], keep: KeepRule = "first",
                lengths: Sequence[int] | npt.NDArray[np.int64] | None = None) -> npt.NDArray[np.int64]:
    """Index of the document each cluster keeps, for every document.

    Parameters
    ----------
    labels : int64 array
        Cluster labels from :func:`clusters`.
    keep : "first", "longest" or callable
        "first" keeps the earliest document. "longest" keeps the longest
        (``lengths``), the earliest among equals. A callable ``key(index)``
        keeps the document with the smallest key, the earliest among equals.
    """
    n = len(labels)
    index = np.arange(n)
    if keep == "first" or n == 0:
        if keep not in ("first", "longest") and not callable(keep):
            raise ValueError(f'keep must be "first", "longest" or a callable, got {keep!r}')
        return labels.copy()
    if keep == "longest":
        if lengths is None:
            raise ValueError('keep="longest" needs the documents\' lengths')
        rank = -np.asarray(lengths, dtype=np.int64)
    elif callable(keep):
        keys = [keep(int(x)) for x in index]
        rank = np.empty(n, dtype=np.int64)
        rank[sorted(range(n), key=keys.__getitem__)] = index
    else:
        raise ValueError(f'keep must be "first", "longest" or a callable, got {keep!r}')
    return cluster_winners(labels, rank, index)


def cluster_winners(labels: npt.NDArray[np.int64], rank: npt.NDArray[np.int64], docs: npt.NDArray[np.int64]
                    ) -> npt.NDArray[np.int64]:
    """For each row, the ``docs`` entry of its cluster's row with the smallest ``(rank, docs)``."""
    order = np.lexsort((docs, rank, labels))
    sorted_labels = labels[order]
    head = np.r_[True, sorted_labels[1:] != sorted_labels[:-1]] if len(order) else np.zeros(0, bool)
    winner_sorted = docs[order][head][np.cumsum(head) - 1]
    out = np.empty(len(labels), dtype=np.int64)
    out[order] = winner_sorted
    return out


def settle(fps: npt.NDArray[np.uint64], i: npt.NDArray[np.int64], j: npt.NDArray[np.int64],
           link_distance: npt.NDArray[np.uint8], link_jaccard: npt.NDArray[np.float64] | None,
           keep: KeepRule = "first", lengths: Sequence[int] | npt.NDArray[np.int64] | None = None,
           reference: ReferenceMatches | None = None) -> Settled:
    """Clusters of the links ``(i, j)`` and the reference matches, kept documents, and evidence.

    Parameters
    ----------
    fps : uint64 array
        The documents' fingerprints.
    i, j, link_distance, link_jaccard
        The links (after verification), their Hamming distance, and their
        Jaccard (None: not verified).
    keep, lengths
        As for :func:`choose_kept`, among the documents of a cluster.
    reference : ReferenceMatches, optional
        Documents that matched a reference. A cluster holding one keeps the
        reference: all its documents are removed, and its kept reference
        document is the smallest key matched in it.
    """
    n = len(fps)
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    n_links = len(i)
    if reference is not None and len(reference.doc):
        # Each reference document matched is a node after the n documents.
        keys, node = np.unique(reference.key, return_inverse=True)
        ei, ej = np.concatenate([i, reference.doc]), np.concatenate([j, n + node.astype(np.int64)])
    else:
        keys, ei, ej = np.empty(0, np.uint64), i, j
    n_nodes = n + len(keys)
    all_labels = clusters(n_nodes, ei, ej)
    labels = all_labels[:n]
    representative = choose_kept(labels, keep, lengths)
    kept_reference = None
    roots = np.zeros(n_nodes, np.uint8)
    if reference is not None:
        kept_reference = np.zeros(n, dtype=reference.key.dtype)
        if len(keys):
            # Reference nodes ascend by key: a cluster's first one has its smallest key.
            labels_of_reference, first = np.unique(all_labels[n:], return_index=True)
            first_node = np.full(n_nodes, -1, np.int64)
            first_node[labels_of_reference] = first
            in_reference = first_node[labels] >= 0
            kept_reference[in_reference] = keys[first_node[labels[in_reference]]]
            representative[in_reference] = -1
            roots[n:] = 1
    local = representative >= 0
    roots[representative[local]] = 1
    parent, edge = _core.spanning_parents(n_nodes, ei, ej, roots)
    parent, edge = parent[:n], edge[:n]
    distance = np.full(n, -1, np.int32)
    distance[local] = np.bitwise_count(fps[local] ^ fps[representative[local]]).astype(np.int32)

    sizes = np.bincount(all_labels, minlength=n_nodes)[labels]
    reason = np.full(n, UNIQUE, np.uint8)
    reason[(sizes > 1) & (representative == np.arange(n))] = KEPT
    match = np.full(n, -1, np.int64)
    match_distance = np.full(n, -1, np.int32)
    match_jaccard = np.full(n, np.nan)
    linked = (parent >= 0) & (parent < n)
    e = edge[linked]
    match[linked] = parent[linked]
    match_distance[linked] = link_distance[e]
    if link_jaccard is not None:
        match_jaccard[linked] = link_jaccard[e]
    reason[linked] = np.where(link_distance[e] == 0, SAME_FINGERPRINT, NEAR_DUPLICATE)
    ref_match = None
    if reference is not None:
        ref_match = np.zeros(n, dtype=reference.key.dtype)
        from_reference = parent >= n
        row = edge[from_reference] - n_links
        ref_match[from_reference] = reference.key[row]
        match_distance[from_reference] = reference.distance[row]
        match_jaccard[from_reference] = reference.jaccard[row]
        reason[from_reference] = REFERENCE
    return Settled(labels, representative, distance,
                   Evidence(match, match_distance, match_jaccard, reason, ref_match), kept_reference)
