"""The ``simdup`` command line.

Every command exits 0 on success and, on bad input, prints one line
``simdup: error: ...`` to stderr (no traceback) and exits non-zero: 2 for a
usage error, 1 for unreadable or malformed data.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import __version__
from .dedup import MAX_K, DedupResult, dedup
from .distance import hamming
from .hasher import SimHasher
from .io import Corpus, CorpusError, atomic_output, format_of, is_jsonl, open_corpus, read_jsonl


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 1."""


def _hasher(args: argparse.Namespace, default_input: str = "text") -> SimHasher:
    hasher = SimHasher.load(args.model) if args.model else SimHasher.default()
    return _with_input(hasher, args, default_input)


def _with_input(hasher: SimHasher, args: argparse.Namespace, default_input: str = "text") -> SimHasher:
    """Apply --input-type and --html-content; ``default_input`` when the model reads text and none is given."""
    if args.input_type:
        hasher.set_params(input=args.input_type)
    elif hasher.input == "text":
        hasher.set_params(input=default_input)
    if args.html_content:
        hasher.set_params(html_content=args.html_content)
    return hasher


def _documents(paths: Sequence[str], text_field: str, id_field: str) -> Iterator[tuple[str, str | bytes]]:
    """``(name, document)`` pairs: one per JSON Lines record, else one per file."""
    for path in paths:
        if path == "-":
            yield "-", sys.stdin.buffer.read()
        elif is_jsonl(path):
            for doc_id, text in read_jsonl(path, text_field, id_field):
                yield doc_id, text
        else:
            try:
                yield path, Path(path).read_bytes()
            except OSError as exc:
                raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None


def _progress(iterable: Iterator, args: argparse.Namespace, unit: str = "doc", desc: str | None = None) -> Iterator:
    return _bar_factory(args)(iterable, unit=unit, desc=desc)


def _bar_factory(args: argparse.Namespace):
    # Bars only for a person watching: quiet when stderr is not a terminal or with --quiet.
    disable = args.quiet or not sys.stderr.isatty()

    def bar(iterable=None, **kwargs):
        return tqdm(iterable, disable=disable, file=sys.stderr, dynamic_ncols=True, leave=False, **kwargs)

    return bar


def cmd_hash(args: argparse.Namespace) -> int:
    hasher = _hasher(args)
    out = sys.stdout
    batch: list[tuple[str, str | bytes]] = []

    def flush() -> None:
        fps: np.ndarray = hasher.transform([doc for _, doc in batch])  # type: ignore[assignment]
        out.writelines(f"{fp:016x}\t{name}\n" for (name, _), fp in zip(batch, fps.tolist()))
        batch.clear()

    for item in _progress(_documents(args.files, args.text_field, args.id_field), args):
        batch.append(item)
        if len(batch) >= 4096:
            flush()
    flush()
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    hasher = _hasher(args)
    docs = []
    for path in (args.a, args.b):
        try:
            docs.append(Path(path).read_bytes())
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    a, b = (int(fp) for fp in hasher.transform(docs))
    d = hamming(a, b)
    print(f"{a:016x}\t{args.a}\n{b:016x}\t{args.b}\ndistance {d}\tsimilarity {1 - d / 64:.4f}")
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    texts = [doc for _, doc in _progress(_documents(args.corpus, args.text_field, args.id_field), args)]
    hasher = _with_input(SimHasher(ngram_range=(1, args.ngram), tokenizer=args.tokenizer, min_df=args.min_df), args)
    hasher.fit(texts)
    hasher.save(args.output)
    print(f"{args.output}: {len(hasher.vocabulary_)} terms from {hasher.n_docs_} documents", file=sys.stderr)
    return 0


