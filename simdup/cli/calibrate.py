"""``simdup calibrate``: choose ``k`` from the corpus itself (:mod:`simdup.calibrate`).

Reads and fingerprints the corpus as ``simdup dedup`` does (the same model,
fitted on the input unless ``--model`` is given, so the distances are the
ones ``dedup`` sees), then prints the pairs and their sampled shingle
Jaccard per Hamming distance, and the ``-k`` and ``--verify`` to use.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import time
from pathlib import Path
from typing import Any

from .._atomic import check_writable
from ..batch import MAX_K
from ..calibrate import (
    DEFAULT_JACCARD,
    DEFAULT_PRECISION,
    DEFAULT_QUERIES,
    DEFAULT_SAMPLE,
    MAX_DISTANCE,
    Calibration,
    Suggestion,
    calibrate_files,
    plot,
)
from ._common import (
    CliError, check_paths, check_stdout, corpus_reads, hasher_from_args, int_at_least, memory_size, model_reads,
    progress_bars,
)
from ._dedup_inputs import read_inputs


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``calibrate`` to the subcommands ``sub``."""
    p = sub.add_parser("calibrate", parents=[common], help="choose dedup's -k from the corpus: Jaccard per distance",
                       description="Count the pairs of documents at each Hamming distance 0..16 in CORPUS, "
                       "compute the exact shingle Jaccard (the one --verify checks) of a sample of them, print a "
                       "table per distance and suggest dedup's -k and --verify for a target precision or recall. "
                       f"Distances 0-{MAX_K} are counted exactly; larger ones are estimated from --queries "
                       "documents. Precision and recall are those of the fingerprints alone (before "
                       "verification), recall among the pairs within --max-distance bits.")
    p.add_argument("input", metavar="CORPUS", nargs="+",
                   help="a corpus file or directory, or several corpus files (shards) read as one corpus")
    p.add_argument("--sample", type=int_at_least(1), default=DEFAULT_SAMPLE, metavar="N",
                   help=f"pairs per distance whose Jaccard is computed (default {DEFAULT_SAMPLE})")
    p.add_argument("--queries", type=int_at_least(1), default=DEFAULT_QUERIES, metavar="N",
                   help=f"documents looked up to estimate the pairs at distances above {MAX_K} (default "
                   f"{DEFAULT_QUERIES:,}; all documents in a smaller corpus)")
    p.add_argument("--max-distance", type=int, default=MAX_DISTANCE, choices=range(MAX_DISTANCE + 1), metavar="D",
                   help=f"largest distance measured, 0-{MAX_DISTANCE} (default {MAX_DISTANCE})")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--precision", type=float, metavar="P",
                        help=f"suggest the largest k whose precision reaches P (default {DEFAULT_PRECISION})")
    target.add_argument("--recall", type=float, metavar="R", help="suggest the smallest k whose recall reaches R")
    p.add_argument("--jaccard", type=float, default=DEFAULT_JACCARD, metavar="J",
                   help=f"a pair is a near-duplicate when its shingle Jaccard is at least J (default {DEFAULT_JACCARD})")
    p.add_argument("--plot", metavar="FILE.png", help="write a PNG of Jaccard against distance "
                   "(pip install 'simdup[plot]')")
    p.add_argument("--json", action="store_true", help="print the table and the suggestion as JSON")
    p.add_argument("--seed", type=int, default=0, help="random seed of the sampling (default 0)")
    p.add_argument("--ngram", type=int, default=1, help="word n-grams up to this length as tokens (default 1)")
    p.add_argument("--tokenizer", default="auto", choices=["auto", "words", "chinese"])
    p.add_argument("--segmenter", default="jieba", choices=["jieba", "rjieba"],
                   help="Chinese word segmenter (rjieba: pip install 'simdup[fast]')")
    p.add_argument("--skip-bad", action="store_true", help="skip malformed records")
    p.add_argument("--jobs", "-j", type=int_at_least(1), metavar="N",
                   help=f"worker processes for reading, fingerprinting and shingling (default: every core, "
                   f"{os.cpu_count() or 1} here)")
    p.add_argument("--memory-limit", type=memory_size, metavar="SIZE", help="as for `simdup dedup`, e.g. 2G")
    p.add_argument("--tmp-dir", metavar="DIR", help="directory for spill files (default: the system's temporary "
                   "directory)")
    p.set_defaults(run=cmd_calibrate, parser=p)


