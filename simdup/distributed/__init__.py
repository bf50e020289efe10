"""Batch dedup on Dask for corpora larger than one machine: the code behind :mod:`simdup.dask`.

Needs ``pip install "simdup[dask]"``.

:func:`dedup` (public as ``simdup.dask.dedup``) runs the pipeline of
:func:`simdup.dedup` over a Dask DataFrame or Bag on the active scheduler (a
``dask.distributed`` cluster, or Dask's local threads) and finds the same
clusters and keeps the same documents. Each phase is one Dask computation
whose tables stay on the workers (:mod:`~simdup.distributed.pipeline` runs
them in order):

1. **fit** (only for an unfitted hasher; :mod:`~simdup.distributed.fingerprint`):
   each partition counts the documents holding each token; the counts are
   merged in a tree of tasks and the IDF table is built on the client,
   exactly as :meth:`SimHasher.fit` would from all the documents. The fitted
   model is then one task input, sent once to each worker.
2. **fingerprint**: each partition through the compiled core.
3. **identical fingerprints** (:mod:`~simdup.distributed.join`): a shuffle on
   the fingerprint; each group's first document stands for it and is linked
   to the others (a star).
4. **self-join**, the batch mode of Manku, Jain and Das Sarma as a shuffle on
   ``(table, fingerprint & mask)``: a pair is reported only by the first
   table whose key it agrees on, so the links need no deduplication.
5. **verify** (``verify`` not None; :mod:`~simdup.distributed.verify`): the
   shingle sets of linked documents are computed in their own partitions
   and joined onto the links (two shuffles); each partition checks its
   links' Jaccard.
6. **clusters** (:mod:`~simdup.distributed.components`): connected
   components of the links, by union-find on the client while there are at
   most ``max_local_links`` links (16 bytes each), else by
   large-star/small-star rounds on the workers, which never gather the links.
7. **keep** (:mod:`~simdup.distributed.keep`): a shuffle on the cluster puts
   each cluster in one partition, which picks the document to keep and each
   member's distance to it.

The input is read once per pass that needs the text (fit, fingerprint, the
two halves of verification, and writing the kept documents), each pass
holding only the partitions its running tasks use; ``persist()`` the input
first when it fits in the cluster's memory and reading is slow. Documents
are named inside the pipeline by keys (:mod:`~simdup.distributed.keys`), the
input is read through :mod:`~simdup.distributed.partitions`, and the result
is a :class:`DaskDedupResult` (:mod:`~simdup.distributed.result`).
:mod:`~simdup.distributed.corpus_files` reads and writes corpus files on the
workers for ``simdup dedup --dask``.
"""

from __future__ import annotations

try:
    import dask  # noqa: F401
    import dask.bag  # noqa: F401
    import dask.dataframe  # noqa: F401
    import pandas  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError('simdup.dask needs Dask: pip install "simdup[dask]"') from exc

# The constants users may tune against (bench_dask.py plans with SHUFFLE_ROW_COST), as simdup.dask had them.
from .join import JOIN_ROWS_PER_PARTITION, SHUFFLE_ROW_COST
from .keys import MAX_PARTITIONS, ROW_BITS, ROW_MASK
from .partitions import Collection
from .pipeline import DEFAULT_MAX_LOCAL_LINKS, PhaseCallback, dedup
from .result import DaskDedupResult

__all__ = ["DaskDedupResult", "dedup"]
