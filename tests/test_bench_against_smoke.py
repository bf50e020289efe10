"""benchmarks/bench_against.py on tiny generated corpora (issue 17), so the benchmark does not rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import shared_data  # benchmarks/, on the path from tests/conftest.py

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_against.py"


def test_bench_against_tiny(tmp_path: Path) -> None:
    shared_data.require("reuters21578.jsonl.gz")
    run = subprocess.run([sys.executable, str(SCRIPT), "--tiny", "--workdir", str(tmp_path)], capture_output=True,
                         text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    report = json.loads((tmp_path / "against.json").read_text())
    assert report["reference_documents"] == 3000 and report["new_documents"] == 1000
    alone, index, text, update = report["runs"]
    assert "reference" not in alone["summary"]
    assert index["summary"]["reference"]["verified"] is False and text["summary"]["reference"]["verified"] is True
    # Verified matches are among the index's: fingerprints alone match at least as many.
    assert text["summary"]["reference"]["matched"] <= index["summary"]["reference"]["matched"]
    assert update["summary"]["update"]["documents"] == 3000 + update["summary"]["kept"] - \
        update["summary"]["token_less_documents"]
    assert "| against the index and its text |" in (tmp_path / "against.md").read_text()
