"""Connected components of the links on Dask: union-find on the client for few links, else on the workers.

Up to ``max_local_links`` links (16 bytes each) are gathered and joined by
union-find on the client (:func:`simdup.batch.clusters`), which is fast.
More are never gathered: :func:`components` runs large-star / small-star
(Kiveris, Lattanzi, Mirrokni, Rastogi and Vassilvitskii, *Connected
Components in MapReduce and Beyond*, SoCC 2014) on the workers.
Links are kept as ``(child, parent)`` with ``parent < child``. A round is
two shuffles of the links on one endpoint, each followed by a pass over every
node's neighbours in its partition:

- *large-star*: every node ``u`` re-points its larger neighbours to the
  smallest of ``u`` and its neighbours;
- *small-star*: every node ``u`` points itself and its smaller neighbours to
  the smallest of them.

Neither step changes the components, and the rounds end in a forest of stars
whose centres are the smallest node of each component (the labels
:func:`simdup.batch.clusters` gives), typically after O(log n) rounds. A
third shuffle per round checks for that state. The links are never in one
place; what must fit in one worker is a node's neighbourhood, which at the
end is a whole component (16 bytes a member), so the largest cluster, not the
corpus, bounds the memory.
"""

from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import numpy.typing as npt
import pandas as pd

from ..batch import clusters
from .keys import Persist

MAX_ROUNDS = 200  # each round at least halves a path's length in practice; 2**200 is never reached
LOCAL_NODES_PER_PARTITION = 100_000  # the client's components go back to the workers in pieces of this size


