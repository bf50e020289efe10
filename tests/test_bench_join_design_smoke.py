"""benchmarks/bench_join_design.py on the shared Reuters stories, so the benchmark does not rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import shared_data  # benchmarks/, on the path from tests/conftest.py

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_join_design.py"


def test_bench_join_design_tiny(tmp_path: Path) -> None:
    shared_data.require("reuters21578.jsonl.gz")
    out = tmp_path / "design.json"
    run = subprocess.run([sys.executable, str(SCRIPT), "--tiny", "--out", str(out)], capture_output=True,
                         text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    report = json.loads(out.read_text())
    assert (report["new"], report["reference"]) == (300, 2700)
    assert report["identical"] and report["between"]["pairs"] == report["self"]["pairs"] > 0
