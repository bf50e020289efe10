"""save / load: round trips, atomic writes, and clear errors for damaged files."""

from __future__ import annotations

import json
import os
import re
import struct
import threading

import numpy as np
import pytest
from index_helpers import clustered, flip

from simdup import SPEC_VERSION, SimHashIndex
from simdup.index import _file as _index_file

K = 3


@pytest.fixture
def saved(tmp_path):
    rng = np.random.default_rng(0)
    fps = np.array(clustered(rng, 5000, K, centers=300), dtype=np.uint64)
    ids = np.arange(5000, dtype=np.uint64) * 11
    ix = SimHashIndex(K, expected_n=5000)
    ix.add_many(fps, ids)
    for i in range(0, 5000, 7):  # removed items must not come back
        ix.remove(int(ids[i]))
    ix.add(123, 10**12)          # and buffered ones must be saved
    path = tmp_path / "ix.simdup"
    ix.save(path)
    queries = np.array([flip(int(f), rng, 2) for f in fps[:300]] + [123], dtype=np.uint64)
    return ix, path, queries


def _same(a, b, queries):
    for x, y in zip(a.query_many(queries), b.query_many(queries)):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("mmap", [False, True])
def test_round_trip(saved, mmap):
    ix, path, queries = saved
    back = SimHashIndex.load(path, mmap=mmap)
    assert len(back) == len(ix) and back.k == K and back.plan.tables == ix.plan.tables
    assert back.fingerprint_spec_version == SPEC_VERSION
    _same(ix, back, queries)
    assert back.query(123) == [(10**12, 0)]
    # a loaded (even mapped, read-only) index keeps working online
    back.add(124, 5)
    back.remove(0 + 11)
    with pytest.raises(KeyError):
        back.remove(0)
    assert back.query(124)[0] == (5, 0) and 11 not in back
    back.add_many(np.arange(3000, dtype=np.uint64), np.arange(3000, dtype=np.uint64) + 10**13)
    assert back.query(2999)[0] == (2999 + 10**13, 0)


def test_mmap_maps_instead_of_reading(saved):
    _, path, _ = saved
    _, parts = _index_file.read(path, mmap=True, verify=False)
    for name, arr in parts.items():
        base = arr
        while base is not None and not isinstance(base, np.memmap):
            base = base.base
        assert isinstance(base, np.memmap), name
        assert not arr.flags.writeable
    _, parts = _index_file.read(path, mmap=False, verify=True)
    assert not any(isinstance(a.base, np.memmap) for a in parts.values())


def test_save_is_atomic_and_leaves_no_temp_files(saved, tmp_path):
    ix, path, _ = saved
    before = path.read_bytes()
    ix.save(path)  # overwrite in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix.simdup"]
    assert path.read_bytes() == before  # deterministic

    class Boom(Exception):
        pass

    real = os.fsync
    def failing(fd):
        raise Boom()
    os.fsync = failing
    try:
        with pytest.raises(Boom):
            ix.save(path)
    finally:
        os.fsync = real
    assert path.read_bytes() == before  # the old file survives a failed save
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix.simdup"]


def test_empty_index_round_trip(tmp_path):
    SimHashIndex(5).save(tmp_path / "e")
    back = SimHashIndex.load(tmp_path / "e", mmap=True)
    assert len(back) == 0 and back.k == 5 and back.query(1) == []
    back.add(1, 1)
    assert back.query(1) == [(1, 0)]


def test_header_records_design_and_versions(saved):
    _, path, _ = saved
    raw = path.read_bytes()
    magic, version, hlen, _ = struct.unpack("<8sIIQ", raw[:24])
    h = json.loads(raw[24:24 + hlen])
    assert magic == b"SIMDUPIX" and version == _index_file.FORMAT_VERSION
    assert h["k"] == K and h["fingerprint_spec_version"] == SPEC_VERSION == 2 and len(h["tables"]) == 4
    assert h["count"] == 5000 - len(range(0, 5000, 7)) + 1


