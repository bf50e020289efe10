"""Batch dedup of corpus files larger than memory: streamed, in bounded memory, on every core.

:func:`simdup.dedup` holds every document in memory. :class:`FileDedup`
reads corpus files (:mod:`simdup.corpus`) and keeps in memory only what
grows with the number of documents, not with their text: a fingerprint, a
token count and where each document's spilled text and id are (about 50
bytes a document), then the links found and the clusters, and the IDF
table. It finds the same near-duplicates as :func:`simdup.dedup` with the
same parameters, whatever ``jobs`` and ``memory_limit`` (tested), in these
phases:

1. **read**: the input is read once, in blocks that worker processes parse,
   prepare (decode, extract HTML, fold, segment) and tokenize. Each block's
   distinct tokens and their document counts are merged into sorted runs
   (:class:`~simdup.stream._df.DfCounter`, written to the temporary
   directory past the memory limit); each worker writes the prepared text
   and the ids to spill files of its own (:mod:`simdup.stream._spill`).
2. **fit**: the IDF table from the document frequencies (skipped for a
   fitted hasher, which fingerprints during the read).
3. **fingerprint**: the spilled texts, a read block at a time, on every worker.
4. **join**: the self-join of :func:`simdup.batch.find_duplicates`
   (identical fingerprints collapsed first), its tables on ``jobs`` threads.
5. **verify**: the documents linked are shingled once, from the spill, into
   a spill of shingle sets; the links' exact Jaccard is then computed in
   chunks of pairs whose sets fit the memory limit.
   **reference** (with ``against``): each document's match in a reference
   (:mod:`simdup.reference`): corpus files read with the inputs, or an index
   whose matched documents' text may be read from ``reference_text``.
6. **cluster**, then **write**: the kept records copied from the input's
   own bytes (JSON Lines and text: runs of kept lines; other formats through
   their :class:`~simdup.corpus.Corpus` writer), compressed on ``jobs`` threads.

Worker processes start by forkserver: a script that creates a
:class:`FileDedup` with ``jobs > 1`` needs the usual ``if __name__ ==
"__main__":`` guard.
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .._atomic import scratch_directory
from .._compress import input_gzip_level
from .._sorted import find_sorted
from .._validation import check_k
from ..batch import (
    DEFAULT_K,
    DEFAULT_SHINGLE_SIZE,
    DEFAULT_VERIFY,
    MAX_K,
    DedupResult,
    ProgressFactory,
    ShingleSize,
    _links,
    check_shingle_size,
    check_verify,
    empty_result,
    settled_result,
    verify_links,
)
from ..clustering import REASONS, settle
from ..corpus import Corpus, CorpusError, open_corpus, write_lines
from ..hasher import SimHasher
from ..idf import IdfTable
from ..index import SimHashIndex
from ..reference import candidates_between, choose_matches, reference_candidates
from . import _spill, _worker
from ._df import DfCounter
from ._memory import cpu_seconds, default_limit, peak_rss, release_free_memory
from ._pool import Pool

__all__ = ["FileDedup"]

BLOCK_BYTES = 4 << 20
"""Input bytes a read task parses: large enough to amortise a task, small enough to keep workers busy."""
_MAX_PAIRS = 16384  # pairs a verification task checks at most: bounds a worker's memory, balances the load
_PAIR_SLICE = 1 << 20  # links whose chunks are planned at once
_CHUNK_BYTES = 32 << 20  # shingle sets a verification task reads at most (Chinese sets are ~37 kB a document)


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


class _Source:
    """One input file: its corpus reader and where its documents are."""

    def __init__(self, corpus: Corpus, id_prefix: str) -> None:
        self.corpus = corpus
        self.id_prefix = id_prefix
        self.first = self.stop = 0
        self.skipped = 0
        # The line of each record: a slice when every line is one, else an array mapped from disk.
        self.lines: slice | npt.NDArray[np.int64] = slice(1, 1)

    @property
    def streams_lines(self) -> bool:
        """JSON Lines and text are read as raw blocks by the workers, and written back line by line."""
        return self.corpus.format in ("jsonl", "lines")


class FileDedup:
    """Near-duplicates of corpus files, found in bounded memory and written back.

    Parameters
    ----------
    paths : sequence of path-like
        Corpus files (any :func:`simdup.corpus.open_corpus` format), read in
        order as one corpus: document numbers run across them.
    k, hasher, verify, shingle_size
        As for :func:`simdup.dedup`.
    keep : {"first", "longest"}, default="first"
        Which document of a cluster is kept.
    jobs : int, optional
        Worker processes (default: every core; fewer for an input of a
        block or two, which would wait longer for processes to start than
        it takes to read). The result does not depend on it.
    memory_limit : int, optional
        Bytes the phases that grow with text (document frequencies,
        verification) keep in memory before they spill to ``tmp_dir`` or
        work in smaller chunks. Default: half the memory available.
        Fingerprints, links and the IDF table are always in memory
        (about 50 bytes a document, and as much again for the join's
        working arrays).
    tmp_dir : path-like, optional
        Where spill files go (default: the system's temporary directory);
        removed by :meth:`close`.
    text_field, id_field, skip_bad
        As for :func:`simdup.corpus.open_corpus`.
    id_prefixes : sequence of str, optional
        Prefix of each file's line-number ids (text files), so they stay unique across files.
    against : sequence of path-like, or SimHashIndex, optional
        A reference, as for :func:`simdup.dedup`: corpus files, read (and
        fitted on) with the inputs and never written, whose matches are
        verified; or an index of fingerprints (matches not verified, within
        ``min(k, index.k)`` bits), whose ids ``reference_name`` names.
    reference_name : callable, optional
        ``reference_name(id)``: the name of an index id in the clusters rows
        (default: the id in hexadecimal).
    reference_text : sequence of path-like, optional
        With an index as ``against``: corpus files holding the text of its
        documents, under the ids whose XXH64 are the index's ids (as
        ``simdup index`` and :class:`~simdup.Deduper` store them). The
        documents the index matches are read from them, and the matches
        verified on their text; one missing from them matches by its
        fingerprint alone (counted in ``reference["unverified"]``).
    progress : callable, optional
        A tqdm-like factory, as for :func:`simdup.dedup`.

    Attributes
    ----------
    result : DedupResult or None
        Set by :meth:`run`.
    candidate_pairs : int
        Links before verification.
    timings : dict
        Seconds per phase.
    peak_rss, peak_rss_workers : int
        Peak resident memory in bytes of this process and of the largest
        worker process (0 with one job: the work was this process's).
    cpu_seconds : float
        CPU time of this process and its workers during :meth:`run`.
    stats : dict
        Tasks per phase, document-frequency runs written to disk.

    Raises
    ------
    ValueError
        A parameter out of range, or ``jobs > 1`` with a hasher whose
        parameters cannot be sent to a worker process (a lambda tokenizer).
    CorpusError
        From :meth:`run`: a malformed record (without ``skip_bad``) or a
        damaged file, naming the file (and line).

    Examples
    --------
    >>> with FileDedup(["a.jsonl.gz", "b.jsonl.gz"], jobs=2) as run:  # doctest: +SKIP
    ...     result = run.run()
    ...     run.write(Path("out.jsonl.gz"))
    """

    def __init__(self, paths: Sequence[str | os.PathLike[str]], k: int = DEFAULT_K, *,
                 hasher: SimHasher | None = None, keep: str = "first", verify: float | None = DEFAULT_VERIFY,
                 shingle_size: ShingleSize = DEFAULT_SHINGLE_SIZE, jobs: int | None = None,
                 memory_limit: int | None = None, tmp_dir: str | os.PathLike[str] | None = None,
                 text_field: str = "text", id_field: str | None = "id", skip_bad: bool = False,
                 id_prefixes: Sequence[str] | None = None,
                 against: Sequence[str | os.PathLike[str]] | SimHashIndex | None = None,
                 reference_name: Callable[[int], str] | None = None,
                 reference_text: Sequence[str | os.PathLike[str]] | None = None,
                 progress: ProgressFactory | None = None) -> None:
        self.k = check_k(k, MAX_K)
        self.verify = check_verify(verify)
        self.shingle_size = check_shingle_size(shingle_size)
        if keep not in ("first", "longest"):
            raise ValueError(f'keep must be "first" or "longest", got {keep!r}')
        self.keep = keep
        jobs = (os.cpu_count() or 1) if jobs is None else jobs
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise ValueError(f"jobs must be an int >= 1, got {jobs!r}")
        self.jobs = jobs
        self.memory_limit = default_limit() if memory_limit is None else int(memory_limit)
        self.hasher = SimHasher() if hasher is None else hasher
        self.hasher._check_params()
        if jobs > 1:
            try:
                pickle.dumps(self.hasher.get_params(deep=False))
            except (pickle.PicklingError, AttributeError, TypeError) as exc:  # a lambda tokenizer cannot reach a worker
                raise ValueError(f"jobs > 1 needs a hasher whose parameters pickle ({exc}); use jobs=1") from None
        self.progress = progress
        prefixes = list(id_prefixes) if id_prefixes is not None else [""] * len(paths)
        self.sources = [_Source(open_corpus(p, text_field, id_field, skip_bad), prefix)
                        for p, prefix in zip(paths, prefixes)]
        self.index: SimHashIndex | None = None
        # Reference corpus files are read after the inputs: the documents' numbers are a plain run's.
        self.reference_sources: list[_Source] = []
        if isinstance(against, SimHashIndex):
            if not self.hasher.__sklearn_is_fitted__():
                raise ValueError("an index as `against` holds fingerprints of a fitted hasher: pass that hasher, "
                                 "fitted")
            self.index = against
        elif against is not None:
            self.reference_sources = [_Source(open_corpus(p, text_field, id_field, skip_bad), "") for p in against]
        self.reference_name = reference_name or (lambda key: f"{key:016x}")
        if reference_text and self.index is None:
            raise ValueError("reference_text holds the text of an index's documents: it needs an index as `against`")
        self.reference_text = [open_corpus(p, text_field, id_field, skip_bad) for p in reference_text or []]
        self.text_field, self.id_field, self.skip_bad = text_field, id_field, skip_bad
        self._stack = ExitStack()
        self.tmp = scratch_directory(tempfile.gettempdir() if tmp_dir is None else tmp_dir, "simdup-spill")
        self._stack.callback(shutil.rmtree, self.tmp, ignore_errors=True)
        self.result: DedupResult | None = None
        self.candidate_pairs = 0
        self.timings: dict[str, float] = {}
        self.peak_rss = self.peak_rss_workers = 0
        self.cpu_seconds = 0.0
        self.stats = {"read_tasks": 0, "df_runs_spilled": 0, "shingle_tasks": 0, "verify_tasks": 0,
                      "pairs_size_pruned": 0}
        """Work done, for tests and tuning: tasks per phase, document-frequency runs written to disk, pairs
        left unread because their shingle-set sizes alone keep them below the threshold."""
        self._workers: dict[int, tuple[int, float]] = {}  # each worker's last (peak memory, CPU seconds)
        self._cpu_start = cpu_seconds()
        self._df: DfCounter | None = None
        self._ids, self._text = _spill.Spill(), _spill.Spill()
        self._prepared = self._text
        # Verification's shingle sets, and each document's row among them (made by _shingle).
        self._sets = _spill.Spill()
        self._set_row: npt.NDArray[np.int32] | None = None

    # -- the run --------------------------------------------------------------------------------

    def run(self) -> DedupResult:
        """Read, fit, fingerprint, join, verify and cluster; the :class:`~simdup.batch.DedupResult`."""
        fitted = self.hasher.__sklearn_is_fitted__()
        table = _table_of(self.hasher) if fitted else None
        # A corpus of a block or two would wait longer for worker processes to start (about
        # a second) than it takes to read; the result is the same with any number of jobs.
        self.jobs = min(self.jobs, max(1, -(-self._input_bytes() // BLOCK_BYTES)))
        with Pool(self.jobs, (self.hasher.get_params(deep=False), table)) as pool:
            fps, n_tokens, lengths = self._read(pool, fitted)
            n = self._ids.n_docs
            if n and not fitted:
                assert self._df is not None
                start = time.perf_counter()
                fitted_table = self._df.table(smooth_idf=self.hasher.smooth_idf, min_df=self.hasher.min_df,
                                              idf_cap_df=self.hasher.idf_cap_df, progress=self.progress)
                self.stats["df_runs_spilled"] = self._df.runs_spilled
                self.hasher._set_idf(*fitted_table)
                self.timings["fit"] = time.perf_counter() - start
                start = time.perf_counter()
                fps, n_tokens = self._fingerprint(pool, fitted_table)
                self.timings["fingerprint"] = time.perf_counter() - start
            self._df = None
            release_free_memory()  # the read's per-block arrays, before the join's large ones
            if self.n_documents:
                self.result = self._dedup(pool, fps, n_tokens, lengths)
            else:
                self.result = empty_result()
        # Inline (one job) the work's memory and time are this process's own.
        self.peak_rss = peak_rss()
        workers = [u for pid, u in self._workers.items() if pid != os.getpid()]
        self.peak_rss_workers = max((u[0] for u in workers), default=0)
        self.cpu_seconds = cpu_seconds() - self._cpu_start + sum(u[1] for u in workers)
        self.result.timings = dict(self.timings)
        return self.result

    @property
    def n_documents(self) -> int:
        """Documents of the inputs (not of a reference), once read."""
        return self.sources[-1].stop if self.sources else 0

    @property
    def _all_sources(self) -> list[_Source]:
        return self.sources + self.reference_sources

    def _note(self, usage: tuple[int, int, float]) -> None:
        pid, rss, cpu = usage
        self._workers[pid] = (rss, cpu)

    def _input_bytes(self) -> int:
        """The input's size, decompressed as estimated (compressed text is about a quarter of its size)."""
        total = 0
        for source in self._all_sources:
            path = source.corpus.path
            files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
            for f in files:
                size = f.stat().st_size
                total += 4 * size if f.suffix.lower() in (".gz", ".zst") else size
        return total

    def _bar(self, **kwargs: Any) -> Any:
        return _NoBar() if self.progress is None else self.progress(**kwargs)

    def _read(self, pool: Pool, fitted: bool) -> tuple[Any, Any, Any]:
        """Phase 1: every block read, prepared and counted (or fingerprinted); texts and ids spilled."""
        start = time.perf_counter()
        separate = self.hasher.tokenizer not in ("auto", "words")  # jieba or a callable: two texts
        if self.result is not None:
            raise RuntimeError("run() runs once")
        if separate and not fitted:
            self._prepared = _spill.Spill()
        self._df = DfCounter(self.memory_limit // 2, self.tmp) if not fitted and self.hasher.use_idf else None
        fps: list[npt.NDArray[np.uint64]] = []
        n_tokens: list[npt.NDArray[np.int64]] = []
        lengths: list[npt.NDArray[np.int64]] = []
        total = sum(s.corpus.path.stat().st_size for s in self._all_sources if s.corpus.path.is_file())
        bar = self._bar(total=total or None, desc="reading", unit="B", unit_scale=True, unit_divisor=1024)
        n = 0
        try:
            for source in self._all_sources:
                source.first = n
                options = {"text_field": self.text_field, "id_field": self.id_field, "id_prefix": source.id_prefix,
                           "skip_bad": self.skip_bad, "count_df": self._df is not None, "fingerprint": fitted,
                           "lengths": self.keep == "longest", "separate_text": separate, "spill_dir": str(self.tmp)}
                lines: list[npt.NDArray[np.int64]] = []
                for result in pool.map(_worker.scan, self._tasks(source, options, bar)):
                    if result.error is not None:
                        raise CorpusError(f"{source.corpus.path}:{result.error[0]}: {result.error[1]}")
                    source.skipped += result.skipped
                    self._note(result.usage)
                    self.stats["read_tasks"] += 1
                    assert result.ids is not None and result.text is not None
                    self._ids.add(*result.ids)
                    self._text.add(*result.text)
                    if result.prepared is not None:
                        self._prepared.add(*result.prepared)
                    if self._df is not None:
                        assert result.terms is not None and result.counts is not None
                        self._df.add(result.terms, result.counts, result.n_docs)
                    if result.fps is not None:
                        fps.append(result.fps)
                        n_tokens.append(result.n_tokens)  # type: ignore[arg-type]
                    if result.lengths is not None:
                        lengths.append(result.lengths)
                    if result.lines is not None:
                        lines.append(result.lines)
                    n += result.n_docs
                source.lines = np.concatenate(lines) if lines else np.empty(0, np.int64)
                if len(source.lines) and source.lines[-1] - source.lines[0] + 1 == len(source.lines):
                    source.lines = slice(int(source.lines[0]), int(source.lines[-1]) + 1)  # every line a record
                elif len(source.lines):
                    source.lines = _spill.page(source.lines, self.tmp / f"lines-{source.first}.npy")
                source.stop = n
                source.skipped += source.corpus.skipped
        finally:
            bar.close()
        for name, spill in {id(s): (n, s) for n, s in (("ids", self._ids), ("text", self._text),
                                                          ("prepared", self._prepared))}.values():
            spill.finish(page_out=self.tmp / f"{name}-index")
        self.timings["read"] = time.perf_counter() - start
        return (np.concatenate(fps) if fps else None, np.concatenate(n_tokens) if n_tokens else None,
                np.concatenate(lengths) if lengths else None)

    def _tasks(self, source: _Source, options: dict[str, Any], bar: Any) -> Iterator[_worker.ScanTask]:
        corpus = source.corpus
        if source.streams_lines:
            seen = [0]

            def on_read(position: int) -> None:
                bar.update(position - seen[0])
                seen[0] = position

            for first, block in corpus.raw_blocks(BLOCK_BYTES, on_read=on_read):
                yield _worker.ScanTask(corpus.format, block, first, **options)
            return
        batch: list[Any] = []
        size = 0
        for record in corpus.records():
            batch.append(record)
            doc = record[1]
            size += len(doc[0] if isinstance(doc, tuple) else doc)
            if size >= BLOCK_BYTES or len(batch) >= 4096:
                bar.update(size)
                yield _worker.ScanTask("records", batch, **options)
                batch, size = [], 0
        if batch:
            bar.update(size)
            yield _worker.ScanTask("records", batch, **options)

    def _fingerprint(self, pool: Pool, table: IdfTable) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
        """Phase 3: the spilled prepared texts fingerprinted range by range."""
        table_path = self.tmp / "table.npz"
        _worker.save_table(table, table_path)
        bar = self._bar(total=self._prepared.n_docs, desc="fingerprinting", unit="doc")
        tasks = ((str(table_path), path, offsets) for path, offsets, _, _ in self._prepared.blocks())
        fps, n_tokens = [], []
        try:
            for f, t, usage in pool.map(_worker.fingerprint, tasks):
                self._note(usage)
                fps.append(f)
                n_tokens.append(t)
                bar.update(len(f))
        finally:
            bar.close()
        return np.concatenate(fps), np.concatenate(n_tokens)

    def _dedup(self, pool: Pool, all_fps: npt.NDArray[np.uint64], all_tokens: npt.NDArray[np.int64],
               lengths: npt.NDArray[np.int64] | None) -> DedupResult:
        """Phases 4-6: join, verify, match the reference, cluster (as :func:`simdup.dedup` does them).

        ``all_fps`` and ``all_tokens`` hold the inputs' documents, then a reference corpus's.
        """
        n = self.n_documents
        fps, n_tokens = all_fps[:n], all_tokens[:n]
        start = time.perf_counter()
        pairs = _links(fps, n_tokens, self.k, self.progress, threads=self.jobs)
        self.candidate_pairs = len(pairs.i)
        self.timings["join"] = time.perf_counter() - start
        jaccard = None
        if self.verify is not None and len(pairs.i):
            start = time.perf_counter()
            pairs, jaccard = verify_links(pairs, self.verify, lambda i, j: self._jaccard(pool, i, j, self.verify))
            self.timings["verify"] = time.perf_counter() - start
        matches, described = None, None
        if self.index is not None or self.reference_sources:
            start = time.perf_counter()
            if self.index is None:
                candidates = candidates_between(fps, n_tokens, all_fps[n:], all_tokens[n:], self.k, self.jobs)
                check = None if self.verify is None else (lambda a, b: self._jaccard(pool, a, n + b, self.verify))
                kind, size, within = "corpus", len(all_fps) - n, self.k
                matches = choose_matches(*candidates, n, check, self.verify)
            else:
                kind, size, within = "index", len(self.index), min(self.k, self.index.k)
                candidates = reference_candidates(fps, n_tokens, self.index, within, self.jobs)
                check = None
                if self.verify is not None and self.reference_text:
                    check = self._reference_texts(pool, np.unique(candidates[1]))
                matches = choose_matches(*candidates, n, check, self.verify)
            described = {"kind": kind, "documents": size, "k": within, "verified": check is not None}
            if check is not None and kind == "index":
                described["unverified"] = int(np.isnan(matches.jaccard).sum())
            # (reading a reference's text is a phase of its own)
            self.timings["reference"] = time.perf_counter() - start - self.timings.get("reference_text", 0.0)
        start = time.perf_counter()
        settled = settle(fps, pairs.i, pairs.j, pairs.distance, jaccard, self.keep,
                         None if lengths is None else lengths[:n], matches)
        self.timings["cluster"] = time.perf_counter() - start
        return settled_result(fps, n_tokens, settled, pairs, jaccard, {}, described)

    def _reference_texts(self, pool: Pool, keys: npt.NDArray[np.uint64]) -> Callable[..., npt.NDArray[np.float64]]:
        """Read the text of the index's documents ``keys`` from ``reference_text`` into the text spill.

        Returns the Jaccard function of :func:`~simdup.reference.choose_matches`
        (``jaccard(doc, key)``, NaN for a key whose text was not found). The
        files are read once; only the texts wanted are kept, prepared as the
        inputs' are, after the inputs' in the spill.
        """
        start = time.perf_counter()
        # The workers read the files as they read the inputs (blocks of lines; other formats as
        # records read here), each keeping the records whose id hashes to a key: 10 million
        # reference records took 136 s in the main process alone.
        keys_path = self.tmp / "reference-keys.npy"
        np.save(keys_path, keys)
        options = {"text_field": self.text_field, "id_field": self.id_field, "skip_bad": self.skip_bad,
                   "count_df": False, "spill_dir": str(self.tmp)}
        total = sum(c.path.stat().st_size for c in self.reference_text if c.path.is_file())
        bar = self._bar(total=total or None, desc="reading reference text", unit="B", unit_scale=True,
                        unit_divisor=1024)
        found_keys: list[npt.NDArray[np.uint64]] = []
        try:
            for corpus in self.reference_text:
                tasks = ((task, str(keys_path)) for task in self._tasks(_Source(corpus, ""), options, bar))
                for result, found in pool.map(_worker.pick_texts, tasks):
                    if result.error is not None:
                        raise CorpusError(f"{corpus.path}:{result.error[0]}: {result.error[1]}")
                    self._note(result.usage)
                    if result.text is not None:  # (in the order of `found`: their rows in the spill)
                        self._text.add(*result.text)
                    found_keys.append(found)
        finally:
            bar.close()
        self._text.finish()
        found = np.concatenate(found_keys) if found_keys else np.empty(0, np.uint64)
        # A key's text is its first occurrence (an id repeated in the files is read once).
        found, first = np.unique(found, return_index=True)
        row = self.n_documents + first
        self.timings["reference_text"] = time.perf_counter() - start

        def jaccard(doc: npt.NDArray[np.int64], key: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
            key = key.astype(np.uint64)  # (choose_matches passes the ids as int64: the same bits)
            at, has = find_sorted(found, key)
            out = np.full(len(doc), np.nan)
            if has.any():
                out[has] = self._jaccard(pool, doc[has], row[at[has]], self.verify)
            return out

        return jaccard

    def _jaccard(self, pool: Pool, i: npt.NDArray[np.int64], j: npt.NDArray[np.int64], at_least: float | None = None
                 ) -> npt.NDArray[np.float64]:
        """Shingle Jaccard of pairs ``(i, j)``: each document shingled once, pairs checked in chunks that fit.

        With ``at_least``, a pair whose set sizes alone keep it below gets that
        bound instead, ``min / max`` of the sizes, and its sets are not read:
        ``|A & B| / |A | B| <= min(|A|, |B|) / max(|A|, |B|)``, both sides
        correctly rounded quotients of integers, so no pair that reaches
        ``at_least`` is left unread. The callers only compare with it.
        """
        set_row = self._shingle(pool, i, j)
        sizes = self._sets.length  # (bytes, 8 a shingle: the same ratios)
        # A chunk's sets are read, then joined: twice their size, on each worker at once. Larger
        # chunks are no faster (a task costs milliseconds), so a chunk stays small within the limit.
        budget = max(1, min(self.memory_limit // (4 * self.jobs), _CHUNK_BYTES))
        out = np.empty(len(i), np.float64)
        positions: deque[npt.NDArray[np.int64]] = deque()  # each task's pairs, in the order of the results
        bar = self._bar(total=len(i), desc="verifying", unit="pair")

        def tasks() -> Iterator[tuple[_worker.Located, npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
            # Pairs a slice at a time: links can outnumber documents, and no array over all of them is made.
            for s in range(0, len(i), _PAIR_SLICE):
                row_i, row_j = set_row[i[s:s + _PAIR_SLICE]], set_row[j[s:s + _PAIR_SLICE]]
                at = np.arange(s, s + len(row_i))
                if at_least is not None:
                    a, b = sizes[row_i], sizes[row_j]
                    high = np.maximum(a, b)
                    out[at] = np.where(high > 0, np.minimum(a, b) / np.maximum(high, 1), 1.0)
                    read = out[at] >= at_least
                    self.stats["pairs_size_pruned"] += len(at) - int(read.sum())
                    bar.update(len(at) - int(read.sum()))
                    row_i, row_j, at = row_i[read], row_j[read], at[read]
                for c, d in _chunks(np.cumsum(sizes[row_i].astype(np.int64) + sizes[row_j]), budget, _MAX_PAIRS):
                    ri, rj = row_i[c:d], row_j[c:d]
                    rows = np.unique(np.concatenate([ri, rj]))
                    positions.append(at[c:d])
                    yield (_worker.Located(self._sets.files, *self._sets.locate(rows)),
                           np.searchsorted(rows, ri), np.searchsorted(rows, rj))

        try:
            for jac, usage in pool.map(_worker.jaccard, tasks()):
                self._note(usage)
                self.stats["verify_tasks"] += 1
                out[positions.popleft()] = jac
                bar.update(len(jac))
        finally:
            bar.close()
        return out

    def _shingle(self, pool: Pool, i: npt.NDArray[np.int64], j: npt.NDArray[np.int64]) -> npt.NDArray[np.int32]:
        """Spill the shingle sets of the documents of pairs ``(i, j)`` not spilled yet, in document order.

        Returns each document's row in the spill of sets (-1: none), 4 bytes a document.
        """
        rows = self._text.n_docs  # (a reference's texts may have been added since the last call)
        if self._set_row is None or len(self._set_row) < rows:
            old = np.empty(0, np.int32) if self._set_row is None else self._set_row
            self._set_row = np.concatenate([old, np.full(rows - len(old), -1, dtype=np.int32)])
        set_row = self._set_row
        need = np.zeros(len(set_row), dtype=bool)
        need[i] = True
        need[j] = True
        need &= set_row < 0
        missing = np.flatnonzero(need)
        del need
        if not len(missing):
            return set_row
        first_row = self._sets.n_docs
        bounds = _chunks(np.cumsum(self._text.length[missing].astype(np.int64)),
                         max(1, min(BLOCK_BYTES, self.memory_limit // (8 * self.jobs))), 4096)
        tasks = ((_worker.Located(self._text.files, *self._text.locate(missing[a:b])), *self.shingle_size,
                  str(self.tmp)) for a, b in bounds)
        bar = self._bar(total=len(missing), desc="shingling", unit="doc")
        try:
            for path, offsets, usage in pool.map(_worker.shingles, tasks):
                self._note(usage)
                self.stats["shingle_tasks"] += 1
                self._sets.add(path, offsets)
                bar.update(len(offsets) - 1)
        finally:
            bar.close()
        self._sets.finish()
        set_row[missing] = np.arange(first_row, first_row + len(missing), dtype=np.int32)
        return set_row

    # -- outputs --------------------------------------------------------------------------------

    def _keep(self) -> npt.NDArray[np.bool_]:
        if self.result is None:
            raise RuntimeError("call run() first")
        return self.result.keep

    def _level(self, level: int | None) -> int | None:
        # Follow inputs compressed for speed (gzip -1), unless told a level.
        return level if level is not None else input_gzip_level([s.corpus.path for s in self.sources])

    def write(self, output: Path, level: int | None = None) -> None:
        """Write every file's kept records to one ``output`` (JSON Lines or text, as the inputs), atomically.

        A ``.gz`` or ``.zst`` output is compressed at ``level`` (default: gzip 6, or 1 when the inputs
        were compressed for speed; zstd 3), on ``jobs`` threads.
        """
        keep = self._keep()
        if len(self.sources) == 1 and not self.sources[0].streams_lines:
            source = self.sources[0]
            source.corpus.write_kept(keep[source.first:source.stop].tolist(), output)
            return
        if not all(s.streams_lines for s in self.sources) or len({s.corpus.format for s in self.sources}) > 1:
            raise ValueError("several inputs are written to one file only as JSON Lines or text of one format; "
                             "write them to a directory (write_each)")
        with self._write_bar() as on_read:
            write_lines([(s.corpus, self._kept_lines(s, keep)) for s in self.sources], output, on_read,
                        jobs=self.jobs, level=self._level(level))

    def write_each(self, targets: Sequence[Path], level: int | None = None) -> None:
        """Write each input file's kept records to its own target (one per source, in order), atomically.

        ``level`` as for :meth:`write`.
        """
        keep = self._keep()
        with self._write_bar() as on_read:
            for source, target in zip(self.sources, targets, strict=True):
                if source.streams_lines:
                    write_lines([(source.corpus, self._kept_lines(source, keep))], target, on_read,
                                jobs=self.jobs, level=self._level(level))
                else:
                    source.corpus.write_kept(keep[source.first:source.stop].tolist(), target)

    @staticmethod
    def _kept_lines(source: _Source, keep: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
        flags = keep[source.first:source.stop]
        if isinstance(source.lines, slice):
            return np.flatnonzero(flags) + source.lines.start
        return np.asarray(source.lines)[flags]

    @contextmanager
    def _write_bar(self) -> Iterator[Callable[[int], None]]:
        """A bar of the input bytes the writers read, and the ``on_read`` callback that moves it."""
        total = sum(s.corpus.path.stat().st_size for s in self.sources if s.corpus.path.is_file())
        bar = self._bar(total=total or None, desc="writing", unit="B", unit_scale=True, unit_divisor=1024)
        last = [0]  # position in the file being read

        def on_read(position: int) -> None:
            bar.update(position - last[0] if position >= last[0] else position)  # smaller: the next file
            last[0] = position

        try:
            yield on_read
        finally:
            bar.close()

    def cluster_rows(self, chunk: int = 1 << 16) -> Iterator[list[tuple[Any, ...]]]:
        """Rows of every document in a cluster, in chunks (:data:`simdup.clustering.CLUSTER_COLUMNS`).

        Each row is ``(id, cluster, kept_id, matched_id, distance, jaccard,
        reason)``: clusters numbered densely in the order of their first
        documents; the kept document (of the inputs or of the reference);
        the evidence, its match, their distance and Jaccard (None where
        there is none), and the reason. Ids are read back from the spill,
        a chunk at a time; an index's ids are named by ``reference_name``.
        """
        result = self.result
        if result is None:
            raise RuntimeError("call run() first")
        assert result.evidence is not None
        evidence = result.evidence
        members = np.flatnonzero(evidence.reason != REASONS.index("unique"))
        # A cluster's label is its first document, so label order is first-appearance order.
        _, number = np.unique(result.labels[members], return_inverse=True)
        names = np.asarray(REASONS, dtype=object)
        for a in range(0, len(members), chunk):
            m = members[a:a + chunk]
            kept = result.representative[m]
            reason = evidence.reason[m]
            yield list(zip(self.ids(m), number[a:a + chunk].tolist(),
                           self._named(kept, result.kept_reference, m, kept < 0),
                           self._named(evidence.match[m], evidence.reference, m, reason == REASONS.index("reference")),
                           [None if d < 0 else d for d in evidence.distance[m].tolist()],
                           [None if j != j else j for j in np.round(evidence.jaccard[m], 4).tolist()],  # NaN: none
                           names[reason].tolist()))

    def ids(self, docs: npt.NDArray[np.int64]) -> list[str]:
        """The ids of documents (numbers of the inputs', or past them of a reference corpus's), read from the spill."""
        return [x.decode("utf-8", "surrogatepass") for x in self._ids.read(docs)]

    def _named(self, docs: npt.NDArray[np.int64], reference: npt.NDArray[Any] | None, rows: npt.NDArray[np.int64],
               from_reference: npt.NDArray[np.bool_]) -> list[str | None]:
        """Names of ``docs`` (None for -1), or of the reference documents ``reference[rows]`` where ``from_reference``."""
        out = np.full(len(docs), None, dtype=object)
        local = docs >= 0
        if local.any():
            out[local] = self.ids(docs[local])
        if from_reference.any():
            assert reference is not None
            keys = reference[rows[from_reference]]
            out[from_reference] = (self.ids(self.n_documents + keys.astype(np.int64)) if self.index is None
                                   else [self.reference_name(key) for key in keys.tolist()])
        return out.tolist()

    @property
    def skipped(self) -> int:
        return sum(s.skipped for s in self.sources)

    @property
    def warnings(self) -> list[str]:
        return [w for s in self.sources for w in s.corpus.warnings]

    def close(self) -> None:
        """Remove the temporary files."""
        _spill.close_all()  # with one job, this process wrote them
        self._stack.close()

    def __enter__(self) -> FileDedup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _table_of(hasher: SimHasher) -> IdfTable | None:
    """A fitted hasher's IDF table (None for ``use_idf=False``, which needs none)."""
    if not hasher.use_idf:
        return None
    return IdfTable(hasher._vocabulary, hasher._idf_q, hasher._unseen_q, hasher.n_docs_)


def _chunks(cumulative: npt.NDArray[np.int64], budget: int, max_items: int) -> list[tuple[int, int]]:
    """Cut items with running cost ``cumulative`` into ranges costing at most ``budget`` (or one item)."""
    bounds, start, n = [], 0, len(cumulative)
    while start < n:
        base = int(cumulative[start - 1]) if start else 0
        stop = int(np.searchsorted(cumulative, base + budget, side="right"))
        stop = min(max(stop, start + 1), start + max_items, n)
        bounds.append((start, stop))
        start = stop
    return bounds
