"""The ``simdup`` command line.

Every command exits 0 on success and, on bad input, prints one line
``simdup: error: ...`` to stderr (no traceback) and exits non-zero: 2 for a
usage error, 1 for unreadable or malformed data.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from tqdm import tqdm

from . import __version__
from .distance import hamming
from .hasher import SimHasher
from .io import CorpusError, is_jsonl, read_jsonl


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 1."""


def _hasher(args: argparse.Namespace) -> SimHasher:
    if args.model:
        return SimHasher.load(args.model)
    return SimHasher.default()


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


def _progress(iterable: Iterator, args: argparse.Namespace, unit: str = "doc") -> Iterator:
    # A bar only for a person watching: quiet when stderr is not a terminal.
    disable = args.quiet or not sys.stderr.isatty()
    return tqdm(iterable, unit=unit, disable=disable, file=sys.stderr, dynamic_ncols=True)


def cmd_hash(args: argparse.Namespace) -> int:
    hasher = _hasher(args)
    out = sys.stdout
    batch: list[tuple[str, str | bytes]] = []

    def flush() -> None:
        fps = hasher.transform([doc for _, doc in batch])
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
    hasher = SimHasher(ngram_range=(1, args.ngram), tokenizer=args.tokenizer, min_df=args.min_df).fit(texts)
    hasher.save(args.output)
    print(f"{args.output}: {len(hasher.vocabulary_)} terms from {hasher.n_docs_} documents", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simdup", description="Near-duplicate detection with 64-bit SimHash.")
    parser.add_argument("--version", action="version", version=f"simdup {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model", help="fitted model (from `simdup fit`); default: the embedded model")
    common.add_argument("--text-field", default="text", help="JSON Lines field holding the text (default: text)")
    common.add_argument("--id-field", default="id", help="JSON Lines field holding the id (default: id)")
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

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
