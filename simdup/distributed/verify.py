"""Verification on Dask: each link's shingle Jaccard, computed where its documents live.

Each link goes to the partition of its document ``i``, which shingles ``i``
from its own text and attaches the set; then to the partition of ``j``, which
shingles ``j`` and compares. One shuffle carries shingle sets, and no
document's text leaves its partition. As :func:`simdup.batch.verify_links`,
the star links of identical fingerprints that fail are relinked among their
group's failed members and checked again, and the hubs this makes are
linked with the hubs of the groups their group was joined with.
"""

from __future__ import annotations

from typing import Any

import dask.dataframe as dd
import numpy as np
import numpy.typing as npt
import pandas as pd
from dask.delayed import Delayed, delayed

from .. import _core
from ..batch import Pairs, ShingleSize, hub_links, relink_rounds, shingle_sets
from ..hasher import SimHasher
from .keys import ROW_MASK, Persist, aligned, links_meta
from .partitions import Layout, documents


def verify(links: dd.DataFrame, parts: list[Delayed], model: Delayed, layout: Layout, threshold: float,
           shingle_size: ShingleSize, npartitions: int, persist: Persist) -> dd.DataFrame:
    """The links whose shingle Jaccard reaches ``threshold``, with a ``jaccard`` column.

    As :func:`simdup.batch.verify_links`, in its two steps:

    1. Stars: the star links of identical fingerprints that fail are
       relinked among their group's failed members
       (:func:`simdup.batch.relink_rounds`) and checked again, round after
       round. A failed star link keeps its member's shingle set, and a
       shuffle on the hub puts each group in one partition, so those rounds
       run there without reading the input again. Each partition also
       reports its groups' later hubs.
    2. Across groups: the later hubs (one row each, few: only groups whose
       fingerprint is shared by different texts have any) are gathered and
       sent to every partition of the checked links between groups, which
       issues the links between hubs the join did not give
       (:func:`simdup.batch.hub_links`); those are checked as the first
       links were, reading the input again, only when there are some.
    """
    checked = _jaccard(links, parts, model, layout, shingle_size, threshold, persist)
    passed = checked[checked["jaccard"] >= threshold][["i", "j", "distance", "jaccard"]]
    failed = checked[(checked["jaccard"] < threshold) & (checked["distance"] == 0)]
    relinked = persist(failed.shuffle(on="i", npartitions=npartitions).map_partitions(
        _relink_partition, threshold, meta=links_meta(jaccard=True).assign(hub=np.empty(0, bool))))
    columns = ["i", "j", "distance", "jaccard"]
    verified = [passed, relinked[~relinked["hub"]][columns]]
    later = relinked[relinked["hub"]][["i", "j"]].compute()  # (head, hub)
    if len(later):
        heads, hubs = delayed(later["i"].to_numpy(np.int64)), delayed(later["j"].to_numpy(np.int64))
        extra = persist(checked[checked["distance"] > 0][["i", "j", "distance"]].map_partitions(
            _hub_links_partition, heads, hubs, meta=links_meta()))
        if int(extra.map_partitions(len, meta=(None, "int64")).sum().compute()):
            rechecked = _jaccard(extra, parts, model, layout, shingle_size, threshold, persist)
            verified.append(rechecked[rechecked["jaccard"] >= threshold][columns])
    return persist(dd.concat(verified))


def _jaccard(links: dd.DataFrame, parts: list[Delayed], model: Delayed, layout: Layout, shingle_size: ShingleSize,
             threshold: float, persist: Persist) -> dd.DataFrame:
    """``links`` with the shingle Jaccard of their documents (persisted).

    The first pass (attaching ``i``'s sets) is persisted before the second
    starts, so each reads its input partition anew rather than every
    partition waiting in memory for the shuffle.
    """
    n_input = len(parts)
    by_i = aligned(links, "i", n_input).to_delayed()
    with_i = dd.from_delayed([delayed(_attach_shingles)(part, lk, model, layout, shingle_size)
                              for part, lk in zip(parts, by_i)],
                             meta=links_meta().assign(terms_i=pd.Series([], dtype=object)), verify_meta=False)
    by_j = persist(aligned(with_i, "j", n_input)).to_delayed()
    return persist(dd.from_delayed([delayed(_check_links)(part, lk, model, layout, shingle_size, threshold)
                                    for part, lk in zip(parts, by_j)],
                                   meta=links_meta(jaccard=True).assign(terms_j=pd.Series([], dtype=object)),
                                   verify_meta=False))


# -- on the workers -----------------------------------------------------------------------


