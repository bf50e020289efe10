"""Fuzzing the model loader (SimHasher.load) and the index loader (SimHashIndex.load).

Damaged files (byte flips, truncations, crafted headers and arrays) must give
only the documented exceptions (ValueError, or an OSError subclass), never
another exception, a crash or a hang; a damaged file that loads must answer
queries without crashing. The default run uses a short budget; the long one
is opt-in: ``pytest --run-slow -m slow tests/test_fuzz_loaders.py``
(a few minutes).
"""

from __future__ import annotations

import atexit
import io
import json
import os
import shutil
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simdup import SimHasher, SimHashIndex, _core
from simdup.index import _file as _index_file

SHORT = settings(max_examples=60, deadline=10_000, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
LONG = settings(SHORT, max_examples=4000)
DOCUMENTED = (ValueError, OSError)

_TMP = tempfile.mkdtemp(prefix="simdup-fuzz-")
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)


def _tmp_file(data: bytes, name: str) -> str:
    path = os.path.join(_TMP, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


# ------------------------------------------------------------------ inputs

def _model_bytes() -> bytes:
    path = os.path.join(_TMP, "good.npz")
    SimHasher(ngram_range=(1, 2)).fit(["crude oil prices", "oil prices rose", "wheat fell"]).save(path)
    with open(path, "rb") as f:
        return f.read()


def _index_bytes() -> bytes:
    rng = np.random.default_rng(0)
    ix = SimHashIndex(3, expected_n=300)
    fps = rng.integers(0, 2**64, 300, dtype=np.uint64)
    ix.add_many(fps, np.arange(300, dtype=np.uint64) * 3)
    path = os.path.join(_TMP, "good.idx")
    ix.save(path)
    with open(path, "rb") as f:
        return f.read()


def _window_index_bytes() -> bytes:
    """An index with a window of both kinds, so its header has ``size``, ``seconds`` and ``last``."""
    ix = SimHashIndex(3, expected_n=100, window_size=50, window_seconds=60.0, clock=lambda: 1000.0)
    ix.add_many(np.arange(40, dtype=np.uint64) * 977, np.arange(40, dtype=np.uint64))
    path = os.path.join(_TMP, "window.idx")
    ix.save(path)
    with open(path, "rb") as f:
        return f.read()


MODEL = _model_bytes()
INDEX = _index_bytes()
WINDOW_INDEX = _window_index_bytes()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.sampled_from([10**400, -10**400])
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12)


@st.composite
def damaged(draw, raw: bytes) -> bytes:
    """Flip bytes, cut the tail, or insert/delete a run: anywhere, with a bias to the head."""
    data = bytearray(raw)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "flip-head", "cut", "insert", "delete"]))
        if not data:
            break
        if kind in ("flip", "flip-head"):
            hi = min(len(data), 600) if kind == "flip-head" else len(data)
            at = draw(st.integers(0, hi - 1))
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "cut":
            del data[draw(st.integers(0, len(data) - 1)):]
        elif kind == "insert":
            at = draw(st.integers(0, len(data)))
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:
            at = draw(st.integers(0, len(data) - 1))
            del data[at:at + draw(st.integers(1, 16))]
    return bytes(data)


def _set_path(obj, path, value):
    """``obj`` with the item at ``path`` (keys / indices, clipped to what exists) replaced."""
    if not path or not isinstance(obj, (dict, list)) or not obj:
        return value
    if isinstance(obj, dict):
        key = sorted(obj)[path[0] % len(obj)]
        return {**obj, key: _set_path(obj[key], path[1:], value)}
    i = path[0] % len(obj)
    return obj[:i] + [_set_path(obj[i], path[1:], value)] + obj[i + 1:]


def _with_header(raw: bytes, header: bytes) -> bytes:
    """An index file with ``header`` in place of its own, checksum and layout fixed."""
    hlen = int.from_bytes(raw[12:16], "little")
    data = raw[_index_file._align(24 + hlen):]
    prelude = _index_file._PRELUDE.pack(_index_file.MAGIC, _index_file.FORMAT_VERSION,
                                        len(header), _core.xxh64(header))
    return prelude + header + b"\0" * (_index_file._align(24 + len(header)) - 24 - len(header)) + data


@st.composite
def crafted_index(draw) -> bytes:
    """A header (of an index with or without a window) with one field replaced by arbitrary JSON,
    and a valid checksum."""
    raw = draw(st.sampled_from([INDEX, WINDOW_INDEX]))
    hlen = int.from_bytes(raw[12:16], "little")
    header = json.loads(raw[24:24 + hlen])
    path = draw(st.lists(st.integers(0, 50), min_size=1, max_size=4))
    header = _set_path(header, path, draw(json_values))
    return _with_header(raw, json.dumps(header).encode())


