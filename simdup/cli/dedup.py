"""``simdup dedup``: a corpus without its near-duplicates, on this machine; its options, ``--dask``'s too.

With ``--dask`` the run is :mod:`simdup.cli.dedup_dask`'s, which the parser
(:mod:`simdup.cli`) hands over as ``on_dask`` so that this module never
imports Dask, nor that module.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..batch import DEFAULT_K, DEFAULT_VERIFY, MAX_K, DedupResult, dedup
from ..corpus import format_of, open_corpus
from ._common import CliError, check_single_read, hasher_from_args, progress, progress_bars, warn
from ._dedup_outputs import check_dedup_outputs, dedup_output, report, write_cluster_rows


def add_parser(sub: Any, common: argparse.ArgumentParser, on_dask: Callable[[argparse.Namespace], int]) -> None:
    """Add ``dedup`` to the subcommands ``sub``; ``on_dask`` runs it with ``--dask``."""
    p = sub.add_parser("dedup", parents=[common], help="remove near-duplicate documents from a corpus",
                       description="Write INPUT without its near-duplicates to OUTPUT, in INPUT's format: "
                       "JSON Lines (.jsonl, .gz, .zst), text with one document a line (.txt), Parquet, a "
                       "directory of .txt/.html files, or a WARC (.warc, .warc.gz, .warc.zst: its HTML "
                       "responses, id = WARC-Target-URI, fingerprinted on their main content; the output "
                       "WARC is .warc or .warc.gz and keeps every other record). A summary goes to stderr "
                       "(or stdout as JSON).")
    p.add_argument("input", metavar="INPUT", nargs="?")
    p.add_argument("-o", "--output", help="deduplicated corpus to write (same format as INPUT); required "
                   "unless INPUT is a WARC and --clusters or --keep-warc is given")
    p.add_argument("--keep-warc", metavar="FILE",
                   help="WARC input only: write the deduplicated WARC to FILE (the same as -o FILE)")
    p.add_argument("-k", type=int, default=DEFAULT_K, choices=range(MAX_K + 1), metavar="K",
                   help=f"largest Hamming distance between candidate near-duplicates, 0-{MAX_K} "
                   f"(default {DEFAULT_K})")
    p.add_argument("--clusters", help="also write id, cluster, kept_id, distance per duplicated document "
                   "(.csv, .jsonl, else tab-separated)")
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
    """``simdup dedup INPUT -o OUTPUT``: here, or with ``--dask`` through ``args.on_dask``."""
    if args.input is None:
        # `--dask INPUT` with no address: argparse gave INPUT to --dask.
        if args.dask is None or "://" in args.dask:
            args.parser.error("the following arguments are required: INPUT")
        args.input, args.dask = args.dask, "local"
    if args.dask is not None:
        return args.on_dask(args)
    for option, value in (("--workers", args.workers), ("--split", args.split)):
        if value is not None:
            args.parser.error(f"{option} sizes a Dask run: it needs --dask")
    started = time.perf_counter()
    source = Path(args.input)
    if not source.exists():
        raise FileNotFoundError(2, "No such file or directory", str(source))
    corpus_format = format_of(source)
    check_single_read(source, "dedup")
    output = dedup_output(args, corpus_format)
    # Every output is checked before the input is read: a bad one fails now, not after the work.
    check_dedup_outputs(args, corpus_format, [source], output)
    corpus = open_corpus(source, args.text_field, args.id_field, skip_bad=args.skip_bad)
    ids, texts = [], []
    for doc_id, text in progress(corpus.records(), args, desc="reading"):
        ids.append(doc_id)
        texts.append(text)
    for warning in corpus.warnings:
        warn(warning)
    if not texts:
        # An empty input is almost always a mistake (a wrong field, a truncated file).
        raise CliError(f"{source}: no documents to deduplicate")
    read_seconds = time.perf_counter() - started

    hasher = hasher_from_args(args, fit=True).for_corpus(corpus.format)
    result = dedup(texts, args.k, hasher=hasher, keep=args.keep, verify=args.verify, progress=progress_bars(args))

    start = time.perf_counter()
    if output is not None:
        corpus.write_kept(result.keep.tolist(), output)
    if args.clusters:
        write_cluster_rows(Path(args.clusters), [_cluster_rows(ids, result)])
    result.timings = {"read": read_seconds, **result.timings, "write": time.perf_counter() - start}
    report(args, source=str(source), output=output, corpus_format=corpus.format, hasher=hasher,
           skipped=corpus.skipped, summary=result.summary)
    return 0


def _cluster_rows(ids: list[str], result: DedupResult) -> list[tuple[str, int, str, int]]:
    """One row per document in a cluster of two or more: id, cluster, kept id, distance."""
    sizes = np.bincount(result.labels, minlength=len(ids))
    members = np.flatnonzero(sizes[result.labels] > 1)
    # Dense cluster numbers in order of each cluster's first document.
    number = {label: n for n, label in enumerate(dict.fromkeys(result.labels[members].tolist()))}
    return [(ids[m], number[int(result.labels[m])], ids[int(result.representative[m])], int(result.distance[m]))
            for m in members.tolist()]
