"""The names file beside a saved index: the string ids (URLs) of its items.

An index stores uint64 ids; :class:`simdup.Deduper` maps string ids to
their XXH64. The strings live beside the index in ``INDEX.names.json``, the
format ``simdup index`` writes (``simdup/cli/_index_names.py`` uses this
module, turning its errors into one-line CLI messages)::

    {"model": str | null,            # model file the fingerprints were made with; null: the embedded one
     "names": {"<16 hex digits>": name, ...},
     "input_type": str | null, "html_content": str | null,   # the hasher's input settings
     "unnamed": int}                 # optional: items stored under int ids (no name)

The names are written first and the index second, each atomically (temp
file, fsync, rename). A crash between the two renames leaves new names
beside the old index; :meth:`simdup.Deduper.load` keeps only what both
agree on, so a crash loses the last interval's additions, never names.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simdup._atomic import atomic_write_bytes

if TYPE_CHECKING:
    from simdup.index import SimHashIndex

_HEX_ID = re.compile("[0-9a-f]{16}")


def names_path(index_path: str | os.PathLike[str]) -> Path:
    """``INDEX.names.json`` beside ``index_path``."""
    path = Path(index_path)
    return path.with_name(path.name + ".names.json")


def read_names(index_path: str | os.PathLike[str]) -> dict[str, Any]:
    """The names file of ``index_path``, checked.

    Raises
    ------
    FileNotFoundError
        No names file beside the index.
    ValueError
        Not JSON, or not a names file (the message names the file).
    """
    path = names_path(index_path)
    try:
        meta = json.loads(path.read_bytes())
    except (ValueError, RecursionError):  # RecursionError: nested too deeply for the parser
        raise ValueError(f"{path}: not valid JSON") from None
    names = meta.get("names") if isinstance(meta, dict) else None
    if (not isinstance(names, dict)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in names.items())
            or not isinstance(meta.get("model"), (str, type(None)))
            or not all(isinstance(meta.get(key), (str, type(None))) for key in ("input_type", "html_content"))
            or not isinstance(meta.get("unnamed", 0), int) or isinstance(meta.get("unnamed"), bool)):
        raise ValueError(f"{path}: not a simdup names file (expected an object with \"model\" and "
                         "\"names\": {hex id: name})")
    if not all(_HEX_ID.fullmatch(k) for k in names):
        raise ValueError(f"{path}: not a simdup names file (a key is not a 16-digit hex id)")
    return meta


def save_with_names(index: SimHashIndex, meta: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write the names, then the index; each atomically, together or (on failure) not at all.

    Why this order: a crash between the two renames leaves new names with the
    old index (names the index lacks, dropped on load: the old state) where
    the other order would leave ids that can never be named. On an error the
    old names file is put back; if even that fails (the disk is still full),
    the load rule covers it.
    """
    npath = names_path(path)
    try:
        old: bytes | None = npath.read_bytes()
    except FileNotFoundError:
        old = None
    atomic_write_bytes(npath, json.dumps(meta, ensure_ascii=False).encode("utf-8"))
    try:
        index.save(path)
    except BaseException:
        try:
            if old is None:
                npath.unlink()
            else:
                atomic_write_bytes(npath, old)
        except OSError:
            pass
        raise
