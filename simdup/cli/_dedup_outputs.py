"""What ``simdup dedup`` writes, on this machine or on Dask: its outputs checked first, the clusters file, the summary.

Both runs of the command (:mod:`simdup.cli.dedup` and
:mod:`simdup.cli.dedup_dask`) take these from here, so their outputs, their
checks and their summaries are one definition. This module imports no
command module.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .._atomic import atomic_output, check_writable
from ..clustering import CLUSTER_COLUMNS
from ..corpus import (
    WARC_OUTPUT_SUFFIXES,
    CorpusError,
    _zstandard,
    format_of,
    open_text,
    plain_name,
    require_datasets,
)
from ..hasher import SimHasher
from ..index._names import names_path
from ._common import CliError, check_paths, corpus_reads, model_reads, same_path
from ._dedup_reference import Reference

CLUSTER_HEADER = CLUSTER_COLUMNS


def dedup_output(args: argparse.Namespace, corpus_format: str) -> Path | None:
    """The deduplicated corpus to write (from -o or --keep-warc), or None when only clusters are wanted."""
    warc = corpus_format == "warc"
    if args.keep_warc:
        if not warc:
            args.parser.error(f"--keep-warc needs a WARC input; {args.input} is {corpus_format} (use -o)")
        if args.output:
            args.parser.error("-o and --keep-warc name the same file (the deduplicated WARC): give one")
        args.output = args.keep_warc
    if not args.output and not (warc and args.clusters):
        args.parser.error("the following arguments are required: -o/--output "
                          "(for a WARC input, --clusters alone is enough)")
    return Path(args.output) if args.output else None


def check_dedup_outputs(args: argparse.Namespace, corpus_format: str, inputs: Sequence[Path],
                        output: Path | None, output_is_directory: bool = False,
                        reference: Reference | None = None) -> None:
    """Everything `simdup dedup` will write, checked before it reads: distinct from the inputs (and the
    ``--against`` reference) and each other, of a format it writes, in a writable directory."""
    clusters = Path(args.clusters) if args.clusters else None
    writes = [("--keep-warc" if args.keep_warc else "-o", output)] if output is not None else []
    writes += [("--clusters", clusters)] if clusters is not None else []
    reads = corpus_reads(inputs) + model_reads(args)
    if reference is not None:
        for path in inputs:
            for what, read in reference.reads:
                if same_path(path, read):
                    # Every document would match itself: the whole input removed.
                    raise CliError(f"{path}: both an input and {what}; a corpus is deduplicated against "
                                   "another (for duplicates within one corpus, leave --against out)")
        reads += reference.reads
        writes += reference.writes
        for path in ([reference.update] if reference.update is not None else []):
            check_writable(path)
            check_writable(names_path(path))
    check_paths(reads, writes)
    if output is not None:
        if output_is_directory:
            if output.exists():
                raise CliError(f"{output}: already exists (the output directory is never overwritten)")
        else:
            check_output(corpus_format, inputs[0], output)
        check_writable(output)
    if clusters is not None:
        if clusters.name.lower().endswith(".zst"):
            _zstandard(clusters)
        check_writable(clusters)


def check_output(corpus_format: str, source: Path, output: Path) -> None:
    """The output is not the input, and is a file of the input's format that simdup writes."""
    if same_path(output, source):
        raise CliError(f"{output}: the output must not be the input file")
    if corpus_format in ("directory", "hf"):
        if output.exists():
            raise CliError(f"{output}: already exists (a directory output is never overwritten)")
        if corpus_format == "hf":
            require_datasets(output, load=False)  # the package is needed to write it
    elif output.is_dir():
        raise CliError(f"{output}: is a directory; the input is a {corpus_format} file")
    else:
        try:
            out_format = format_of(output)
        except CorpusError:
            out_format = None
        if out_format != corpus_format:
            raise CliError(f"{output}: the output is written in the input's format ({corpus_format}); "
                           "give it a matching suffix")
        if corpus_format == "warc" and not output.name.lower().endswith(WARC_OUTPUT_SUFFIXES):
            raise CliError(f"{output}: a WARC is written as .warc or .warc.gz")
        if output.name.lower().endswith(".zst"):
            _zstandard(output)  # the package is needed to write it
    if not output.parent.exists():
        raise CliError(f"{output.parent}: no such directory")