def cmd_calibrate(args: argparse.Namespace) -> int:
    """``simdup calibrate CORPUS...``: the table and the suggestion on stdout, the plot to ``--plot``."""
    started = time.perf_counter()
    for name in ("precision", "recall"):
        value = getattr(args, name)
        if value is not None and not 0.0 < value <= 1.0:
            raise CliError(f"--{name} must be in (0, 1], got {value:g}")
    if not 0.0 <= args.jaccard <= 1.0:
        raise CliError(f"--jaccard must be in [0, 1], got {args.jaccard:g}")
    files, _, corpus_format = read_inputs(args.input, "calibrate")
    reads = corpus_reads(files) + model_reads(args)
    check_stdout(reads)
    if args.plot:
        target = Path(args.plot)
        if target.suffix.lower() != ".png":
            raise CliError(f"{target}: --plot writes a PNG; name it FILE.png")
        check_paths(reads, [("--plot", target)])
        try:  # fail now, not after the work
            import matplotlib  # noqa: F401
        except ImportError:
            raise CliError("--plot needs matplotlib: pip install 'simdup[plot]'") from None
        check_writable(target)
    if args.tmp_dir is not None and not Path(args.tmp_dir).is_dir():
        raise CliError(f"{args.tmp_dir}: --tmp-dir is not a directory")
    hasher = hasher_from_args(args, fit=True).for_corpus(corpus_format)
    calibration, info = calibrate_files(
        files, hasher=hasher, sample=args.sample, queries=args.queries, max_distance=args.max_distance,
        seed=args.seed, jobs=args.jobs, memory_limit=args.memory_limit, tmp_dir=args.tmp_dir,
        text_field=args.text_field, id_field=args.id_field, skip_bad=args.skip_bad, progress=progress_bars(args))
    if not info["documents"]:
        raise CliError(f"{' '.join(args.input)}: no documents to calibrate on")
    if calibration.documents < 2:
        raise CliError(f"{' '.join(args.input)}: fewer than two documents with tokens: no pairs to measure")
    suggestion = calibration.suggest(precision=args.precision, recall=args.recall, jaccard=args.jaccard)
    if args.plot:
        plot(calibration, args.plot, jaccard=args.jaccard,
             title=f"{' '.join(args.input)}: {calibration.documents:,} documents")
    command = dedup_command(args, suggestion)
    seconds = time.perf_counter() - started
    if args.json:
        out = {"input": args.input, **calibration.to_dict(args.jaccard), "documents_read": info["documents"],
               "skipped": info["skipped"], "suggestion": dataclasses.asdict(suggestion), "command": command,
               "plot": args.plot, "seconds": round(seconds, 3), "peak_rss_mb": round(info["peak_rss"] / 2**20, 1)}
        print(json.dumps(out, indent=1))
    else:
        print(render(calibration, suggestion, args.jaccard, info, command, seconds, args.plot))
    return 0


def dedup_command(args: argparse.Namespace, suggestion: Suggestion) -> str:
    """The ``simdup dedup`` command line the suggestion means, with this run's model and fields."""
    words = ["simdup", "dedup", *args.input, "-o", "OUTPUT", "-k", str(suggestion.k), "--verify",
             f"{suggestion.verify:g}"]
    for option, value, default in (("--model", args.model, None), ("--text-field", args.text_field, "text"),
                                   ("--id-field", args.id_field, "id"), ("--ngram", args.ngram, 1),
                                   ("--tokenizer", args.tokenizer, "auto"), ("--segmenter", args.segmenter, "jieba"),
                                   ("--input-type", args.input_type, None),
                                   ("--html-content", args.html_content, None)):
        if value is not None and value != default:
            words += [option, str(value)]
    return " ".join(shlex.quote(w) for w in words)


def render(calibration: Calibration, suggestion: Suggestion, jaccard: float, info: dict[str, Any], command: str,
           seconds: float, plot_path: str | None) -> str:
    """The table and the suggestion, as printed."""
    c = calibration
    top = c.max_distance
    lines = [f"{info['documents']:,} documents, {c.documents:,} with tokens"
             + (f" ({info['skipped']:,} records skipped)" if info["skipped"] else "")
             + f". Pairs at distances 0-{min(c.exact_distance, top)} counted exactly"
             + (f", {c.exact_distance + 1}-{top} estimated from {c.queried:,} documents looked up" if top > c.exact_distance
                else "")
             + "; Jaccard (verification shingles) of up to "
             + f"{max(int(c.sampled.max()), 0):,} sampled pairs per distance.", ""]
    j = f"{jaccard:g}"
    head = ["bits", "pairs", "sampled", "J>=0.8", "J>=0.9"] + ([f"J>={j}"] if jaccard not in (0.8, 0.9) else []) \
        + ["median J", "precision k<=bits", "recall k<=bits"]
    rows = []
    for row in c.table(jaccard):
        cells = [str(row["distance"]), f"{row['pairs']:,}" + ("~" if row["estimated"] else ""), f"{row['sampled']:,}",
                 _f(row["share_0.8"]), _f(row["share_0.9"])]
        if jaccard not in (0.8, 0.9):
            cells.append(_f(row[f"share_{jaccard:g}"]))
        cells += [_f(row["median_jaccard"]), _f(row["precision_at_k"]), _f(row["recall_at_k"])]
        rows.append(cells)
    widths = [max(len(h), *(len(r[x]) for r in rows)) for x, h in enumerate(head)]
    lines.append("  ".join(h.rjust(w) for h, w in zip(head, widths)))
    lines += ["  ".join(cell.rjust(w) for cell, w in zip(r, widths)) for r in rows]
    notes = []
    if top > c.exact_distance:
        notes.append("~ estimated from the documents looked up")
    notes.append(f"precision and recall at Jaccard >= {j}, of the fingerprints alone (before verification); "
                 f"recall among the pairs within {top} bits")
    lines += ["", *notes, ""]
    goal = f"{suggestion.target} >= {suggestion.value:g} at Jaccard >= {j}"
    estimate = (f"estimated precision {_f(suggestion.precision)}, recall {_f(suggestion.recall)} before "
                "verification")
    if suggestion.met:
        lines.append(f"suggested: k = {suggestion.k} for {goal} ({estimate}); verify at {suggestion.verify:g} "
                     f"keeps only the pairs at or above it")
    else:
        lines.append(f"no k in 0-{min(MAX_K, top)} reaches {goal}; closest: k = {suggestion.k} ({estimate}); "
                     f"verify at {suggestion.verify:g} keeps only the pairs at or above it")
    lines.append(f"  {command}")
    timings = ", ".join(f"{phase} {s:.1f} s" for phase, s in c.timings.items())
    lines.append(f"\n{seconds:.1f} s ({timings})" + (f"; plot written to {plot_path}" if plot_path else ""))
    return "\n".join(lines)


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"
