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
import re
import signal
import stat
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from .. import __version__
from ..batch import DEFAULT_K, DEFAULT_VERIFY, MAX_K, DedupResult, dedup
from ..distance import hamming
from .._core import hash_strings
from ..hasher import SimHasher
from ..index import SimHashIndex
from .._atomic import atomic_output, atomic_write_bytes, check_writable
from ..corpus import (
    WARC_OUTPUT_SUFFIXES, Corpus, CorpusError, ParquetCorpus, _read_errors, _zstandard, format_of, open_binary,
    open_corpus, open_text, plain_name,
)


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 1."""


def _hasher(args: argparse.Namespace, model: str | None = None) -> SimHasher:
    """The hasher a command fingerprints with: ``model`` (default ``--model``), else the embedded one.

    Its input settings are applied per corpus with :func:`_with_input`.
    """
    model = model if model is not None else args.model
    return SimHasher.load(model) if model else SimHasher.default()


def _with_input(hasher: SimHasher, args: argparse.Namespace, corpus_format: str | None = None,
                base_input: str | None = None) -> SimHasher:
    """Apply --input-type and --html-content for documents of ``corpus_format``.

    Without --input-type the input is ``base_input`` (the hasher's own
    setting when the command started), except that a WARC's documents are
    ``(page, content_type)`` pairs: HTML. --input-type text is refused for a
    WARC, whose pages a text hasher cannot read.
    """
    if corpus_format == "warc" and args.input_type == "text":
        raise CliError("--input-type text: a WARC's documents are HTML pages (use html or auto)")
    if args.input_type:
        hasher.set_params(input=args.input_type)
    elif corpus_format == "warc":
        hasher.set_params(input="html")
    elif base_input is not None:
        hasher.set_params(input=base_input)
    if args.html_content:
        hasher.set_params(html_content=args.html_content)
    return hasher


def _warn(message: str) -> None:
    print(f"simdup: warning: {message}", file=sys.stderr)


# -- paths: what a command reads and writes ---------------------------------------------


def _resolve(path: Path) -> Path:
    try:
        return path.resolve()
    except (RuntimeError, OSError):  # a symbolic link loop: RuntimeError before Python 3.13, then OSError
        raise CliError(f"{path}: cannot resolve the path (a loop of symbolic links?)") from None


def _same_path(a: Path, b: Path) -> bool:
    """True if ``a`` and ``b`` are one file: the same inode (hard links too), else the same resolved path."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return _resolve(a) == _resolve(b)


def _inside(path: Path, directory: Path) -> bool:
    return directory.is_dir() and _resolve(path).is_relative_to(_resolve(directory))


def check_paths(reads: Sequence[tuple[str, Path]], writes: Sequence[tuple[str, Path]]) -> None:
    """Refuse a command whose outputs name one of its inputs, or each other (before anything is read).

    Each pair is ``(what, path)``: ``what`` names the option in the message.
    A write inside an input directory is refused too (it would change, or
    next time be read as, the input).

    Raises
    ------
    CliError
    """
    for n, (what, path) in enumerate(writes):
        if os.fspath(path) == "-":
            raise CliError(f"-: {what} names a file to write; standard output is not supported here")
        for read_what, read in reads:
            if _same_path(path, read) or _inside(path, read):
                raise CliError(f"{path}: {what} would overwrite {read_what}; outputs must differ from every input")
        for other_what, other in writes[:n]:
            if _same_path(path, other):
                raise CliError(f"{path}: {other_what} and {what} name the same file; give each its own")


