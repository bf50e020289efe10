"""The command line against bad input, bad paths and interruptions: a catalogue, one case a test.

Each case runs the installed `simdup` in a subprocess (or, where a failure
must be injected, `simdup.cli.main` in process) and checks the promise of
the README's "Command line" section: one line `simdup: error: ...` on
stderr naming the file, a non-zero exit, no traceback, and nothing written
(no output, no partial output, no temp file) unless the run succeeded.
"""

from __future__ import annotations

import errno
import gzip
import io
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_cli import simdup_cmd
from test_io_reliability import disk_full

import simdup
from simdup import SimHasher
from simdup import corpus as simdup_corpus
from simdup._atomic import TEMP_MARK
from simdup.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "reuters-sample.jsonl.gz"

zstandard = pytest.importorskip("zstandard")


def run(*args: object, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run([simdup_cmd(), *map(str, args)], check=False, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kwargs)


def one_line_error(result: subprocess.CompletedProcess[str], *fragments: object, status: int = 1) -> None:
    """The run failed with `status` and exactly one line `simdup: error: ...` holding every fragment."""
    assert result.returncode == status, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("simdup: error:") or (status == 2 and "error:" in lines[0]), lines
    for fragment in fragments:
        assert str(fragment) in lines[0], (fragment, lines[0])


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if TEMP_MARK in p.name]


def texts(n: int = 60) -> list[str]:
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    return [r["text"].replace("\n", " ") for r in records if len(r["text"]) > 200][:n]


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    """A small JSON Lines corpus with a few exact repeats."""
    docs = texts(40)
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(docs + docs[:5])))
    return path


# -- 1. an output never names an input or another output -------------------------------------


def test_dedup_clusters_naming_the_input_is_refused(corpus: Path) -> None:
    before = corpus.read_bytes()
    one_line_error(run("dedup", corpus, "-o", corpus.with_name("o.jsonl"), "--clusters", corpus),
                   corpus, "--clusters", "the input")
    assert corpus.read_bytes() == before and not corpus.with_name("o.jsonl").exists()


def test_dedup_output_naming_the_input_is_refused(corpus: Path) -> None:
    before = corpus.read_bytes()
    one_line_error(run("dedup", corpus, "-o", corpus), "-o would overwrite the input")
    assert corpus.read_bytes() == before


def test_dedup_clusters_and_output_naming_one_file_is_refused(corpus: Path) -> None:
    out = corpus.with_name("x.jsonl")
    one_line_error(run("dedup", corpus, "-o", out, "--clusters", out), out, "-o and --clusters")
    assert not out.exists()


def test_dedup_output_hard_link_of_the_input_is_refused(corpus: Path) -> None:
    link = corpus.with_name("link.jsonl")
    os.link(corpus, link)
    before = corpus.read_bytes()
    one_line_error(run("dedup", corpus, "-o", link), "-o would overwrite the input")
    assert corpus.read_bytes() == before


def test_dedup_clusters_through_a_symlink_to_the_input_is_refused(corpus: Path) -> None:
    link = corpus.with_name("link.csv")
    link.symlink_to(corpus)
    before = corpus.read_bytes()
    one_line_error(run("dedup", corpus, "-o", corpus.with_name("o.jsonl"), "--clusters", link), "--clusters")
    assert corpus.read_bytes() == before


def test_dedup_clusters_naming_the_model_is_refused(corpus: Path) -> None:
    model = corpus.with_name("m.npz")
    SimHasher().fit(texts(20)).save(model)
    before = model.read_bytes()
    one_line_error(run("dedup", corpus, "--model", model, "-o", corpus.with_name("o.jsonl"), "--clusters", model),
                   "--model")
    assert model.read_bytes() == before


def test_dedup_output_inside_the_input_directory_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "pages"
    folder.mkdir()
    for n, text in enumerate(texts(5)):
        (folder / f"{n}.txt").write_text(text)
    one_line_error(run("dedup", folder, "-o", folder / "out"), "the input")
    assert not (folder / "out").exists()


def test_fit_output_naming_the_corpus_is_refused(corpus: Path) -> None:
    before = corpus.read_bytes()
    one_line_error(run("fit", corpus, "-o", corpus), "-o would overwrite the input")
    assert corpus.read_bytes() == before


def test_index_build_output_naming_the_corpus_is_refused(corpus: Path) -> None:
    before = corpus.read_bytes()
    one_line_error(run("index", "build", corpus, "-o", corpus), "the index would overwrite the input")
    assert corpus.read_bytes() == before


def test_hash_printing_into_its_own_input_is_refused(corpus: Path) -> None:
    before = corpus.read_bytes()
    with open(corpus, "a") as out:
        result = subprocess.run([simdup_cmd(), "hash", str(corpus)], check=False, stdout=out, stderr=subprocess.PIPE, text=True,
                                timeout=60)
    assert result.returncode == 1 and "standard output is the input" in result.stderr
    assert corpus.read_bytes() == before


