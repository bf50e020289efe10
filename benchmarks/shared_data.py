"""Where simdup's shared corpora are, and reading them: the one loader of tests/ and benchmarks/.

The corpora (``reuters21578.jsonl.gz``, ``fudan_zh.jsonl.gz``, ...; see
``../shared/README.md``) live outside the repository. Their folder is

1. ``$SIMDUP_SHARED_DATA`` when set (the folder holding the ``*.jsonl.gz`` files);
2. else ``$SIMDUP_SHARED/data`` when ``SIMDUP_SHARED`` is set (its older name: the folder above ``data/``);
3. else ``../shared/data`` beside the repository root.

The benchmark scripts import this module from their own folder; the tests
import it too (``tests/conftest.py`` puts ``benchmarks/`` on ``sys.path``).
Standard library only, and pytest only inside :func:`require`, so a script
can use it without pytest.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

ENV = "SIMDUP_SHARED_DATA"
LEGACY_ENV = "SIMDUP_SHARED"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT = REPO_ROOT.parent / "shared" / "data"


def data_dir() -> Path:
    """The shared corpora's folder (read from the environment at each call)."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser().resolve()
    if os.environ.get(LEGACY_ENV):
        return (Path(os.environ[LEGACY_ENV]).expanduser() / "data").resolve()
    return DEFAULT


def path(name: str) -> Path:
    """The shared corpus ``name`` (e.g. ``"reuters21578.jsonl.gz"``); it may be absent."""
    return data_dir() / name


def absent_reason(name: str | None = None) -> str | None:
    """Why the shared folder (or its file ``name``) cannot be read, or None when it can."""
    target = data_dir() if name is None else path(name)
    if target.exists():
        return None
    what = "shared corpora folder" if name is None else "shared corpus"
    return (f"{what} {target} is absent: set {ENV} to the folder holding simdup's shared corpora "
            f"(default: ../shared/data beside the repository, {DEFAULT})")


def require(name: str | None = None) -> Path:
    """The shared folder (or its file ``name``); skips the calling test with a clear reason if absent."""
    reason = absent_reason(name)
    if reason is not None:
        import pytest

        pytest.skip(reason)
    return data_dir() if name is None else path(name)


def iter_records(name: str, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """The first ``limit`` (None: all) records of the shared JSON Lines corpus ``name``."""
    with gzip.open(path(name), "rt", encoding="utf-8") as f:
        for line in islice(f, limit):
            yield json.loads(line)


def records(name: str, limit: int | None = None) -> list[dict[str, Any]]:
    """:func:`iter_records` as a list."""
    return list(iter_records(name, limit))


def texts(name: str, limit: int | None = None, field: str = "text", nonblank: bool = True) -> list[str]:
    """The ``field`` of the first ``limit`` records, without the blank ones (``nonblank``)."""
    return [r[field] for r in iter_records(name, limit) if not nonblank or r[field].strip()]
