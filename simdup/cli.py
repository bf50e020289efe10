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
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import __version__
from .dedup import DEFAULT_K, DEFAULT_VERIFY, MAX_K, DedupResult, dedup
from .distance import hamming
from ._core import hash_strings
from .hasher import SimHasher
from .index import SimHashIndex
from .io import (
    CorpusError, atomic_output, format_of, is_jsonl, open_corpus, open_text, plain_name, read_jsonl,
)


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 1."""


def _hasher(args: argparse.Namespace, default_input: str | None = None) -> SimHasher:
    hasher = SimHasher.load(args.model) if args.model else SimHasher.default()
    return _with_input(hasher, args, default_input)


def _with_input(hasher: SimHasher, args: argparse.Namespace, default_input: str | None = None) -> SimHasher:
    """Apply --input-type and --html-content; else ``default_input`` (a WARC's records are pages), if given."""
    if args.input_type:
        hasher.set_params(input=args.input_type)
    elif default_input is not None:
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
    texts = [doc for path in args.corpus
             for _, doc in _progress(open_corpus(path, args.text_field, args.id_field).records(), args,
                                     desc="reading")]
    hasher = _with_input(SimHasher(ngram_range=(1, args.ngram), tokenizer=args.tokenizer, min_df=args.min_df), args)
    hasher.fit(texts)
    hasher.save(args.output)
    print(f"{args.output}: {len(hasher.vocabulary_)} terms from {hasher.n_docs_} documents", file=sys.stderr)
    return 0


def cmd_dedup(args: argparse.Namespace) -> int:
    if args.input is None:
        # `--dask INPUT` with no address: argparse gave INPUT to --dask.
        if args.dask is None or "://" in args.dask:
            args.parser.error("the following arguments are required: INPUT")
        args.input, args.dask = args.dask, "local"
    if args.dask is not None:
        from .cli_dask import run_dedup  # needs the simdup[dask] extra

        return run_dedup(args)
    started = time.perf_counter()
    source = Path(args.input)
    corpus = open_corpus(source, args.text_field, args.id_field, skip_bad=args.skip_bad)
    output = dedup_output(args, corpus.format)
    if output is not None:
        check_output(corpus.format, corpus.path, output)
    ids, texts = [], []
    for doc_id, text in _progress(corpus.records(), args, desc="reading"):
        ids.append(doc_id)
        texts.append(text)
    if not texts:
        # An empty input is almost always a mistake (a wrong field, a truncated file).
        raise CliError(f"{source}: no documents to deduplicate")
    read_seconds = time.perf_counter() - started

    hasher = dedup_hasher(args, corpus.format)
    result = dedup(texts, args.k, hasher=hasher, keep=args.keep, verify=args.verify, progress=_bar_factory(args))

    start = time.perf_counter()
    if output is not None:
        corpus.write_kept(result.keep.tolist(), output)
    if args.clusters:
        write_cluster_rows(Path(args.clusters), [_cluster_rows(ids, result)])
    result.timings = {"read": read_seconds, **result.timings, "write": time.perf_counter() - start}
    report(args, {"input": str(source), "output": str(output) if output else None, "format": corpus.format,
                  "input_type": hasher.input,
                  "html_content": hasher.html_content if hasher.input != "text" else None,
                  "skipped_bad_records": corpus.skipped, **result.summary})
    return 0


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


def dedup_hasher(args: argparse.Namespace, corpus_format: str) -> SimHasher:
    """The --model, or an unfitted hasher that dedup fits on the input."""
    if args.model:
        if args.ngram != 1 or args.tokenizer != "auto" or args.segmenter != "jieba":
            raise CliError("--ngram, --tokenizer and --segmenter choose how to fit; a --model brings its own")
        hasher = SimHasher.load(args.model)
    else:
        hasher = SimHasher(ngram_range=(1, args.ngram), tokenizer=args.tokenizer, segmenter=args.segmenter)
    # A WARC's documents are HTML pages.
    return _with_input(hasher, args, "html" if corpus_format == "warc" else None)


def report(args: argparse.Namespace, summary: dict) -> None:
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_summary(summary)


def check_output(corpus_format: str, source: Path, output: Path) -> None:
    if output.exists() and source.exists() and output.resolve() == source.resolve():
        raise CliError("the output must not be the input file")
    if corpus_format == "directory":
        if output.exists():
            raise CliError(f"{output}: already exists (a directory output is never overwritten)")
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
    if not output.parent.exists():
        raise CliError(f"{output.parent}: no such directory")


CLUSTER_HEADER = ("id", "cluster", "kept_id", "distance")


def _cluster_rows(ids: list[str], result: DedupResult) -> list[tuple[str, int, str, int]]:
    """One row per document in a cluster of two or more: id, cluster, kept id, distance."""
    sizes = np.bincount(result.labels, minlength=len(ids))
    members = np.flatnonzero(sizes[result.labels] > 1)
    # Dense cluster numbers in order of each cluster's first document.
    number = {label: n for n, label in enumerate(dict.fromkeys(result.labels[members].tolist()))}
    return [(ids[m], number[int(result.labels[m])], ids[int(result.representative[m])], int(result.distance[m]))
            for m in members.tolist()]


def write_cluster_rows(path: Path, chunks: Iterable[Sequence[tuple]]) -> None:
    """Write the clusters file (CSV, JSON Lines or tab-separated by its name) from chunks of rows, atomically."""
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


# -- simdup index: a saved index for crawlers that keep state between runs ----------------
#
# The index stores uint64 ids; documents are named by their corpus ids (URLs,
# file names), so the names live beside it in INDEX.names.json with the model
# the fingerprints were made with.


def _names_path(index_path: Path) -> Path:
    return index_path.with_name(index_path.name + ".names.json")


def _load_index(path: Path) -> tuple[SimHashIndex, dict]:
    index = SimHashIndex.load(path)
    try:
        meta = json.loads(_names_path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError(f"{_names_path(path)}: missing (written by `simdup index build` beside the index)") from None
    except ValueError:
        raise CliError(f"{_names_path(path)}: not valid JSON") from None
    return index, meta


def _save_index(index: SimHashIndex, meta: dict, path: Path) -> None:
    # Names first: an index file never refers to names that were not written.
    with atomic_output(_names_path(path)) as tmp:
        tmp.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    index.save(path)


def _index_documents(args: argparse.Namespace, meta_model: str | None) -> tuple[list[str], np.ndarray]:
    names, texts = [], []
    for path in args.corpus:
        for doc_id, text in _progress(open_corpus(path, args.text_field, args.id_field).records(), args,
                                      desc="reading"):
            names.append(doc_id)
            texts.append(text)
    hasher = SimHasher.load(meta_model) if meta_model else SimHasher.default()
    return names, hasher.transform(texts)  # type: ignore[return-value]


def _ids(names: list[str]) -> np.ndarray:
    return hash_strings([name.encode("utf-8") for name in names])


def _add_documents(index: SimHashIndex, meta: dict, names: list[str], fps: np.ndarray) -> None:
    """Add named documents to the index and to its names, refusing repeated ids."""
    ids = _ids(names)
    clash = [n for n, i in zip(names, ids.tolist()) if f"{i:016x}" in meta["names"]]
    if clash:
        raise CliError(f"document id {clash[0]!r} is already in the index")
    if len(set(names)) != len(names):
        raise CliError("document ids must be unique (use --id-field)")
    index.add_many(fps, ids)
    meta["names"].update({f"{i:016x}": n for i, n in zip(ids.tolist(), names)})


def cmd_index_build(args: argparse.Namespace) -> int:
    names, fps = _index_documents(args, args.model)
    index = SimHashIndex(args.k, expected_n=max(len(fps), 1_000))
    meta: dict = {"model": os.path.abspath(args.model) if args.model else None, "names": {}}
    _add_documents(index, meta, names, fps)
    _save_index(index, meta, Path(args.index))
    print(f"{args.index}: {len(index):,} documents, k={args.k}", file=sys.stderr)
    return 0


def cmd_index_add(args: argparse.Namespace) -> int:
    index, meta = _load_index(Path(args.index))
    names, fps = _index_documents(args, meta.get("model"))
    _add_documents(index, meta, names, fps)
    _save_index(index, meta, Path(args.index))
    print(f"{args.index}: added {len(names):,}, now {len(index):,} documents", file=sys.stderr)
    return 0


def cmd_index_query(args: argparse.Namespace) -> int:
    index, meta = _load_index(Path(args.index))
    names, fps = _index_documents(args, meta.get("model"))
    offsets, ids, distances = index.query_many(fps)
    out = sys.stdout
    for q, name in enumerate(names):
        for i, d in zip(ids[offsets[q]:offsets[q + 1]].tolist(), distances[offsets[q]:offsets[q + 1]].tolist()):
            out.write(f"{name}\t{meta['names'].get(f'{i:016x}', f'{i:016x}')}\t{d}\n")
    return 0


def cmd_index_info(args: argparse.Namespace) -> int:
    index, meta = _load_index(Path(args.index))
    info = {"index": args.index, "documents": len(index), "k": index.k, "model": meta.get("model") or "default",
            "bytes": index.nbytes, "design": index.plan.describe()}
    print(json.dumps(info, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simdup", description="Near-duplicate detection with 64-bit SimHash.")
    parser.add_argument("--version", action="version", version=f"simdup {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model", help="fitted model (from `simdup fit`); default: `dedup` fits one on its "
                        "input, the other commands use the embedded model")
    common.add_argument("--text-field", default="text", help="JSON Lines field holding the text (default: text)")
    common.add_argument("--id-field", default="id", help="JSON Lines field holding the id (default: id)")
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    common.add_argument("--input-type", choices=["text", "html", "auto"],
                        help="documents are text, HTML pages (fingerprinted on their extracted text; needs "
                        "resiliparse), or auto-detected per document (default: html for a WARC "
                        "input, else the model's setting: auto for the default and for a newly fitted model)")
    common.add_argument("--html-content", choices=["main", "all"],
                        help="for HTML: fingerprint the main content (default) or all visible text")

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
    p.set_defaults(run=cmd_dedup, parser=p)

    p = sub.add_parser("index", help="a saved near-duplicate index: build, add, query, info",
                       description="Keep an exact Hamming index of a corpus between runs (for crawlers). "
                       "Documents are named by their ids (--id-field; file names for directories).")
    isub = p.add_subparsers(dest="index_command", required=True, metavar="ACTION")
    q = isub.add_parser("build", parents=[common], help="fingerprint CORPUS and write a new index")
    q.add_argument("corpus", nargs="+", metavar="CORPUS")
    q.add_argument("-o", "--output", dest="index", required=True, metavar="INDEX")
    q.add_argument("-k", type=int, default=3, choices=range(17), metavar="K", help="largest distance, 0-16 (default 3)")
    q.set_defaults(run=cmd_index_build)
    q = isub.add_parser("add", parents=[common], help="add CORPUS's documents to INDEX")
    q.add_argument("index", metavar="INDEX")
    q.add_argument("corpus", nargs="+", metavar="CORPUS")
    q.set_defaults(run=cmd_index_add)
    q = isub.add_parser("query", parents=[common], help="print QUERY_ID<TAB>MATCH_ID<TAB>DISTANCE per match")
    q.add_argument("index", metavar="INDEX")
    q.add_argument("corpus", nargs="+", metavar="CORPUS")
    q.set_defaults(run=cmd_index_query)
    q = isub.add_parser("info", help="size, k and table design of INDEX (JSON)")
    q.add_argument("index", metavar="INDEX")
    q.set_defaults(run=cmd_index_info)

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
    except BrokenPipeError:
        # `simdup hash ... | head`: the reader left; not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (CliError, CorpusError, ValueError, OSError, ImportError) as exc:
        if isinstance(exc, OSError) and exc.filename:
            message = f"{exc.filename}: {exc.strerror or exc}"
        else:
            message = str(exc)
        print(f"simdup: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("simdup: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
