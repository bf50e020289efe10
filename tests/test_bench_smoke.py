"""Smoke-run each benchmark script on tiny input so none of them rots."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
SHARED = ROOT.parent / "shared" / "data"


def test_bench_fingerprint_tiny(tmp_path: Path) -> None:
    if not SHARED.exists():
        pytest.skip(f"shared corpora absent at {SHARED}")
    out = tmp_path / "rows.json"
    run = subprocess.run([sys.executable, str(BENCH / "bench_fingerprint.py"), "--tiny", "--json", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "simdup SimHasher fitted TF-IDF, words" in run.stdout and "MB/s" in run.stdout
    assert "rjieba vs jieba" in run.stdout
    assert out.exists()
