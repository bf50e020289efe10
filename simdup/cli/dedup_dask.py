"""``simdup dedup --dask``: the batch job of ``simdup dedup`` on a Dask cluster, local or at an address.

INPUT is what ``simdup dedup`` reads, or a glob pattern of corpus files
(shards). Every input file is read by the workers with the same corpus
readers as the single-machine command, as one or more partitions
(``--split``), and written back by the same writers, one output file per
input file (:mod:`simdup.distributed.corpus_files`): the output and the
clusters file are the ones ``simdup dedup`` writes for the same input. A
file is read whole by one task, so each must fit in a worker's memory.

``--against REF`` is read as ``simdup dedup`` reads it
(:mod:`simdup.cli._dedup_reference`): a saved index, sent to the workers
as fingerprints (:mod:`simdup.distributed.reference`), or corpus files,
read by the workers as the inputs are. ``--update`` adds the kept
documents to the index on the client, as ``simdup dedup`` does (their
names and fingerprints are gathered: 8 bytes and a name each).
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from math import ceil
from pathlib import Path

try:
    # Checked first, for this message rather than simdup.distributed's.
    import dask  # noqa: F401
    import dask.bag as db
    import dask.delayed  # noqa: F401
    from dask.distributed import Client, LocalCluster
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("--dask needs Dask: pip install 'simdup[dask]'") from exc

from .._atomic import atomic_directory
from ..index import SimHashIndex
from ..distributed import DaskDedupResult, dedup
from ..distributed.corpus_files import cluster_rows, corpus_bag, kept_names_and_fingerprints, write_kept
from ._common import CliError, hasher_from_args, progress_bars
from ._dedup_inputs import read_inputs, shard_names
from ._dedup_outputs import check_dedup_outputs, dedup_output, report, write_cluster_rows
from ._dedup_reference import reference_hasher, reference_of, update_index

def run(args: argparse.Namespace) -> int:
    """Run ``simdup dedup`` with ``--dask`` (INPUT and --dask settled by :func:`simdup.cli.dedup.cmd_dedup`)."""
    started = time.perf_counter()
    files, root, corpus_format = read_inputs(args.input, "dedup --dask")
    output = dedup_output(args, corpus_format)
    ref = reference_of(args) if getattr(args, "against", None) or getattr(args, "update", None) else None
    if ref is not None and ref.index is not None and ref.files:
        raise CliError("--dask takes an index or corpus files as --against, not an index with its text (that runs "
                       "on this machine, without --dask)")
    # Every output is checked before any input is read (many shards: -o is a new directory).
    check_dedup_outputs(args, corpus_format, files, output, output_is_directory=root is not None, reference=ref)
    for name, value in (("--workers", args.workers), ("--split", args.split)):
        if value is not None and value < 1:
            args.parser.error(f"{name} must be at least 1")
    # With an index, its own model (the fingerprints must be comparable); else fitted on input and reference.
    hasher = (reference_hasher(args, ref) if ref is not None else hasher_from_args(args, fit=True)
              ).for_corpus(corpus_format)

    with _connect(args.dask, args.workers) as client:
        scheduler, workers = client.scheduler.address, len(client.nthreads())
        threads = sum(client.nthreads().values())
        split = args.split or max(1, ceil(2 * threads / len(files)))
        # Line numbers and row numbers repeat across shards: name those documents by their file too.
        prefixes = ([f"{name}:" for name in shard_names(files, root)] if root is not None and corpus_format == "lines"
                    else [""] * len(files))
        pieces = corpus_bag(files, args.text_field, args.id_field, args.skip_bad, split, prefixes)
        against: SimHashIndex | db.Bag | None = None
        if ref is not None and ref.index is not None:
            against = ref.index
        elif ref is not None and ref.files:  # read as the inputs are, their ids without a file prefix (as dedup)
            against = corpus_bag(ref.files, args.text_field, args.id_field, args.skip_bad, split,
                                 [""] * len(ref.files))
        with _PhaseBar(args) as bar:
            result = dedup(pieces, args.k, text_column="text", id_column="id", hasher=hasher,
                           keep=args.keep, verify=args.verify, progress=bar.phase, against=against)
            if result.summary["documents"] == 0:
                raise CliError(f"{' '.join(args.input)}: no documents to deduplicate")
            bar.phase("write")
            start = time.perf_counter()
            skipped = _write_outputs(args, files, root, output, result, split)
            if args.clusters:
                # An index names its documents in its names file; a corpus reference's are their ids.
                write_cluster_rows(Path(args.clusters), cluster_rows(
                    result, ref.name if ref is not None and ref.index is not None else None))
            updated = None
            if ref is not None and ref.update is not None:
                names, fps = kept_names_and_fingerprints(result, pieces)
                updated = update_index(args, ref, names, fps)
            write_seconds = time.perf_counter() - start

    # The pipeline's summary, with the write and, as seconds, the whole run (the cluster's start included).
    summary = dict(result.summary)
    if ref is not None and ref.index is None and ref.files:  # (as simdup dedup names a reference of corpus files)
        summary["reference"] = {**summary["reference"], "kind": "corpus"}
    summary["timings"] = {**summary["timings"], "write": round(write_seconds, 4)}
    summary["seconds"] = round(time.perf_counter() - started, 4)
    summary["documents_per_second"] = round(summary["documents"] / summary["seconds"], 1)
    if updated is not None:
        summary["update"] = updated
    report(args, source=" ".join(args.input), output=output, corpus_format=corpus_format, hasher=hasher, skipped=skipped,
           summary=summary, scheduler=scheduler, workers=workers, partitions=len(files) * split)
    return 0


class _connect:
    """A client of the scheduler at ``address``, or of a new local cluster ("local")."""

    def __init__(self, address: str, workers: int | None) -> None:
        self.address, self.workers = address, workers
        self.cluster: LocalCluster | None = None

    def __enter__(self) -> Client:
        # Dask logs every shuffle at WARNING; the CLI's own messages are the ones that matter.
        logging.getLogger("distributed").setLevel(logging.ERROR)
        if self.address != "local":
            if self.workers is not None:
                raise CliError("--workers is for the local cluster; a scheduler at an address has its own workers")
            try:
                self.client = Client(self.address, timeout="20s")
            except (OSError, ValueError) as exc:
                raise CliError(f"cannot reach the Dask scheduler at {self.address}: {exc}") from None
            return self.client
        # CRITICAL: a failed task (a corrupt input) is the one-line error the CLI prints, not a worker's traceback.
        # ":0", not None: with None the scheduler still serves HTTP on 8787 and, when a dashboard holds that
        # port, warns on stderr in four lines.
        self.cluster = LocalCluster(n_workers=self.workers or os.cpu_count() or 1, threads_per_worker=1,
                                    processes=True, dashboard_address=":0", silence_logs=logging.CRITICAL)
        try:
            self.client = Client(self.cluster)
        except BaseException:
            self.cluster.close()
            raise
        return self.client

    def __exit__(self, *exc: object) -> None:
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()


class _PhaseBar:
    """One progress step per phase on stderr, for a person watching."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.bar = progress_bars(args)(total=None, unit="phase")

    def phase(self, name: str) -> None:
        self.bar.set_description(name)
        self.bar.update(1)

    def __enter__(self) -> _PhaseBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()


def _write_outputs(args: argparse.Namespace, files: list[Path], root: Path | None, output: Path | None,
                   result: DaskDedupResult, split: int) -> int:
    """Write each input file's kept records (to ``output``, or into it as a directory); the bad records skipped."""
    if output is None or root is None:
        targets: list[str | None] = [str(output) if output else None] * len(files)
        return write_kept(result, files, targets, args.text_field, args.id_field, args.skip_bad, split)
    # Many files into a new directory: written beside it, renamed when complete.
    with atomic_directory(output) as tmp:
        paths = [tmp / name for name in shard_names(files, root)]
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
        return write_kept(result, files, [str(p) for p in paths], args.text_field, args.id_field, args.skip_bad,
                          split)
