"""WARC input: WarcCorpus and `simdup dedup crawl.warc.gz`, on WARC files built from real pages."""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
from pathlib import Path

import pytest

warc = pytest.importorskip("fastwarc.warc", reason="WARC input needs the html extra: pip install 'simdup[html]'")
pytest.importorskip("resiliparse", reason="HTML input needs the html extra: pip install 'simdup[html]'")

from simdup.cli import main  # noqa: E402
from simdup.corpus import WarcCorpus, open_corpus  # noqa: E402


def record(kind, uri: str | None, block: bytes, content_type: str | None = None) -> bytes:
    rec = warc.WarcRecord()
    rec.init_headers(record_type=kind)
    if uri:
        rec.headers["WARC-Target-URI"] = uri
    if content_type:
        rec.headers["Content-Type"] = content_type
    rec.set_bytes_content(block)
    out = io.BytesIO()
    rec.write(out)
    return out.getvalue()


def response(uri: str, body: bytes, content_type: str = "text/html; charset=utf-8", status: str = "200 OK",
             extra: str = "") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n{extra}Content-Length: {len(body)}\r\n\r\n"
    return record(warc.WarcRecordType.response, uri, head.encode() + body, "application/http; msgtype=response")


def write_warc(path: Path, records: list[bytes]) -> None:
    data = b"".join(gzip.compress(r) for r in records) if path.name.endswith(".gz") else b"".join(records)
    path.write_bytes(data)


@pytest.fixture()
def crawl(tmp_path: Path, web_pages) -> tuple[Path, dict]:
    """A crawl of real pages: a page fetched twice, a template-only variant, and records to skip."""
    a, b, c = (p["html"] for p in web_pages[10:13])
    # The same article re-fetched with another ad script and tracking id: main content unchanged.
    a_again = a.replace("<head>", "<head><script>var trackingId = 'XYZ-93817';</script>", 1)
    records = [
        record(warc.WarcRecordType.warcinfo, None, b"software: test\r\n", "application/warc-fields"),
        record(warc.WarcRecordType.request, "https://a.example/story", b"GET /story HTTP/1.1\r\n\r\n",
               "application/http; msgtype=request"),
        response("https://a.example/story", a.encode()),
        response("https://b.example/other", b.encode("cp1252", "replace"), "text/html; charset=windows-1252"),
        response("https://a.example/logo.png", b"\x89PNG....", "image/png"),
        response("https://a.example/gone", b"<html><body>Not found</body></html>", status="404 Not Found"),
        response("https://a.example/story?utm=1", gzip.compress(a_again.encode()), extra="Content-Encoding: gzip\r\n"),
        response("https://c.example/third", c.encode()),
    ]
    path = tmp_path / "crawl.warc.gz"
    write_warc(path, records)
    return path, {"records": records}


def test_warc_corpus_reads_html_responses(crawl) -> None:
    path, _ = crawl
    corpus = open_corpus(path)
    assert isinstance(corpus, WarcCorpus) and corpus.format == "warc"
    docs = list(corpus.records())
    assert [uri for uri, _ in docs] == ["https://a.example/story", "https://b.example/other",
                                        "https://a.example/story?utm=1", "https://c.example/third"]
    body, content_type = docs[2][1]
    assert body.lstrip().startswith(b"<") and content_type == "text/html; charset=utf-8"  # gzip undone
    assert docs[1][1][1] == "text/html; charset=windows-1252"


