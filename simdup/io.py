"""Reading documents from corpus files and writing files safely."""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync and rename.

    A crash at any point leaves either the old file or the complete new one,
    never a partial file under ``path``.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(target.parent)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not every platform lets a directory be opened.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class CorpusError(ValueError):
    """A corpus file could not be read; the message names the file and line."""


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def is_jsonl(path: str | os.PathLike[str]) -> bool:
    """True for ``.jsonl`` / ``.ndjson`` files, gzip-compressed or not."""
    name = Path(path).name.lower()
    return name.removesuffix(".gz").endswith((".jsonl", ".ndjson"))


def read_jsonl(
    path: str | os.PathLike[str], text_field: str = "text", id_field: str | None = "id"
) -> Iterator[tuple[str, str]]:
    """Yield ``(id, text)`` for each record of a JSON Lines file.

    Records without ``id_field`` are numbered from 1 by line. Blank lines are
    skipped.

    Raises
    ------
    CorpusError
        On a line that is not a JSON object or lacks ``text_field``.
    """
    path = Path(path)
    try:
        with _open_text(path) as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise CorpusError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
                if not isinstance(record, dict):
                    raise CorpusError(f"{path}:{lineno}: expected a JSON object")
                if text_field not in record:
                    raise CorpusError(f"{path}:{lineno}: no field {text_field!r}")
                text = record[text_field]
                if not isinstance(text, str):
                    raise CorpusError(f"{path}:{lineno}: field {text_field!r} is not a string")
                doc_id = record.get(id_field, lineno) if id_field else lineno
                yield str(doc_id), text
    except (OSError, EOFError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise CorpusError(f"{path}: cannot read ({exc})") from None