def check_stdout(reads: Sequence[tuple[str, Path]]) -> None:
    """Refuse to print into a file the command reads (`simdup hash c.jsonl >> c.jsonl`)."""
    try:
        out = os.fstat(sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # no real file descriptor (captured output)
        return
    if not stat.S_ISREG(out.st_mode):
        return
    for what, path in reads:
        try:
            st = path.stat()
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (out.st_dev, out.st_ino):
            raise CliError(f"{path}: standard output is {what}; redirect the output to another file")


def _model_reads(args: argparse.Namespace) -> list[tuple[str, Path]]:
    return [("--model", Path(args.model))] if getattr(args, "model", None) else []


def _corpus_reads(paths: Iterable[str | os.PathLike[str]]) -> list[tuple[str, Path]]:
    return [("the input", Path(p)) for p in paths if os.fspath(p) != "-"]


def check_single_read(path: Path, command: str) -> None:
    """Refuse an input that is not a regular file or a directory: a pipe cannot be read twice."""
    if path.exists() and not (path.is_file() or path.is_dir()):
        raise CliError(f"{path}: not a regular file (a pipe or device); `simdup {command}` reads its input "
                       "twice (to fingerprint, then to write the kept records): save it to a file first")


def _progress(iterable: Iterator, args: argparse.Namespace, unit: str = "doc", desc: str | None = None) -> Iterator:
    return _bar_factory(args)(iterable, unit=unit, desc=desc)


def _bar_factory(args: argparse.Namespace):
    # Bars only for a person watching: quiet when stderr is not a terminal or with --quiet.
    disable = args.quiet or not sys.stderr.isatty()

    def bar(iterable=None, **kwargs):
        return tqdm(iterable, disable=disable, file=sys.stderr, dynamic_ncols=True, leave=False, **kwargs)

    return bar


# Formats whose files hold many documents (hash: one line per record; compare refuses them).
CORPUS_FORMATS = ("jsonl", "parquet", "warc")


def _file_format(path: str) -> str | None:
    """The corpus format of a `hash`/`compare` FILE, or None for a single document (.txt, .html, ...)."""
    if path == "-" or Path(path).is_dir():
        return None
    try:
        kind = format_of(path)
    except CorpusError:
        return None
    return kind if kind in CORPUS_FORMATS else None


def _one_document(path: str) -> bytes:
    """A file as one document: standard input for ``-``; ``.gz``/``.zst`` decompressed (checked whole)."""
    if path == "-":
        return sys.stdin.buffer.read()
    file = Path(path)
    try:
        if file.suffix.lower() in (".gz", ".zst"):
            with open_binary(file) as f:
                return f.read()
        return file.read_bytes()
    except _read_errors() as exc:  # gzip, zlib and zstd errors too: truncated or corrupt
        if isinstance(exc, OSError) and exc.strerror:
            raise CliError(f"cannot read {path}: {exc.strerror}") from None
        raise CliError(f"{path}: cannot read (truncated or corrupt: {exc})") from None


def _records(path: str, args: argparse.Namespace, kind: str) -> Corpus:
    if kind == "parquet":
        return ParquetCorpus(Path(path), args.text_field, args.id_field)
    return open_corpus(path, args.text_field, args.id_field)


def cmd_hash(args: argparse.Namespace) -> int:
    reads = _corpus_reads(args.files) + _model_reads(args)
    check_stdout(reads)
    hasher = _hasher(args)
    base_input = hasher.input
    out = sys.stdout
    batch: list[tuple[str, Any]] = []

    def flush() -> None:
        fps: np.ndarray = hasher.transform([doc for _, doc in batch])  # type: ignore[assignment]
        out.writelines(f"{fp:016x}\t{name}\n" for (name, _), fp in zip(batch, fps.tolist()))
        batch.clear()

    for path in args.files:
        kind = _file_format(path)
        _with_input(hasher, args, kind, base_input)
        # A corpus file gives one line per record; any other file is one document.
        items = _records(path, args, kind).records() if kind else iter([(path, _one_document(path))])
        for item in _progress(items, args):
            batch.append(item)
            if len(batch) >= 4096:
                flush()
        flush()  # the next file may need other input settings
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    check_stdout(_corpus_reads([args.a, args.b]) + _model_reads(args))
    hasher = _with_input(_hasher(args), args)
    docs = []
    for path in (args.a, args.b):
        kind = _file_format(path)
        if kind:
            raise CliError(f"{path}: a {kind} corpus holds many documents; compare takes two documents "
                           "(use `simdup hash` for a corpus's records)")
        docs.append(_one_document(path))
    a, b = (int(fp) for fp in hasher.transform(docs))
    d = hamming(a, b)
    print(f"{a:016x}\t{args.a}\n{b:016x}\t{args.b}\ndistance {d}\tsimilarity {1 - d / 64:.4f}")
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    if args.model:
        # Taken (a shared option) but never read: `fit --model m.npz -o m.npz` replaced the file it named
        args.parser.error("--model: fit learns a new model from CORPUS and reads none (leave --model out)")
    output = Path(args.output)
    check_paths(_corpus_reads(args.corpus), [("-o", output)])
    check_writable(output)
    corpora = [open_corpus(path, args.text_field, args.id_field) for path in args.corpus]
    formats = {corpus.format for corpus in corpora}
    hasher = SimHasher(ngram_range=(1, args.ngram), tokenizer=args.tokenizer, min_df=args.min_df)
    if "warc" in formats:
        _with_input(SimHasher(), args, "warc")  # refuses --input-type text before anything is read
    texts = []
    for corpus in corpora:
        texts += [doc for _, doc in _progress(corpus.records(), args, desc="reading")]
    saved_input = args.input_type or hasher.input
    # WARC pages are (page, content_type) pairs: HTML to fit on; other documents are auto-detected then.
    _with_input(hasher, args, "warc" if formats == {"warc"} else None)
    hasher.fit(texts)
    hasher.set_params(input=saved_input)  # the model's default for later runs, not the WARC reading mode
    hasher.save(output)
    print(f"{args.output}: {len(hasher.vocabulary_)} terms from {hasher.n_docs_} documents", file=sys.stderr)
    if len(hasher.vocabulary_) == 0 and args.min_df > 1:
        _warn(f"--min-df {args.min_df} keeps no terms of {hasher.n_docs_} documents: every token will weigh the "
              "same (lower --min-df)")
    return 0


def cmd_dedup(args: argparse.Namespace) -> int:
    if args.input is None:
        # `--dask INPUT` with no address: argparse gave INPUT to --dask.
        if args.dask is None or "://" in args.dask:
            args.parser.error("the following arguments are required: INPUT")
        args.input, args.dask = args.dask, "local"
    if args.dask is not None:
        from .dedup_dask import run_dedup  # needs the simdup[dask] extra

        return run_dedup(args)
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
    for doc_id, text in _progress(corpus.records(), args, desc="reading"):
        ids.append(doc_id)
        texts.append(text)
    for warning in corpus.warnings:
        _warn(warning)
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


def check_dedup_outputs(args: argparse.Namespace, corpus_format: str, inputs: Sequence[Path],
                        output: Path | None, output_is_directory: bool = False) -> None:
    """Everything `simdup dedup` will write, checked before it reads: distinct from the inputs and each
    other, of a format it writes, in a writable directory."""
    clusters = Path(args.clusters) if args.clusters else None
    writes = [("--keep-warc" if args.keep_warc else "-o", output)] if output is not None else []
    writes += [("--clusters", clusters)] if clusters is not None else []
    check_paths(_corpus_reads(inputs) + _model_reads(args), writes)
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
        hasher = _hasher(args)
    else:
        hasher = SimHasher(ngram_range=(1, args.ngram), tokenizer=args.tokenizer, segmenter=args.segmenter)
    return _with_input(hasher, args, corpus_format)


def report(args: argparse.Namespace, summary: dict) -> None:
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_summary(summary)


def check_output(corpus_format: str, source: Path, output: Path) -> None:
    """The output is not the input, and is a file of the input's format that simdup writes."""
    if _same_path(output, source):
        raise CliError(f"{output}: the output must not be the input file")
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
        if corpus_format == "warc" and not output.name.lower().endswith(WARC_OUTPUT_SUFFIXES):
            raise CliError(f"{output}: a WARC is written as .warc or .warc.gz")
        if output.name.lower().endswith(".zst"):
            _zstandard(output)  # the package is needed to write it
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


def _read_names(path: Path) -> dict:
    """INDEX.names.json, checked to be ``{"model": str | null, "names": {hex id: name}, ...}``."""
    names_path = _names_path(path)
    try:
        meta = json.loads(names_path.read_bytes())
    except FileNotFoundError:
        raise CliError(f"{names_path}: missing (written by `simdup index build` beside the index)") from None
    except (ValueError, RecursionError):  # RecursionError: nested too deeply for the parser
        raise CliError(f"{names_path}: not valid JSON") from None
    names = meta.get("names") if isinstance(meta, dict) else None
    if (not isinstance(names, dict)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in names.items())
            or not isinstance(meta.get("model"), (str, type(None)))
            or not all(isinstance(meta.get(key), (str, type(None))) for key in ("input_type", "html_content"))):
        raise CliError(f"{names_path}: not a simdup names file (expected an object with \"model\" and "
                       "\"names\": {hex id: name})")
    if not all(_HEX_ID.fullmatch(k) for k in names):
        raise CliError(f"{names_path}: not a simdup names file (a key is not a 16-digit hex id)")
    return meta


