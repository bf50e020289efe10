"""The installed `simdup` console script, run in a subprocess."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import simdup

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
