"""INDEX.names.json: the documents' names beside a saved index, read and written consistently with it, under a lock.

The index stores uint64 ids; documents are named by their corpus ids (URLs,
file names), so the names live beside it in ``INDEX.names.json`` with the
model the fingerprints were made with and the build's input settings. Used by
:mod:`simdup.cli.index`; this module imports no command module.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .._atomic import atomic_write_bytes
from ..index import SimHashIndex
from ._common import CliError

_HEX_ID = re.compile("[0-9a-f]{16}")


def names_path(index_path: Path) -> Path:
    """Where the names of the index at ``index_path`` are kept."""
    return index_path.with_name(index_path.name + ".names.json")


def _read_names(path: Path) -> dict:
    """INDEX.names.json, checked to be ``{"model": str | null, "names": {hex id: name}, ...}``."""
    file = names_path(path)
    try:
        meta = json.loads(file.read_bytes())
    except FileNotFoundError:
        raise CliError(f"{file}: missing (written by `simdup index build` beside the index)") from None
    except (ValueError, RecursionError):  # RecursionError: nested too deeply for the parser
        raise CliError(f"{file}: not valid JSON") from None
    names = meta.get("names") if isinstance(meta, dict) else None
    if (not isinstance(names, dict)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in names.items())
            or not isinstance(meta.get("model"), (str, type(None)))
            or not all(isinstance(meta.get(key), (str, type(None))) for key in ("input_type", "html_content"))):
        raise CliError(f"{file}: not a simdup names file (expected an object with \"model\" and "
                       "\"names\": {hex id: name})")
    if not all(_HEX_ID.fullmatch(k) for k in names):
        raise CliError(f"{file}: not a simdup names file (a key is not a 16-digit hex id)")
    return meta


def load_index(path: Path) -> tuple[SimHashIndex, dict]:
    """The index and its names, made consistent.

    `simdup index` writes the names file first and the index second (see
    :func:`save_index`), so a run that stopped between the two (a kill,
    a full disk) leaves names the index lacks: those are dropped here, as if
    that run had never happened. An index id without a name cannot come from
    an interrupted run: the names file then belongs to another index.
    """
    index = SimHashIndex.load(path)
    meta = _read_names(path)
    names = {k: v for k, v in meta["names"].items() if int(k, 16) in index}
    if len(names) != len(index):
        raise CliError(f"{names_path(path)}: names {len(names):,} of the {len(index):,} documents in {path}; "
                       "it belongs to another index (rebuild with `simdup index build`)")
    meta["names"] = names
    return index, meta


def save_index(index: SimHashIndex, meta: dict, path: Path) -> None:
    """Write the names, then the index; each atomically, together or (on failure) not at all.

    Why this order: a crash between the two renames leaves either new names
    with the old index (names the index lacks, which :func:`load_index`
    drops: the old state, whole) or, in the other order, index ids without
    names (documents that can never be named, and that a retried add would
    store twice). On an error, the old names file is put back; if even that
    fails (the disk is still full), the load rule covers it.
    """
    file = names_path(path)
    try:
        old_names: bytes | None = file.read_bytes()
    except FileNotFoundError:
        old_names = None
    atomic_write_bytes(file, json.dumps(meta, ensure_ascii=False).encode("utf-8"))
    try:
        index.save(path)
    except BaseException:
        try:
            if old_names is None:
                file.unlink()
            else:
                atomic_write_bytes(file, old_names)
        except OSError:
            pass
        raise


@contextmanager
def index_lock(path: Path) -> Iterator[None]:
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