_HEX_ID = re.compile("[0-9a-f]{16}")


def _load_index(path: Path) -> tuple[SimHashIndex, dict]:
    """The index and its names, made consistent.

    `simdup index` writes the names file first and the index second (see
    :func:`_save_index`), so a run that stopped between the two (a kill,
    a full disk) leaves names the index lacks: those are dropped here, as if
    that run had never happened. An index id without a name cannot come from
    an interrupted run: the names file then belongs to another index.
    """
    index = SimHashIndex.load(path)
    meta = _read_names(path)
    names = {k: v for k, v in meta["names"].items() if int(k, 16) in index}
    if len(names) != len(index):
        raise CliError(f"{_names_path(path)}: names {len(names):,} of the {len(index):,} documents in {path}; "
                       "it belongs to another index (rebuild with `simdup index build`)")
    meta["names"] = names
    return index, meta


def _save_index(index: SimHashIndex, meta: dict, path: Path) -> None:
    """Write the names, then the index; each atomically, together or (on failure) not at all.

    Why this order: a crash between the two renames leaves either new names
    with the old index (names the index lacks, which :func:`_load_index`
    drops: the old state, whole) or, in the other order, index ids without
    names (documents that can never be named, and that a retried add would
    store twice). On an error, the old names file is put back; if even that
    fails (the disk is still full), the load rule covers it.
    """
    names_path = _names_path(path)
    try:
        old_names: bytes | None = names_path.read_bytes()
    except FileNotFoundError:
        old_names = None
    atomic_write_bytes(names_path, json.dumps(meta, ensure_ascii=False).encode("utf-8"))
    try:
        index.save(path)
    except BaseException:
        try:
            if old_names is None:
                names_path.unlink()
            else:
                atomic_write_bytes(names_path, old_names)
        except OSError:
            pass
        raise


