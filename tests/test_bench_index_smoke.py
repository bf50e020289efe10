"""The index benchmark script runs on tiny input, with and without its optional peers."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "benchmarks", "bench_index.py")


def _run(env_extra=None, *args):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, SCRIPT, "--tiny", *args], capture_output=True,
                          text=True, env=env, timeout=120, cwd=ROOT, check=False)


def test_bench_runs_and_all_present_peers_agree():
    r = _run()
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    simdup = next(ln for ln in lines if ln.startswith("simdup "))
    assert simdup.split()[-1] == "yes" or "single queries" in simdup
    assert " NO" not in r.stdout


def test_bench_skips_missing_peers(tmp_path):
    # Shadow the optional peers with modules that fail to import.
    for mod in ("faiss", "simhash"):
        (tmp_path / f"{mod}.py").write_text("raise ImportError('hidden by the smoke test')\n")
    path = os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    r = _run({"PYTHONPATH": path})
    assert r.returncode == 0, r.stderr
    for peer in ("faiss-multihash", "faiss-flat", "simhash"):
        assert f"{peer:16s} skipped" in r.stdout
    assert any(ln.startswith("simdup ") for ln in r.stdout.splitlines())


def test_bench_rejects_unknown_peer():
    r = _run(None, "--peers", "simdup,bogus")
    assert r.returncode != 0 and "unknown peers" in r.stderr


@pytest.mark.parametrize("peers", ["simdup", "numpy,simdup"])
def test_bench_peer_subsets(peers):
    r = _run(None, "--peers", peers)
    assert r.returncode == 0, r.stderr
