"""simdup._compress: the output writer that compresses by suffix, gzip in blocks on threads."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path
from typing import BinaryIO, Union

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simdup import _compress
from simdup._atomic import TEMP_MARK, atomic_output
from simdup._compress import GzipBlockWriter, open_writer
from simdup.corpus import JsonlCorpus, LinesCorpus, open_binary

# Lines of varying lengths, compressible like a corpus but not one repeated string.
LINES = [b'{"id": %d, "text": "%s"}\n' % (i, b"word%d " % (i * 7919 % 1013) * (i % 17)) for i in range(1500)]
SMALL = b"".join(LINES)
Piece = Union[bytes, bytearray, memoryview]


def payloads(block_size: int) -> dict[str, list[Piece]]:
    """The writes of each case: nothing, many small pieces, one write larger than a block, a mix.

    About three blocks of data (at least a few kB), so that tiny blocks keep the test fast.
    """
    size = max(3 * block_size + 5, 3000)
    count = next((i for i in range(len(LINES)) if sum(map(len, LINES[:i])) >= size), len(LINES))
    large = (SMALL * (size // len(SMALL) + 1))[:size]
    return {
        "empty": [],
        "empty-writes": [b"", b""],
        "small-pieces": list(LINES[:count]),
        "one-large-write": [large],
        "mixed": [b"a", large[:block_size + 3], bytearray(b"bc"), memoryview(SMALL)[5:4000], b"", large],
    }


def write_all(writer: BinaryIO, pieces: list[Piece]) -> None:
    with writer as f:
        for piece in pieces:
            assert f.write(piece) == memoryview(piece).nbytes


CASES = ["empty", "empty-writes", "small-pieces", "one-large-write", "mixed"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("block_size", [7, 1000, 1 << 16])
@pytest.mark.parametrize("jobs", [1, 2])
def test_gzip_round_trip(case: str, block_size: int, jobs: int) -> None:
    pieces = payloads(block_size)[case]
    buffer = io.BytesIO()
    write_all(GzipBlockWriter(buffer, jobs=jobs, block_size=block_size), pieces)
    data = buffer.getvalue()
    expected = b"".join(bytes(p) for p in pieces)
    assert gzip.decompress(data) == expected
    # Whole members of block_size bytes each, the last one shorter; an empty stream is one empty member.
    members = max(1, -(-len(expected) // block_size))
    assert data.count(b"\x1f\x8b\x08") >= members
    assert not buffer.closed  # not ours to close


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("name", ["out.jsonl", "out.jsonl.gz", "OUT.JSONL.GZ", "out.jsonl.zst", "out.txt.zst"])
def test_round_trip_by_suffix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, jobs: int,
                              case: str) -> None:
    if name.endswith(".zst"):
        pytest.importorskip("zstandard")
    monkeypatch.setattr(_compress, "BLOCK_SIZE", 4096)  # open_writer reads it per call
    pieces = payloads(4096)[case]
    path = tmp_path / name
    write_all(open_writer(path, jobs=jobs), pieces)
    magic = {".gz": b"\x1f\x8b", ".zst": b"\x28\xb5\x2f\xfd"}.get(path.suffix.lower(), b"")
    assert path.read_bytes().startswith(magic)  # compressed by the suffix, even when empty
    with open_binary(path) as f:  # the corpus reader, which raises on a truncated stream
        assert f.read() == b"".join(bytes(p) for p in pieces)


@pytest.mark.skipif(shutil.which("gzip") is None, reason="no gzip program")
@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("data", [b"", SMALL * 20], ids=["empty", "many-members"])
def test_gzip_program_reads_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int, data: bytes) -> None:
    monkeypatch.setattr(_compress, "BLOCK_SIZE", 10_000)
    path = tmp_path / "out.gz"
    with open_writer(path, jobs=jobs) as f:
        f.write(data)
    subprocess.run(["gzip", "-t", str(path)], check=True)
    assert subprocess.run(["gzip", "-dc", str(path)], check=True, capture_output=True).stdout == data


def test_gzip_output_is_identical_for_every_jobs_and_write_size() -> None:
    data = SMALL
    outputs = set()
    for jobs in (1, 2, 3):
        for write_size in (7, 1000, 4096, len(data)):
            buffer = io.BytesIO()
            with GzipBlockWriter(buffer, jobs=jobs, block_size=4096) as f:
                for start in range(0, len(data), write_size):
                    f.write(data[start:start + write_size])
            outputs.add(buffer.getvalue())
    assert len(outputs) == 1
    assert gzip.decompress(outputs.pop()) == data


def test_zstd_output_is_identical_for_every_jobs(tmp_path: Path) -> None:
    pytest.importorskip("zstandard")
    data = SMALL * 200  # 26 MB: several of zstd's jobs (8 MiB each at level 3), compressed in 0.1 s
    outputs = set()
    for jobs in (1, 2, 3):
        path = tmp_path / f"{jobs}.zst"
        with open_writer(path, jobs=jobs) as f:
            for start in range(0, len(data), 100_000):
                f.write(data[start:start + 100_000])
        outputs.add(path.read_bytes())
    assert len(outputs) == 1
    with open_binary(tmp_path / "1.zst") as f:
        assert f.read() == data


@settings(max_examples=60, deadline=None)
@given(chunks=st.lists(st.binary(max_size=40), max_size=20), block_size=st.integers(1, 64),
       jobs=st.sampled_from([1, 2]))
def test_gzip_round_trip_fuzz(chunks: list[bytes], block_size: int, jobs: int) -> None:
    buffer = io.BytesIO()
    with GzipBlockWriter(buffer, jobs=jobs, block_size=block_size) as f:
        for chunk in chunks:
            f.write(chunk)
    data = b"".join(chunks)
    assert gzip.decompress(buffer.getvalue()) == data
    one_write = io.BytesIO()
    with GzipBlockWriter(one_write, block_size=block_size) as f:
        f.write(data)
    assert buffer.getvalue() == one_write.getvalue()


def test_levels() -> None:
    def compressed(level: int = _compress.GZIP_LEVEL) -> bytes:
        buffer = io.BytesIO()
        with GzipBlockWriter(buffer, level=level) as f:
            f.write(SMALL)
        return buffer.getvalue()

    # One block: one member, the bytes zlib's gzip format gives the whole input at level 6.
    member = zlib.compressobj(6, zlib.DEFLATED, 31)
    assert compressed() == compressed(level=6) == member.compress(SMALL) + member.flush()
    assert len(compressed(level=1)) > len(compressed(level=9))
    assert len(compressed(level=0)) > len(SMALL)


def test_flush_makes_the_written_bytes_readable_and_close_is_idempotent() -> None:
    buffer = io.BytesIO()
    writer = GzipBlockWriter(buffer, jobs=2, block_size=1 << 20)
    writer.write(b"first\n")
    assert buffer.getvalue() == b""  # less than a block: still in memory
    writer.flush()
    assert gzip.decompress(buffer.getvalue()) == b"first\n"
    writer.write(b"second\n")
    writer.close()
    writer.close()
    assert writer.closed and not buffer.closed
    assert gzip.decompress(buffer.getvalue()) == b"first\nsecond\n"
    with pytest.raises(ValueError, match="closed"):
        writer.write(b"more")


def test_memory_is_bounded() -> None:
    buffer = io.BytesIO()
    with GzipBlockWriter(buffer, jobs=2, block_size=100) as f:
        for line in LINES[:300]:
            f.write(line)
            assert len(f._in_flight) <= 4 and f._pending_size < 100


class Boom(RuntimeError):
    pass


def fail_on_block(monkeypatch: pytest.MonkeyPatch, number: int) -> None:
    """Make the ``number``-th block's compression (counting from 1) raise Boom."""
    calls = []
    real = _compress._compress_block

    def compress(block: bytes, level: int) -> bytes:
        calls.append(1)
        if len(calls) == number:
            raise Boom("compression failed")
        return real(block, level)

    monkeypatch.setattr(_compress, "_compress_block", compress)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_compression_error_surfaces_and_nothing_is_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          jobs: int) -> None:
    monkeypatch.setattr(_compress, "BLOCK_SIZE", 1000)
    fail_on_block(monkeypatch, 5)
    target = tmp_path / "kept.jsonl.gz"
    with pytest.raises(Boom):
        with atomic_output(target) as tmp, open_writer(tmp, jobs=jobs) as f:
            for line in LINES:
                f.write(line)
    assert not target.exists()
    assert not [p for p in os.listdir(tmp_path) if TEMP_MARK in p]  # atomic_output removed its temp


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_error_in_the_last_block_surfaces_on_close(monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    fail_on_block(monkeypatch, 1)
    buffer = io.BytesIO()
    writer = GzipBlockWriter(buffer, jobs=jobs, block_size=1000)
    writer.write(b"short")
    with pytest.raises(Boom):
        writer.close()
    assert writer.closed and not buffer.closed
    writer.close()  # released: no second error


def test_after_an_error_writes_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    fail_on_block(monkeypatch, 2)
    writer = GzipBlockWriter(io.BytesIO(), block_size=10)
    writer.write(b"x" * 10)
    with pytest.raises(Boom):
        writer.write(b"y" * 10)
    with pytest.raises(ValueError, match="failed earlier") as info:
        writer.write(b"z")
    assert isinstance(info.value.__cause__, Boom)
    writer.close()  # the error was raised once; close only releases


def test_a_write_error_of_the_file_surfaces() -> None:
    class Full(io.BytesIO):
        def write(self, data: object) -> int:
            raise OSError(28, "No space left on device")

    writer = GzipBlockWriter(Full(), jobs=2, block_size=10)
    with pytest.raises(OSError, match="No space"):
        for _ in range(20):
            writer.write(b"0123456789")
        writer.close()
    writer.close()


def test_atomic_output_with_the_writer(tmp_path: Path) -> None:
    target = tmp_path / "kept.jsonl.gz"
    with atomic_output(target) as tmp, open_writer(tmp, jobs=2) as f:
        f.write(SMALL)
    assert gzip.decompress(target.read_bytes()) == SMALL
    assert os.listdir(tmp_path) == ["kept.jsonl.gz"]


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="jobs"):
        open_writer(tmp_path / "a.gz", jobs=0)
    with pytest.raises(ValueError, match="level"):
        open_writer(tmp_path / "a.gz", level=10)
    with pytest.raises(ValueError, match="block_size"):
        GzipBlockWriter(io.BytesIO(), block_size=0)
    assert not list(tmp_path.iterdir())  # refused before the file was created