def _index_documents(args: argparse.Namespace,
                     hasher: SimHasher) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Names, fingerprints and token counts of CORPUS's documents, each file read with its format's settings."""
    names: list[str] = []
    fps, counts = [], []
    base_input = hasher.input
    for path in args.corpus:
        corpus = open_corpus(path, args.text_field, args.id_field)
        texts = []
        for doc_id, text in _progress(corpus.records(), args, desc="reading"):
            names.append(doc_id)
            texts.append(text)
        f, n = _with_input(hasher, args, corpus.format, base_input).transform(texts, return_n_tokens=True)
        fps.append(f)
        counts.append(n)
    if not fps:
        return names, np.empty(0, np.uint64), np.empty(0, np.int64)
    return names, np.concatenate(fps), np.concatenate(counts)


def _with_tokens(names: list[str], fps: np.ndarray, n_tokens: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The documents that have tokens; a token-less one (empty, punctuation, a page without text) has the
    fingerprint 0 and is never a near-duplicate, so it is not stored (and its name not kept)."""
    has = n_tokens > 0
    skipped = int((~has).sum())
    if skipped:
        print(f"simdup: {skipped:,} document(s) without tokens not indexed (never near-duplicates)",
              file=sys.stderr)
    return [n for n, h in zip(names, has.tolist()) if h], fps[has]


def _index_hasher(args: argparse.Namespace, meta: dict, index_path: Path) -> SimHasher:
    """The hasher an existing index was built with; --model only if it is that one; its input settings."""
    model = meta.get("model")
    if args.model and (model is None or not _same_path(Path(args.model), Path(model))):
        raise CliError(f"{index_path} was built with {model or 'the embedded model'}; --model {args.model} "
                       "makes other fingerprints (leave --model out)")
    # The build's --input-type and --html-content stay the defaults of add and query.
    args.input_type = args.input_type or meta.get("input_type")
    args.html_content = args.html_content or meta.get("html_content")
    return _hasher(args, model or "")


def _ids(names: list[str]) -> np.ndarray:
    return hash_strings([name.encode("utf-8") for name in names])


