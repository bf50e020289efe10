"""The ``simdup`` command line: the parser assembled from the command modules, and :func:`main`'s exit statuses.

Every command exits 0 on success and, on bad input, prints one line
``simdup: error: ...`` to stderr (no traceback) and exits non-zero: 2 for a
usage error, 1 for unreadable or malformed data; 130 on Ctrl-C and 143 on
SIGTERM.

One module a command group: :mod:`~simdup.cli.fingerprints` (``hash``,
``compare``), :mod:`~simdup.cli.explain`, :mod:`~simdup.cli.fit`, :mod:`~simdup.cli.calibrate`, :mod:`~simdup.cli.dedup`,
:mod:`~simdup.cli.dedup_dask` (``dedup --dask``, imported only then: the
plain command line never imports Dask) and :mod:`~simdup.cli.index`. They
share :mod:`~simdup.cli._common` (errors, the hasher from the arguments,
path checks, progress bars), and the two dedup runs
:mod:`~simdup.cli._dedup_outputs`; no command module imports another.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

from .. import __version__
from ..corpus import CorpusError
from . import calibrate, dedup, explain, fingerprints, fit, index
from ._common import CliError, common_options

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simdup", description="Near-duplicate detection with 64-bit SimHash.")
    parser.add_argument("--version", action="version", version=f"simdup {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = common_options()
    # In this order in `simdup --help`.
    dedup.add_parser(sub, common, on_dask=_dedup_on_dask)
    index.add_parser(sub, common)
    calibrate.add_parser(sub, common)
    fingerprints.add_parsers(sub, common)
    explain.add_parser(sub, common)
    fit.add_parser(sub, common)
    return parser


def _dedup_on_dask(args: argparse.Namespace) -> int:
    from . import dedup_dask  # imports Dask (the simdup[dask] extra): only a --dask run pays for it

    return dedup_dask.run(args)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like SIGINT's KeyboardInterrupt so every temp file is removed on the way out."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``simdup`` with ``argv`` (default: the process's arguments) and return its exit status."""
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
