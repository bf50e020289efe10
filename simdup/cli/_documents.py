"""Documents named on the command line: a file as one document, or a corpus file's records (``hash``, ``compare``, ``explain``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..corpus import Corpus, CorpusError, ParquetCorpus, _read_errors, format_of, open_binary, open_corpus
from ._common import CliError

# Formats whose files hold many documents (hash: one line per record; compare refuses them).
CORPUS_FORMATS = ("jsonl", "parquet", "warc", "hf")


def file_format(path: str) -> str | None:
    """The corpus format of a FILE argument, or None for a single document (.txt, .html, ...)."""
    if path == "-":
        return None
    if Path(path).is_dir():  # a dataset saved by save_to_disk is a corpus; other directories are not read
        return "hf" if format_of(path) == "hf" else None
    try:
        kind = format_of(path)
    except CorpusError:
        return None
    return kind if kind in CORPUS_FORMATS else None


def one_document(path: str) -> bytes:
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


def corpus_records(path: str, args: argparse.Namespace, kind: str) -> Corpus:
    """The corpus file ``path`` of format ``kind`` (:func:`file_format`), read with ``--text-field``/``--id-field``."""
    if kind == "parquet":
        return ParquetCorpus(Path(path), args.text_field, args.id_field)
    return open_corpus(path, args.text_field, args.id_field)