def _add_documents(index: SimHashIndex, meta: dict, names: list[str], fps: np.ndarray) -> None:
    """Add named documents to the index and to its names, refusing repeated ids."""
    ids = _ids(names)
    clash = [n for n, i in zip(names, ids.tolist()) if i in index or f"{i:016x}" in meta["names"]]
    if clash:
        raise CliError(f"document id {clash[0]!r} is already in the index")
    if len(set(names)) != len(names):
        raise CliError("document ids must be unique (use --id-field)")
    index.add_many(fps, ids)
    meta["names"].update({f"{i:016x}": n for i, n in zip(ids.tolist(), names)})


@contextmanager
def _index_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the index's directory while an index and its names are read and written.

    Two `simdup index add` (or build) runs on one index would otherwise each
    load the old state and save their own: one run's documents lost, or one
    run's names saved beside the other's index (an index that no longer
    loads). Queries need no lock (saves are atomic renames, names first).
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _index_writes(path: Path) -> list[tuple[str, Path]]:
    return [("the index", path), ("the index's names file", _names_path(path))]


def cmd_index_build(args: argparse.Namespace) -> int:
    path = Path(args.index)
    check_paths(_corpus_reads(args.corpus) + _model_reads(args), _index_writes(path))
    check_writable(path)
    check_writable(_names_path(path))
    names, fps = _with_tokens(*_index_documents(args, _hasher(args)))
    index = SimHashIndex(args.k, expected_n=max(len(fps), 1_000))
    meta: dict = {"model": os.path.abspath(args.model) if args.model else None, "names": {},
                  "input_type": args.input_type, "html_content": args.html_content}
    _add_documents(index, meta, names, fps)
    with _index_lock(path):
        _save_index(index, meta, path)
    print(f"{args.index}: {len(index):,} documents, k={args.k}", file=sys.stderr)
    return 0


def cmd_index_add(args: argparse.Namespace) -> int:
    path = Path(args.index)
    check_paths(_corpus_reads(args.corpus), _index_writes(path))
    if not path.parent.is_dir():
        raise FileNotFoundError(2, "No such file or directory", str(path))
    with _index_lock(path):  # from the load to the save: another add would be lost, or break the names
        index, meta = _load_index(path)
        check_writable(path)
        check_writable(_names_path(path))
        names, fps = _with_tokens(*_index_documents(args, _index_hasher(args, meta, path)))
        _add_documents(index, meta, names, fps)
        _save_index(index, meta, path)
    print(f"{args.index}: added {len(names):,}, now {len(index):,} documents", file=sys.stderr)
    return 0


def cmd_index_query(args: argparse.Namespace) -> int:
    path = Path(args.index)
    check_stdout(_corpus_reads(args.corpus) + [("the index", path), ("the index's names file", _names_path(path))])
    index, meta = _load_index(path)
    names, fps, n_tokens = _index_documents(args, _index_hasher(args, meta, path))
    offsets, ids, distances = index.query_many(fps, n_tokens=n_tokens)  # a token-less query matches nothing
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
                       "JSON Lines (.jsonl[.gz|.zst]), Parquet or WARC (.warc[.gz|.zst]) file, else one per "
                       "file, decompressed if .gz or .zst (`-` reads standard input).")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(run=cmd_hash)

    p = sub.add_parser("compare", parents=[common], help="distance and similarity of two files",
                       description="Fingerprint two files, each one document (decompressed if .gz or .zst; "
                       "corpus files are refused: use `simdup hash`).")
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.set_defaults(run=cmd_compare)

    p = sub.add_parser("fit", parents=[common], help="learn an IDF model from a corpus")
    p.add_argument("corpus", nargs="+", metavar="CORPUS")
    p.add_argument("-o", "--output", required=True, help="model file to write (.npz)")
    p.add_argument("--ngram", type=int, default=1, help="use word n-grams up to this length (default 1)")
    p.add_argument("--tokenizer", default="auto", choices=["auto", "words", "chinese"])
    p.add_argument("--min-df", type=int, default=1, help="drop tokens in fewer documents (default 1)")
    p.set_defaults(run=cmd_fit, parser=p)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like SIGINT's KeyboardInterrupt so every temp file is removed on the way out."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread (main() called from a thread): leave signals alone
        previous = None
    try:
        return _run(args)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
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
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, Terminated)
        print(f"simdup: {'terminated' if terminated else 'interrupted'}", file=sys.stderr)
        return 128 + (signal.SIGTERM if terminated else signal.SIGINT)


if __name__ == "__main__":
    sys.exit(main())
