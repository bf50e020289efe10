"""``simdup hash`` and ``simdup compare``: the fingerprints of files and of corpus records, printed."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from ..distance import hamming
from ._common import CliError, check_stdout, corpus_reads, hasher_from_args, model_reads, progress
from ._documents import corpus_records, file_format, one_document

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
        kind = file_format(path)
        hashers.for_corpus(kind)
        # A corpus file gives one line per record; any other file is one document.
        items = corpus_records(path, args, kind).records() if kind else iter([(path, one_document(path))])
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
        kind = file_format(path)
        if kind:
            raise CliError(f"{path}: a {kind} corpus holds many documents; compare takes two documents "
                           "(use `simdup hash` for a corpus's records)")
        docs.append(one_document(path))
    a, b = (int(fp) for fp in hasher.transform(docs))
    d = hamming(a, b)
    print(f"{a:016x}\t{args.a}\n{b:016x}\t{args.b}\ndistance {d}\tsimilarity {1 - d / 64:.4f}")
    return 0