def cmd_dedup(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    source = Path(args.input)
    corpus = open_corpus(source, args.text_field, args.id_field, skip_bad=args.skip_bad)
    warc = corpus.format == "warc"
    if args.keep_warc:
        if not warc:
            args.parser.error(f"--keep-warc needs a WARC input; {source} is {corpus.format} (use -o)")
        if args.output:
            args.parser.error("-o and --keep-warc name the same file (the deduplicated WARC): give one")
        args.output = args.keep_warc
    if not args.output and not (warc and args.clusters):
        args.parser.error("the following arguments are required: -o/--output "
                          "(for a WARC input, --clusters alone is enough)")
    output = Path(args.output) if args.output else None
    if output is not None:
        _check_output(corpus, output)
    ids, texts = [], []
    for doc_id, text in _progress(corpus.records(), args, desc="reading"):
        ids.append(doc_id)
        texts.append(text)
    read_seconds = time.perf_counter() - started

    if args.model:
        hasher = SimHasher.load(args.model)
    else:  # fitted on the input by dedup
        hasher = SimHasher(ngram_range=(1, args.ngram), tokenizer=args.tokenizer, segmenter=args.segmenter)
    hasher = _with_input(hasher, args, "html" if warc else "text")  # a WARC's documents are HTML pages
    result = dedup(texts, args.k, hasher=hasher, keep=args.keep, verify=args.verify, progress=_bar_factory(args))

    start = time.perf_counter()
    if output is not None:
        corpus.write_kept(result.keep.tolist(), output)
    if args.clusters:
        _write_clusters(Path(args.clusters), ids, result)
    result.timings = {"read": read_seconds, **result.timings, "write": time.perf_counter() - start}
    summary = {"input": str(source), "output": str(output) if output else None, "format": corpus.format,
               "input_type": hasher.input, "html_content": hasher.html_content if hasher.input != "text" else None,
               "skipped_bad_records": corpus.skipped, **result.summary}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_summary(summary)
    return 0


def _check_output(corpus: Corpus, output: Path) -> None:
    if output.exists() and corpus.path.exists() and output.resolve() == corpus.path.resolve():
        raise CliError("the output must not be the input file")
    if corpus.format == "directory":
        if output.exists():
            raise CliError(f"{output}: already exists (a directory output is never overwritten)")
    elif output.is_dir():
        raise CliError(f"{output}: is a directory; the input is a {corpus.format} file")
    else:
        try:
            out_format = format_of(output)
        except CorpusError:
            out_format = None
        if out_format != corpus.format:
            raise CliError(f"{output}: the output is written in the input's format ({corpus.format}); "
                           "give it a matching suffix")
    if not output.parent.exists():
        raise CliError(f"{output.parent}: no such directory")


def _write_clusters(path: Path, ids: list[str], result: DedupResult) -> None:
    """One row per document in a cluster of two or more: id, cluster, kept id, distance."""
    sizes = np.bincount(result.labels, minlength=len(ids))
    members = np.flatnonzero(sizes[result.labels] > 1)
    # Dense cluster numbers in order of each cluster's first document.
    number = {label: n for n, label in enumerate(dict.fromkeys(result.labels[members].tolist()))}
    rows = [(ids[m], number[int(result.labels[m])], ids[int(result.representative[m])], int(result.distance[m]))
            for m in members.tolist()]
    header = ("id", "cluster", "kept_id", "distance")
    with atomic_output(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            f.writelines(json.dumps(dict(zip(header, row)), ensure_ascii=False) + "\n" for row in rows)
        else:
            writer = csv.writer(f, delimiter="," if path.suffix.lower() == ".csv" else "\t", lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)


def _print_summary(s: dict) -> None:
    timings = ", ".join(f"{phase} {seconds:.2f} s" for phase, seconds in s["timings"].items())
    total = sum(s["timings"].values())
    lines = [
        f"simdup dedup: {s['documents']:,} documents in, {s['duplicates_removed']:,} duplicates removed, "
        f"{s['kept']:,} kept" + (f" -> {s['output']}" if s["output"] else " (no output written)"),
        f"  clusters: {s['clusters']:,} (largest: {s['largest_cluster']:,} documents); "
        f"token-less documents: {s['token_less_documents']:,}"
        + (f"; bad records skipped: {s['skipped_bad_records']:,}" if s["skipped_bad_records"] else ""),
        f"  time: {total:.2f} s ({s['documents'] / total if total else 0:,.0f} documents/s): {timings}",
    ]
    print("\n".join(lines), file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simdup", description="Near-duplicate detection with 64-bit SimHash.")
    parser.add_argument("--version", action="version", version=f"simdup {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model", help="fitted model (from `simdup fit`); default: the embedded model")
    common.add_argument("--text-field", default="text", help="JSON Lines field holding the text (default: text)")
    common.add_argument("--id-field", default="id", help="JSON Lines field holding the id (default: id)")
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    common.add_argument("--input-type", choices=["text", "html", "auto"],
                        help="documents are text, HTML pages (fingerprinted on their extracted text; needs "
                        "pip install 'simdup[html]'), or auto-detected per document (default: html for a WARC "
                        "input, else text)")
    common.add_argument("--html-content", choices=["main", "all"],
                        help="for HTML: fingerprint the main content (default) or all visible text")

    p = sub.add_parser("dedup", parents=[common], help="remove near-duplicate documents from a corpus",
                       description="Write INPUT without its near-duplicates to OUTPUT, in INPUT's format: "
                       "JSON Lines (.jsonl, .gz, .zst), text with one document a line (.txt), Parquet, a "
                       "directory of .txt/.html files, or a WARC (.warc, .warc.gz, .warc.zst: its HTML "
                       "responses, id = WARC-Target-URI, fingerprinted on their main content; the output "
                       "WARC is .warc or .warc.gz and keeps every other record). A summary goes to stderr "
                       "(or stdout as JSON).")
    p.add_argument("input", metavar="INPUT")
    p.add_argument("-o", "--output", help="deduplicated corpus to write (same format as INPUT); required "
                   "unless INPUT is a WARC and --clusters or --keep-warc is given")
    p.add_argument("--keep-warc", metavar="FILE",
                   help="WARC input only: write the deduplicated WARC to FILE (the same as -o FILE)")
    p.add_argument("-k", type=int, default=3, choices=range(MAX_K + 1), metavar="K",
                   help=f"largest Hamming distance between near-duplicates, 0-{MAX_K} (default 3)")
    p.add_argument("--clusters", help="also write id, cluster, kept_id, distance per duplicated document "
                   "(.csv, .jsonl, else tab-separated)")
    p.add_argument("--keep", choices=["first", "longest"], default="first",
                   help="which document of a cluster to keep (default: first)")
    p.add_argument("--verify", type=float, metavar="THRESHOLD",
                   help="keep only links whose word 3-shingle Jaccard similarity is at least THRESHOLD")
    p.add_argument("--ngram", type=int, default=1, help="word n-grams up to this length as tokens (default 1)")
    p.add_argument("--tokenizer", default="auto", choices=["auto", "words", "chinese"])
    p.add_argument("--segmenter", default="jieba", choices=["jieba", "rjieba"],
                   help="Chinese word segmenter (rjieba: pip install 'simdup[fast]')")
    p.add_argument("--skip-bad", action="store_true", help="skip malformed records (counted in the summary)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.set_defaults(run=cmd_dedup, parser=p)

    p = sub.add_parser("hash", parents=[common], help="print one fingerprint (hex) per document",
                       description="Print `FINGERPRINT<TAB>NAME` per document: one per record of a "
                       ".jsonl[.gz] file, else one per file (`-` reads standard input).")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(run=cmd_hash)

    p = sub.add_parser("compare", parents=[common], help="distance and similarity of two files")
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.set_defaults(run=cmd_compare)

    p = sub.add_parser("fit", parents=[common], help="learn an IDF model from a corpus")
    p.add_argument("corpus", nargs="+", metavar="CORPUS")
    p.add_argument("-o", "--output", required=True, help="model file to write (.npz)")
    p.add_argument("--ngram", type=int, default=1, help="use word n-grams up to this length (default 1)")
    p.add_argument("--tokenizer", default="auto", choices=["auto", "words", "chinese"])
    p.add_argument("--min-df", type=int, default=1, help="drop tokens in fewer documents (default 1)")
    p.set_defaults(run=cmd_fit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (CliError, CorpusError, ValueError, FileNotFoundError, ImportError) as exc:
        message = f"{exc.filename}: no such file" if isinstance(exc, FileNotFoundError) and exc.filename else str(exc)
        print(f"simdup: error: {message}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # `simdup hash ... | head`: the reader left; not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("simdup: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
