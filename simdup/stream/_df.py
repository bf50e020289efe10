"""Document frequencies of a corpus larger than memory: sorted runs merged in memory, spilled to disk past a budget.

Each block of documents gives its distinct tokens and how many of its
documents hold each (sorted by hash). Summing them over the corpus gives the
document frequencies :meth:`simdup.SimHasher.fit` counts in one sort. Here
runs are merged as they come (a stable sort of sorted runs is a linear
merge); when the merged run outgrows the budget it is written to the
temporary directory, and :meth:`DfCounter.table` merges the written runs one
slice of the hash range at a time. Token hashes are uniform, so equal
slices of the range hold about equal shares of every run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..idf import IdfTable, fit_idf_table

_ENTRY_BYTES = 8 + 8  # a token hash and its count
_SLACK = 3  # a merge holds its inputs, their concatenation and the sort order at once


def merge_runs(runs: list[tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]]
               ) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """One sorted run of distinct tokens from several, their counts summed."""
    if len(runs) == 1:
        return runs[0]
    terms = np.concatenate([r[0] for r in runs])
    counts = np.concatenate([r[1] for r in runs])
    order = np.argsort(terms, kind="stable")  # timsort: sorted runs merge in linear time
    terms, counts = terms[order], counts[order]
    head = np.empty(len(terms), dtype=bool)
    if len(terms):
        head[0] = True
        np.not_equal(terms[1:], terms[:-1], out=head[1:])
    starts = np.flatnonzero(head)
    return terms[starts], (np.add.reduceat(counts, starts) if len(starts) else counts[:0])


class DfCounter:
    """Sums ``(tokens, document counts)`` runs within ``budget`` bytes, spilling merged runs to ``tmp_dir``."""

    def __init__(self, budget: int, tmp_dir: Path) -> None:
        self.budget = max(budget, 1024)
        self.tmp_dir = tmp_dir
        self.n_docs = 0
        self._merged: tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]] | None = None
        self._pending: list[tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]] = []
        self._pending_entries = 0
        self._spilled: list[Path] = []
        self.spilled_entries = 0

    def add(self, terms: npt.NDArray[np.uint64], counts: npt.NDArray[np.int64], n_docs: int) -> None:
        """Count a block's distinct ``terms`` (sorted), held by ``counts`` of its ``n_docs`` documents."""
        self.n_docs += n_docs
        self._pending.append((terms, counts.astype(np.int64, copy=False)))
        self._pending_entries += len(terms)
        merged = 0 if self._merged is None else len(self._merged[0])
        # Merge when the pending runs are as large as the merged one (each entry is
        # merged O(log n) times), or would exceed the budget.
        if self._pending_entries >= max(merged, 1 << 16) or self._memory() > self.budget // _SLACK:
            self._merge()

    def _memory(self) -> int:
        merged = 0 if self._merged is None else len(self._merged[0])
        return (merged + self._pending_entries) * _ENTRY_BYTES

    def _merge(self) -> None:
        runs = ([self._merged] if self._merged is not None else []) + self._pending
        self._pending, self._pending_entries = [], 0
        if not runs:
            return
        self._merged = merge_runs(runs)
        if len(self._merged[0]) * _ENTRY_BYTES * _SLACK > self.budget:
            self._spill(*self._merged)
            self._merged = None

    def _spill(self, terms: npt.NDArray[np.uint64], counts: npt.NDArray[np.int64]) -> None:
        path = self.tmp_dir / f"df-run-{len(self._spilled)}"
        np.save(path.with_suffix(".terms.npy"), terms)
        np.save(path.with_suffix(".counts.npy"), counts)
        self._spilled.append(path)
        self.spilled_entries += len(terms)

    @property
    def runs_spilled(self) -> int:
        return len(self._spilled)

    def table(self, *, smooth_idf: bool, min_df: int, idf_cap_df: float | None,
              progress: Callable[..., Any] | None = None) -> IdfTable:
        """The fitted IDF table (:func:`simdup.idf.fit_idf_table`) of everything counted.

        ``progress`` (a tqdm-like factory) shows the merge of the runs on disk, slice by slice.
        """
        self._merge()
        if not self._spilled:
            vocabulary, df = self._merged if self._merged is not None else (np.empty(0, np.uint64),
                                                                            np.empty(0, np.int64))
            return fit_idf_table(vocabulary, df, self.n_docs, smooth_idf=smooth_idf, min_df=min_df,
                                 idf_cap_df=idf_cap_df)
        if self._merged is not None:  # the last run joins the written ones
            self._spill(*self._merged)
            self._merged = None
        total = self.spilled_entries
        slices = max(1, -(-total * _ENTRY_BYTES * _SLACK // self.budget))
        edges = [(2**64 * s) // slices for s in range(slices + 1)]
        parts = []
        # fit_idf_table works token by token once n_docs is known, so the table of
        # the whole range is the tables of its slices, in order.
        bar = progress(total=slices, desc="fitting", unit="slice") if progress is not None else None
        for lo, hi in zip(edges[:-1], edges[1:]):
            runs = []
            for path in self._spilled:
                # Mapped, not loaded: a slice reads only its pages, which leave resident
                # memory when the mapping is dropped.
                terms = np.load(path.with_suffix(".terms.npy"), mmap_mode="r")
                counts = np.load(path.with_suffix(".counts.npy"), mmap_mode="r")
                a = int(np.searchsorted(terms, np.uint64(lo)))
                b = len(terms) if hi == 2**64 else int(np.searchsorted(terms, np.uint64(hi)))
                runs.append((np.array(terms[a:b]), np.array(counts[a:b])))
                del terms, counts
            parts.append(fit_idf_table(*merge_runs(runs), self.n_docs, smooth_idf=smooth_idf, min_df=min_df,
                                       idf_cap_df=idf_cap_df))
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        return IdfTable(np.concatenate([p.vocabulary for p in parts]), np.concatenate([p.idf_q for p in parts]),
                        parts[0].unseen_q, self.n_docs)
