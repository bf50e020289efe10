"""benchmarks/bench_scrapy.py runs on tiny input (a 10-page site, 20k adds), so it does not rot."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import shared_data  # benchmarks/, on the path from tests/conftest.py

ROOT = Path(__file__).resolve().parents[1]


def test_bench_scrapy_tiny() -> None:
    pytest.importorskip("scrapy", reason="bench_scrapy.py needs Scrapy (the scrapy extra)")
    shared_data.require("web_pages_trafilatura.jsonl.gz")
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_scrapy.py"), "--tiny"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "8 of 8 planted copies found" in out
    assert re.search(r"\| without simdup \| 22 \|", out) and re.search(r"\| with simdup, mark \| 22 \| .* \| 18 \| 8 \| 0 \|", out)
    assert re.search(r"\| with simdup, drop \| 22 \| .* \| 18 \| 0 \| 8 \|", out)
    assert "overhead (mark against without):" in out
    # the windowed runs stay at the window; the unwindowed one grows
    window = out.split("### SimHashIndex(window_size=1,000)")[1].split("###")[0]
    assert window.count("| 1,000 |") == 10
    assert "| 20,000 | 20,000 |" in out.split("### SimHashIndex, no window")[1]
