"""On-disk format of :class:`simdup.SimHashIndex` (little-endian).

=======  ======================================================================
offset   content
=======  ======================================================================
0        magic ``b"SIMDUPIX"``
8        uint32 format version (:data:`FORMAT_VERSION`)
12       uint32 length ``H`` of the JSON header
16       uint64 XXH64 (seed 0) of the JSON header bytes
24       JSON header: k, table design, directory bits, fingerprint spec
         version, count, and for each array its name, dtype, length, offset
         (from the data start) and XXH64; since version 2, optionally
         ``window``: ``{"size": int | null, "seconds": float | null,
         "last": float | null}`` (``last``: the latest time stored, which the
         times of later items never go below)
align64  data: the arrays, each starting on a 64-byte boundary
=======  ======================================================================

Arrays: ``fps``, ``ids`` (uint64), ``id_order``, ``dir<t>``, ``res<t>``,
``rows<t>`` (uint32) for the single segment; with a window, also
``win_ids`` (uint64) and ``win_times`` (float64): every stored id once, in
the order added, with the time it was added.

Versions: 1 (simdup 0.1: no window) and 2 (this one: a window may follow).
Version 1 files still load; a version-2 file without a window differs from
version 1 in the version field only.

Opening checks magic, version, header checksum, schema and the exact file
size, so truncation and a damaged header are always caught; the arrays'
checksums are checked only with ``verify=True`` because that reads the whole
file (what ``mmap=True`` exists to avoid).
"""

from __future__ import annotations

import json
import math
import os
import struct
from typing import Any

import numpy as np

from simdup._core import INDEX_MAX_DIR_BITS, INDEX_MAX_SEGMENT, index_sections, xxh64
from simdup._atomic import atomic_output

MAGIC = b"SIMDUPIX"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
_PRELUDE = struct.Struct("<8sIIQ")
_ALIGN = 64
_MAX_HEADER = 1 << 24


def _align(x: int) -> int:
    return (x + _ALIGN - 1) // _ALIGN * _ALIGN


def _checksum(a: np.ndarray) -> int:
    return xxh64(a.view(np.uint8).data) if a.size else xxh64(b"")


def write(path: str | os.PathLike[str], parts: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write arrays and metadata atomically: temp file in the same directory, fsync, rename."""
    path = os.fspath(path)
    sections = []
    pos = 0
    for name, arr in parts.items():
        arr = np.ascontiguousarray(arr)
        sections.append({"name": name, "dtype": arr.dtype.str, "length": int(arr.shape[0]),
                         "offset": pos, "xxh64": _checksum(arr)})
        pos = _align(pos + arr.nbytes)
    header = json.dumps({**meta, "sections": sections, "data_bytes": pos},
                        separators=(",", ":")).encode()
    prelude = _PRELUDE.pack(MAGIC, FORMAT_VERSION, len(header), xxh64(header))
    start = _align(_PRELUDE.size + len(header))
    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        f.write(prelude)
        f.write(header)
        f.write(b"\0" * (start - _PRELUDE.size - len(header)))
        for arr in parts.values():
            arr = np.ascontiguousarray(arr)
            f.write(arr.data.cast("B"))
            f.write(b"\0" * (_align(arr.nbytes) - arr.nbytes))


_MAX_PLAUSIBLE_VERSION = 64
"""Versions above this are taken for damage: the format would have to change that often first."""


def _bad(msg: str) -> ValueError:
    return ValueError(f"corrupted or truncated index file: {msg}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _finite(x: Any) -> bool:
    """A JSON number a float holds: not a bool, not infinite, not an integer past 1.8e308."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return False
    try:
        return math.isfinite(x)
    except OverflowError:  # JSON integers have no bound; float() of 10**400 fails
        return False


def _check_window(w: Any) -> None:
    """The ``window`` header field: limits as :func:`simdup.index._window.check_window` accepts them."""
    if not isinstance(w, dict) or set(w) != {"size", "seconds", "last"}:
        raise _bad("bad window")
    size, seconds, last = w["size"], w["seconds"], w["last"]
    if last is not None and not _finite(last):
        raise _bad("bad window time")
    if size is not None and not (_is_int(size) and size >= 1):
        raise _bad("bad window size")
    if seconds is not None and not (_finite(seconds) and seconds > 0):
        raise _bad("bad window seconds")
    if size is None and seconds is None:
        raise _bad("a window without limits")
    if seconds is not None:
        w["seconds"] = float(seconds)


def _check_header(h: Any, version: int = FORMAT_VERSION) -> None:
    """Types and ranges of every header field the loader relies on."""
    if not isinstance(h, dict):
        raise _bad("header is not an object")
    for key, typ in (("k", int), ("tables", list), ("dir_bits", list), ("count", int),
                     ("fingerprint_spec_version", int), ("sections", list), ("data_bytes", int)):
        if not isinstance(h.get(key), typ) or isinstance(h.get(key), bool):
            raise _bad(f"header field {key!r} missing or mistyped")
    if not 0 <= h["count"] <= INDEX_MAX_SEGMENT or len(h["dir_bits"]) != len(h["tables"]):
        raise _bad("inconsistent header")
    if not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= INDEX_MAX_DIR_BITS
               for d in h["dir_bits"]):
        raise _bad("bad directory bits")
    for t in h["tables"]:
        if not isinstance(t, list) or not all(
                isinstance(r, list) and len(r) == 2 and all(isinstance(v, int) for v in r)
                for r in t):
            raise _bad("bad table design")
    if "window" in h:
        if version < 2:
            raise _bad("a window in a version 1 file")
        _check_window(h["window"])


