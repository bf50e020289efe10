"""Dedup against a reference on Dask: each new document's one match, found on the workers as :mod:`simdup.reference` does.

The reference is a :class:`~simdup.SimHashIndex` (fingerprints only) or a
Dask collection of documents fingerprinted with the input's hasher. Either
way its fingerprints (8 bytes each, and 8 for the key) are gathered once on
the client and sent once to each worker, which indexes them on first use
(:class:`ReferenceFingerprints`); each input partition queries that index.

- Without the reference's text (an index, or ``verify=None``) the nearest
  candidate is the match, per document: :func:`simdup.reference.match_reference`
  runs on each partition as it runs on the whole input.
- With it, every candidate pair ``(new, reference)`` is verified as links
  are (:mod:`~simdup.distributed.verify`): the new document's shingle set is
  attached in its partition, the pair is checked in the reference
  document's partition, and then, grouped by new document, the match is the
  first candidate that passes in ``(distance, key)`` order: the one
  :func:`~simdup.reference.match_reference` finds by trying them in turn.
"""

from __future__ import annotations

import threading
from typing import Any

import dask.dataframe as dd
import numpy as np
import numpy.typing as npt
import pandas as pd
from dask.delayed import Delayed, delayed

from ..batch import ShingleSize
from ..index import SimHashIndex
from ..reference import match_reference, reference_candidates
from .keys import ROW_BITS, Persist, aligned, empty_frame, links_meta, positions
from .partitions import Layout
from .verify import _attach_shingles, _check_links


class ReferenceFingerprints:
    """A reference's fingerprints under their keys: pickled as the two arrays, indexed on first use.

    A :class:`~simdup.SimHashIndex` does not travel between processes; its
    contents do, as one task input that each worker receives once and
    indexes once, whatever the number of partitions it queries for.
    """

    def __init__(self, fps: npt.NDArray[np.uint64], keys: npt.NDArray[np.uint64], k: int) -> None:
        self.fps, self.keys, self.k = fps, keys, k
        self._lock = threading.Lock()
        self._index: SimHashIndex | None = None

    @classmethod
    def of_index(cls, index: SimHashIndex) -> ReferenceFingerprints:
        """The fingerprints and ids stored in ``index`` (an index answers exactly, so a rebuilt one answers the same)."""
        index._expire_if_due()
        fps, ids = index.items()
        return cls(fps, ids, index.k)

    @classmethod
    def of_documents(cls, fps: npt.NDArray[np.uint64], n_tokens: npt.NDArray[np.int64], k: int
                     ) -> ReferenceFingerprints:
        """Reference documents under their positions, the token-less left out (as :func:`simdup.reference.candidates_between` leaves them out)."""
        has = np.flatnonzero(n_tokens > 0)
        return cls(np.ascontiguousarray(fps[has], dtype=np.uint64), has.astype(np.uint64), k)

    def __getstate__(self) -> tuple[Any, ...]:
        return self.fps, self.keys, self.k

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.__init__(*state)  # type: ignore[misc]

    def index(self) -> SimHashIndex:
        with self._lock:  # the worker's threads share one index
            if self._index is None:
                index = SimHashIndex(self.k, expected_n=max(len(self.fps), 1_000))
                index.add_many(self.fps, self.keys)
                self._index = index
            return self._index


def reference_matches(docs: dd.DataFrame, reference: ReferenceFingerprints, within: int,
                      parts: list[Delayed] | None = None, layout: Layout | None = None,
                      reference_parts: list[Delayed] | None = None, reference_layout: Layout | None = None,
                      reference_offsets: npt.NDArray[np.int64] | None = None, model: Delayed | None = None,
                      threshold: float | None = None, shingle_size: ShingleSize = (3, 5),
                      persist: Persist = lambda frame: frame.persist()) -> dd.DataFrame:
    """Each new document's match in the reference: ``doc`` (key), ``ref`` (reference key), ``distance``, ``jaccard``.

    Parameters
    ----------
    docs : dask DataFrame
        The fingerprinted documents (``doc``, ``fp``, ``n_tokens``).
    reference : ReferenceFingerprints
    within : int
        Matches within this many bits.
    parts, layout, reference_parts, reference_layout, reference_offsets, model, threshold, shingle_size
        For verified matches (``threshold`` not None): the input's and the
        reference's partitions and layouts, the reference partitions'
        offsets (the keys of ``reference`` are positions), the fitted
        hasher, the Jaccard a match needs and the shingle sizes.
    persist : callable
    """
    held = delayed(reference, pure=True)
    if threshold is None:
        return docs.map_partitions(_nearest, held, within, meta=matches_meta())
    assert parts is not None and layout is not None and reference_parts is not None
    assert reference_layout is not None and reference_offsets is not None and model is not None
    n_input, n_reference = len(parts), len(reference_parts)
    candidates = docs.map_partitions(_candidates, held, within, reference_offsets, meta=links_meta())
    by_i = aligned(candidates, "i", n_input).to_delayed()
    with_i = dd.from_delayed([delayed(_attach_shingles)(part, lk, model, layout, shingle_size)
                              for part, lk in zip(parts, by_i)],
                             meta=links_meta().assign(terms_i=pd.Series([], dtype=object)), verify_meta=False)
    by_j = persist(aligned(with_i, "j", n_reference)).to_delayed()
    # A threshold of 0 keeps no failed pair's set: only the links' verification relinks failed stars.
    checked = dd.from_delayed([delayed(_check_links)(part, lk, model, reference_layout, shingle_size, 0.0)
                               for part, lk in zip(reference_parts, by_j)],
                              meta=links_meta(jaccard=True).assign(terms_j=pd.Series([], dtype=object)),
                              verify_meta=False)[["i", "j", "distance", "jaccard"]]
    return aligned(checked, "i", n_input).map_partitions(_first_passing, threshold, reference_offsets,
                                                         meta=matches_meta())


