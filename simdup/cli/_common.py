"""What every ``simdup`` command shares: one-line errors, the hasher from the arguments, path checks, progress.

:func:`hasher_from_args` is the one place that turns the hasher's options
(``--model``, ``--input-type``, ``--html-content``, and for a hasher to fit
``--ngram``, ``--tokenizer``, ``--segmenter``, ``--min-df``) into a
:class:`~simdup.SimHasher`: every command fingerprints with what it returns,
so none can come to ignore one of them. This module imports no command
module.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..hasher import SimHasher


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 1."""


def warn(message: str) -> None:
    """Print ``simdup: warning: MESSAGE`` to stderr (the run goes on)."""
    print(f"simdup: warning: {message}", file=sys.stderr)


# -- the options every fingerprinting command takes, and the hasher they make -------------


def common_options() -> argparse.ArgumentParser:
    """The parent parser of the options of every command that reads documents."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model", help="fitted model (from `simdup fit`); default: `dedup` fits one on its "
                        "input, the other commands use the embedded model")
    common.add_argument("--text-field", default="text", help="JSON Lines field (Parquet, saved dataset: "
                        "column) holding the text (default: text)")
    common.add_argument("--id-field", default="id", help="JSON Lines field (Parquet, saved dataset: column) "
                        "holding the id (default: id; without it: line or row numbers)")
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    common.add_argument("--input-type", choices=["text", "html", "auto"],
                        help="documents are text, HTML pages (fingerprinted on their extracted text; needs "
                        "resiliparse), or auto-detected per document (default: html for a WARC "
                        "input, else the model's setting: auto for the default and for a newly fitted model)")
    common.add_argument("--html-content", choices=["main", "all"],
                        help="for HTML: fingerprint the main content (default) or all visible text")
    return common


class CommandHasher:
    """The hasher of one command run, and the input settings its arguments ask for, per corpus.

    Made by :func:`hasher_from_args`. A command reading several corpora
    (``hash``, ``index``) asks :meth:`for_corpus` before each: a WARC's
    documents are read as HTML, the next file again with the model's own
    setting.

    Attributes
    ----------
    hasher : SimHasher
        The model (loaded, embedded, or to be fitted).
    model_input : str
        The hasher's own ``input`` setting before any corpus changed it.
    """

    def __init__(self, hasher: SimHasher, input_type: str | None, html_content: str | None) -> None:
        self.hasher = hasher
        self.model_input: str = hasher.input
        self._input_type, self._html_content = input_type, html_content

    def for_corpus(self, corpus_format: str | None = None) -> SimHasher:
        """The hasher, set for documents of ``corpus_format`` (None: single documents, or corpora of many formats).

        ``--input-type`` wins; else a WARC's documents, ``(page,
        content_type)`` pairs, are HTML; else the model's own setting.
        ``--html-content`` applies whenever given.

        Raises
        ------
        CliError
            ``--input-type text`` for a WARC, whose pages a text hasher cannot read.
        """
        if corpus_format == "warc" and self._input_type == "text":
            raise CliError("--input-type text: a WARC's documents are HTML pages (use html or auto)")
        if self._input_type:
            self.hasher.set_params(input=self._input_type)
        elif corpus_format == "warc":
            self.hasher.set_params(input="html")
        else:
            self.hasher.set_params(input=self.model_input)
        if self._html_content:
            self.hasher.set_params(html_content=self._html_content)
        return self.hasher


def hasher_from_args(args: argparse.Namespace, *, fit: bool = False) -> CommandHasher:
    """The hasher a command fingerprints with, from its arguments: the only reader of the hasher's options.

    Parameters
    ----------
    args : argparse.Namespace
        The command's arguments. ``--model`` names the model to load, else
        the embedded one is used (``simdup index add`` and ``query`` set it
        to the model the index was built with).
    fit : bool, default=False
        The command fits a model (``fit``; ``dedup`` unless given
        ``--model``): an unfitted hasher from ``--ngram``, ``--tokenizer``
        and, where the command has them, ``--segmenter`` and ``--min-df``.
        With ``--model`` the model is loaded instead, and those options must
        be left at their defaults.

    Returns
    -------
    CommandHasher
        Call :meth:`CommandHasher.for_corpus` for the hasher set for a corpus.

    Raises
    ------
    CliError
        ``--model`` with fitting options that it would ignore.
    """
    if fit and not args.model:
        options: dict[str, Any] = {"ngram_range": (1, args.ngram), "tokenizer": args.tokenizer}
        for name in ("segmenter", "min_df"):  # dedup chooses a segmenter, fit a minimum document frequency
            if hasattr(args, name):
                options[name] = getattr(args, name)
        hasher = SimHasher(**options)
    else:
        if fit and (args.ngram != 1 or args.tokenizer != "auto" or getattr(args, "segmenter", "jieba") != "jieba"):
            raise CliError("--ngram, --tokenizer and --segmenter choose how to fit; a --model brings its own")
        hasher = SimHasher.load(args.model) if args.model else SimHasher.default()
    return CommandHasher(hasher, args.input_type, args.html_content)


# -- argument types shared by the commands ------------------------------------------------


def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an int of at least ``low``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return parse


def memory_size(text: str) -> int:
    """An argparse type: a size such as ``2G`` (:func:`simdup.stream._memory.parse_size`), in bytes."""
    from ..stream._memory import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# -- paths: what a command reads and writes ---------------------------------------------


def _resolve(path: Path) -> Path:
    try:
        return path.resolve()
    except (RuntimeError, OSError):  # a symbolic link loop: RuntimeError before Python 3.13, then OSError
        raise CliError(f"{path}: cannot resolve the path (a loop of symbolic links?)") from None


def same_path(a: Path, b: Path) -> bool:
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
            if same_path(path, read) or _inside(path, read):
                raise CliError(f"{path}: {what} would overwrite {read_what}; outputs must differ from every input")
        for other_what, other in writes[:n]:
            if same_path(path, other):
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


def model_reads(args: argparse.Namespace) -> list[tuple[str, Path]]:
    """The ``--model`` file as a read of :func:`check_paths`, if given."""
    return [("--model", Path(args.model))] if getattr(args, "model", None) else []


def corpus_reads(paths: Iterable[str | os.PathLike[str]]) -> list[tuple[str, Path]]:
    """The input files as reads of :func:`check_paths` (standard input, ``-``, is none)."""
    return [("the input", Path(p)) for p in paths if os.fspath(p) != "-"]


def check_single_read(path: Path, command: str) -> None:
    """Refuse an input that is not a regular file or a directory: a pipe cannot be read twice."""
    if path.exists() and not (path.is_file() or path.is_dir()):
        raise CliError(f"{path}: not a regular file (a pipe or device); `simdup {command}` reads its input "
                       "twice (to fingerprint, then to write the kept records): save it to a file first")


# -- progress bars ------------------------------------------------------------------------


def progress(iterable: Iterator, args: argparse.Namespace, unit: str = "doc", desc: str | None = None) -> Iterator:
    """``iterable`` with a progress bar (see :func:`progress_bars`)."""
    return progress_bars(args)(iterable, unit=unit, desc=desc)


def progress_bars(args: argparse.Namespace) -> Callable[..., Any]:
    """A tqdm factory on stderr, quiet with ``--quiet`` or when stderr is not a terminal."""
    # Bars only for a person watching: quiet when stderr is not a terminal or with --quiet.
    disable = args.quiet or not sys.stderr.isatty()

    def bar(iterable=None, **kwargs):
        # leave=True: a finished phase stays on screen as one line (its count, time and rate),
        # so a long run never shows a blank terminal between phases.
        return tqdm(iterable, disable=disable, file=sys.stderr, dynamic_ncols=True, leave=True, **kwargs)

    return bar
