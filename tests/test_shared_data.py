"""The shared-corpora loader (benchmarks/shared_data.py): where it looks and how it skips."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import shared_data


def test_environment_variable_names_the_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(shared_data.LEGACY_ENV, raising=False)
    monkeypatch.delenv(shared_data.ENV, raising=False)
    assert shared_data.data_dir() == shared_data.REPO_ROOT.parent / "shared" / "data"
    monkeypatch.setenv(shared_data.LEGACY_ENV, str(tmp_path / "old"))
    assert shared_data.data_dir() == tmp_path / "old" / "data"  # the older name: the folder above data/
    monkeypatch.setenv(shared_data.ENV, str(tmp_path))
    assert shared_data.data_dir() == tmp_path  # the new name wins
    assert shared_data.path("x.jsonl.gz") == tmp_path / "x.jsonl.gz"


def test_absent_corpus_skips_with_its_path_and_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(shared_data.ENV, str(tmp_path / "nowhere"))
    with pytest.raises(pytest.skip.Exception) as skipped:
        shared_data.require("reuters21578.jsonl.gz")
    reason = str(skipped.value)
    assert str(tmp_path / "nowhere" / "reuters21578.jsonl.gz") in reason and shared_data.ENV in reason
    with pytest.raises(pytest.skip.Exception, match="folder"):
        shared_data.require()


def test_reads_records_and_texts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    rows = [{"id": 1, "text": "first"}, {"id": 2, "text": "  "}, {"id": 3, "text": "third"}]
    with gzip.open(tmp_path / "c.jsonl.gz", "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    monkeypatch.setenv(shared_data.ENV, str(tmp_path))
    assert shared_data.require() == tmp_path and shared_data.absent_reason("c.jsonl.gz") is None
    assert shared_data.records("c.jsonl.gz") == rows
    assert shared_data.records("c.jsonl.gz", 2) == rows[:2]
    assert shared_data.texts("c.jsonl.gz") == ["first", "third"]  # blank texts left out
    assert shared_data.texts("c.jsonl.gz", nonblank=False) == ["first", "  ", "third"]
