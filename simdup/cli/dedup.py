"""``simdup dedup``: a corpus without its near-duplicates, on this machine; its options, ``--dask``'s too.

With ``--dask`` the run is :mod:`simdup.cli.dedup_dask`'s, which the parser
(:mod:`simdup.cli`) hands over as ``on_dask`` so that this module never
imports Dask, nor that module.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import atomic_directory
from ..batch import DEFAULT_K, DEFAULT_VERIFY, MAX_K, summarize_result
from ..corpus import CorpusError, format_of
from ..stream import FileDedup
from ..stream._memory import cpu_seconds, peak_rss
from ._common import CliError, int_at_least, memory_size, progress_bars, warn
from ._dedup_inputs import read_inputs, shard_names
from ._dedup_reference import reference_hasher, reference_of, update_index
from ._dedup_outputs import (
    check_dedup_outputs,
    dedup_output,
    report,
    write_cluster_rows,
)


def add_parser(sub: Any, common: argparse.ArgumentParser, on_dask: Callable[[argparse.Namespace], int]) -> None:
    """Add ``dedup`` to the subcommands ``sub``; ``on_dask`` runs it with ``--dask``."""
    p = sub.add_parser("dedup", parents=[common], help="remove near-duplicate documents from a corpus",
                       description="Write INPUT without its near-duplicates to OUTPUT, in INPUT's format: "
                       "JSON Lines (.jsonl, .gz, .zst), text with one document a line (.txt), Parquet, a "
                       "Hugging Face dataset saved by save_to_disk (a directory), a directory of .txt/.html files, or a WARC (.warc, .warc.gz, .warc.zst: its HTML "
                       "responses, id = WARC-Target-URI, fingerprinted on their main content; the output "
                       "WARC is .warc or .warc.gz and keeps every other record). A summary goes to stderr "
                       "(or stdout as JSON).")
    p.add_argument("input", metavar="INPUT", nargs="*",
                   help="a corpus file or directory; or several corpus files (shards), named or as a quoted glob "
                   "('shards/*.jsonl.gz'), deduplicated as one corpus")
    p.add_argument("-o", "--output", help="deduplicated corpus to write (same format as INPUT); required "
                   "unless INPUT is a WARC and --clusters or --keep-warc is given. With several inputs: a new "
                   "directory that gets one output file per input file, or one .jsonl/.txt file for JSON Lines "
                   "or text shards")
    p.add_argument("--keep-warc", metavar="FILE",
                   help="WARC input only: write the deduplicated WARC to FILE (the same as -o FILE)")
    p.add_argument("-k", type=int, default=DEFAULT_K, choices=range(MAX_K + 1), metavar="K",
                   help=f"largest Hamming distance between candidate near-duplicates, 0-{MAX_K} "
                   f"(default {DEFAULT_K})")
    p.add_argument("--clusters", help="also write, for each document in a cluster, why it was kept or removed: "
                   "id, cluster, kept_id, matched_id, distance, jaccard, reason (.csv, .jsonl, else tab-separated; "
                   "the README describes each column)")
    p.add_argument("--against", action="append", metavar="REF",
                   help="also remove every document that is a near-duplicate of a reference: corpus files (read "
                   "with INPUT, never written; matches verified), or a saved index (`simdup index build`; INPUT is "
                   "fingerprinted with its model), whose matches are verified on the text of the corpus files also "
                   "given (only the matched documents' text is kept), or by fingerprint alone without them. Repeat "
                   "for several files")
    p.add_argument("--update", metavar="INDEX",
                   help="after the run, add the kept documents to INDEX, atomically: the --against index (updated "
                   "in place), or a new index (the --against index's documents and the kept ones, or the kept "
                   "ones alone, fingerprinted with --model or the embedded model)")
    p.add_argument("--keep", choices=["first", "longest"], default="first",
                   help="which document of a cluster to keep (default: first)")
    p.add_argument("--verify", type=float, metavar="THRESHOLD", default=DEFAULT_VERIFY,
                   help="keep only links whose word 3-shingle Jaccard similarity is at least THRESHOLD "
                   f"(default {DEFAULT_VERIFY})")
    p.add_argument("--no-verify", dest="verify", action="store_const", const=None,
                   help="link every pair within K bits, without the Jaccard check")
    p.add_argument("--ngram", type=int, default=1, help="word n-grams up to this length as tokens (default 1)")
    p.add_argument("--tokenizer", default="auto", choices=["auto", "words", "chinese"])
    p.add_argument("--segmenter", default="jieba", choices=["jieba", "rjieba"],
                   help="Chinese word segmenter (rjieba: pip install 'simdup[fast]')")
    p.add_argument("--skip-bad", action="store_true", help="skip malformed records (counted in the summary)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.add_argument("--jobs", "-j", type=int_at_least(1), metavar="N",
                   help=f"worker processes for reading, fingerprinting and verification (default: every core, "
                   f"{os.cpu_count() or 1} here); the result does not depend on it")
    p.add_argument("--memory-limit", type=memory_size, metavar="SIZE",
                   help="memory the phases that grow with text (document frequencies, verification) may hold "
                   "before spilling to --tmp-dir or working in smaller chunks, e.g. 2G (default: half the memory "
                   "available). Fingerprints and links, about 100 bytes a document, are always held")
    p.add_argument("--compress-level", type=int, metavar="N",
                   help="level of a .gz (0-9, default 6; 1 when the inputs were written with gzip -1) or .zst "
                   "(1-22, default 3) output, compressed on --jobs threads")
    p.add_argument("--tmp-dir", metavar="DIR", help="directory for spill files (default: the system's temporary "
                   "directory); they are removed at the end")
    g = p.add_argument_group("on a Dask cluster (pip install 'simdup[dask]')")
    g.add_argument("--dask", nargs="?", const="local", metavar="SCHEDULER",
                   help="run on the Dask scheduler at this address (tcp://host:8786), or on a local cluster of "
                   "--workers processes when no address is given. INPUT may then also be a quoted glob of "
                   "corpus files (shards, each read whole by one task); -o is then a directory that gets one "
                   "output file per shard. Ids must be unique across shards (--id-field); text lines are named "
                   "FILE:LINE")
    g.add_argument("--workers", type=int, metavar="N", help="local cluster: worker processes (default: one a core)")
    g.add_argument("--split", type=int, metavar="N", help="read each input file as N partitions (default: enough "
                   "for two a worker thread)")
    p.set_defaults(run=cmd_dedup, parser=p, on_dask=on_dask)


def cmd_dedup(args: argparse.Namespace) -> int:
    """``simdup dedup INPUT -o OUTPUT``: here, streamed (:class:`simdup.stream.FileDedup`), or with ``--dask``."""
    if not args.input:
        # `--dask INPUT` with no address: argparse gave INPUT to --dask.
        if args.dask is None or "://" in args.dask:
            args.parser.error("the following arguments are required: INPUT")
        args.input, args.dask = [args.dask], "local"
    if args.dask is not None:
        for option, value in (("--jobs", args.jobs), ("--memory-limit", args.memory_limit), ("--tmp-dir", args.tmp_dir),
                              ("--compress-level", args.compress_level)):
            if value is not None:
                args.parser.error(f"{option} is for a run on this machine: with --dask, size the run with --workers")
        return args.on_dask(args)
    for option, value in (("--workers", args.workers), ("--split", args.split)):
        if value is not None:
            args.parser.error(f"{option} sizes a Dask run: it needs --dask")
    started = time.perf_counter()
    files, root, corpus_format = read_inputs(args.input, "dedup")
    output = dedup_output(args, corpus_format)
    one_file = root is not None and output is not None and corpus_format in ("jsonl", "lines") \
        and _names_a_file(output, corpus_format)
    ref = reference_of(args)
    # Every output is checked before the input is read: a bad one fails now, not after the work.
    check_dedup_outputs(args, corpus_format, files, output, output_is_directory=root is not None and not one_file,
                        reference=ref)
    if args.compress_level is not None:
        outputs = [] if output is None else [output] if root is None or one_file else files
        _check_level(args, {f.suffix.lower() for f in outputs})
    if args.tmp_dir is not None and not Path(args.tmp_dir).is_dir():
        raise CliError(f"{args.tmp_dir}: --tmp-dir is not a directory")
    hasher = reference_hasher(args, ref).for_corpus(corpus_format)
    prefixes = ([f"{name}:" for name in shard_names(files, root)] if root is not None and corpus_format == "lines"
                else None)
    with FileDedup(files, args.k, hasher=hasher, keep=args.keep, verify=args.verify, jobs=args.jobs,
                   memory_limit=args.memory_limit, tmp_dir=args.tmp_dir, text_field=args.text_field,
                   id_field=args.id_field, skip_bad=args.skip_bad, id_prefixes=prefixes,
                   against=ref.index if ref.index is not None else ref.files or None, reference_name=ref.name,
                   reference_text=ref.files if ref.index is not None else None,
                   progress=progress_bars(args)) as run:
        result = run.run()
        for warning in run.warnings:
            warn(warning)
        if not len(result.keep):
            # An empty input is almost always a mistake (a wrong field, a truncated file).
            raise CliError(f"{' '.join(args.input)}: no documents to deduplicate")
        start, cpu_start = time.perf_counter(), cpu_seconds()
        if output is not None:
            if root is None or one_file:
                run.write(output, level=args.compress_level)
            else:
                with atomic_directory(output) as tmp:
                    targets = [tmp / name for name in shard_names(files, root)]
                    for target in targets:
                        target.parent.mkdir(parents=True, exist_ok=True)
                    run.write_each(targets, level=args.compress_level)
        if args.clusters:
            write_cluster_rows(Path(args.clusters), run.cluster_rows())
        timings = {**result.timings, "write": time.perf_counter() - start}
        updated = None
        if ref.update is not None:
            start = time.perf_counter()
            add = np.flatnonzero(result.keep & (result.n_tokens > 0))  # a token-less document matches nothing
            updated = update_index(args, ref, run.ids(add), result.fingerprints[add])
            timings["update"] = time.perf_counter() - start
        summary = summarize_result(result, timings=timings, candidate_pairs=run.candidate_pairs,
                                   peak_rss=max(run.peak_rss, peak_rss()), peak_rss_workers=run.peak_rss_workers,
                                   cpu_seconds=run.cpu_seconds + cpu_seconds() - cpu_start)
        summary["seconds"] = round(time.perf_counter() - started, 4)
        summary["documents_per_second"] = round(summary["documents"] / summary["seconds"], 1)
        if updated is not None:
            summary["update"] = updated
        report(args, source=" ".join(args.input), output=output, corpus_format=corpus_format, hasher=hasher,
               skipped=run.skipped, summary=summary, jobs=run.jobs)
    return 0


def _check_level(args: argparse.Namespace, suffixes: set[str]) -> None:
    """``--compress-level`` fits the outputs' compression (``suffixes``), checked before the work."""
    level = args.compress_level
    if ".gz" in suffixes and not 0 <= level <= 9:
        args.parser.error(f"--compress-level: gzip levels are 0 to 9, got {level}")
    if ".zst" in suffixes and not -7 <= level <= 22:
        args.parser.error(f"--compress-level: zstd levels are -7 to 22, got {level}")
    if not suffixes & {".gz", ".zst"}:
        args.parser.error("--compress-level: no output is compressed (.gz or .zst)")


def _names_a_file(output: Path, corpus_format: str) -> bool:
    """True when ``output`` reads as a corpus file of ``corpus_format`` (not a directory to create)."""
    try:
        return not output.is_dir() and format_of(output) == corpus_format
    except CorpusError:
        return False
