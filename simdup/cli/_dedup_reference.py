"""``simdup dedup --against REF [--update INDEX]``: the reference a run is checked against, and the index it updates.

REF is a saved index (``simdup index build``; fingerprints only), corpus
files (read with the input, never written), or an index and the corpus files
holding its documents' text (the index finds the matches, the files' text
verifies them). ``--update INDEX`` adds the
kept documents to INDEX after the run, atomically: the ``--against`` index
itself, or a new index file. Used by :mod:`simdup.cli.dedup` (and its Dask
run); imports no command module.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..index import SimHashIndex
from ..index._file import MAGIC
from ._common import CliError, CommandHasher, hasher_from_args, same_path, warn
from ._dedup_inputs import input_files
from ._index_names import (add_documents, index_hasher, index_lock, load_index, names_path, new_index,
                           save_index)


@dataclass
class Reference:
    """What ``--against`` and ``--update`` name, resolved and checked.

    Attributes
    ----------
    files : list of Path
        Reference corpus files; with an index, the files holding its documents' text.
    index : SimHashIndex or None
        The reference index, loaded.
    meta : dict
        The index's names file (names, model, input settings).
    index_path : Path or None
        The ``--against`` index.
    update : Path or None
        The index ``--update`` writes.
    """

    files: list[Path] = field(default_factory=list)
    index: SimHashIndex | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    index_path: Path | None = None
    update: Path | None = None

    @property
    def reads(self) -> list[tuple[str, Path]]:
        """The reference's files, as reads of :func:`~simdup.cli._common.check_paths`."""
        reads = [("the --against corpus", f) for f in self.files]
        if self.index_path is not None:
            reads += [("the --against index", self.index_path),
                      ("the --against index's names file", names_path(self.index_path))]
        return reads

    @property
    def writes(self) -> list[tuple[str, Path]]:
        """The ``--update`` index, as writes (none when it updates the ``--against`` index in place)."""
        if self.update is None or self.in_place:
            return []
        return [("--update", self.update), ("--update's names file", names_path(self.update))]

    @property
    def in_place(self) -> bool:
        return self.update is not None and self.index_path is not None and same_path(self.update, self.index_path)

    def name(self, key: int) -> str:
        """The name of an index id (its hexadecimal form if the names file lacks it)."""
        return str(self.meta.get("names", {}).get(f"{key:016x}", f"{key:016x}"))


def is_index(path: Path) -> bool:
    """True when ``path`` is a file that starts like a saved :class:`~simdup.SimHashIndex`, or is named ``.idx``.

    (A damaged ``.idx`` file is then refused by the index loader, which says
    what is wrong, rather than as a corpus of unknown format.)
    """
    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC or path.suffix.lower() == ".idx"
    except (IsADirectoryError, FileNotFoundError, PermissionError):
        return False


def reference_of(args: argparse.Namespace) -> Reference:
    """The ``--against`` reference and the ``--update`` target, checked (the index is loaded).

    Raises
    ------
    CliError
        Two indexes, ``--update`` of an existing file other than the
        ``--against`` index, or ``--update`` with a corpus reference.
    """
    sources = args.against or []
    ref = Reference(update=Path(args.update) if args.update else None)
    indexes = [Path(s) for s in sources if is_index(Path(s))]
    texts = [s for s in sources if not is_index(Path(s))]
    if texts:
        ref.files, _ = input_files(texts)
    if indexes:
        if len(indexes) > 1:
            raise CliError(f"{indexes[1]}: a second index; --against takes one index (and the corpus files "
                           "holding its documents' text)")
        ref.index_path = indexes[0]
        ref.index, ref.meta = load_index(ref.index_path)
        if ref.index.k < args.k:
            warn(f"{ref.index_path} answers queries within {ref.index.k} bits: documents match it within "
                 f"{ref.index.k}, not -k {args.k} (`simdup index build -k {args.k}` makes an index that matches "
                 f"within {args.k})")
    if ref.update is not None:
        if ref.files and ref.index is None:
            raise CliError("--update adds the kept documents to an index, and the --against reference is a corpus: "
                           "build an index of it with `simdup index build`, then use --against INDEX --update INDEX")
        if not ref.in_place and (ref.update.exists() or names_path(ref.update).exists()):
            raise CliError(f"{ref.update}: already exists; --update writes a new index, or updates the --against "
                           "index in place (the same path)")
    return ref


def reference_hasher(args: argparse.Namespace, ref: Reference) -> CommandHasher:
    """The hasher of a run with a reference index (the one it was built with) or a new ``--update`` index.

    A new index is built with ``--model`` or the embedded model, as ``simdup
    index build`` does, so that later runs fingerprint as this one; without
    an index the run fits its own model (:func:`hasher_from_args`).
    """
    if ref.index is not None:
        assert ref.index_path is not None
        return index_hasher(args, ref.meta, ref.index_path)
    if ref.update is not None:
        return hasher_from_args(args)
    return hasher_from_args(args, fit=True)


def update_index(args: argparse.Namespace, ref: Reference, names: list[str], fps: np.ndarray) -> dict[str, Any]:
    """Add the kept documents (``names``, ``fps``, documents with tokens) to the ``--update`` index, atomically.

    In place, the index is loaded again under the lock, so a run that
    updated it meanwhile is not lost. Returns the summary's ``update`` entry.
    """
    assert ref.update is not None
    with index_lock(ref.update):
        if ref.in_place:
            index, meta = load_index(ref.update)
        elif ref.index is not None:
            index, meta = ref.index, ref.meta
        else:
            index, meta = new_index(args, len(fps))
        replaced = add_documents(index, meta, names, fps, replace=True)
        save_index(index, meta, ref.update)
    return {"index": str(ref.update), "added": len(names) - replaced, "replaced": replaced,
            "documents": len(index)}