def test_spec_version(saved, tmp_path):
    ix, path, _ = saved
    ix.save(tmp_path / "v1", fingerprint_spec_version=1)  # as simdup 0.1 (spec v1) wrote them
    with pytest.raises(ValueError, match="spec v1, expected v2: rebuild it"):
        SimHashIndex.load(tmp_path / "v1")
    assert SimHashIndex.load(tmp_path / "v1", fingerprint_spec_version=None).fingerprint_spec_version == 1
    with pytest.raises(ValueError, match="spec v2, expected v1"):
        SimHashIndex.load(path, fingerprint_spec_version=1)
    assert SimHashIndex.load(path).fingerprint_spec_version == 2


def _damage(path, offset, new: bytes):
    data = bytearray(path.read_bytes())
    data[offset:offset + len(new)] = new
    path.write_bytes(bytes(data))


def test_other_format_version(saved):
    _, path, _ = saved
    newer = _index_file.FORMAT_VERSION + 1
    _damage(path, 8, struct.pack("<I", newer))
    with pytest.raises(ValueError, match=f"format version {newer}, written by a newer simdup"):
        SimHashIndex.load(path)


def test_a_flipped_version_byte_is_damage_not_a_newer_format(saved):
    _, path, _ = saved
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF  # the version's third byte: 16711682 for version 2
    path.write_bytes(bytes(data))
    flipped = _index_file.FORMAT_VERSION ^ 0xFF0000
    with pytest.raises(ValueError, match=f"corrupted or truncated index file: format version field reads {flipped}"):
        SimHashIndex.load(path)


@pytest.mark.parametrize("damage", ["magic", "truncated", "header"])
def test_load_errors_name_the_file(saved, damage):
    _, path, _ = saved
    data = bytearray(path.read_bytes())
    if damage == "magic":
        data[0] ^= 1
    elif damage == "truncated":
        del data[-20:]
    else:
        data[30] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}: "):
        SimHashIndex.load(path)


def test_not_an_index_file(tmp_path):
    (tmp_path / "x").write_bytes(b"hello world, not an index" * 10)
    with pytest.raises(ValueError, match="not a simdup index"):
        SimHashIndex.load(tmp_path / "x")
    (tmp_path / "y").write_bytes(b"")
    with pytest.raises(ValueError, match="truncated"):
        SimHashIndex.load(tmp_path / "y")
    with pytest.raises(FileNotFoundError):
        SimHashIndex.load(tmp_path / "missing")