def test_dedup_warc_writes_clusters_and_deduplicated_warc(crawl, tmp_path: Path, capsys) -> None:
    path, built = crawl
    clusters, out = tmp_path / "clusters.csv", tmp_path / "kept.warc.gz"
    assert main(["dedup", str(path), "--clusters", str(clusters), "--keep-warc", str(out), "--json", "-q"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["format"] == "warc" and summary["input_type"] == "html" and summary["html_content"] == "main"
    assert summary["documents"] == 4 and summary["duplicates_removed"] == 1
    rows = list(csv.DictReader(clusters.open(), delimiter=","))
    assert {(r["id"], r["kept_id"]) for r in rows} == {("https://a.example/story", "https://a.example/story"),
                                                       ("https://a.example/story?utm=1", "https://a.example/story")}
    # Every record but the dropped response, byte for byte, one gzip member each.
    kept = [r for i, r in enumerate(built["records"]) if i != 6]
    assert gzip.decompress(out.read_bytes()) == b"".join(kept)
    uris = [r.headers.get("WARC-Target-URI") for r in warc.ArchiveIterator(open(out, "rb"))]
    assert "https://a.example/story?utm=1" not in uris and "https://a.example/logo.png" in uris


def test_dedup_warc_plain_output_and_clusters_only(crawl, tmp_path: Path) -> None:
    path, built = crawl
    assert main(["dedup", str(path), "-o", str(tmp_path / "kept.warc"), "-q"]) == 0
    assert (tmp_path / "kept.warc").read_bytes() == b"".join(r for i, r in enumerate(built["records"]) if i != 6)
    assert main(["dedup", str(path), "--clusters", str(tmp_path / "c.tsv"), "-q"]) == 0
    assert len((tmp_path / "c.tsv").read_text().splitlines()) == 3  # header and two rows


def test_all_visible_text_also_reads_the_template(crawl, tmp_path: Path, capsys) -> None:
    path, _ = crawl
    assert main(["dedup", str(path), "--clusters", str(tmp_path / "c.tsv"), "--html-content", "all",
                 "--json", "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["html_content"] == "all"


@pytest.mark.parametrize("args, status, message", [
    ([], 2, "-o/--output"),
    (["-o", "{tmp}/out.jsonl"], 1, "input's format (warc)"),
    (["-o", "{tmp}/out.warc.zst"], 1, "written as .warc or .warc.gz"),
    (["-o", "{tmp}/a.warc", "--keep-warc", "{tmp}/b.warc"], 2, "give one"),
])
def test_dedup_warc_usage_errors(crawl, tmp_path: Path, capsys, args, status, message) -> None:
    path, _ = crawl
    with pytest.raises(SystemExit) if status == 2 else contextlib.nullcontext():
        assert main(["dedup", str(path), *[a.format(tmp=tmp_path) for a in args]]) == status
    assert message in capsys.readouterr().err
    assert not list(tmp_path.glob("*.warc*.tmp")) and not (tmp_path / "out.warc.zst").exists()


def test_keep_warc_needs_warc_input(tmp_path: Path, capsys) -> None:
    docs = tmp_path / "docs.jsonl"
    docs.write_text('{"id": 1, "text": "a"}\n')
    with pytest.raises(SystemExit):
        main(["dedup", str(docs), "--keep-warc", str(tmp_path / "o.warc")])
    assert "--keep-warc needs a WARC input" in capsys.readouterr().err


def test_corrupt_warc_is_a_clear_error(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.warc.gz"
    bad.write_bytes(b"this is not a WARC file " * 100)
    assert main(["dedup", str(bad), "--clusters", str(tmp_path / "c.tsv"), "-q"]) == 1
    assert capsys.readouterr().err.strip() == f"simdup: error: {bad}: cannot read WARC (Invalid WARC header)"
    # Truncated inside the first record: no documents, an error (exit 1), no output.
    bad.write_bytes(gzip.compress(b"WARC/1.1\r\nWARC-Type: response\r\nContent-Length: 999999\r\n\r\nshort")[:-8])
    assert main(["dedup", str(bad), "--clusters", str(tmp_path / "c.tsv"), "-q"]) == 1
    assert capsys.readouterr().err.startswith("simdup: error:") and not (tmp_path / "c.tsv").exists()
    with pytest.raises(FileNotFoundError):
        list(WarcCorpus(tmp_path / "none.warc").records())


def test_hash_and_compare_read_html_when_asked(tmp_path: Path, capsys, web_pages) -> None:
    import simdup

    html = web_pages[0]["html"]
    (tmp_path / "p.html").write_text(html, encoding="utf-8")
    assert main(["hash", "--input-type", "html", str(tmp_path / "p.html")]) == 0
    assert capsys.readouterr().out.split("\t")[0] == f"{simdup.simhash(html, input='html'):016x}"
    assert main(["hash", "--input-type", "html", "--html-content", "all", str(tmp_path / "p.html")]) == 0
    assert capsys.readouterr().out.split("\t")[0] == f"{simdup.simhash(html, input='html', html_content='all'):016x}"
    assert main(["hash", str(tmp_path / "p.html")]) == 0  # text, as before
    assert capsys.readouterr().out.split("\t")[0] == f"{simdup.simhash(html.encode()):016x}"
