"""On-disk format of a fitted :class:`simdup.SimHasher` model (``.npz``), and the embedded default model.

The file holds plain arrays and JSON, never pickled objects:

================  =========================================================
array             content
================  =========================================================
``format``        the string ``"simdup.SimHasher"`` (:data:`FORMAT`)
``spec_version``  int64: the fingerprint spec of the IDF table's tokens
``simdup_version`` the writing simdup's version (informative)
``params``        the hasher's parameters as JSON (a callable tokenizer as
                  ``{"callable": qualified name}``)
``vocabulary``    uint64: token hashes (:class:`simdup.idf.IdfTable`)
``idf_q``         uint32: their IDF times 2**16
``unseen_idf_q``  uint32: the IDF of any other token, times 2**16
``n_docs``        int64: documents the IDF was learnt from
================  =========================================================

A file of another spec version is refused: its token hashes would not be
the ones this simdup computes.
"""

from __future__ import annotations

import io
import json
import os
import threading
from collections.abc import Callable
from importlib import resources
from typing import Any

import numpy as np

from . import _core
from ._atomic import atomic_write_bytes
from .idf import IdfTable

FORMAT = "simdup.SimHasher"
_REQUIRED = ("format", "spec_version", "params", "vocabulary", "idf_q", "unseen_idf_q", "n_docs")


def write(path: str | os.PathLike[str], params: dict[str, Any], table: IdfTable) -> None:
    """Write a model atomically: ``params`` as ``get_params(deep=False)`` gives them, and its IDF table."""
    from . import __version__

    params = dict(params)
    if callable(params["tokenizer"]):
        # A function cannot be stored without pickling it: its name tells the user what to pass to load().
        tokenizer = params["tokenizer"]
        params["tokenizer"] = {"callable": getattr(tokenizer, "__qualname__", repr(tokenizer))}
    params["ngram_range"] = list(params["ngram_range"])
    arrays = {
        "format": np.array(FORMAT),
        "spec_version": np.array(_core.SPEC_VERSION, dtype=np.int64),
        "simdup_version": np.array(__version__),
        "params": np.array(json.dumps(params, sort_keys=True)),
        "vocabulary": table.vocabulary,
        "idf_q": table.idf_q,
        "unseen_idf_q": np.array(table.unseen_q, dtype=np.uint32),
        "n_docs": np.array(table.n_docs, dtype=np.int64),
    }
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    atomic_write_bytes(path, buffer.getvalue())


def read(path: str | os.PathLike[str], *, tokenizer: Callable[..., Any] | str | None = None
         ) -> tuple[dict[str, Any], IdfTable]:
    """The parameters (for ``SimHasher(**params)``) and the IDF table of a model file.

    Parameters
    ----------
    tokenizer : callable, optional
        Put in place of a callable tokenizer the model was saved with; refused
        for a model saved with a named one.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not a simdup model, corrupted, another fingerprint spec version, or
        ``tokenizer`` missing or not wanted.
    """
    source = os.fspath(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise
    except Exception as exc:  # zipfile, zlib and numpy each raise their own kinds
        raise ValueError(f"{source}: not a readable simdup model ({exc})") from None
    try:
        return _decode(arrays, source, tokenizer)
    except (TypeError, KeyError, IndexError, OverflowError, AttributeError, RecursionError) as exc:
        # Arrays of the wrong shape or kind (int() of a 2-D array, a params
        # object of the wrong shape, JSON nested past the parser's stack):
        # a damaged or foreign file, which the docs promise is a ValueError.
        raise ValueError(f"{source}: corrupted simdup model ({type(exc).__name__}: {exc})") from None


def _decode(arrays: dict[str, np.ndarray], source: str, tokenizer: Callable[..., Any] | str | None
            ) -> tuple[dict[str, Any], IdfTable]:
    missing = [key for key in _REQUIRED if key not in arrays]
    if missing or str(arrays["format"]) != FORMAT:
        raise ValueError(f"{source}: not a simdup model file (missing {missing or 'format tag'})")
    spec = int(arrays["spec_version"])
    if spec != _core.SPEC_VERSION:
        raise ValueError(
            f"{source}: model uses fingerprint spec v{spec}; this simdup implements v{_core.SPEC_VERSION}"
        )
    vocabulary, idf_q = arrays["vocabulary"], arrays["idf_q"]
    unseen_q = int(arrays["unseen_idf_q"])
    if (
        vocabulary.dtype != np.uint64
        or idf_q.dtype != np.uint32
        or vocabulary.shape != idf_q.shape
        or vocabulary.ndim != 1
        or (len(idf_q) and int(idf_q.min()) < 1)
        or not 1 <= unseen_q <= np.iinfo(np.uint32).max
    ):
        raise ValueError(f"{source}: corrupted simdup model (bad vocabulary or idf arrays)")
    try:
        params = json.loads(str(arrays["params"]))
        params["ngram_range"] = tuple(params["ngram_range"])
    except (ValueError, KeyError, TypeError, RecursionError):
        raise ValueError(f"{source}: corrupted simdup model (bad params)") from None
    if isinstance(params.get("tokenizer"), dict):
        if tokenizer is None or not callable(tokenizer):
            raise ValueError(
                f"{source}: model was saved with tokenizer {params['tokenizer']['callable']!r}; "
                "pass it again: SimHasher.load(path, tokenizer=...)"
            )
        params["tokenizer"] = tokenizer
    elif tokenizer is not None:
        raise ValueError(
            f"{source}: model was saved with tokenizer={params.get('tokenizer')!r}; its IDF table only fits "
            "that tokenizer, so tokenizer= is only for models saved with a callable"
        )
    return params, IdfTable(vocabulary, idf_q, unseen_q, int(arrays["n_docs"]))


_default_lock = threading.Lock()
_default_cache: list[tuple[dict[str, Any], IdfTable]] = []


def default_model() -> tuple[dict[str, Any], IdfTable]:
    """The parameters and IDF table of the embedded default model (``simdup/data/default.npz``).

    Read once per process; the arrays are read-only, as every hasher made
    from them shares them.
    """
    with _default_lock:
        if not _default_cache:
            with resources.as_file(resources.files("simdup") / "data" / "default.npz") as path:
                params, table = read(path)
            table.vocabulary.setflags(write=False)
            table.idf_q.setflags(write=False)
            _default_cache.append((params, table))
        params, table = _default_cache[0]
        return dict(params), table
