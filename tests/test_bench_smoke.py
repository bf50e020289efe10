"""Smoke-run each benchmark script on tiny input so none of them rots."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import shared_data

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"


def test_bench_fingerprint_tiny(tmp_path: Path) -> None:
    shared_data.require()
    out = tmp_path / "rows.json"
    run = subprocess.run([sys.executable, str(BENCH / "bench_fingerprint.py"), "--tiny", "--json", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "simdup SimHasher() fitted, defaults" in run.stdout and "MB/s" in run.stdout
    assert "character bigrams" in run.stdout
    assert "rjieba vs jieba" in run.stdout
    assert out.exists()


def test_bench_join_tiny(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    run = subprocess.run([sys.executable, str(BENCH / "bench_join.py"), "--n", "3000", "--no-install", "--no-real",
                          "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "simdup find_duplicates" in run.stdout and "numpy XOR+popcount brute force" in run.stdout
    rows = json.loads(out.read_text())
    assert len({row["pairs"] for row in rows if "faiss" not in row["system"]}) == 1  # everyone agrees


def test_bench_dedup_tiny() -> None:
    shared_data.require()
    run = subprocess.run([sys.executable, str(BENCH / "bench_dedup.py"), "--limit", "40"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "Reuters-21578: 40 documents" in run.stdout and "phases:" in run.stdout


def test_bench_html_tiny() -> None:
    shared_data.require()
    for module in ("resiliparse", "selectolax", "trafilatura"):
        pytest.importorskip(module, reason="bench_html.py needs the html and bench extras")
    run = subprocess.run([sys.executable, str(BENCH / "bench_html.py"), "--limit", "30", "--pairs", "10"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "resiliparse" in run.stdout and "Jaccard vs trafilatura" in run.stdout
    assert "Main content against ground truth" in run.stdout
    assert "| Dragnet | dev (15) | simdup main content |" in run.stdout
    assert "| Mozilla Readability test pages | test (15) | trafilatura favor_precision |" in run.stdout
    assert "wrapped (same article, other template): recall | 10 |" in run.stdout
    assert "pages/s" in run.stdout and "resiliparse extraction" in run.stdout


def test_bench_dask_tiny() -> None:
    shared_data.require()
    pytest.importorskip("distributed", reason="bench_dask.py needs the dask extra")
    run = subprocess.run([sys.executable, str(BENCH / "bench_dask.py"), "--copies", "2", "--limit", "300",
                          "--workers", "1", "--partitions", "2", "--shuffle-rows", "100000"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "corpus: 600 documents" in run.stdout and "(same documents removed as simdup.dedup)" in run.stdout
    assert "Plan for 1,000,000,000 pages at k=6" in run.stdout and "1024 cores:" in run.stdout


def test_eval_quality_tiny(tmp_path: Path) -> None:
    shared_data.require()
    for module in ("datasketch", "simhash", "opencc"):
        pytest.importorskip(module, reason="eval_quality.py compares with datasketch and simhash, edits with opencc")
    run = subprocess.run([sys.executable, str(BENCH / "eval_quality.py"), "--tiny", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "== Mixed (Fudan + Reuters + dragnet + Mozilla)" in run.stdout
    report = json.loads((tmp_path / "quality.json").read_text())
    fudan = report["corpora"]["Chinese (Fudan)"]
    assert {"natural", "char sub 1%", "simdup defaults"} <= set(fudan) | set(fudan["natural"]["systems"])
    row = fudan["char sub 1%"]["systems"]["simdup defaults"]
    assert 0.0 <= row["all"]["F1"] <= 1.0 and "copies within 3" in row and "verify share" in row
    assert (tmp_path / "quality.md").exists()


def test_study_v2_tiny() -> None:
    shared_data.require()
    pytest.importorskip("opencc", reason="study_v2.py folds Traditional Chinese with opencc")
    run = subprocess.run([sys.executable, str(BENCH / "study_v2.py"), "--tiny", "--corpus", "dragnet"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "## dragnet: 30 sources" in run.stdout and "(d1) IDF capped at df 1 %" in run.stdout


def test_probe_unrelated_tiny() -> None:
    shared_data.require()
    run = subprocess.run([sys.executable, str(BENCH / "probe_unrelated.py"), "--tiny"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "| Reuters | IDF cap 10 % (default) |" in run.stdout and "| Fudan | no IDF |" in run.stdout


def test_make_dragnet_train_on_a_tiny_mirror(tmp_path: Path) -> None:
    test_split = shared_data.require("dragnet_test.jsonl.gz")
    import gzip

    with gzip.open(test_split, "rt", encoding="utf-8") as f:
        test_id = json.loads(f.readline())["id"]
    mirror = tmp_path / "mirror"
    for sub in ("input", "GoldStandard"):
        (mirror / "dragnet_data" / sub).mkdir(parents=True)
    pages = {test_id: "in the test split", "new1": "caf\u00e9 article", "new2": "another article"}
    for page_id, words in pages.items():
        body = f"<html><body><p>{words}</p></body></html>"
        (mirror / "dragnet_data" / "input" / f"{page_id}.html").write_bytes(body.encode("utf-8"))
        (mirror / "dragnet_data" / "GoldStandard" / f"{page_id}.txt").write_bytes(
            f"{words}\r\n!@#$%^&*()  COMMENTS\r\nnice post\r\n".encode())
    out = tmp_path / "train.jsonl.gz"
    run = subprocess.run([sys.executable, str(BENCH / "make_dragnet_train.py"), str(mirror), str(out)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    with gzip.open(out, "rt", encoding="utf-8") as f:
        rows = {r["id"]: r for r in map(json.loads, f)}
    assert set(rows) == {"new1", "new2"}  # the test split's page is left out
    assert rows["new1"]["text"] == "caf\u00e9 article" and "caf\u00e9" in rows["new1"]["html"]  # comments cut off
    inside = subprocess.run([sys.executable, str(BENCH / "make_dragnet_train.py"), str(mirror),
                             str(ROOT / "x.jsonl.gz")], capture_output=True, text=True, timeout=60)
    assert inside.returncode == 2 and "AGPLv3" in inside.stderr and not (ROOT / "x.jsonl.gz").exists()
