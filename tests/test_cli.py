"""The installed `simdup` console script, run in a subprocess."""

from __future__ import annotations

import csv
import gzip
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import simdup
from simdup.batch import shingle_jaccard

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "reuters-sample.jsonl.gz"


def simdup_cmd() -> str:
    script = Path(sys.executable).parent / "simdup"
    found = str(script) if script.exists() else shutil.which("simdup")
    if not found:
        pytest.fail("the simdup console script is not installed (pip install -e .)")
    return found


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([simdup_cmd(), *args], input=stdin.decode() if stdin else None,
                          capture_output=True, text=True, timeout=120)


def test_hash_sample_corpus_prints_one_fingerprint_per_record() -> None:
    result = run("hash", "--quiet", str(SAMPLE))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    assert len(lines) == len(records) == 2000
    fp_hex, doc_id = lines[7].split("\t")
    assert doc_id == records[7]["id"] and int(fp_hex, 16) == simdup.simhash(records[7]["text"])
    assert all(len(line.split("\t")[0]) == 16 for line in lines)


def test_hash_plain_files_and_stdin(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Crude oil prices rose on Monday")
    result = run("hash", str(tmp_path / "a.txt"))
    assert result.returncode == 0
    assert result.stdout == f"{simdup.simhash('Crude oil prices rose on Monday'):016x}\t{tmp_path / 'a.txt'}\n"
    piped = subprocess.run([simdup_cmd(), "hash", "-"], input=b"Crude oil prices rose on Monday",
                           capture_output=True, timeout=60)
    assert piped.stdout.decode().split("\t")[0] == result.stdout.split("\t")[0]


def test_compare_two_files(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("the cat sat on the mat with another cat")
    (tmp_path / "b.txt").write_text("the cat sat on the mat with another cat")
    result = run("compare", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"))
    assert result.returncode == 0 and "distance 0\tsimilarity 1.0000" in result.stdout


def test_fit_then_hash_with_the_model(tmp_path: Path) -> None:
    model = tmp_path / "model.npz"
    result = run("fit", "--quiet", str(SAMPLE), "-o", str(model), "--ngram", "2")
    assert result.returncode == 0, result.stderr
    hasher = simdup.SimHasher.load(model)
    assert hasher.ngram_range == (1, 2) and hasher.n_docs_ == 2000
    result = run("hash", "--quiet", "--model", str(model), str(SAMPLE))
    first = result.stdout.splitlines()[0].split("\t")
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as f:
        text = json.loads(f.readline())["text"]
    assert int(first[0], 16) == hasher.fingerprint(text)


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"id": 1, "text": "ok"}\nnot json\n', ":2: not valid JSON"),
        ('{"id": 1, "body": "no text field"}\n', ":1: no field 'text'"),
        ('[1, 2]\n', ":1: expected a JSON object"),
        ('{"id": 1, "text": 5}\n', "is not a string"),
    ],
)
def test_malformed_jsonl_gives_one_line_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    result = run("hash", str(path))
    assert result.returncode == 1
    assert result.stderr.startswith("simdup: error:") and message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_missing_files_and_bad_models(tmp_path: Path) -> None:
    result = run("hash", str(tmp_path / "missing.txt"))
    assert result.returncode == 1 and "missing.txt" in result.stderr and "Traceback" not in result.stderr
    (tmp_path / "m.npz").write_bytes(b"not a model")
    result = run("hash", "--model", str(tmp_path / "m.npz"), str(SAMPLE))
    assert result.returncode == 1 and "not a readable simdup model" in result.stderr
    result = run("hash", "--model", str(tmp_path / "absent.npz"), str(SAMPLE))
    assert result.returncode == 1 and "absent.npz" in result.stderr


def test_truncated_gzip_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(SAMPLE.read_bytes()[:5000])
    result = run("hash", "--quiet", str(path))
    assert result.returncode == 1 and "cannot read" in result.stderr and "Traceback" not in result.stderr


def test_usage_errors_exit_2() -> None:
    assert run().returncode == 2
    assert run("hash").returncode == 2
    assert run("frobnicate").returncode == 2


# -- simdup dedup ---------------------------------------------------------------------