def matches_meta() -> pd.DataFrame:
    """A new document's match: its key ``doc``, the reference key ``ref``, their ``distance`` and ``jaccard``."""
    return empty_frame(doc=np.int64, ref=np.uint64, distance=np.uint8, jaccard=np.float64)


def reference_edges(matches: dd.DataFrame, nodes: npt.NDArray[np.uint64], base: int) -> dd.DataFrame:
    """The matches as links to reference nodes: ``j = base + rank of the key among ``nodes`` (sorted)."""
    return matches.map_partitions(_edges, delayed(nodes, pure=True), base,
                                  meta=empty_frame(i=np.int64, j=np.int64, distance=np.uint8, jaccard=np.float64,
                                                   ref=np.uint64))


def reference_ids(reference_docs: dd.DataFrame, keys: npt.NDArray[np.uint64], offsets: npt.NDArray[np.int64]
                  ) -> dict[int, Any]:
    """The ids of the reference documents at positions ``keys`` (few: those matched)."""
    found = reference_docs.map_partitions(_ids_at, delayed(keys, pure=True), offsets,
                                          meta=empty_frame(ref=np.uint64).assign(id=pd.Series([], dtype=object)))
    table = found.compute()
    return dict(zip(table["ref"].tolist(), table["id"].tolist()))


# -- on the workers -----------------------------------------------------------------------


def _nearest(docs: pd.DataFrame, reference: ReferenceFingerprints, within: int) -> pd.DataFrame:
    found = match_reference(docs["fp"].to_numpy(np.uint64), docs["n_tokens"].to_numpy(np.int64),
                            reference.index(), within)
    return pd.DataFrame({"doc": docs["doc"].to_numpy(np.int64)[found.doc], "ref": found.key.astype(np.uint64),
                         "distance": found.distance.astype(np.uint8), "jaccard": found.jaccard})


def _candidates(docs: pd.DataFrame, reference: ReferenceFingerprints, within: int,
                offsets: npt.NDArray[np.int64]) -> pd.DataFrame:
    """Every reference document within ``within`` bits of each document: ``i`` its key, ``j`` the reference's key."""
    # (queried or joined with the whole reference, whichever costs less for this partition)
    row, ids, dist = reference_candidates(docs["fp"].to_numpy(np.uint64), docs["n_tokens"].to_numpy(np.int64),
                                          reference.index(), within)
    doc = docs["doc"].to_numpy(np.int64)[row]
    where = ids.astype(np.int64)
    partition = np.searchsorted(offsets, where, side="right") - 1  # (an empty partition shares its offset)
    return pd.DataFrame({"i": doc, "j": (partition << ROW_BITS) | (where - offsets[partition]),
                         "distance": dist})


def _first_passing(part: pd.DataFrame, threshold: float, offsets: npt.NDArray[np.int64]) -> pd.DataFrame:
    """Per document (the index), the first candidate passing ``threshold`` in ``(distance, key)`` order."""
    doc = part.index.to_numpy(np.int64)
    ref = positions(part["j"].to_numpy(np.int64), offsets)
    distance, jaccard = part["distance"].to_numpy(np.uint8), part["jaccard"].to_numpy(np.float64)
    passing = np.flatnonzero(jaccard >= threshold)
    order = passing[np.lexsort((ref[passing], distance[passing], doc[passing]))]
    first = order[np.r_[True, doc[order][1:] != doc[order][:-1]]] if len(order) else order
    return pd.DataFrame({"doc": doc[first], "ref": ref[first].astype(np.uint64), "distance": distance[first],
                         "jaccard": jaccard[first]})


def _edges(matches: pd.DataFrame, nodes: npt.NDArray[np.uint64], base: int) -> pd.DataFrame:
    ref = matches["ref"].to_numpy(np.uint64)
    return pd.DataFrame({"i": matches["doc"].to_numpy(np.int64), "j": base + np.searchsorted(nodes, ref),
                         "distance": matches["distance"].to_numpy(np.uint8),
                         "jaccard": matches["jaccard"].to_numpy(np.float64), "ref": ref})


def _ids_at(docs: pd.DataFrame, keys: npt.NDArray[np.uint64], offsets: npt.NDArray[np.int64]) -> pd.DataFrame:
    where = positions(docs["doc"].to_numpy(np.int64), offsets).astype(np.uint64)
    wanted = np.isin(where, keys)
    return pd.DataFrame({"ref": where[wanted], "id": pd.Series(docs["id"].to_numpy(object)[wanted], dtype=object)})