def _relink_partition(part: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Failed star links, whole groups (shuffled on the hub ``i``): the later rounds of verification.

    Returns the star links that pass (``hub`` False), then each later hub
    as a row ``(i=head, j=hub)`` with ``hub`` True (distance 0, Jaccard NaN).
    """
    i, j = part["i"].to_numpy(np.int64), part["j"].to_numpy(np.int64)
    sets = dict(zip(j.tolist(), part["terms_j"].tolist()))  # a member is in one star: j is unique here
    kept, jaccard, heads, hubs = relink_rounds(i, j, threshold, lambda a, b: _jaccard_of_blobs(
        [sets[x] for x in a.tolist()], [sets[x] for x in b.tolist()]))
    return pd.DataFrame({"i": np.r_[kept.i, heads], "j": np.r_[kept.j, hubs],
                         "distance": np.zeros(len(kept.i) + len(hubs), np.uint8),
                         "jaccard": np.r_[jaccard, np.full(len(hubs), np.nan)],
                         "hub": np.r_[np.zeros(len(kept.i), bool), np.ones(len(hubs), bool)]})


def _hub_links_partition(part: pd.DataFrame, heads: npt.NDArray[np.int64], hubs: npt.NDArray[np.int64]
                         ) -> pd.DataFrame:
    """Links between groups' heads: the links between the groups' other hubs (:func:`simdup.batch.hub_links`)."""
    pairs = Pairs(part["i"].to_numpy(np.int64), part["j"].to_numpy(np.int64), part["distance"].to_numpy(np.uint8))
    extra = hub_links(pairs, heads, hubs)
    return pd.DataFrame({"i": extra.i, "j": extra.j, "distance": extra.distance})


def _shingles(part: Any, keys: npt.NDArray[np.int64], hasher: SimHasher, layout: Layout,
              shingle_size: ShingleSize) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64]]:
    texts, _ = documents(part, layout)
    return shingle_sets(hasher, [texts[r] for r in (keys & ROW_MASK).tolist()], shingle_size)


def _object_array(items: list[Any]) -> npt.NDArray[np.object_]:
    out = np.empty(len(items), dtype=object)  # (np.array would nest sequences)
    out[:] = items
    return out


def _blobs(indptr: npt.NDArray[np.int64], terms: npt.NDArray[np.uint64]) -> list[bytes]:
    return [terms[a:b].tobytes() for a, b in zip(indptr[:-1].tolist(), indptr[1:].tolist())]


def _attach_shingles(part: Any, links: pd.DataFrame, hasher: SimHasher, layout: Layout,
                     shingle_size: ShingleSize) -> pd.DataFrame:
    """Links whose ``i`` is in this partition (the index), with ``i``'s shingle set as bytes."""
    i = links.index.to_numpy(np.int64)
    keys, inverse = np.unique(i, return_inverse=True)
    blobs = _blobs(*_shingles(part, keys, hasher, layout, shingle_size))
    return pd.DataFrame({"i": i, "j": links["j"].to_numpy(np.int64), "distance": links["distance"].to_numpy(np.uint8),
                         "terms_i": pd.Series(_object_array(blobs)[inverse], dtype=object)})


def _check_links(part: Any, links: pd.DataFrame, hasher: SimHasher, layout: Layout, shingle_size: ShingleSize,
                 threshold: float) -> pd.DataFrame:
    """Links whose ``j`` is in this partition (the index), with their Jaccard.

    A failed star link (distance 0) also keeps ``j``'s shingle set for the
    next rounds; other links drop it.
    """
    j = links.index.to_numpy(np.int64)
    keys, inverse = np.unique(j, return_inverse=True)
    indptr, terms = _shingles(part, keys, hasher, layout, shingle_size)
    # One CSR: j's sets (rows 0..len(keys)-1), then each link's i set.
    i_ptr, i_terms = _csr_of_blobs(links["terms_i"].tolist())
    all_ptr = np.r_[indptr, indptr[-1] + i_ptr[1:]].astype(np.int64)
    rows_i = len(keys) + np.arange(len(links), dtype=np.int64)
    jaccard = _core.jaccard_pairs(all_ptr, np.concatenate([terms, i_terms]), rows_i, inverse.astype(np.int64))
    distance = links["distance"].to_numpy(np.uint8)
    failed_star = np.flatnonzero((jaccard < threshold) & (distance == 0))
    terms_j = np.full(len(j), None, dtype=object)
    terms_j[failed_star] = [terms[indptr[x]:indptr[x + 1]].tobytes() for x in inverse[failed_star].tolist()]
    return pd.DataFrame({"i": links["i"].to_numpy(np.int64), "j": j, "distance": distance, "jaccard": jaccard,
                         "terms_j": pd.Series(terms_j, dtype=object)})


def _csr_of_blobs(blobs: list[bytes]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64]]:
    """Term sets carried as bytes (from :func:`_blobs`) back to CSR ``(indptr, terms)``."""
    sizes = np.fromiter(map(len, blobs), dtype=np.int64, count=len(blobs)) // 8
    terms = np.frombuffer(b"".join(blobs), dtype=np.uint64)  # contiguous, read-only: the kernels only read
    return np.r_[0, np.cumsum(sizes)].astype(np.int64), terms


def _jaccard_of_blobs(a: list[bytes], b: list[bytes]) -> npt.NDArray[np.float64]:
    """Jaccard of the sorted term sets ``a[e]`` and ``b[e]`` (uint64 as bytes)."""
    indptr, terms = _csr_of_blobs(a + b)
    rows = np.arange(len(a), dtype=np.int64)
    return _core.jaccard_pairs(indptr, terms, rows, rows + len(a))
