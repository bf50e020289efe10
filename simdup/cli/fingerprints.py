"""``simdup hash`` and ``simdup compare``: the fingerprints of files and of corpus records, printed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..corpus import Corpus, CorpusError, ParquetCorpus, _read_errors, format_of, open_binary, open_corpus
from ..distance import hamming
from ._common import CliError, check_stdout, corpus_reads, hasher_from_args, model_reads, progress

# Formats whose files hold many documents (hash: one line per record; compare refuses them).
CORPUS_FORMATS = ("jsonl", "parquet", "warc", "hf")
BATCH = 4096  # documents fingerprinted at a time: one call into the core, bounded memory


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``hash`` and ``compare`` to the subcommands ``sub``; ``common`` holds the shared options."""
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


def cmd_hash(args: argparse.Namespace) -> int:
    """``simdup hash FILE...``: ``FINGERPRINT<TAB>NAME`` per document on stdout."""
    reads = corpus_reads(args.files) + model_reads(args)
    check_stdout(reads)
    hashers = hasher_from_args(args)
    out = sys.stdout
    batch: list[tuple[str, Any]] = []

    def flush() -> None:
        fps: np.ndarray = hashers.hasher.transform([doc for _, doc in batch])  # type: ignore[assignment]
        out.writelines(f"{fp:016x}\t{name}\n" for (name, _), fp in zip(batch, fps.tolist()))
        batch.clear()

    for path in args.files:
        kind = _file_format(path)
        hashers.for_corpus(kind)
        # A corpus file gives one line per record; any other file is one document.
        items = _records(path, args, kind).records() if kind else iter([(path, _one_document(path))])
        for item in progress(items, args):
            batch.append(item)
            if len(batch) >= BATCH:
                flush()
        flush()  # the next file may need other input settings
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """``simdup compare A B``: both fingerprints, their distance and similarity on stdout."""
    check_stdout(corpus_reads([args.a, args.b]) + model_reads(args))
    hasher = hasher_from_args(args).for_corpus()
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


def _file_format(path: str) -> str | None:
    """The corpus format of a `hash`/`compare` FILE, or None for a single document (.txt, .html, ...)."""
    if path == "-":
        return None
    if Path(path).is_dir():  # a dataset saved by save_to_disk is a corpus; other directories are not read
        return "hf" if format_of(path) == "hf" else None
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