def write_cluster_rows(path: Path, chunks: Iterable[Sequence[tuple]]) -> None:
    """Write the clusters file (CSV, JSON Lines or tab-separated by its name) from chunks of rows, atomically.

    Each row holds the :data:`simdup.clustering.CLUSTER_COLUMNS`;
    chunks let the Dask run write one partition of the table at a time.
    """
    name = plain_name(path)  # clusters.csv.gz is CSV, gzip-compressed
    with atomic_output(path) as tmp, open_text(tmp, "wt") as f:
        jsonl = name.endswith((".jsonl", ".ndjson"))
        if not jsonl:
            writer = csv.writer(f, delimiter="," if name.endswith(".csv") else "\t", lineterminator="\n")
            writer.writerow(CLUSTER_HEADER)
        for rows in chunks:
            if jsonl:
                f.writelines(json.dumps(dict(zip(CLUSTER_HEADER, row)), ensure_ascii=False) + "\n" for row in rows)
            else:
                writer.writerows(rows)


def report(args: argparse.Namespace, *, source: str, output: Path | None, corpus_format: str, hasher: SimHasher,
           skipped: int, summary: dict[str, Any], **run: Any) -> None:
    """Print a dedup run's summary: to stderr, or to stdout as JSON with ``--json``.

    Parameters
    ----------
    args : argparse.Namespace
    source : str
        The input as the summary names it.
    output : Path or None
        The deduplicated corpus written, if any.
    corpus_format : str
    hasher : SimHasher
        The hasher the run fingerprinted with (its input settings are reported).
    skipped : int
        Bad records skipped (``--skip-bad``).
    summary : dict
        :func:`simdup.batch.summarize`'s counts and timings, last in the JSON.
    **run
        Keys of the run itself before the counts (the Dask scheduler, workers and partitions).
    """
    full = {"input": source, "output": str(output) if output else None, "format": corpus_format,
            "input_type": hasher.input, "html_content": hasher.html_content if hasher.input != "text" else None,
            "skipped_bad_records": skipped, **run, **summary}
    if args.json:
        print(json.dumps(full, indent=2))
    else:
        _print_summary(full)


def _print_summary(s: dict) -> None:
    timings = ", ".join(f"{phase} {seconds:.2f} s" for phase, seconds in s["timings"].items())
    total = sum(s["timings"].values())
    lines = [
        f"simdup dedup: {s['documents']:,} documents in, {s['duplicates_removed']:,} duplicates removed, "
        f"{s['kept']:,} kept" + (f" -> {s['output']}" if s["output"] else " (no output written)"),
        f"  clusters: {s['clusters']:,} (largest: {s['largest_cluster']:,} documents); "
        f"token-less documents: {s['token_less_documents']:,}"
        + (f"; bad records skipped: {s['skipped_bad_records']:,}" if s["skipped_bad_records"] else ""),
        f"  links: {s['pairs']:,}" + (f" of {s['candidate_pairs']:,} candidate pairs verified"
                                        if "candidate_pairs" in s else ""),
        f"  time: {total:.2f} s ({s['documents'] / total if total else 0:,.0f} documents/s): {timings}"
        + (f"; {s['cpu_seconds']:,.1f} s of CPU" if "cpu_seconds" in s else ""),
    ]
    if "reference" in s:
        r = s["reference"]
        how = ("verified on their text" if r["verified"] else
               "by fingerprint alone, not verified: an index holds no text" if r["kind"] == "index" else "not verified")
        lines.append(f"  reference: {r['kind']} of {r['documents']:,} documents; {r['matched']:,} documents matched it "
                     f"within {r['k']} bits ({how}), {r['removed_in_reference_clusters']:,} removed with their "
                     "clusters")
    if "update" in s:
        u = s["update"]
        lines.append(f"  updated {u['index']}: {u['added']:,} documents added, {u['replaced']:,} replaced, "
                     f"{u['documents']:,} in all")
    if "peak_rss_mb" in s:
        workers = s.get("jobs") or 1
        lines.append(f"  peak memory: {s['peak_rss_mb']:,.0f} MiB" + (
            f" (and {s['peak_rss_workers_mb']:,.0f} MiB in each of {workers} worker processes at most)"
            if workers > 1 and s.get("peak_rss_workers_mb") else ""))
    print("\n".join(lines), file=sys.stderr)