def sample_records() -> list[dict]:
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_dedup_jsonl_gz_writes_kept_records_clusters_and_summary(tmp_path: Path) -> None:
    out, clusters = tmp_path / "out.jsonl.gz", tmp_path / "clusters.csv"
    result = run("dedup", str(SAMPLE), "-o", str(out), "--clusters", str(clusters), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    with gzip.open(out, "rt", encoding="utf-8") as f:
        kept = [json.loads(line) for line in f]
    records = sample_records()
    assert summary["documents"] == len(records) == 2000
    assert len(kept) == summary["kept"] == 2000 - summary["duplicates_removed"]
    assert summary["duplicates_removed"] >= 21  # the sample's exact repeats
    by_id = {r["id"]: r for r in records}
    assert all(by_id[r["id"]] == r for r in kept)  # records pass through unchanged
    seen: set[str] = set()
    for r in kept:  # no exact repeat of a non-empty text survives
        assert not (r["text"].strip() and r["text"] in seen)
        seen.add(r["text"])
    with open(clusters, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["id", "cluster", "kept_id", "matched_id", "distance", "jaccard", "reason"]
    kept_ids = {r["id"] for r in kept}
    texts = {r["id"]: r["text"] for r in records}
    cluster_of = {row["id"]: row["cluster"] for row in rows}
    clusters_seen: dict[str, set[str]] = {}
    hasher = simdup.SimHasher().fit([r["text"] for r in records])  # dedup's model: fitted on its input
    for row in rows:
        doc_id, kept_id = row["id"], row["kept_id"]
        assert kept_id in kept_ids
        assert (doc_id in kept_ids) == (doc_id == kept_id) == (row["reason"] == "kept")
        clusters_seen.setdefault(row["cluster"], set()).add(kept_id)
        if row["reason"] == "kept":
            assert row["matched_id"] == row["distance"] == row["jaccard"] == ""
            continue
        # The evidence: a document of the same cluster, at that distance, with that Jaccard (verified).
        matched = row["matched_id"]
        assert cluster_of[matched] == row["cluster"]
        a, b = hasher.transform([texts[doc_id], texts[matched]])
        assert int(row["distance"]) == simdup.hamming(int(a), int(b)) <= 8
        assert row["reason"] == ("same_fingerprint" if a == b else "near_duplicate")
        jac = shingle_jaccard(hasher, [texts[doc_id], texts[matched]], [0], [1])[0]
        assert float(row["jaccard"]) == round(jac, 4) and jac >= 0.8
    # one kept document per cluster, and every cluster has a duplicate
    assert all(len(k) == 1 for k in clusters_seen.values())
    assert len(clusters_seen) == summary["clusters"]
    assert set(summary["timings"]) >= {"read", "fingerprint", "join", "cluster", "write"}


def test_dedup_prints_a_human_summary_on_stderr(tmp_path: Path) -> None:
    result = run("dedup", str(SAMPLE), "-o", str(tmp_path / "out.jsonl"))
    assert result.returncode == 0 and result.stdout == ""
    assert "2,000 documents in" in result.stderr and "duplicates removed" in result.stderr
    assert "documents/s" in result.stderr


def test_dedup_text_lines_zstd_parquet_and_directory(tmp_path: Path) -> None:
    records = sample_records()[:300]
    texts = [r["text"].replace("\n", " ") for r in records if r["text"].strip()]
    texts += texts[:5]
    lines = tmp_path / "docs.txt"
    lines.write_text("\n".join(texts) + "\n")
    result = run("dedup", str(lines), "-o", str(tmp_path / "out.txt"), "--json")
    assert result.returncode == 0, result.stderr
    out_lines = (tmp_path / "out.txt").read_text().splitlines()
    assert len(out_lines) == json.loads(result.stdout)["kept"] <= len(texts) - 5

    zstandard = pytest.importorskip("zstandard")
    zst = tmp_path / "docs.jsonl.zst"
    zst.write_bytes(zstandard.ZstdCompressor().compress(
        "".join(json.dumps(r) + "\n" for r in records + records[:10]).encode()))
    result = run("dedup", str(zst), "-o", str(tmp_path / "out.jsonl.zst"), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["duplicates_removed"] >= 10
    with zstandard.open(tmp_path / "out.jsonl.zst", "rt") as f:
        assert len(f.readlines()) == json.loads(result.stdout)["kept"]

    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    table = pa.table({"id": [r["id"] for r in records] * 2, "text": [r["text"] for r in records] * 2,
                      "n": list(range(600))})
    pq.write_table(table, tmp_path / "docs.parquet")
    result = run("dedup", str(tmp_path / "docs.parquet"), "-o", str(tmp_path / "out.parquet"), "--json")
    assert result.returncode == 0, result.stderr
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.column_names == ["id", "text", "n"] and out.num_rows == json.loads(result.stdout)["kept"]
    # second copies are all removed, but for empty texts (token-less: never duplicates)
    second = [t for n, t in zip(out.column("n").to_pylist(), out.column("text").to_pylist()) if n >= 300]
    assert not any(t.strip() for t in second)

    folder = tmp_path / "pages"
    (folder / "sub").mkdir(parents=True)
    for n, text in enumerate(texts[:20]):
        (folder / f"{n:02d}.txt").write_text(text)
    (folder / "sub" / "copy.txt").write_text(texts[3])
    (folder / "ignored.bin").write_bytes(b"\x00")
    result = run("dedup", str(folder), "-o", str(tmp_path / "pages-out"), "--json")
    assert result.returncode == 0, result.stderr
    written = sorted(str(p.relative_to(tmp_path / "pages-out")) for p in (tmp_path / "pages-out").rglob("*.txt"))
    assert "sub/copy.txt" not in written and "03.txt" in written
    assert len(written) == json.loads(result.stdout)["kept"]


def test_dedup_bad_line_fails_without_output_or_is_skipped(tmp_path: Path) -> None:
    good = [json.dumps(r) for r in sample_records()[:50]]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(good[:20] + ["{broken"] + good[20:]) + "\n")
    out = tmp_path / "out.jsonl"
    result = run("dedup", str(path), "-o", str(out))
    assert result.returncode == 1 and f"{path}:21: not valid JSON" in result.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == [path]  # no partial or temp file
    result = run("dedup", str(path), "-o", str(out), "--skip-bad", "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["skipped_bad_records"] == 1
    assert len(out.read_text().splitlines()) == json.loads(result.stdout)["kept"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--text-field", "body"], "no field 'body'"),
        (["-o", "OUT.parquet"], "input's format (jsonl)"),
        (["-k", "11"], "invalid choice"),
        (["--verify", "2"], "verify must be"),
    ],
)
def test_dedup_bad_options(tmp_path: Path, args: list[str], message: str) -> None:
    argv = ["dedup", str(SAMPLE)] + [a.replace("OUT", str(tmp_path / "out")) for a in args]
    if "-o" not in args:
        argv += ["-o", str(tmp_path / "out.jsonl")]
    result = run(*argv)
    assert result.returncode in (1, 2) and message in result.stderr and "Traceback" not in result.stderr


def test_dedup_unknown_format_and_missing_input(tmp_path: Path) -> None:
    (tmp_path / "docs.csv").write_text("a,b\n")
    result = run("dedup", str(tmp_path / "docs.csv"), "-o", str(tmp_path / "o.csv"))
    assert result.returncode == 1 and "unknown format" in result.stderr
    result = run("dedup", str(tmp_path / "none.jsonl"), "-o", str(tmp_path / "o.jsonl"))
    assert result.returncode == 1 and "none.jsonl" in result.stderr


# -- simdup index ---------------------------------------------------------------------


def test_index_build_add_query_info(tmp_path: Path) -> None:
    records = sample_records()
    first = tmp_path / "first.jsonl"
    first.write_text("".join(json.dumps(r) + "\n" for r in records[:1000]))
    second = tmp_path / "second.jsonl"
    second.write_text("".join(json.dumps(r) + "\n" for r in records[1000:1200]))
    index = tmp_path / "crawl.idx"
    result = run("index", "build", "--quiet", str(first), "-o", str(index))
    assert result.returncode == 0, result.stderr
    # Records with an empty text (the sample has some) have no tokens and are not indexed.
    with_words = [bool(re.search(r"\w", r["text"])) for r in records[:1200]]
    info = json.loads(run("index", "info", str(index)).stdout)
    assert info["documents"] == sum(with_words[:1000]) and info["k"] == 3 and info["model"] == "default"
    assert run("index", "add", "--quiet", str(index), str(second)).returncode == 0
    assert json.loads(run("index", "info", str(index)).stdout)["documents"] == sum(with_words)
    # a query document that repeats record 10's text finds record 10 at distance 0
    query = tmp_path / "query.jsonl"
    query.write_text(json.dumps({"id": "new-page", "text": records[9]["text"]}) + "\n")
    result = run("index", "query", "--quiet", str(index), str(query))
    assert result.returncode == 0, result.stderr
    matches = [line.split("\t") for line in result.stdout.splitlines()]
    assert ["new-page", records[9]["id"], "0"] in matches
    assert all(int(d) <= 3 for _, _, d in matches)


def test_index_never_matches_token_less_documents(tmp_path: Path) -> None:
    docs = [{"id": "empty", "text": ""}, {"id": "bang", "text": "!!!"}, {"id": "emoji", "text": "\U0001f642"},
            {"id": "oil", "text": "Crude oil prices rose three percent on Monday, traders in London said."}]
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps(d) + "\n" for d in docs))
    index = tmp_path / "c.idx"
    built = run("index", "build", "--quiet", str(corpus), "-o", str(index))
    assert built.returncode == 0, built.stderr
    assert "3 document(s) without tokens not indexed" in built.stderr
    assert json.loads(run("index", "info", str(index)).stdout)["documents"] == 1
    assert list(json.loads(index.with_name("c.idx.names.json").read_text())["names"].values()) == ["oil"]
    query = tmp_path / "q.jsonl"
    query.write_text(json.dumps({"id": "q-empty", "text": "..."}) + "\n" + json.dumps(docs[3] | {"id": "q"}) + "\n")
    result = run("index", "query", "--quiet", str(index), str(query))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "q\toil\t0\n"


def test_index_errors(tmp_path: Path) -> None:
    records = sample_records()[:50]
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in records))
    index = tmp_path / "i.idx"
    assert run("index", "build", "--quiet", str(corpus), "-o", str(index)).returncode == 0
    again = run("index", "add", "--quiet", str(index), str(corpus))
    assert again.returncode == 1 and "already in the index" in again.stderr
    (tmp_path / "bad.idx").write_bytes(b"garbage" * 10)
    bad = run("index", "info", str(tmp_path / "bad.idx"))
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    missing = run("index", "query", str(tmp_path / "none.idx"), str(corpus))
    assert missing.returncode == 1 and "none.idx" in missing.stderr