def test_zst_without_zstandard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "zstandard", None)
    with pytest.raises(ImportError, match=r"pip install 'simdup\[zstd\]'"):
        open_writer(tmp_path / "a.jsonl.zst")


@pytest.mark.parametrize("name", ["kept.jsonl.gz", "kept.jsonl"])
def test_corpus_write_kept_with_jobs(tmp_path: Path, name: str) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(SMALL)
    keep = [i % 3 != 0 for i in range(len(LINES))]
    expected = b"".join(line for line, kept in zip(LINES, keep) if kept)
    outputs = []
    for jobs in (1, 2):
        corpus = JsonlCorpus(source)
        assert len(list(corpus.records())) == len(LINES)
        corpus.write_kept(keep, tmp_path / f"{jobs}-{name}", jobs=jobs)
        with open_binary(tmp_path / f"{jobs}-{name}") as f:
            assert f.read() == expected
        outputs.append((tmp_path / f"{jobs}-{name}").read_bytes())
    assert outputs[0] == outputs[1]
    lines = LinesCorpus(source)
    list(lines.records())
    lines.write_kept(keep, tmp_path / f"lines-{name}", jobs=2)
    with open_binary(tmp_path / f"lines-{name}") as f:
        assert f.read() == expected
    if name.endswith(".gz"):
        assert outputs[0] != gzip.compress(expected, 9, mtime=0)  # level 6 now, not gzip's default 9
        assert zlib.decompress(outputs[0], 31) == expected