def linked_components(links: dd.DataFrame, n_links: int, max_local_links: int, npartitions: int,
                      persist: Persist) -> dd.DataFrame:
    """``(doc, label)`` for every linked document, ``label`` the smallest document of its component.

    Parameters
    ----------
    links : dask DataFrame
        Columns ``i`` and ``j``: document keys, one link a row.
    n_links : int
        The rows of ``links`` (counted already).
    max_local_links : int
        Up to this many links the components are found on the client.
    npartitions : int
        Partitions of each shuffle.
    persist : callable
        Persists a frame and waits for it.
    """
    if n_links <= max_local_links:
        local = links[["i", "j"]].compute()
        nodes = _local_components(local["i"].to_numpy(np.int64), local["j"].to_numpy(np.int64))
        return dd.from_pandas(nodes, npartitions=max(1, min(npartitions,
                                                             len(nodes) // LOCAL_NODES_PER_PARTITION + 1)))
    return components(links[["i", "j"]], npartitions, persist).rename(columns={"node": "doc"})


def _local_components(i: npt.NDArray[np.int64], j: npt.NDArray[np.int64]) -> pd.DataFrame:
    """``(doc, label)`` of every linked document, by union-find over the linked documents only."""
    nodes, inverse = np.unique(np.concatenate([i, j]), return_inverse=True)
    labels = clusters(len(nodes), inverse[:len(i)], inverse[len(i):])
    return pd.DataFrame({"doc": nodes, "label": nodes[labels]})


def components(links: dd.DataFrame, npartitions: int, persist: Persist = lambda frame: frame.persist()
               ) -> dd.DataFrame:
    """``(node, label)`` for every node of a link, ``label`` the smallest node of its component.

    Parameters
    ----------
    links : dask DataFrame
        Columns ``i`` and ``j`` (int64, ``i != j``): one link a row, in either order.
    npartitions : int
        Partitions of each shuffle.
    persist : callable
        Persists a frame and waits for it (each round's links stay on the workers).
    """
    edges = links.map_partitions(_orient, meta=_meta("child", "parent"))
    for _ in range(MAX_ROUNDS):
        roles = persist(edges.map_partitions(_roles, meta=_meta("node", "parent"))
                        .shuffle(on="node", npartitions=npartitions))
        if int(roles.map_partitions(_violations, meta=(None, "int64")).sum().compute()) == 0:
            return roles.map_partitions(_labels, meta=_meta("node", "label"))
        both_ways = edges.map_partitions(_both_ways, meta=_meta("u", "v")).shuffle(on="u", npartitions=npartitions)
        larger = both_ways.map_partitions(_large_star, meta=_meta("u", "v")).shuffle(on="u", npartitions=npartitions)
        edges = persist(larger.map_partitions(_small_star, meta=_meta("child", "parent")))
    raise RuntimeError(f"connected components did not converge in {MAX_ROUNDS} rounds")


def _meta(a: str, b: str) -> pd.DataFrame:
    return pd.DataFrame({a: np.empty(0, np.int64), b: np.empty(0, np.int64)})


def _orient(part: pd.DataFrame) -> pd.DataFrame:
    i, j = part["i"].to_numpy(np.int64), part["j"].to_numpy(np.int64)
    return pd.DataFrame({"child": np.maximum(i, j), "parent": np.minimum(i, j)})


def _both_ways(part: pd.DataFrame) -> pd.DataFrame:
    child, parent = part["child"].to_numpy(np.int64), part["parent"].to_numpy(np.int64)
    return pd.DataFrame({"u": np.concatenate([child, parent]), "v": np.concatenate([parent, child])})


def _grouped(u: npt.NDArray[np.int64], v: npt.NDArray[np.int64]
             ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.intp], npt.NDArray[np.int64]]:
    """Distinct ``(u, v)`` rows sorted by ``u``, the start of each ``u``'s run, and the run of each row."""
    order = np.lexsort((v, u))
    u, v = u[order], v[order]
    distinct = np.r_[True, (u[1:] != u[:-1]) | (v[1:] != v[:-1])] if len(u) else np.zeros(0, bool)
    u, v = u[distinct], v[distinct]
    head = np.r_[True, u[1:] != u[:-1]] if len(u) else np.zeros(0, bool)
    return u, v, np.flatnonzero(head), np.cumsum(head) - 1


def _large_star(part: pd.DataFrame) -> pd.DataFrame:
    # Links (v, m) for each neighbour v > u, m = min(u, neighbours of u).
    u, v, starts, run = _grouped(part["u"].to_numpy(np.int64), part["v"].to_numpy(np.int64))
    if not len(u):
        return _meta("u", "v")
    smallest = np.minimum(np.minimum.reduceat(v, starts), u[starts])[run]
    larger = v > u
    return pd.DataFrame({"u": v[larger], "v": smallest[larger]})


def _small_star(part: pd.DataFrame) -> pd.DataFrame:
    # Input: links (u, v) with v < u, grouped by u. Each u and its neighbours point to m = min(neighbours).
    u, v, starts, run = _grouped(part["u"].to_numpy(np.int64), part["v"].to_numpy(np.int64))
    if not len(u):
        return _meta("child", "parent")
    smallest = np.minimum.reduceat(v, starts)
    moved = v != smallest[run]
    return pd.DataFrame({"child": np.concatenate([v[moved], u[starts]]),
                         "parent": np.concatenate([smallest[run][moved], smallest])})


def _roles(part: pd.DataFrame) -> pd.DataFrame:
    # Each child with its parent, and each parent with -1 (it is a parent).
    child, parent = part["child"].to_numpy(np.int64), part["parent"].to_numpy(np.int64)
    return pd.DataFrame({"node": np.concatenate([child, parent]),
                         "parent": np.concatenate([parent, np.full(len(parent), -1, np.int64)])})


def _violations(part: pd.DataFrame) -> int:
    """Nodes that stop the links being a star forest: a parent that is also a child, or two parents."""
    node, _, starts, _ = _grouped(part["node"].to_numpy(np.int64), part["parent"].to_numpy(np.int64))
    if not len(node):
        return 0
    # Distinct rows sorted by (node, parent): a node with two or more rows is a violation
    # (parent -1 and a real parent, or two real parents).
    return int((np.diff(np.r_[starts, len(node)]) > 1).sum())


def _labels(part: pd.DataFrame) -> pd.DataFrame:
    # In a star forest every node has one row: its parent (a child), or -1 (a centre, labelled by itself).
    node, parent, starts, _ = _grouped(part["node"].to_numpy(np.int64), part["parent"].to_numpy(np.int64))
    node, parent = node[starts], parent[starts]
    return pd.DataFrame({"node": node, "label": np.where(parent < 0, node, parent)})
