"""The command line's use of INDEX.names.json: CLI errors, the consistency rule on load, the lock.

The index stores uint64 ids; documents are named by their corpus ids (URLs,
file names), so the names live beside it in ``INDEX.names.json`` with the
model the fingerprints were made with and the build's input settings. The
format, and the names-then-index order of a save, are
:mod:`simdup.index._names` (``Deduper.save`` writes the same files); this
module adds what ``simdup index`` needs on top. Used by
:mod:`simdup.cli.index`; it imports no command module.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..index import SimHashIndex
from ..index._names import names_path, read_names
from ..index._names import save_with_names as save_index
from .._core import hash_strings
from .._sorted import find_sorted
from ._common import CliError, CommandHasher, hasher_from_args, same_path

__all__ = ["add_documents", "index_hasher", "index_lock", "load_index", "names_path", "new_index", "save_index"]


def _read_names(path: Path) -> dict:
    """INDEX.names.json, checked (:func:`simdup.index._names.read_names`), its problems as CLI errors."""
    try:
        return read_names(path)
    except FileNotFoundError:
        raise CliError(f"{names_path(path)}: missing (written by `simdup index build` beside the index)") from None
    except ValueError as exc:
        raise CliError(str(exc)) from None


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
    # Which names the index holds, as arrays: a reference of 10 million names in a second, not a minute.
    keys = list(meta["names"])
    key_ids = np.fromiter((int(k, 16) for k in keys), dtype=np.uint64, count=len(keys))
    stored = np.sort(index.items()[1])
    present = find_sorted(stored, key_ids)[1]
    names = meta["names"] if present.all() else {k: meta["names"][k] for k in np.asarray(keys, object)[present]}
    if len(names) != len(index):
        raise CliError(f"{names_path(path)}: names {len(names):,} of the {len(index):,} documents in {path}; "
                       "it belongs to another index (rebuild with `simdup index build`)")
    meta["names"] = names
    return index, meta


def new_index(args: argparse.Namespace, n: int) -> tuple[SimHashIndex, dict]:
    """An empty index of ``args.k`` sized for ``n`` documents, and its names file's contents: the model
    (``--model``, or None for the embedded one) and the input settings, which later runs fingerprint with."""
    index = SimHashIndex(args.k, expected_n=max(n, 1_000))
    meta = {"model": os.path.abspath(args.model) if args.model else None, "names": {},
            "input_type": args.input_type, "html_content": args.html_content}
    return index, meta


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


def index_hasher(args: argparse.Namespace, meta: dict, index_path: Path) -> CommandHasher:
    """The hasher an existing index was built with; --model only if it is that one; its input settings."""
    model = meta.get("model")
    if args.model and (model is None or not same_path(Path(args.model), Path(model))):
        raise CliError(f"{index_path} was built with {model or 'the embedded model'}; --model {args.model} "
                       "makes other fingerprints (leave --model out)")
    # The build's model, --input-type and --html-content are those of add and query.
    args.model = model
    args.input_type = args.input_type or meta.get("input_type")
    args.html_content = args.html_content or meta.get("html_content")
    return hasher_from_args(args)


def _ids(names: list[str]) -> np.ndarray:
    return hash_strings([name.encode("utf-8") for name in names])


def add_documents(index: SimHashIndex, meta: dict, names: list[str], fps: np.ndarray, *,
                  replace: bool = False) -> int:
    """Add named documents to the index and to its names; the number of names already there.

    A name already in the index is refused, or with ``replace`` gets the new
    fingerprint (``simdup dedup --update``: a page crawled again, changed
    beyond k bits, is the reference's latest version). Names repeated among
    ``names`` are always refused.
    """
    ids = _ids(names)
    if len(set(names)) != len(names):
        raise CliError("document ids must be unique (use --id-field)")
    present = [(i, n) for i, n in zip(ids.tolist(), names) if i in index or f"{i:016x}" in meta["names"]]
    if present and not replace:
        raise CliError(f"document id {present[0][1]!r} is already in the index")
    for i, _ in present:
        if i in index:
            index.remove(i)
    index.add_many(fps, ids)
    meta["names"].update({f"{i:016x}": n for i, n in zip(ids.tolist(), names)})
    return len(present)