def _expected_sections(h: dict[str, Any]) -> dict[str, tuple[str, int]]:
    """Each array's little-endian dtype and length: the core's layout (``index_sections``), then the window's."""
    want = {name: (dtype.newbyteorder("<").str, length)
            for name, (dtype, length) in index_sections(h["count"], h["dir_bits"]).items()}
    if "window" in h:
        want["win_ids"] = ("<u8", h["count"])
        want["win_times"] = ("<f8", h["count"])
    return want


def read(path: str | os.PathLike[str], *, mmap: bool, verify: bool
         ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Header and arrays of an index file (arrays read-only; memory maps when ``mmap``).

    The path is looked up once: the size, the header and the arrays (read or
    mapped) all come through one open file. A save may rename a new file over
    ``path`` at any moment; this reads either the old file or the new one,
    whole, never one file's header with the other's size or arrays.
    """
    path = os.fspath(path)
    try:
        return _read(path, mmap=mmap, verify=verify)
    except ValueError as exc:  # every message names the file: a CLI run may read several
        raise ValueError(f"{path}: {exc}") from None


def _read(path: str, *, mmap: bool, verify: bool) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        raw = f.read(_PRELUDE.size)
        if len(raw) < _PRELUDE.size:
            raise _bad(f"{size} bytes is shorter than the prelude")
        magic, version, hlen, hsum = _PRELUDE.unpack(raw)
        if magic != MAGIC:
            raise ValueError("not a simdup index file")
        if version not in READABLE_VERSIONS:
            if FORMAT_VERSION < version <= _MAX_PLAUSIBLE_VERSION:
                raise ValueError(f"index file format version {version}, written by a newer simdup; this "
                                 f"simdup reads version {FORMAT_VERSION} (upgrade simdup)")
            # A version no simdup ever wrote is a damaged prelude, not a file from the future.
            raise _bad(f"format version field reads {version}")
        if hlen > _MAX_HEADER or _PRELUDE.size + hlen > size:
            raise _bad("header length")
        header_bytes = f.read(hlen)
        if len(header_bytes) != hlen or xxh64(header_bytes) != hsum:
            raise _bad("header checksum mismatch")
        try:
            h = json.loads(header_bytes)
        except (ValueError, RecursionError):  # deep nesting exhausts the parser's stack
            raise _bad("header is not JSON") from None
        _check_header(h, version)
        start = _align(_PRELUDE.size + hlen)
        if start + h["data_bytes"] != size:
            raise _bad(f"file has {size} bytes, header says {start + h['data_bytes']}")
        want = _expected_sections(h)
        secs = {s.get("name"): s for s in h["sections"]
                if isinstance(s, dict) and isinstance(s.get("name"), str)}
        if set(secs) != set(want) or len(h["sections"]) != len(want):
            raise _bad("unexpected array list")
        if mmap:  # maps this descriptor's file; the mapping outlives the close
            data = np.memmap(f, dtype=np.uint8, mode="r") if size else np.empty(0, np.uint8)
        else:
            f.seek(0)
            data = np.frombuffer(f.read(), dtype=np.uint8)
            if data.shape[0] != size:
                raise _bad("short read")
    parts = {}
    for name, (dtype, length) in want.items():
        s = secs[name]
        off, item = s.get("offset"), np.dtype(dtype).itemsize
        if (s.get("dtype") != dtype or s.get("length") != length or not isinstance(off, int)
                or off < 0 or off % _ALIGN or start + off + length * item > size):
            raise _bad(f"array {name!r} does not fit the file")
        arr = data[start + off:start + off + length * item].view(dtype)
        if verify and _checksum(arr) != s.get("xxh64"):
            raise _bad(f"checksum mismatch in array {name!r}")
        parts[name] = arr.view(arr.dtype.newbyteorder("="))
    return h, parts