@pytest.mark.parametrize("mmap", [False, True])
def test_truncated_anywhere(saved, tmp_path, mmap):
    _, path, _ = saved
    raw = path.read_bytes()
    for cut in [1, 20, 30, 200, len(raw) // 2, len(raw) - 64, len(raw) - 1]:
        p = tmp_path / f"cut{cut}"
        p.write_bytes(raw[:cut])
        with pytest.raises(ValueError, match="truncated|corrupted"):
            SimHashIndex.load(p, mmap=mmap)
    (tmp_path / "long").write_bytes(raw + b"\0" * 64)
    with pytest.raises(ValueError):
        SimHashIndex.load(tmp_path / "long", mmap=mmap)


def test_corrupted_header_always_detected(saved):
    _, path, _ = saved
    raw = path.read_bytes()
    hlen = struct.unpack("<I", raw[12:16])[0]
    for off in [16, 30, 24 + hlen // 2, 24 + hlen - 1]:
        data = bytearray(raw)
        data[off] ^= 0x20
        path.write_bytes(bytes(data))
        for mmap in (False, True):
            with pytest.raises(ValueError, match="corrupted"):
                SimHashIndex.load(path, mmap=mmap, verify=False)


def test_corrupted_data(saved, tmp_path):
    _, path, queries = saved
    raw = path.read_bytes()
    h_end = 24 + struct.unpack("<I", raw[12:16])[0]
    rng = np.random.default_rng(3)
    for trial in range(25):
        data = bytearray(raw)
        for off in rng.integers(h_end + 64, len(raw), size=int(rng.integers(1, 40))):
            data[off] = int(rng.integers(256))
        p = tmp_path / f"bad{trial}"
        p.write_bytes(bytes(data))
        if bytes(data) == raw:
            continue
        with pytest.raises(ValueError, match="checksum"):
            SimHashIndex.load(p)  # verify is the default without mmap
        with pytest.raises(ValueError, match="checksum"):
            SimHashIndex.load(p, mmap=True, verify=True)
        # Unverified mapping: damaged payload may answer wrongly, but must not crash.
        try:
            bad = SimHashIndex.load(p, mmap=True)
        except ValueError:
            continue  # a damaged directory end is caught at open
        bad.query_many(queries)
        bad.query_many(rng.integers(0, 2**64, 2000, dtype=np.uint64))
        for i in range(0, 60000, 997):
            i in bad  # noqa: B015


# ---------------------------------------------------------------- issue 13, item 10
# A save renames a new file over the path while a load runs. The load must
# read one file whole: its size, header and arrays from the same file.

def _versioned(v: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    ids = np.arange(n, dtype=np.uint64) * 7 + np.uint64(v)
    rng = np.random.default_rng(v)
    return rng.integers(0, 2**64, n, dtype=np.uint64), ids


def _save_version(path, v: int, n: int) -> None:
    ix = SimHashIndex(K, expected_n=1000)
    ix.add_many(*_versioned(v, n))
    ix.save(path)


def _version_of(ix: SimHashIndex, sizes: dict[int, int]) -> int:
    """Which saved version ``ix`` is, checking every stored item (KeyError if none)."""
    parts, _ = ix._export()
    for v, n in sizes.items():
        fps, ids = _versioned(v, n)
        if len(parts["ids"]) == n and np.array_equal(np.sort(parts["ids"]), ids):
            order = np.argsort(ids)
            got = dict(zip(parts["ids"].tolist(), parts["fps"].tolist()))
            assert [got[i] for i in ids[order].tolist()] == fps[order].tolist(), f"version {v} mixed"
            return v
    raise KeyError(f"loaded index ({len(parts['ids'])} items) is no saved version")


@pytest.mark.parametrize("mmap", [False, True])
@pytest.mark.parametrize("same_size", [True, False])
@pytest.mark.parametrize("when", ["before-open", "after-open"])
def test_load_reads_one_file_while_a_save_renames_over_it(tmp_path, monkeypatch, when, same_size, mmap):
    path, other = tmp_path / "ix", tmp_path / "other"
    sizes = {0: 1000, 1: 1000 if same_size else 1500}
    _save_version(path, 0, sizes[0])
    _save_version(other, 1, sizes[1])
    real_open = open

    def racing_open(file, *args, **kwargs):
        if when == "before-open":
            os.replace(other, path)
        f = real_open(file, *args, **kwargs)
        if when == "after-open":
            os.replace(other, path)
        return f

    # _index_file's own `open` (a module global shadows the builtin): the
    # rename lands right before or right after the loader opens the path.
    monkeypatch.setattr(_index_file, "open", racing_open, raising=False)
    ix = SimHashIndex.load(path, mmap=mmap)
    assert _version_of(ix, sizes) == (1 if when == "before-open" else 0)


def test_loads_while_another_thread_saves_see_whole_files(tmp_path):
    """One thread saves new versions over the path; another loads it all the while."""
    path = tmp_path / "ix"
    sizes = {v: 300 + 97 * v for v in range(40)}
    _save_version(path, 0, sizes[0])
    stop = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def saver():
        try:
            for v in range(1, len(sizes)):
                _save_version(path, v, sizes[v])
        except BaseException as e:  # noqa: BLE001 (reported below)
            errors.append(e)
        finally:
            stop.set()

    def loader():
        mmap = False
        try:
            while not stop.is_set():
                mmap = not mmap
                seen.append(_version_of(SimHashIndex.load(path, mmap=mmap), sizes))
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
            stop.set()

    threads = [threading.Thread(target=saver), threading.Thread(target=loader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert seen == sorted(seen) and len(seen) >= 5  # versions only move forward
    assert _version_of(SimHashIndex.load(path), sizes) == len(sizes) - 1