@st.composite
def crafted_model(draw) -> dict:
    """The model's arrays with one replaced by an arbitrary array."""
    with np.load(io.BytesIO(MODEL)) as z:
        arrays = {k: z[k] for k in z.files}
    key = draw(st.sampled_from(sorted(arrays) + ["extra"]))
    value = draw(st.one_of(
        st.builds(np.array, json_values.map(json.dumps)),
        st.builds(lambda v: np.array(v, dtype=np.int64), st.lists(st.integers(-2**63, 2**63 - 1), max_size=5)),
        st.builds(lambda v: np.array(v, dtype=np.uint32), st.lists(st.integers(0, 2**32 - 1), max_size=5)),
        st.builds(lambda v: np.array(v, dtype=np.float64), st.lists(st.floats(), max_size=5)),
        st.just(np.zeros((2, 3), np.uint64)),
        st.just(np.array([])),
    ))
    if key != "extra":
        arrays[key] = value
    return arrays


# ------------------------------------------------------------------ checks

def _load_model(data: bytes) -> None:
    path = _tmp_file(data, "fuzz.npz")
    try:
        hasher = SimHasher.load(path)
    except DOCUMENTED:
        return
    hasher.transform(["crude oil prices rose", ""])  # a model that loads must work


def _load_index(data: bytes, mmap: bool, verify: bool | None) -> None:
    path = _tmp_file(data, "fuzz.idx")
    try:
        ix = SimHashIndex.load(path, mmap=mmap, verify=verify, fingerprint_spec_version=None)
    except DOCUMENTED:
        return
    # Loaded (maybe unverified and wrong): queries must not crash or hang.
    ix.query(0)
    ix.query_many(np.arange(0, 2**64 - 1, 2**54, dtype=np.uint64))
    _ = 3 in ix
    ix.add(12345, 2**63 + 1)
    # A window may evict what was just added (a far-future latest time in the
    # header: window times never go backwards), so remove only what is held.
    windowed = ix.window_size is not None or ix.window_seconds is not None
    if not windowed or 2**63 + 1 in ix:
        ix.remove(2**63 + 1)


def _model_damage(data):
    _load_model(data)


def _model_crafted(arrays):
    path = os.path.join(_TMP, "crafted.npz")
    np.savez(path, **arrays)
    with open(path, "rb") as f:
        _load_model(f.read())


@SHORT
@given(damaged(MODEL))
def test_model_loader_damaged_files(data):
    _model_damage(data)


@SHORT
@given(crafted_model())
def test_model_loader_crafted_arrays(arrays):
    _model_crafted(arrays)


@SHORT
@given(st.sampled_from([INDEX, WINDOW_INDEX]).flatmap(damaged), st.booleans(),
       st.sampled_from([None, True, False]))
def test_index_loader_damaged_files(data, mmap, verify):
    _load_index(data, mmap, verify)


@SHORT
@given(crafted_index(), st.booleans())
def test_index_loader_crafted_headers(data, mmap):
    _load_index(data, mmap, None)


def _number_paths(obj, path=()):
    """The path of every number in a JSON value."""
    if isinstance(obj, bool):
        return
    if isinstance(obj, (int, float)):
        yield path
    elif isinstance(obj, dict):
        for i, key in enumerate(sorted(obj)):
            yield from _number_paths(obj[key], path + (i,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _number_paths(v, path + (i,))


@pytest.mark.parametrize("raw", [INDEX, WINDOW_INDEX], ids=["plain", "window"])
@pytest.mark.parametrize("value", [-1, 2**31, 2**32 - 1, 2**63, 2**64, 2**70, -2**70, 10**400, 1e308, -0.0])
def test_index_loader_out_of_range_header_numbers(raw, value):
    # Every number of the header, one at a time, beyond what C types (or a
    # float) hold: the long fuzz run once found a count of 2**64 reaching a
    # Py_ssize_t (OverflowError). Each must be refused as a damaged file, or
    # load and work.
    hlen = int.from_bytes(raw[12:16], "little")
    header = json.loads(raw[24:24 + hlen])
    paths = list(_number_paths(header))
    assert len(paths) > 10
    for path in paths:
        crafted = _set_path(header, list(path), value)
        _load_index(_with_header(raw, json.dumps(crafted).encode()), False, None)


# The same with the long budget, opt-in (pytest --run-slow).

@pytest.mark.slow
@LONG
@given(damaged(MODEL))
def test_model_loader_damaged_files_long(data):
    _model_damage(data)


@pytest.mark.slow
@LONG
@given(crafted_model())
def test_model_loader_crafted_arrays_long(arrays):
    _model_crafted(arrays)


@pytest.mark.slow
@LONG
@given(st.sampled_from([INDEX, WINDOW_INDEX]).flatmap(damaged), st.booleans(),
       st.sampled_from([None, True, False]))
def test_index_loader_damaged_files_long(data, mmap, verify):
    _load_index(data, mmap, verify)


@pytest.mark.slow
@LONG
@given(crafted_index(), st.booleans())
def test_index_loader_crafted_headers_long(data, mmap):
    _load_index(data, mmap, None)
