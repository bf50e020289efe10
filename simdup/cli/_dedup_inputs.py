"""What ``simdup dedup`` reads, on this machine or on Dask: one corpus, or many files (shards) by name or glob.

Both runs of the command take their inputs from :func:`input_files`, so a
glob means the same files to each.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path

from ..corpus import CorpusError, format_of
from ._common import CliError, check_single_read

SHARD_FORMATS = ("jsonl", "lines", "parquet", "warc")
"""The corpus files a glob matches (a directory is one corpus of .txt/.html documents, not shards)."""


def input_files(sources: str | Sequence[str]) -> tuple[list[Path], Path | None]:
    """The input files in order, and the directory their output names are relative to (None for one input).

    Each source is a corpus file, a directory of ``.txt``/``.html``
    documents, or a glob pattern naming corpus files (sorted). A file named
    twice is read once.

    Raises
    ------
    CliError
        A source that is neither an existing path nor a pattern matching
        corpus files, or inputs of more than one format.
    """
    sources = [sources] if isinstance(sources, str) else list(sources)
    files: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.exists():
            files.append(path)
            continue
        matched = sorted(Path(p) for p in glob.glob(source, recursive=True) if Path(p).is_file() and _is_corpus(p))
        if not matched:
            raise CliError(f"{source}: no such file or directory, and no corpus files (.jsonl, .txt, .parquet, "
                           ".warc, optionally .gz or .zst) match it as a pattern")
        files += matched
    files = list(dict.fromkeys(files))
    formats = {format_of(f) for f in files}
    if len(formats) > 1:
        raise CliError(f"{' '.join(sources)}: the files must be of one corpus format, found "
                       f"{', '.join(sorted(formats))}")
    if len(files) == 1 and len(sources) == 1 and Path(sources[0]).exists():
        return files, None
    if formats == {"directory"}:
        raise CliError(f"{' '.join(sources)}: a directory is one corpus of .txt/.html documents; give one")
    return files, Path(os.path.commonpath([str(p.absolute().parent) for p in files]))


def _is_corpus(path: str) -> bool:
    try:
        return format_of(path) in SHARD_FORMATS
    except CorpusError:
        return False


def shard_names(files: Sequence[Path], root: Path) -> list[Path]:
    """Each input file's name relative to ``root`` (:func:`input_files`): its output's name in the output directory."""
    return [f.absolute().relative_to(root) for f in files]


def read_inputs(sources: Sequence[str], command: str) -> tuple[list[Path], Path | None, str]:
    """:func:`input_files`, their one corpus format, and each checked to be readable twice (not a pipe)."""
    files, root = input_files(sources)
    for f in files:
        check_single_read(f, command)
    return files, root, format_of(files[0])
