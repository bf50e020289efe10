"""Hugging Face datasets: simdup.dedup of a Dataset, and `simdup dedup` of a directory written by save_to_disk.

Every dataset is built here, from the shared Reuters corpus or literal
texts; nothing is downloaded (the offline switches are set for this process
and the commands it runs).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shared_data  # benchmarks/, on the path through tests/conftest.py
from test_cli import simdup_cmd

import simdup
from simdup.corpus import CorpusError, HfCorpus, format_of, open_corpus

datasets = pytest.importorskip("datasets")

os.environ["HF_DATASETS_OFFLINE"] = os.environ["HF_HUB_OFFLINE"] = "1"
datasets.disable_progress_bars()

N_PLANTED = 12


@pytest.fixture(scope="module")
def reuters() -> list[dict]:
    """Reuters records (id, title, date, text) that ``simdup.dedup`` finds no near-duplicates among."""
    shared_data.require("reuters21578.jsonl.gz")
    records = [r for r in shared_data.records("reuters21578.jsonl.gz", 400) if len(r["text"].split()) >= 30][:200]
    kept = simdup.dedup([r["text"] for r in records]).keep
    base = [r for r, k in zip(records, kept) if k]
    assert len(base) >= 150 and simdup.dedup([r["text"] for r in base]).keep.all()
    return base


def with_planted(records: list[dict]) -> tuple[list[dict], list[str]]:
    """``records`` with N_PLANTED near-copies (one word changed, or none) after their originals; their ids."""
    out, planted = [], []
    for n, r in enumerate(records):
        out.append(r)
        if n % 10 == 3 and len(planted) < N_PLANTED:
            words = r["text"].split(" ")
            if n % 20 == 3:
                words[len(words) // 2] = "whereupon"
            copy = {**r, "id": f"copy-of-{r['id']}", "text": " ".join(words)}
            out.append(copy)
            planted.append(copy["id"])
    assert len(planted) == N_PLANTED
    return out, planted


def as_dataset(records: list[dict]) -> datasets.Dataset:
    return datasets.Dataset.from_dict({key: [r[key] for r in records] for key in records[0]})


def run(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([simdup_cmd(), *map(str, args)], check=False, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def one_line_error(result: subprocess.CompletedProcess[str], *fragments: object) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("simdup: error: "), result.stderr
    for fragment in fragments:
        assert str(fragment) in lines[0], (fragment, lines[0])


# -- the Python API -----------------------------------------------------------------------


def test_a_dataset_is_deduplicated_as_its_texts_and_keeps_every_column(reuters: list[dict]) -> None:
    records, planted = with_planted(reuters)
    ds = as_dataset(records)
    result = simdup.dedup(ds, k=6)
    plain = simdup.dedup([r["text"] for r in records], k=6)
    np.testing.assert_array_equal(result.keep, plain.keep)
    np.testing.assert_array_equal(result.fingerprints, plain.fingerprints)
    removed = [r["id"] for r, k in zip(records, result.keep) if not k]
    assert removed == planted
    kept = result.dataset
    assert isinstance(kept, datasets.Dataset) and kept.column_names == ["id", "title", "date", "text"]
    assert kept.to_list() == [r for r, k in zip(records, result.keep) if k]
    assert len(ds) == len(records)  # the input is not changed


def test_the_text_column_and_the_rows_of_a_selected_or_shuffled_dataset(reuters: list[dict]) -> None:
    records, _ = with_planted(reuters)
    ds = as_dataset(records).rename_column("text", "body").shuffle(seed=3).select(range(0, len(records), 2))
    assert ds._indices is not None  # an indices mapping: dedup reads the rows it maps, in its order
    texts = [r["body"] for r in ds]
    result = simdup.dedup(ds, text_column="body", keep="longest", verify=None)
    plain = simdup.dedup(texts, keep="longest", verify=None)
    np.testing.assert_array_equal(result.keep, plain.keep)
    assert result.dataset["body"] == [t for t, k in zip(texts, plain.keep) if k]


def test_bytes_documents_and_an_empty_dataset() -> None:
    pages = [b"<html><body><p>Crude oil prices rose sharply on Monday after the cartel met</p></body></html>"] * 2
    result = simdup.dedup(datasets.Dataset.from_dict({"text": pages, "n": [1, 2]}))
    assert result.keep.tolist() == [True, False] and result.dataset["n"] == [1]
    empty = datasets.Dataset.from_dict({"text": []}, features=datasets.Features({"text": datasets.Value("string")}))
    result = simdup.dedup(empty)
    assert len(result.keep) == 0 and len(result.dataset) == 0


def test_bad_datasets_and_columns_are_clear_errors() -> None:
    ds = datasets.Dataset.from_dict({"content": ["a b c", "d e f"], "label": [0, 1]})
    with pytest.raises(ValueError, match=r"no column 'text' \(columns: content, label\)"):
        simdup.dedup(ds)
    with pytest.raises(ValueError, match=r"column 'label' is not text .*columns: content, label"):
        simdup.dedup(ds, text_column="label")
    with pytest.raises(ValueError, match="row 1: column 'text' is null"):
        simdup.dedup(datasets.Dataset.from_dict({"text": ["a b c", None]}))
    nested = datasets.Dataset.from_dict({"text": [["a", "b"], ["c"]]})
    with pytest.raises(ValueError, match="column 'text' is not text"):
        simdup.dedup(nested)
    with pytest.raises(TypeError, match=r"DatasetDict holds several splits \(train, test\).*ds\['train'\]"):
        simdup.dedup(datasets.DatasetDict({"train": ds, "test": ds}), text_column="content")
    with pytest.raises(TypeError, match="streaming IterableDataset is not supported"):
        simdup.dedup(ds.to_iterable_dataset(), text_column="content")
    with pytest.raises(TypeError, match="text_column names a column of a datasets.Dataset; docs is a list"):
        simdup.dedup(["a b c"], text_column="text")
    with pytest.raises(TypeError, match="text_column must be a column name"):
        simdup.dedup(ds, text_column=3)  # type: ignore[arg-type]


def test_simdup_never_imports_datasets_itself() -> None:
    code = ("import sys, simdup, simdup.cli, simdup.corpus\n"
            "simdup.dedup(['one two three four', 'one two three four'])\n"
            "simdup.cli.build_parser().parse_args(['dedup', 'x', '-o', 'y'])\n"
            "print('datasets' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "False", result.stderr


# -- saved datasets: the corpus format and the command line ---------------------------------------


@pytest.fixture
def saved(tmp_path: Path, reuters: list[dict]) -> tuple[Path, list[dict], list[str]]:
    """A Dataset saved in 3 Arrow files, with planted near-copies and an ``id`` column renamed ``doc``."""
    records, planted = with_planted(reuters)
    path = tmp_path / "reuters"
    as_dataset(records).rename_column("id", "doc").save_to_disk(str(path), num_shards=3)
    assert len(list(path.glob("data-*.arrow"))) == 3
    return path, records, planted


def test_a_saved_dataset_is_a_corpus_read_in_order(saved: tuple[Path, list[dict], list[str]]) -> None:
    path, records, _ = saved
    assert format_of(path) == "hf" and format_of(path.parent) == "directory"
    corpus = open_corpus(path, id_field="doc")
    assert isinstance(corpus, HfCorpus)
    assert list(corpus.records()) == [(r["id"], r["text"]) for r in records]
    by_row = open_corpus(path)  # no column "id": row numbers, as for Parquet
    assert [doc_id for doc_id, _ in by_row.records()] == [str(n) for n in range(len(records))]
    with pytest.raises(CorpusError, match=r"no column 'body' \(columns: doc, title, date, text\)"):
        open_corpus(path, text_field="body")
    datasets.Dataset.from_dict({"text": ["a"], "date": [1]}).save_to_disk(str(path.parent / "ints"))
    with pytest.raises(CorpusError, match=r"column 'date' is not text \(int64; columns: text, date\)"):
        open_corpus(path.parent / "ints", text_field="date")


def test_hash_prints_a_fingerprint_per_row_of_a_saved_dataset(saved: tuple[Path, list[dict], list[str]]) -> None:
    path, records, _ = saved
    result = run("hash", "--id-field", "doc", path)
    assert result.returncode == 0, result.stderr
    hasher = simdup.SimHasher.default()
    assert result.stdout.splitlines() == [f"{fp:016x}\t{r['id']}" for r, fp in
                                          zip(records, hasher.transform([r["text"] for r in records]).tolist())]


def test_nulls_are_errors_or_skipped_and_not_written(tmp_path: Path) -> None:
    path = tmp_path / "ds"
    datasets.Dataset.from_dict({"text": ["one two three", None, "four five six"], "n": [0, 1, 2]}).save_to_disk(
        str(path))
    with pytest.raises(CorpusError, match="row 1: column 'text' is null"):
        list(open_corpus(path).records())
    corpus = open_corpus(path, skip_bad=True)
    assert list(corpus.records()) == [("0", "one two three"), ("2", "four five six")] and corpus.skipped == 1
    corpus.write_kept([False, True], tmp_path / "out")
    assert datasets.load_from_disk(str(tmp_path / "out")).to_list() == [{"text": "four five six", "n": 2}]


def test_cli_round_trip_with_clusters_by_the_id_column(saved: tuple[Path, list[dict], list[str]],
                                                      tmp_path: Path) -> None:
    path, records, planted = saved
    out, clusters = tmp_path / "dedup", tmp_path / "clusters.csv"
    result = run("dedup", path, "-o", out, "--id-field", "doc", "--clusters", clusters, "-k", "6", "--jobs", "1",
                 "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["format"] == "hf" and summary["documents"] == len(records)
    assert summary["duplicates_removed"] == N_PLANTED
    kept = datasets.load_from_disk(str(out))
    assert kept.column_names == ["doc", "title", "date", "text"]
    expected = [r for r in records if r["id"] not in planted]
    assert kept.to_list() == [{"doc": r["id"], "title": r["title"], "date": r["date"], "text": r["text"]}
                              for r in expected]
    with open(clusters, newline="") as f:
        rows = list(csv.DictReader(f))
    copies = {row["id"]: row["kept_id"] for row in rows if row["id"] != row["kept_id"]}
    assert copies == {copy: copy.removeprefix("copy-of-") for copy in planted}
    assert not any(out.parent.glob(".*simdup*"))  # no temporary directory left


def test_cli_refuses_an_existing_output_and_a_dataset_dict(saved: tuple[Path, list[dict], list[str]],
                                                          tmp_path: Path) -> None:
    path, _, _ = saved
    existing = tmp_path / "exists"
    existing.mkdir()
    one_line_error(run("dedup", path, "-o", existing), existing, "already exists")
    assert not any(existing.iterdir())
    splits = tmp_path / "splits"
    ds = datasets.load_from_disk(str(path))
    datasets.DatasetDict({"train": ds, "test": ds.select(range(5))}).save_to_disk(str(splits))
    one_line_error(run("dedup", splits, "-o", tmp_path / "o1"), "a saved DatasetDict (splits: test, train)",
                   f"give one split's directory, e.g. {splits / 'test'}")
    result = run("dedup", splits / "train", "-o", tmp_path / "o2", "--jobs", "1")
    assert result.returncode == 0, result.stderr
    # datasets' own progress bars stay off: the summary is all stderr gets
    assert result.stderr.startswith("simdup dedup: ") and "Saving" not in result.stderr, result.stderr
    assert datasets.load_from_disk(str(tmp_path / "o2")).column_names == ["doc", "title", "date", "text"]
    one_line_error(run("dedup", path, "-o", tmp_path / "o3", "--text-field", "body"), "no column 'body'",
                   "columns: doc, title, date, text")
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o3").exists()


def test_cli_names_a_damaged_arrow_file(saved: tuple[Path, list[dict], list[str]], tmp_path: Path) -> None:
    path, _, _ = saved
    damaged = path / "data-00001-of-00003.arrow"
    data = damaged.read_bytes()
    damaged.write_bytes(data[:len(data) // 2])
    for extra in ((), ("--skip-bad",)):
        one_line_error(run("dedup", path, "-o", tmp_path / "out", "--jobs", "1", *extra), damaged,
                       "cannot read Arrow (truncated or corrupt")
        assert not (tmp_path / "out").exists()
    damaged.unlink()
    one_line_error(run("dedup", path, "-o", tmp_path / "out"), damaged, "no such file (listed in")
    (path / "state.json").write_text("{not json")
    one_line_error(run("dedup", path, "-o", tmp_path / "out"), path / "state.json", "not a saved dataset's state")
