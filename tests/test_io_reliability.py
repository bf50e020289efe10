"""simdup.corpus and simdup._atomic under damage: truncated and corrupt corpora, atomic outputs, stale temps, the umask.

In process (the command line's view of the same defects is in test_cli_bad_input.py).
"""

from __future__ import annotations

import errno
import gzip
import io
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from simdup import _atomic
from simdup import corpus as simdup_corpus
from simdup._atomic import (
    TEMP_MARK,
    atomic_directory,
    atomic_output,
    atomic_write_bytes,
    check_writable,
    remove_stale_temps,
)
from simdup.corpus import CorpusError, LinesCorpus, open_corpus

zstandard = pytest.importorskip("zstandard")

LINES = "".join(f"document number {i} with some words {i * 7} and more words\n" for i in range(3000)).encode()
JSONL = "".join(json.dumps({"id": f"d{i}", "text": f"text of document {i} " * 20}) + "\n" for i in range(2000)).encode()


def disk_full(monkeypatch) -> None:
    """Make every file simdup.corpus opens for writing fail with ENOSPC, as on a full disk."""
    real_open = simdup_corpus.open_binary

    class Full(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(simdup_corpus, "open_binary", lambda p, mode="rb": Full() if "w" in mode else real_open(p, mode))
    monkeypatch.setattr(simdup_corpus, "open_writer", lambda p, **options: Full())


def _zst(data: bytes, frames: int = 1) -> bytes:
    """zstd with ``frames`` frames (as `zstd` of concatenated files, or a writer that flushes frames)."""
    step = -(-len(data) // frames)
    return b"".join(zstandard.ZstdCompressor().compress(data[i:i + step]) for i in range(0, len(data), step))


def _records(path: Path, **kwargs) -> list:
    return list(open_corpus(path, **kwargs).records())


# -- truncated and corrupt compressed files -----------------------------------------------


@pytest.mark.parametrize("frames", [1, 4])
def test_truncated_zstd_lines_is_an_error_naming_the_file(tmp_path: Path, frames: int) -> None:
    path = tmp_path / "c.txt.zst"
    whole = _zst(LINES, frames)
    path.write_bytes(whole)
    assert len(_records(path)) == 3000
    path.write_bytes(whole[: len(whole) * 2 // 3])  # zstandard's own reader ends quietly here
    with pytest.raises(CorpusError, match=r"c\.txt\.zst: cannot read \(truncated or corrupt"):
        _records(path)


def test_truncated_zstd_jsonl_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl.zst"
    whole = _zst(JSONL, 3)
    path.write_bytes(whole[:-7])
    with pytest.raises(CorpusError, match="zstd frame"):
        _records(path)


def test_truncated_zstd_with_skip_bad_reads_up_to_the_cut_and_counts_it(tmp_path: Path) -> None:
    path = tmp_path / "c.txt.zst"
    whole = _zst(LINES, 4)  # frames of ~750 lines: the first two survive a cut in the third
    path.write_bytes(whole[: len(whole) * 5 // 8])
    corpus = open_corpus(path, skip_bad=True)
    records = list(corpus.records())
    assert corpus.skipped == 1 and len(corpus.warnings) == 1 and "c.txt.zst" in corpus.warnings[0]
    assert 1500 <= len(records) < 3000
    assert all(text == f"document number {i} with some words {i * 7} and more words"
               for i, (_, text) in enumerate(records))  # no cut-off line among them
    out = tmp_path / "out.txt.zst"
    corpus.write_kept([True] * len(records), out)
    assert zstandard.ZstdDecompressor().stream_reader(out.read_bytes()).read() == LINES[: len(
        "".join(f"document number {i} with some words {i * 7} and more words\n" for i in range(len(records))))]


def test_truncated_gzip_with_skip_bad_is_counted(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(gzip.compress(JSONL)[:-100])
    with pytest.raises(CorpusError, match="c.jsonl.gz: cannot read"):
        _records(path)
    corpus = open_corpus(path, skip_bad=True)
    assert len(list(corpus.records())) < 2000 and corpus.skipped == 1


def test_corrupt_gzip_in_the_middle_is_an_error(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(JSONL))
    data[len(data) // 2: len(data) // 2 + 64] = b"\x00" * 64
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(CorpusError, match="c.jsonl.gz"):
        _records(path)


def test_zstd_garbage_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "c.txt.zst"
    path.write_bytes(b"\x28\xb5\x2f\xfd" + os.urandom(200))
    with pytest.raises(CorpusError, match="c.txt.zst"):
        _records(path)


def test_zstd_reader_reads_frames_and_seeks_forward() -> None:
    reader = simdup_corpus.ZstdReader(io.BytesIO(_zst(LINES, 5)))
    assert reader.read(10) == LINES[:10]
    assert reader.seek(1000) == 1000 and reader.tell() == 1000
    assert reader.read() == LINES[1000:]
    with pytest.raises(io.UnsupportedOperation):
        reader.seek(0)


# -- corpus records ------------------------------------------------------------------------


def test_jsonl_null_field_is_reported_as_null(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": 1, "text": null}\n')
    with pytest.raises(CorpusError, match=r"c\.jsonl:1: field 'text' is null"):
        _records(path)


def test_jsonl_deeply_nested_line_is_a_bad_record(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": 1, "text": "fine"}\n' + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(CorpusError, match=r"c\.jsonl:2: JSON nested too deeply"):
        _records(path)
    corpus = open_corpus(path, skip_bad=True)
    assert [t for _, t in corpus.records()] == ["fine"] and corpus.skipped == 1


def test_parquet_null_text_is_an_error_or_skipped_and_not_written(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": ["one two", None, "three four"]}), path)
    with pytest.raises(CorpusError, match="row 1: column 'text' is null"):
        _records(path)
    corpus = open_corpus(path, skip_bad=True)
    assert [i for i, _ in corpus.records()] == ["a", "c"] and corpus.skipped == 1
    corpus.write_kept([False, True], tmp_path / "out.parquet")
    assert pq.read_table(tmp_path / "out.parquet").column("id").to_pylist() == ["c"]


def test_parquet_is_read_and_written_by_batches_across_row_groups(tmp_path: Path, monkeypatch) -> None:
    # Small batches and row groups, so rows, skipped rows and kept rows cross both boundaries;
    # every column of the kept rows is written back, in order, with the file's schema.
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    monkeypatch.setattr(simdup_corpus, "PARQUET_BATCH_ROWS", 7)
    n = 100
    texts = [None if r % 13 == 5 else f"text {r}" for r in range(n)]
    table = pa.table({"url": [f"http://x/{r}" for r in range(n)], "text": texts,
                      "id": [f"d{r}" for r in range(n)], "year": pa.array(range(n), pa.int16())},
                     metadata={b"origin": b"test"})
    path = tmp_path / "c.parquet"
    pq.write_table(table, path, row_group_size=10)
    corpus = open_corpus(path, skip_bad=True)
    records = list(corpus.records())
    readable = [r for r in range(n) if texts[r] is not None]
    assert records == [(f"d{r}", f"text {r}") for r in readable] and corpus.skipped == n - len(readable)
    keep = [r % 3 == 0 for r in readable]
    corpus.write_kept(keep, tmp_path / "out.parquet")
    written = pq.read_table(tmp_path / "out.parquet")
    assert written.to_pylist() == table.take([r for r, k in zip(readable, keep) if k]).to_pylist()
    assert written.schema.equals(table.schema, check_metadata=True)
    with pytest.raises(ValueError, match="keep"):
        corpus.write_kept(keep[:-1], tmp_path / "short.parquet")
    assert not (tmp_path / "short.parquet").exists()


def test_parquet_string_view_columns_are_written_back_with_their_type(tmp_path: Path) -> None:
    # pyarrow cannot filter string or binary views (no take kernel): they are filtered as large
    # strings and cast back. Polars, for one, writes its strings as views.
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    if not hasattr(pa, "string_view"):
        pytest.skip("pyarrow before 16 has no view types")
    path = tmp_path / "c.parquet"
    table = pa.table({"id": pa.array(["a", "b", "c"], pa.string_view()),
                      "text": pa.array(["x y", "y z", "z w"], pa.string_view()),
                      "raw": pa.array([b"1", b"2", b"3"], pa.binary_view()), "n": [1, 2, 3]})
    pq.write_table(table, path)
    corpus = open_corpus(path)
    assert list(corpus.records()) == [("a", "x y"), ("b", "y z"), ("c", "z w")]
    corpus.write_kept([True, False, True], tmp_path / "out.parquet")
    written = pq.read_table(tmp_path / "out.parquet")
    rows = table.to_pylist()
    assert written.schema.equals(table.schema) and written.to_pylist() == [rows[0], rows[2]]


def test_parquet_whose_rows_differ_when_written_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    # The rows are read twice (the id and text columns, then every column): a file whose row
    # count differs the second time (damaged footer, or replaced in between) is refused.
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": ["x", "y", "z"]}), path)
    for rows in (["a", "b"], ["a", "b", "c", "d"]):
        corpus = open_corpus(path)
        list(corpus.records())
        pq.write_table(pa.table({"id": rows, "text": rows}), path)
        with pytest.raises(CorpusError, match=r"c\.parquet: cannot read Parquet \(its rows differ"):
            corpus.write_kept([True] * 3, tmp_path / "out.parquet")
        assert not (tmp_path / "out.parquet").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["c.parquet"]
        pq.write_table(pa.table({"id": ["a", "b", "c"], "text": ["x", "y", "z"]}), path)


def test_parquet_without_rows_is_written_back_empty(tmp_path: Path) -> None:
    # An empty keep list once became pa.array([]), of type null, which Table.filter refuses
    # (found by the long Parquet fuzz test, on a damaged file that decoded to no rows).
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"id": pa.array([], pa.string()), "text": pa.array([], pa.string())}), path)
    corpus = open_corpus(path)
    assert list(corpus.records()) == []
    corpus.write_kept([], tmp_path / "out.parquet")
    written = pq.read_table(tmp_path / "out.parquet")
    assert written.num_rows == 0 and written.column_names == ["id", "text"]


# -- atomic outputs: names, stale temps, errors naming the user's path ---------------------


def test_temp_files_have_a_recognisable_name(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl.gz"
    with atomic_output(target) as tmp:
        assert tmp.name.startswith(f".out.jsonl.gz{TEMP_MARK}{os.getpid()}-") and tmp.name.endswith(".jsonl.gz")
        tmp.write_bytes(b"x")
    with atomic_directory(tmp_path / "dir") as tmp:
        assert tmp.name.startswith(f".dir{TEMP_MARK}{os.getpid()}-")


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temps_of_dead_writers_are_removed_by_the_next_write(tmp_path: Path) -> None:
    dead = _dead_pid()
    stale_file = tmp_path / f".out.jsonl{TEMP_MARK}{dead}-abcd1234.jsonl"
    stale_dir = tmp_path / f".out.jsonl{TEMP_MARK}{dead}-dir00000"
    live = tmp_path / f".out.jsonl{TEMP_MARK}{os.getpid()}-live0000.jsonl"  # a writer still at work
    other = tmp_path / f".other.jsonl{TEMP_MARK}{dead}-abcd1234.jsonl"  # another target's
    for path in (stale_file, live, other):
        path.write_bytes(b"partial")
    stale_dir.mkdir()
    (stale_dir / "f.txt").write_text("x")
    atomic_write_bytes(tmp_path / "out.jsonl", b"new\n")
    assert (tmp_path / "out.jsonl").read_bytes() == b"new\n"
    assert not stale_file.exists() and not stale_dir.exists()
    assert live.exists() and other.exists()
    assert remove_stale_temps(tmp_path / "other.jsonl") == [other]


def test_enospc_while_writing_names_the_output_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_bytes(b"old\n")
    with pytest.raises(OSError) as info, atomic_output(target) as tmp, open(tmp, "wb") as f:
        f.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert info.value.filename == str(target)
    assert target.read_bytes() == b"old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_an_error_about_the_temp_file_names_the_output(tmp_path: Path, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / ".out.jsonl.simdup-tmp-1-x"))

    monkeypatch.setattr(_atomic.tempfile, "mkstemp", refuse)
    with pytest.raises(PermissionError) as info:
        atomic_write_bytes(tmp_path / "out.jsonl", b"x")
    assert info.value.filename == str(tmp_path / "out.jsonl")
    with pytest.raises(PermissionError) as info:
        _atomic.check_writable(tmp_path / "out.jsonl")
    assert info.value.filename == str(tmp_path / "out.jsonl")


def test_reading_the_umask_does_not_change_it(tmp_path: Path, monkeypatch) -> None:
    if not Path("/proc/self/status").exists():
        pytest.skip("reads /proc/self/status (Linux)")
    mask = os.umask(0o027)
    try:
        def no_umask(value: int) -> int:  # os.umask sets the mask process-wide: racy across threads
            raise AssertionError("os.umask() called while writing")

        monkeypatch.setattr(os, "umask", no_umask)
        atomic_write_bytes(tmp_path / "f", b"x")
        with atomic_directory(tmp_path / "d"):
            pass
    finally:
        monkeypatch.undo()
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o750


def test_concurrent_writers_never_create_world_writable_files(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    try:
        errors: list[Exception] = []

        def write(n: int) -> None:
            try:
                for i in range(100):
                    atomic_write_bytes(tmp_path / f"f{n}-{i}", b"x")
            except Exception as exc:  # noqa: BLE001 - reported below, from the main thread
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert os.umask(0o022) == 0o022  # never left at another value
        modes = {stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
        assert modes == {0o644}
    finally:
        os.umask(mask)


def test_lines_corpus_write_error_is_not_reported_as_input_damage(tmp_path: Path, monkeypatch) -> None:
    src = tmp_path / "c.txt.gz"
    src.write_bytes(gzip.compress(LINES))
    corpus = LinesCorpus(src)
    n = len(list(corpus.records()))
    disk_full(monkeypatch)
    with pytest.raises(OSError) as info:
        corpus.write_kept([True] * n, tmp_path / "out.txt.gz")
    assert not isinstance(info.value, CorpusError) and info.value.filename == str(tmp_path / "out.txt.gz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.txt.gz"]


def test_atomic_output_refuses_to_replace_a_fifo(tmp_path: Path) -> None:
    # The rename would replace the pipe (a device, run as root) with a plain file
    fifo = tmp_path / "out.bin"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file") as info:
        atomic_write_bytes(fifo, b"data")
    assert info.value.filename == str(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        check_writable(fifo)
    assert fifo.is_fifo() and os.listdir(tmp_path) == ["out.bin"]


def test_jsonl_starting_with_a_byte_order_mark_reads_its_first_record(tmp_path: Path) -> None:
    # json.loads refuses the BOM: the first record was an error, or with skip_bad silently dropped
    path = tmp_path / "c.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + JSONL)
    corpus = open_corpus(path, skip_bad=True)
    records = list(corpus.records())
    assert records[0] == ("d0", "text of document 0 " * 20) and len(records) == 2000 and corpus.skipped == 0
    out = tmp_path / "o.jsonl"
    corpus.write_kept([True] * 2000, out)
    assert out.read_bytes() == path.read_bytes()


@pytest.mark.parametrize("char", ["a", "\u00e9"])
def test_a_long_valid_output_name_is_written_and_its_stale_temps_removed(tmp_path: Path, char: str) -> None:
    # The temp name (".NAME.simdup-tmp-PID-XXXXXXXX.SUFFIX") passed the file system's 255-byte limit:
    # a valid output name of 200-255 bytes was refused with "File name too long"
    target = tmp_path / (char * (240 // len(char.encode())) + ".jsonl.gz")
    assert len(os.fsencode(target.name)) <= 255
    check_writable(target)
    with atomic_output(target) as tmp:
        assert len(os.fsencode(tmp.name)) <= 255 and tmp.name.endswith(".jsonl.gz")
        with gzip.open(tmp, "wb") as f:
            f.write(b"x\n")
        dead_tmp = tmp.with_name(tmp.name.replace(f"{TEMP_MARK}{os.getpid()}-", f"{TEMP_MARK}{_dead_pid()}-"))
    dead_tmp.write_bytes(b"partial")  # as a killed writer of the same target would leave it
    assert remove_stale_temps(target) == [dead_tmp]
    assert gzip.decompress(target.read_bytes()) == b"x\n" and os.listdir(tmp_path) == [target.name]
