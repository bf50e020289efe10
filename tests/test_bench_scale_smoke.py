"""benchmarks/bench_scale.py on a tiny corpus (issue 15): generator, run, peer and checks, so it does not rot.

The full benchmark (300k to 10M documents) is opt-in; this runs the same code on 2,000 English
documents (a few seconds) and the generator's Chinese path on a few hundred.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import bench_scale  # benchmarks/, on the path from tests/conftest.py
import pytest
import shared_data

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_scale.py"


def test_bench_scale_tiny(tmp_path: Path) -> None:
    shared_data.require("reuters21578.jsonl.gz")
    pytest.importorskip("datasketch", reason="bench_scale.py's peer is datasketch MinHashLSH (test extra)")
    # 300 real stories, then spliced bases: both kinds of base in 2,000 records; the peer runs at this size too.
    run = subprocess.run([sys.executable, str(SCRIPT), "run", "--sizes", "2000", "--workdir", str(tmp_path),
                          "--real-bases", "300", "--check", "200"], capture_output=True, text=True, timeout=300,
                         check=False)
    assert run.returncode == 0, run.stderr
    assert "| simdup dedup | 2,000 |" in run.stdout and "| datasketch MinHashLSH | 2,000 |" in run.stdout
    results = json.loads((tmp_path / "scale-en.json").read_text())
    assert (tmp_path / "scale-en.md").exists()
    row = results["runs"][0]
    meta = row["corpus"]
    assert meta["records"] == 2000 and meta["counts"]["real"] == 300 and meta["counts"]["spliced"] > 1000
    assert 0.25 <= meta["counts"]["copy"] / 2000 <= 0.35
    s = row["simdup"]
    assert s["summary"]["documents"] == 2000 and s["wall_seconds"] > 0 and s["peak_rss_mb"] > 0
    assert {"fingerprint", "join"} <= set(s["summary"]["timings"])
    assert s["output_matches_clusters_file"]
    # The CLI removes what simdup.dedup removes in memory with the same settings.
    assert s["in_memory"]["identical"], s["in_memory"]
    # The generator's copies are what is removed: every exact copy, nearly every near-duplicate one,
    # and no spliced base (they are distinct documents).
    truth = s["truth"]
    assert truth["by_edit"]["exact"]["recall"] == 1.0
    assert truth["near_recall"] >= 0.9 and truth["removed_by_kind"]["spliced"] == 0
    assert truth["removed_by_kind"]["copy"] >= 0.9 * s["summary"]["duplicates_removed"]
    # Verified at 0.8, simdup's removals are justified; MinHashLSH's candidates are not checked.
    assert s["removals"]["removed"] == s["summary"]["duplicates_removed"]
    assert s["removals"]["unjustified"] <= 0.01 * s["removals"]["removed"]
    peer = row["peer"]
    assert peer["summary"]["documents"] == 2000 and peer["peak_rss_mb"] > 0
    assert peer["removals"]["removed"] == peer["summary"]["duplicates_removed"] > 0
    assert peer["truth"]["near_recall"] >= 0.7
    assert set(row["ratios_simdup_over_peer"]) >= {"wall_seconds", "peak_rss_mb"}
    check = results["generator_check"]
    assert check["distinct"]["pairs_at_0.8"] == 0 and check["distinct"]["max_pair_jaccard"] < 0.5
    assert check["distinct"]["max_jaccard_to_a_source_story"] < 0.8
    assert check["copies"]["exact"]["min_jaccard"] == 1.0
    # A second run reuses the corpus.
    again = subprocess.run([sys.executable, str(SCRIPT), "run", "--sizes", "2000", "--workdir", str(tmp_path),
                            "--real-bases", "300", "--peer-max", "0", "--no-check"],
                           capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr
    assert "corpus: reusing" in again.stdout and "datasketch MinHashLSH | 2,000" not in again.stdout


def test_generator_is_deterministic_and_a_prefix() -> None:
    shared_data.require("reuters21578.jsonl.gz")
    sources = bench_scale.load_sources("en")
    params = bench_scale.Params("en", seed=3, real_bases=50)
    long = list(bench_scale.Generator(sources, params).records(800))
    assert list(bench_scale.Generator(sources, params).records(500)) == long[:500]
    other = list(bench_scale.Generator(sources, bench_scale.Params("en", seed=4, real_bases=50)).records(500))
    assert other != long[:500]
    ids = [doc_id for doc_id, _, _ in long]
    assert len(set(ids)) == len(ids)
    rows = [row.rstrip("\n").split("\t") for _, _, row in long]
    texts = {doc_id: text for doc_id, text, _ in long}
    for doc_id, kind, of, edit in rows:
        assert kind in {"real", "spliced", "copy"}
        if kind == "copy":
            assert of < doc_id and edit.split(":")[0] in dict(bench_scale.EDITS)
            if edit == "exact":
                assert texts[doc_id] == texts[of]


def test_generator_chinese() -> None:
    shared_data.require("fudan_zh.jsonl.gz")
    sources = bench_scale.load_sources("zh")
    gen = bench_scale.Generator(sources, bench_scale.Params("zh", real_bases=20))
    records = list(gen.records(300))
    # Fudan's papers have English titles and abstracts: a spliced base can be mostly English.
    assert sum(bench_scale.is_unspaced(text) for _, text, _ in records) >= 0.9 * len(records)
    edited = [row for _, _, row in records if "\tcopy\t" in row and "\twords:" in row]
    assert edited  # Chinese copies get character edits
    check = bench_scale.check_distinct(gen, 30, random.Random(0))
    assert check["pairs_at_0.8"] == 0 and check["max_jaccard_to_a_source_story"] < 0.8
