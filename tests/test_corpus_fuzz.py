"""Fuzzing the corpus readers: damaged JSON Lines, text, gzip, zstd, WARC and Parquet files.

Each reader gets valid files cut short, with bytes flipped or inserted, and
plain junk. The only exception it may raise is :class:`simdup.corpus.CorpusError`
(naming the file); with ``skip_bad`` it raises nothing, and what
``write_kept`` then writes is whole records only. A short budget runs by
default; ``--run-slow`` runs a long one.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from tempfile import TemporaryDirectory

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simdup.corpus import CorpusError, open_corpus

zstandard = pytest.importorskip("zstandard")

SHORT = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LONG = settings(max_examples=2_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

JSONL = "".join(json.dumps({"id": f"d{i}", "text": f"document {i} " + "word " * (i % 17)}) + "\n"
                for i in range(300)).encode()
LINES = "".join(f"line {i} of the corpus " + "token " * (i % 13) + "\n" for i in range(300)).encode()


def _compress(data: bytes, kind: str) -> bytes:
    if kind == "gz":
        return gzip.compress(data)
    if kind == "zst":
        step = len(data) // 3 + 1  # several frames, as concatenated zstd files have
        return b"".join(zstandard.ZstdCompressor().compress(data[i:i + step]) for i in range(0, len(data), step))
    return data


@st.composite
def damaged(draw: st.DrawFn, valid: bytes) -> bytes:
    """``valid`` cut short, with bytes flipped or inserted, or junk."""
    kind = draw(st.sampled_from(["cut", "flip", "insert", "junk", "whole"]))
    if kind == "junk":
        return draw(st.binary(max_size=600))
    data = bytearray(valid)
    if kind == "cut":
        return bytes(data[:draw(st.integers(0, max(len(data) - 1, 0)))])
    if kind == "flip":
        for _ in range(draw(st.integers(1, 8))):
            at = draw(st.integers(0, len(data) - 1))
            data[at] ^= draw(st.integers(1, 255))
        return bytes(data)
    if kind == "insert":
        at = draw(st.integers(0, len(data)))
        return bytes(data[:at]) + draw(st.binary(min_size=1, max_size=40)) + bytes(data[at:])
    return bytes(data)


def _read(name: str, data: bytes, **kwargs) -> None:
    """Read a damaged file strictly (CorpusError only) and with skip_bad (no error; whole records out)."""
    with TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            list(open_corpus(path, **kwargs).records())
        except CorpusError as exc:
            assert str(path) in str(exc)
        try:
            corpus = open_corpus(path, skip_bad=True, **kwargs)
            records = list(corpus.records())
        except CorpusError:
            assert name.endswith(".parquet")  # Parquet is decoded by whole columns: no record to skip to
            return
        out = Path(folder) / ("out-" + name)
        try:
            corpus.write_kept([True] * len(records), out)
        except CorpusError as exc:  # Parquet is read again to be written: damage found then names the file
            assert name.endswith(".parquet") and str(path) in str(exc) and not out.exists()
            return
        if name.endswith((".jsonl", ".jsonl.gz", ".jsonl.zst")):
            written = out.read_bytes()
            written = gzip.decompress(written) if name.endswith(".gz") else written
            if name.endswith(".zst"):
                written = zstandard.ZstdDecompressor().stream_reader(written, read_across_frames=True).read()
            for n, line in enumerate(written.split(b"\n")[:-1]):  # every written line is a record that was read
                text = line.decode("utf-8", "replace")  # (lines end at \n only; bytes pass through)
                # A byte order mark on the file's first line passes through too; the reader skips it.
                assert isinstance(json.loads(text.removeprefix("\ufeff") if n == 0 else text), dict)


def _fuzz(budget: settings, name: str, valid: bytes) -> None:
    @budget
    @given(data=damaged(valid))
    def check(data: bytes) -> None:
        _read(name, data)

    check()


READERS = [
    pytest.param("c.jsonl", JSONL, id="jsonl"),
    pytest.param("c.jsonl.gz", _compress(JSONL, "gz"), id="jsonl.gz"),
    pytest.param("c.jsonl.zst", _compress(JSONL, "zst"), id="jsonl.zst"),
    pytest.param("c.txt", LINES, id="txt"),
    pytest.param("c.txt.gz", _compress(LINES, "gz"), id="txt.gz"),
    pytest.param("c.txt.zst", _compress(LINES, "zst"), id="txt.zst"),
]


@pytest.mark.parametrize("name, valid", READERS)
def test_line_readers_survive_damage(name: str, valid: bytes) -> None:
    _fuzz(SHORT, name, valid)


@pytest.mark.slow
@pytest.mark.parametrize("name, valid", READERS)
def test_line_readers_survive_damage_long(name: str, valid: bytes) -> None:
    _fuzz(LONG, name, valid)


# -- WARC ----------------------------------------------------------------------------------


def _warc_parts(n: int = 5) -> list[bytes]:
    """``n`` WARC response records, each serialised."""
    warc = pytest.importorskip("fastwarc.warc")
    parts = []
    for i in range(n):
        body = f"<html><body><p>page {i} ".encode() + b"text " * (20 + i) + b"</p></body></html>"
        head = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        rec = warc.WarcRecord()
        rec.init_headers(record_type=warc.WarcRecordType.response)
        rec.headers["WARC-Target-URI"] = f"https://example.com/{i}"
        rec.headers["Content-Type"] = "application/http; msgtype=response"
        rec.set_bytes_content(head + body)
        out = io.BytesIO()
        rec.write(out)
        parts.append(out.getvalue())
    return parts


def _check_warc(name: str, data: bytes) -> None:
    warc = pytest.importorskip("fastwarc.warc")
    with TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            list(open_corpus(path).records())
        except CorpusError as exc:
            assert str(path) in str(exc)
        corpus = open_corpus(path, skip_bad=True)
        records = list(corpus.records())
        out = Path(folder) / "out.warc"
        corpus.write_kept([True] * len(records), out)
        for record in warc.ArchiveIterator(io.BytesIO(out.read_bytes()), parse_http=False):
            assert len(record.reader.read()) == record.content_length  # never a cut-off record


WARCS = [pytest.param("c.warc", "plain", id="warc"), pytest.param("c.warc.gz", "gz", id="warc.gz"),
         pytest.param("c.warc.zst", "zst", id="warc.zst")]


def _warc_bytes(kind: str) -> bytes:
    parts = _warc_parts()
    if kind == "gz":
        return b"".join(gzip.compress(part) for part in parts)  # one member per record, as crawlers write
    return _compress(b"".join(parts), kind)


def _fuzz_warc(budget: settings, name: str, kind: str) -> None:
    pytest.importorskip("fastwarc.warc")

    @budget
    @given(data=damaged(_warc_bytes(kind)))
    def check(data: bytes) -> None:
        _check_warc(name, data)

    check()


@pytest.mark.parametrize("name, kind", WARCS)
def test_warc_reader_survives_damage(name: str, kind: str) -> None:
    _fuzz_warc(SHORT, name, kind)


@pytest.mark.slow
@pytest.mark.parametrize("name, kind", WARCS)
def test_warc_reader_survives_damage_long(name: str, kind: str) -> None:
    _fuzz_warc(LONG, name, kind)


# -- Parquet -------------------------------------------------------------------------------


def _parquet() -> bytes:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    buffer = io.BytesIO()
    pq.write_table(pa.table({"id": [f"d{i}" for i in range(50)], "text": [f"row {i} text" for i in range(50)]}),
                   buffer)
    return buffer.getvalue()


def test_parquet_column_name_that_is_not_utf8_is_a_corpus_error() -> None:
    valid = _parquet()
    name = b"\x18\x02id%"  # the footer's schema element naming the "id" column (found by the long fuzz run)
    assert valid.count(name) == 1, "pyarrow wrote another footer: find the column name again"
    at = valid.index(name) + 2
    _read("c.parquet", valid[:at] + b"\xe9" + valid[at + 1:])


def test_parquet_reader_survives_damage() -> None:
    valid = _parquet()

    @SHORT
    @given(data=damaged(valid))
    def check(data: bytes) -> None:
        _read("c.parquet", data)

    check()


@pytest.mark.slow
def test_parquet_reader_survives_damage_long() -> None:
    valid = _parquet()

    @LONG
    @given(data=damaged(valid))
    def check(data: bytes) -> None:
        _read("c.parquet", data)

    check()