def test_index_query_printing_into_its_query_file_is_refused(corpus: Path) -> None:
    index = corpus.with_name("i.idx")
    assert run("index", "build", "-q", corpus, "-o", index).returncode == 0
    query = corpus.with_name("q.jsonl")
    query.write_text(corpus.read_text().splitlines()[0] + "\n")
    with open(query, "a") as out:
        result = subprocess.run([simdup_cmd(), "index", "query", str(index), str(query)], check=False, stdout=out,
                                stderr=subprocess.PIPE, text=True, timeout=60)
    assert result.returncode == 1 and "standard output is the input" in result.stderr
    assert query.read_text().count("\n") == 1


# -- 2. truncated or corrupt input ------------------------------------------------------------


def _lines_corpus() -> bytes:
    return "".join(t + "\n" for t in texts(60) * 3).encode()


def test_truncated_txt_zst_is_an_error_naming_the_file(tmp_path: Path) -> None:
    data = _lines_corpus()
    whole = zstandard.ZstdCompressor().compress(data)
    path = tmp_path / "c.txt.zst"
    path.write_bytes(whole[: len(whole) // 2])
    one_line_error(run("dedup", path, "-o", tmp_path / "o.txt.zst"), path, "truncated or corrupt")
    assert not (tmp_path / "o.txt.zst").exists() and no_temp_files(tmp_path)


def test_truncated_jsonl_zst_is_an_error_for_hash(tmp_path: Path) -> None:
    whole = zstandard.ZstdCompressor().compress(gzip.decompress(SAMPLE.read_bytes()))
    path = tmp_path / "c.jsonl.zst"
    path.write_bytes(whole[:-50])
    one_line_error(run("hash", path), path, "zstd frame")


def test_truncated_jsonl_gz_is_an_error_for_dedup(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(SAMPLE.read_bytes()[:-3000])
    one_line_error(run("dedup", path, "-o", tmp_path / "o.jsonl.gz"), path, "cannot read")
    assert not (tmp_path / "o.jsonl.gz").exists()


def test_truncated_zst_with_skip_bad_warns_once_and_writes_whole_lines(tmp_path: Path) -> None:
    lines = _lines_corpus().splitlines(keepends=True)
    step = len(lines) // 4
    path = tmp_path / "c.txt.zst"
    frames = [zstandard.ZstdCompressor().compress(b"".join(lines[i:i + step])) for i in range(0, len(lines), step)]
    whole = b"".join(frames)
    path.write_bytes(whole[: len(frames[0]) + len(frames[1]) + 20])
    out = tmp_path / "o.txt"
    result = run("dedup", path, "-o", out, "--skip-bad", "--json", "--no-verify")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("simdup: warning:")]
    assert len(warnings) == 1 and str(path) in warnings[0]
    assert json.loads(result.stdout)["skipped_bad_records"] == 1
    assert set(out.read_bytes().splitlines(keepends=True)) <= set(lines[: 2 * step])


def test_corrupt_gzip_is_an_error(tmp_path: Path) -> None:
    data = bytearray(SAMPLE.read_bytes())
    data[2000:2100] = bytes(100)
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(bytes(data))
    one_line_error(run("hash", path), path)


# -- WARC: truncated plain, gzip and zstd files -------------------------------------------


def _warc_records(n: int = 6) -> list[bytes]:
    warc = pytest.importorskip("fastwarc.warc")
    pytest.importorskip("resiliparse")
    out = []
    for i, text in enumerate(texts(n)):
        body = f"<html><head><title>t{i}</title></head><body><article><p>{text}</p></article></body></html>".encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {len(body)}\r\n\r\n"
        rec = warc.WarcRecord()
        rec.init_headers(record_type=warc.WarcRecordType.response)
        rec.headers["WARC-Target-URI"] = f"https://example.com/{i}"
        rec.headers["Content-Type"] = "application/http; msgtype=response"
        rec.set_bytes_content(head.encode() + body)
        buffer = io.BytesIO()
        rec.write(buffer)
        out.append(buffer.getvalue())
    return out


def _cut_warc(tmp_path: Path, kind: str) -> tuple[Path, list[bytes]]:
    records = _warc_records()
    if kind == "warc":
        data = b"".join(records)
        data = data[: len(data) - len(records[-1]) // 2]  # the last record loses half its block
    elif kind == "warc.gz":
        members = [gzip.compress(r) for r in records]
        data = b"".join(members)[: sum(map(len, members[:-1])) + len(members[-1]) // 2]
    else:
        data = zstandard.ZstdCompressor().compress(b"".join(records))
        data = data[: len(data) * 3 // 4]
    path = tmp_path / f"crawl.{kind}"
    path.write_bytes(data)
    return path, records


@pytest.mark.parametrize("kind", ["warc", "warc.gz", "warc.zst"])
def test_truncated_warc_is_an_error_naming_the_file(tmp_path: Path, kind: str) -> None:
    path, _ = _cut_warc(tmp_path, kind)
    out = tmp_path / "out.warc.gz"
    one_line_error(run("dedup", path, "--keep-warc", out, "--clusters", tmp_path / "c.csv"), path, "cannot read WARC")
    assert not out.exists() and not (tmp_path / "c.csv").exists()


@pytest.mark.parametrize("kind", ["warc", "warc.gz"])
def test_keep_warc_with_skip_bad_never_writes_a_cut_off_record(tmp_path: Path, kind: str) -> None:
    warc = pytest.importorskip("fastwarc.warc")
    path, records = _cut_warc(tmp_path, kind)
    out = tmp_path / "out.warc"
    result = run("dedup", path, "--keep-warc", out, "--skip-bad", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["skipped_bad_records"] == 1 and "simdup: warning:" in result.stderr
    written = out.read_bytes()
    assert written == b"".join(records[:-1])  # every whole record (all distinct), none of the cut one
    for rec in warc.ArchiveIterator(io.BytesIO(written), parse_http=False):
        assert len(rec.reader.read()) == rec.content_length


def test_warc_cut_inside_a_record_header_is_an_error_and_never_written(tmp_path: Path) -> None:
    # FastWARC yields a record whose header was cut off (no Content-Length) as a whole, empty record
    records = _warc_records()
    data = b"".join(records)
    path = tmp_path / "crawl.warc"
    path.write_bytes(data[: len(data) - len(records[-1]) + 40])  # the last record keeps 40 header bytes
    out = tmp_path / "out.warc"
    one_line_error(run("dedup", path, "--keep-warc", out), path, "cannot read WARC")
    assert not out.exists()
    result = run("dedup", path, "--keep-warc", out, "--skip-bad", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["skipped_bad_records"] == 1 and "simdup: warning:" in result.stderr
    assert out.read_bytes() == b"".join(records[:-1])


# -- 4. every output checked before the input is read ------------------------------------------


def test_clusters_in_a_missing_directory_fails_before_writing_the_output(corpus: Path) -> None:
    out = corpus.with_name("o.jsonl")
    missing = corpus.parent / "no-such-dir" / "c.csv"
    one_line_error(run("dedup", corpus, "-o", out, "--clusters", missing), "no-such-dir")
    assert not out.exists()


def test_clusters_naming_a_fifo_is_refused_and_the_fifo_kept(corpus: Path) -> None:
    # The rename of the temp file would replace the pipe (or, run as root, /dev/null) with a plain file
    fifo = corpus.with_name("clusters.csv")
    os.mkfifo(fifo)
    out = corpus.with_name("o.jsonl")
    one_line_error(run("dedup", corpus, "-o", out, "--clusters", fifo), fifo, "not a regular file")
    assert fifo.is_fifo() and not out.exists()


def test_character_device_output_is_refused(corpus: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can make a device node (and only root could replace one)")
    device = corpus.with_name("null.npz")
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    one_line_error(run("fit", corpus, "-o", device), device, "not a regular file")
    assert device.is_char_device()


@pytest.mark.parametrize("command", ["clusters", "fit", "index"])
def test_dash_as_an_output_is_refused_not_written_as_a_file(corpus: Path, command: str) -> None:
    args = {"clusters": ["dedup", corpus, "-o", "o.jsonl", "--clusters", "-"], "fit": ["fit", corpus, "-o", "-"],
            "index": ["index", "build", corpus, "-o", "-"]}[command]
    one_line_error(run(*args, cwd=corpus.parent), "standard output is not supported")
    assert not (corpus.parent / "-").exists() and not (corpus.parent / "o.jsonl").exists()


def test_unsupported_warc_output_is_refused_before_reading(tmp_path: Path) -> None:
    bad = tmp_path / "crawl.warc.gz"
    bad.write_bytes(b"not a WARC at all " * 10)  # reading it would fail: the output's error must come first
    one_line_error(run("dedup", bad, "-o", tmp_path / "out.warc.zst"), "out.warc.zst", ".warc or .warc.gz")


def test_output_in_a_read_only_directory_names_the_output(corpus: Path, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        folder = Path("/sys")  # root writes anywhere chmod forbids; sysfs refuses new files even to root
        if not folder.is_dir() or os.access(folder, os.W_OK) is False:
            pytest.skip("no read-only directory for root here")
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
    out = folder / "o.jsonl"
    result = run("dedup", corpus, "-o", out)
    one_line_error(result, out)
    assert TEMP_MARK not in result.stderr and "/." not in result.stderr


def test_output_that_is_a_directory_is_refused(corpus: Path) -> None:
    folder = corpus.parent / "d.jsonl"
    folder.mkdir()
    one_line_error(run("dedup", corpus, "-o", folder), "is a directory")


def test_enospc_while_writing_names_the_output_and_leaves_nothing(corpus: Path, monkeypatch, capsys) -> None:
    disk_full(monkeypatch)
    out = corpus.with_name("o.jsonl")
    assert main(["dedup", str(corpus), "-o", str(out), "-q"]) == 1
    assert capsys.readouterr().err == f"simdup: error: {out}: No space left on device\n"
    assert sorted(p.name for p in corpus.parent.iterdir()) == ["c.jsonl"]


# -- 5. SIGTERM like SIGINT; stale temp files removed -------------------------------------------


def test_sigterm_while_writing_removes_the_temp_file(corpus: Path, monkeypatch, capsys) -> None:
    """The signal arrives while the output is half written (delivered in process, deterministically)."""
    real_open = simdup_corpus.open_binary

    class Killing(io.BytesIO):
        def write(self, data) -> int:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # the handler runs here
            return super().write(data)

    monkeypatch.setattr(simdup_corpus, "open_binary", lambda p, mode="rb": Killing() if "w" in mode else real_open(p, mode))
    monkeypatch.setattr(simdup_corpus, "open_writer", lambda p, **options: Killing())
    out = corpus.with_name("o.jsonl")
    assert main(["dedup", str(corpus), "-o", str(out), "-q"]) == 128 + signal.SIGTERM
    assert capsys.readouterr().err == "simdup: terminated\n"
    assert sorted(p.name for p in corpus.parent.iterdir()) == ["c.jsonl"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # main() restores the handler


def test_sigterm_in_a_subprocess_exits_143_with_one_line(tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    docs = texts(60)
    big.write_text("".join(json.dumps({"id": i, "text": docs[i % 60] + f" {i}"}) + "\n" for i in range(40_000)))
    child = subprocess.Popen([simdup_cmd(), "dedup", str(big), "-o", str(tmp_path / "o.jsonl")],
                             stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 128 + signal.SIGTERM and err == "simdup: terminated\n"
    assert no_temp_files(tmp_path) and not (tmp_path / "o.jsonl").exists()


def test_stale_temp_of_a_killed_run_is_removed_by_the_next_run(corpus: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = corpus.parent / f".o.jsonl{TEMP_MARK}{dead.pid}-k1ll3d00.jsonl"
    stale.write_text('{"id": "half a rec')
    assert run("dedup", corpus, "-o", corpus.with_name("o.jsonl")).returncode == 0
    assert not stale.exists() and no_temp_files(corpus.parent)


# -- 3. index add fails while writing: index and names change together --------------------------


def _split_corpus(corpus: Path) -> tuple[Path, Path]:
    lines = corpus.read_text().splitlines(keepends=True)
    first, second = corpus.with_name("first.jsonl"), corpus.with_name("second.jsonl")
    first.write_text("".join(lines[:20]))
    second.write_text("".join(lines[20:40]))
    return first, second


def test_index_add_failing_while_saving_changes_neither_index_nor_names(corpus: Path, monkeypatch, capsys) -> None:
    first, second = _split_corpus(corpus)
    index = corpus.with_name("i.idx")
    names = corpus.with_name("i.idx.names.json")
    assert main(["index", "build", "-q", str(first), "-o", str(index)]) == 0
    before = (index.read_bytes(), names.read_bytes())

    def full_disk(self, path, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(simdup.SimHashIndex, "save", full_disk)
    assert main(["index", "add", "-q", str(index), str(second)]) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert (index.read_bytes(), names.read_bytes()) == before
    monkeypatch.undo()
    assert main(["index", "add", "-q", str(index), str(second)]) == 0  # the retry is not "already in the index"
    assert json.loads(names.read_text())["names"].__len__() == 40


def test_names_left_ahead_of_the_index_by_an_interrupted_add_are_dropped_on_load(corpus: Path) -> None:
    """The state a kill between the two renames leaves: new names, old index."""
    first, second = _split_corpus(corpus)
    index = corpus.with_name("i.idx")
    assert run("index", "build", "-q", first, "-o", index).returncode == 0
    old_index = index.read_bytes()
    assert run("index", "add", "-q", index, second).returncode == 0
    index.write_bytes(old_index)
    info = run("index", "info", index)
    assert info.returncode == 0 and json.loads(info.stdout)["documents"] == 20
    assert run("index", "add", "-q", index, second).returncode == 0
    assert json.loads(run("index", "info", index).stdout)["documents"] == 40


def test_names_file_of_another_index_is_an_error(corpus: Path) -> None:
    first, second = _split_corpus(corpus)
    a, b = corpus.with_name("a.idx"), corpus.with_name("b.idx")
    assert run("index", "build", "-q", first, "-o", a).returncode == 0
    assert run("index", "build", "-q", second, "-o", b).returncode == 0
    shutil.copy(corpus.with_name("b.idx.names.json"), corpus.with_name("a.idx.names.json"))
    one_line_error(run("index", "info", a), "a.idx.names.json", "another index")


# -- 7. index commands honour --input-type, --html-content and --model --------------------------


def _pages(tmp_path: Path) -> tuple[Path, list[str]]:
    pytest.importorskip("resiliparse")
    pages = [f"<html><head><title>Site</title></head><body><nav>Home About Contact Login</nav><article><p>{t}"
             "</p></article><footer>Copyright example site all rights reserved</footer></body></html>"
             for t in texts(8)]
    path = tmp_path / "pages.jsonl"
    path.write_text("".join(json.dumps({"id": f"p{i}", "text": p}) + "\n" for i, p in enumerate(pages)))
    return path, pages


def test_index_build_honours_input_type_html(tmp_path: Path) -> None:
    # Pages that do not start like HTML: auto-detection reads them as text (markup and all);
    # only an honoured --input-type html extracts their text.
    pytest.importorskip("resiliparse")
    pages = [f"{t[:80]} <div><nav>Home About Contact Login</nav><article><p>{t}</p></article>"
             "<footer>Copyright example site all rights reserved</footer></div>" for t in texts(8)]
    path = tmp_path / "pages.jsonl"
    path.write_text("".join(json.dumps({"id": f"p{i}", "text": p}) + "\n" for i, p in enumerate(pages)))
    assert not simdup.text.html.looks_like_html(pages[3])
    index = tmp_path / "i.idx"
    assert run("index", "build", "-q", "--input-type", "html", path, "-o", index).returncode == 0
    # the page's extracted text, as a plain-text query, is the same document
    extracted = tmp_path / "q.jsonl"
    extracted.write_text(json.dumps({"id": "q", "text": simdup.text.html.html_to_text(pages[3])}) + "\n")
    result = run("index", "query", "-q", "--input-type", "text", index, extracted)
    assert result.returncode == 0, result.stderr
    assert "q\tp3\t0" in result.stdout.splitlines()


def test_index_query_honours_html_content_all(tmp_path: Path) -> None:
    path, pages = _pages(tmp_path)
    index = tmp_path / "i.idx"
    assert run("index", "build", "-q", "--input-type", "html", "--html-content", "all", path, "-o", index
               ).returncode == 0
    query = tmp_path / "q.jsonl"
    query.write_text(json.dumps({"id": "q", "text": simdup.text.html.html_to_text(pages[2], "all")}) + "\n")
    result = run("index", "query", "-q", "--input-type", "text", index, query)
    assert "q\tp2\t0" in result.stdout.splitlines(), result.stderr


def test_index_add_refuses_another_model(corpus: Path) -> None:
    model = corpus.with_name("m.npz")
    SimHasher().fit(texts(20)).save(model)
    index = corpus.with_name("i.idx")
    first, second = _split_corpus(corpus)
    assert run("index", "build", "-q", first, "-o", index).returncode == 0
    one_line_error(run("index", "add", "--model", model, index, second), "--model", "embedded model")
    one_line_error(run("index", "query", "--model", model, index, second), "--model")


def test_index_with_a_model_uses_it_for_queries(corpus: Path) -> None:
    model = corpus.with_name("m.npz")
    SimHasher(ngram_range=(1, 2)).fit(texts(60)).save(model)
    index = corpus.with_name("i.idx")
    assert run("index", "build", "-q", "--model", model, corpus, "-o", index).returncode == 0
    query = corpus.with_name("q.jsonl")
    text = json.loads(corpus.read_text().splitlines()[7])["text"]
    query.write_text(json.dumps({"id": "q", "text": text}) + "\n")
    result = run("index", "query", "-q", "--model", model, index, query)
    assert "q\td7\t0" in result.stdout.splitlines(), result.stderr


def test_index_build_and_query_on_a_warc(tmp_path: Path) -> None:
    path = tmp_path / "crawl.warc.gz"
    path.write_bytes(b"".join(gzip.compress(r) for r in _warc_records()))
    index = tmp_path / "i.idx"
    build = run("index", "build", "-q", path, "-o", index)
    assert build.returncode == 0, build.stderr
    result = run("index", "query", "-q", index, path)
    assert result.returncode == 0, result.stderr
    assert "https://example.com/2\thttps://example.com/2\t0" in result.stdout.splitlines()


def test_fit_on_a_warc_works_and_text_input_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "crawl.warc"
    path.write_bytes(b"".join(_warc_records()))
    result = run("fit", "-q", path, "-o", tmp_path / "m.npz")
    assert result.returncode == 0, result.stderr
    assert SimHasher.load(tmp_path / "m.npz").n_docs_ == 6
    one_line_error(run("fit", "--input-type", "text", path, "-o", tmp_path / "m2.npz"), "--input-type text")
    one_line_error(run("index", "build", "--input-type", "text", path, "-o", tmp_path / "i.idx"), "WARC")


def test_fit_on_a_warc_and_a_jsonl_with_text_input_is_refused(tmp_path: Path, corpus: Path) -> None:
    # Only a WARC alone was checked: with another corpus its (page, content_type) pairs reached a text hasher
    path = tmp_path / "crawl.warc"
    path.write_bytes(b"".join(_warc_records()))
    one_line_error(run("fit", "--input-type", "text", path, corpus, "-o", tmp_path / "m.npz"), "--input-type text")
    assert not (tmp_path / "m.npz").exists()


# -- 8. hash and compare read compressed and container files through the corpus readers ----------


def test_hash_of_a_gzip_or_zstd_file_is_the_hash_of_its_text(tmp_path: Path) -> None:
    text = texts(1)[0]
    (tmp_path / "a.txt").write_text(text)
    (tmp_path / "a.txt.gz").write_bytes(gzip.compress(text.encode()))
    (tmp_path / "a.html.zst").write_bytes(zstandard.ZstdCompressor().compress(text.encode()))
    result = run("hash", tmp_path / "a.txt", tmp_path / "a.txt.gz", tmp_path / "a.html.zst")
    fps = {line.split("\t")[0] for line in result.stdout.splitlines()}
    assert result.returncode == 0 and fps == {f"{simdup.simhash(text):016x}"}


def test_hash_of_a_truncated_gzip_document_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "a.html.gz"
    path.write_bytes(gzip.compress(" ".join(texts(5)).encode())[:-30])
    one_line_error(run("hash", path), path, "truncated or corrupt")


def test_hash_of_parquet_is_one_line_per_row(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    docs = texts(3)
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": docs}), tmp_path / "c.parquet")
    result = run("hash", tmp_path / "c.parquet")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{simdup.simhash(t):016x}\t{i}" for i, t in zip("abc", docs)]


def test_hash_of_a_warc_is_one_line_per_page(tmp_path: Path) -> None:
    path = tmp_path / "crawl.warc.gz"
    records = _warc_records(3)
    path.write_bytes(b"".join(gzip.compress(r) for r in records))
    result = run("hash", path)
    assert result.returncode == 0, result.stderr
    names = [line.split("\t")[1] for line in result.stdout.splitlines()]
    assert names == [f"https://example.com/{i}" for i in range(3)]
    body = records[1].split(b"\r\n\r\n", 2)[2]
    assert result.stdout.splitlines()[1].split("\t")[0] == f"{simdup.simhash(body, input='html'):016x}"


def test_compare_reads_compressed_files_and_refuses_corpora(tmp_path: Path) -> None:
    text = texts(1)[0]
    (tmp_path / "a.txt").write_text(text)
    (tmp_path / "b.txt.zst").write_bytes(zstandard.ZstdCompressor().compress(text.encode()))
    result = run("compare", tmp_path / "a.txt", tmp_path / "b.txt.zst")
    assert result.returncode == 0 and "distance 0" in result.stdout
    (tmp_path / "c.warc.gz").write_bytes(b"".join(gzip.compress(r) for r in _warc_records(2)))
    one_line_error(run("compare", tmp_path / "a.txt", tmp_path / "c.warc.gz"), "c.warc.gz", "simdup hash")


# -- 12. a FIFO is read once or refused -------------------------------------------------------


def _fifo(tmp_path: Path, name: str, data: bytes) -> Path:
    fifo = tmp_path / name
    os.mkfifo(fifo)

    def feed() -> None:
        try:
            with open(fifo, "wb") as f:
                f.write(data)
        except OSError:
            pass

    threading.Thread(target=feed, daemon=True).start()
    return fifo


def test_dedup_of_a_fifo_is_refused_not_hung(corpus: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    one_line_error(run("dedup", fifo, "-o", tmp_path / "o.jsonl", timeout=30), fifo, "not a regular file")


def test_hash_of_a_fifo_reads_it_once(corpus: Path, tmp_path: Path) -> None:
    fifo = _fifo(tmp_path, "pipe.jsonl", corpus.read_bytes())
    result = run("hash", fifo, timeout=30)
    assert result.returncode == 0 and len(result.stdout.splitlines()) == 45


def test_warc_fifo_is_refused_clearly(tmp_path: Path) -> None:
    fifo = _fifo(tmp_path, "pipe.warc", b"".join(_warc_records(2)))
    one_line_error(run("index", "build", fifo, "-o", tmp_path / "i.idx", timeout=30), fifo, "not a pipe")


# -- 14. deep JSON and wrong-shaped names files -------------------------------------------------


def test_deeply_nested_json_line_is_a_one_line_error_or_skipped(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    good = "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts(5)))
    path.write_text(good + '{"id": 9, "text": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    one_line_error(run("dedup", path, "-o", tmp_path / "o.jsonl"), f"{path}:6", "nested too deeply")
    result = run("dedup", path, "-o", tmp_path / "o.jsonl", "--skip-bad", "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["skipped_bad_records"] == 1


@pytest.mark.parametrize("names", [
    pytest.param("[1, 2, 3]", id="list"),
    pytest.param('{"model": null, "names": ["a"]}', id="names-a-list"),
    pytest.param('{"model": 5, "names": {}}', id="model-a-number"),
    pytest.param('{"model": null, "names": {"zz": "a"}}', id="key-not-hex"),
    pytest.param('{"model": null, "names": {"00000000000000ff": 7}}', id="name-not-text"),
    pytest.param("[" * 100_000 + "]" * 100_000, id="nested-deep"),
    pytest.param("{not json", id="not-json"),
])
def test_wrong_names_file_is_a_one_line_error(corpus: Path, names: str) -> None:
    index = corpus.with_name("i.idx")
    assert run("index", "build", "-q", corpus, "-o", index).returncode == 0
    corpus.with_name("i.idx.names.json").write_text(names)
    one_line_error(run("index", "info", index), "i.idx.names.json")


# -- 17. messages -----------------------------------------------------------------------------


def test_null_text_field_is_reported_as_null(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": 1, "text": null}\n')
    one_line_error(run("hash", path), f"{path}:1: field 'text' is null")


def test_parquet_null_text_is_skipped_with_skip_bad(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    docs = texts(6)
    pq.write_table(pa.table({"id": list("abcdefg"), "text": [*docs[:3], None, *docs[3:]]}), tmp_path / "c.parquet")
    one_line_error(run("dedup", tmp_path / "c.parquet", "-o", tmp_path / "o.parquet"), "row 3", "is null")
    result = run("dedup", tmp_path / "c.parquet", "-o", tmp_path / "o.parquet", "--skip-bad", "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["skipped_bad_records"] == 1
    assert "d" not in pq.read_table(tmp_path / "o.parquet").column("id").to_pylist()


@pytest.mark.parametrize("option", ["--workers", "--split"])
def test_dask_options_without_dask_are_usage_errors(corpus: Path, option: str) -> None:
    result = run("dedup", corpus, "-o", corpus.with_name("o.jsonl"), option, "2")
    assert result.returncode == 2 and f"{option} sizes a Dask run: it needs --dask" in result.stderr


def test_min_df_keeping_no_terms_warns(corpus: Path) -> None:
    result = run("fit", "-q", corpus, "-o", corpus.with_name("m.npz"), "--min-df", "1000")
    assert result.returncode == 0 and "simdup: warning: --min-df 1000 keeps no terms" in result.stderr


def test_jieba_does_not_log_through_quiet(tmp_path: Path) -> None:
    pytest.importorskip("jieba")
    path = tmp_path / "zh.txt"
    path.write_text("今天天气很好，我们去公园散步。\n明天下雨，我们在家看书。\n今天天气很好，我们去公园散步。\n")
    result = run("dedup", "-q", "--tokenizer", "chinese", path, "-o", tmp_path / "o.txt", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


# -- the README's input formats: each bad variant is one clear line -------------------------------


@pytest.mark.parametrize("name, content, fragment", [
    pytest.param("c.jsonl.gz", gzip.compress(b'{"id": 1, "text": "ok"}\n{broken\n'), ":2: not valid JSON",
                 id="jsonl-gz-bad-line"),
    pytest.param("c.jsonl.zst", None, ":1: expected a JSON object", id="jsonl-zst-not-object"),
    pytest.param("c.ndjson", b'{"id": 1, "body": "x"}\n', ":1: no field 'text'", id="ndjson-no-field"),
    pytest.param("c.parquet", b"PAR1 not really parquet", "cannot read Parquet", id="parquet-garbage"),
    pytest.param("c.warc", b"GET / HTTP/1.1\r\n\r\n", "cannot read WARC", id="warc-not-warc"),
    pytest.param("c.csv", b"a,b\n", "unknown format", id="unknown-suffix"),
    pytest.param("c.txt.gz", b"plain text, not gzip\n", "cannot read", id="txt-gz-not-gzip"),
])
def test_bad_file_of_each_input_format(tmp_path: Path, name: str, content: bytes | None, fragment: str) -> None:
    if content is None:
        content = zstandard.ZstdCompressor().compress(b"[1, 2]\n")
    path = tmp_path / name
    path.write_bytes(content)
    out = tmp_path / ("o" + name[1:])
    one_line_error(run("dedup", path, "-o", out), fragment)
    assert not out.exists() and no_temp_files(tmp_path)


def test_empty_directory_is_no_documents(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    one_line_error(run("dedup", tmp_path / "empty", "-o", tmp_path / "out"), "no documents")


def test_invalid_utf8_in_text_lines_passes_through_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_bytes(b"caf\xe9 au lait is here\nsomething else entirely \xff\xfe\n")
    result = run("dedup", path, "-o", tmp_path / "o.txt")
    assert result.returncode == 0 and (tmp_path / "o.txt").read_bytes() == path.read_bytes()


def _dedup_a_truncated_corpus_on_a_local_cluster(tmp_path: Path) -> None:
    data = gzip.compress("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts(40))).encode())
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    out = tmp_path / "o.jsonl.gz"
    one_line_error(run("dedup", path, "--dask", "--workers", "1", "-o", out, "-q"), path, "truncated or corrupt")
    assert not out.exists() and no_temp_files(tmp_path)


def _hold_port(port: int) -> socket.socket | None:
    """A socket listening on ``port``, or None if something else already holds it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("0.0.0.0", port))
        sock.listen(1)
    except OSError:
        sock.close()
        return None
    return sock


DASK_DASHBOARD_PORT = 8787


@pytest.mark.parametrize("hold_8787", [False, True])
def test_dask_local_cluster_error_is_one_line_without_worker_traceback(tmp_path: Path, hold_8787: bool) -> None:
    # The local cluster's workers log to this process's stderr: a failed read logged "Compute Failed ... Traceback".
    # With the dashboard port taken (a Jupyter or Dask dashboard), the scheduler's HTTP server, which
    # dashboard_address=None did not turn off, printed a 4-line "Port 8787 is already in use" warning.
    pytest.importorskip("distributed")
    held = _hold_port(DASK_DASHBOARD_PORT) if hold_8787 else None  # None: free, or someone else holds it
    try:
        _dedup_a_truncated_corpus_on_a_local_cluster(tmp_path)
    finally:
        if held is not None:
            held.close()


def test_id_with_a_lone_surrogate_is_indexed_and_printed(tmp_path: Path) -> None:
    # json.loads gives "\ud800" as a lone surrogate: not encodable as UTF-8 for the index id, names file or stdout
    docs = texts(3)
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps({"id": f"\ud800{i}", "text": t}) + "\n" for i, t in enumerate(docs)))
    index = tmp_path / "c.idx"
    built = run("index", "build", path, "-o", index)
    assert built.returncode == 0, built.stderr
    query = run("index", "query", index, path)
    assert query.returncode == 0 and query.stdout.count("\ufffd") >= 6, query.stderr
    hashed = run("hash", path)
    assert hashed.returncode == 0 and len(hashed.stdout.splitlines()) == 3, hashed.stderr


def test_directory_with_an_undecodable_file_name_is_indexed(tmp_path: Path) -> None:
    folder = tmp_path / "pages"
    folder.mkdir()
    for name, text in ((b"caf\xe9.txt", texts(1)[0]), (b"ok.txt", texts(2)[1])):
        (folder / os.fsdecode(name)).write_text(text)
    index = tmp_path / "p.idx"
    built = run("index", "build", folder, "-o", index)
    assert built.returncode == 0, built.stderr
    query = run("index", "query", index, folder)
    assert query.returncode == 0 and len(query.stdout.splitlines()) == 2, query.stderr


def test_index_add_waits_for_another_writer_of_the_index(tmp_path: Path) -> None:
    # Two adds at once each loaded the old index and saved their own: one run's documents were lost (both exit 0)
    fcntl = pytest.importorskip("fcntl")
    docs = texts(40)
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text("".join(json.dumps({"id": f"a{i}", "text": t}) + "\n" for i, t in enumerate(docs[:20])))
    second.write_text("".join(json.dumps({"id": f"b{i}", "text": t}) + "\n" for i, t in enumerate(docs[20:])))
    index = tmp_path / "c.idx"
    assert run("index", "build", first, "-o", index).returncode == 0
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another writer holds the index
        add = subprocess.Popen([simdup_cmd(), "index", "add", str(index), str(second)], stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, text=True)
        time.sleep(1.5)
        assert add.poll() is None, "index add did not wait for the other writer"
    finally:
        os.close(fd)
    assert add.wait(timeout=60) == 0, add.stderr.read()
    info = run("index", "info", index)
    assert json.loads(info.stdout)["documents"] == 40, info.stderr


@pytest.mark.parametrize("command", ["dedup", "fit", "index"])
def test_output_in_a_symlink_loop_is_a_one_line_error(corpus: Path, command: str) -> None:
    loop = corpus.with_name("loop.jsonl")
    loop.symlink_to(loop.name)  # resolving it raised RuntimeError: a traceback
    args = {"dedup": ["dedup", corpus, "-o", loop], "fit": ["fit", corpus, "-o", loop],
            "index": ["index", "build", corpus, "-o", loop]}[command]
    one_line_error(run(*args), loop)
    assert loop.is_symlink() and no_temp_files(corpus.parent)


def test_jsonl_number_too_long_to_convert_is_a_bad_record(corpus: Path) -> None:
    # json.loads raises a plain ValueError (not JSONDecodeError) past Python's int digit limit:
    # the error named no file or line, and --skip-bad did not skip it
    lines = corpus.read_text().splitlines(keepends=True)
    lines.insert(3, '{"id": ' + "1" * 5000 + ', "text": "a document"}\n')
    corpus.write_text("".join(lines))
    out = corpus.with_name("o.jsonl")
    one_line_error(run("dedup", corpus, "-o", out), f"{corpus}:4:", "number too long")
    skipped = run("dedup", corpus, "-o", out, "--skip-bad", "--json")
    assert skipped.returncode == 0, skipped.stderr
    assert json.loads(skipped.stdout)["skipped_bad_records"] == 1


def test_fit_refuses_model_which_it_would_ignore(corpus: Path) -> None:
    # fit took --model and ignored it: `fit c.jsonl -o m.npz --model m.npz` replaced the model it was given
    model = corpus.with_name("m.npz")
    SimHasher().fit(texts(10)).save(model)
    before = model.read_bytes()
    result = run("fit", corpus, "-o", model, "--model", model)
    assert result.returncode == 2 and "--model" in result.stderr.splitlines()[-1], result.stderr
    assert "Traceback" not in result.stderr and model.read_bytes() == before
