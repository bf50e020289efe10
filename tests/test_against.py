"""Dedup against a reference (``simdup dedup --against``, ``dedup(against=)``), and the evidence of each removal.

The corpora are built from the shared Reuters stories: a background with no
two stories within 10 bits of each other (so nothing is a near-duplicate but
what is planted), cut into a reference and a new corpus; then copies planted
in the new corpus, each one word changed, of reference stories (to be removed
as matching the reference) and of new stories (removed within the new
corpus). The expected removals are exactly the planted copies, with their
sources as evidence.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shared_data  # benchmarks/, on the path from tests/conftest.py

import simdup
from simdup._core import hash_strings
from simdup.corpus import CorpusError
from simdup.stream import FileDedup

K = 8


def simdup_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "simdup", *args], capture_output=True, text=True, timeout=300)


def one_word_changed(text: str, salt: int) -> str:
    words = text.split()
    words[len(words) // 2] = f"changed{salt}"
    return " ".join(words)


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> dict:
    shared_data.require("reuters21578.jsonl.gz")
    records = [r for r in shared_data.records("reuters21578.jsonl.gz", 1500) if len(r["text"].split()) >= 80]
    hasher = simdup.SimHasher.default()
    fps = hasher.transform([r["text"] for r in records])
    pairs = simdup.find_duplicates(fps, 10)
    drop = set(pairs.j.tolist())  # one story of each pair within 10 bits: the background has no near-duplicates
    background = [r for x, r in enumerate(records) if x not in drop][:400]
    reference, new = background[:200], background[200:]
    cross = [{"id": f"copy-of-{r['id']}", "text": one_word_changed(r["text"], x)} for x, r in enumerate(reference[::20])]
    within = [{"id": f"copy-of-{r['id']}", "text": one_word_changed(r["text"], x)} for x, r in enumerate(new[::25])]
    new_corpus = new[:100] + cross + new[100:] + within
    directory = tmp_path_factory.mktemp("against")
    paths = {}
    for name, rows in (("reference", reference), ("new", new_corpus)):
        paths[name] = directory / f"{name}.jsonl"
        paths[name].write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    # One model for every run here: the same fingerprints whether the reference is an index or a corpus.
    model = directory / "model.npz"
    simdup.SimHasher().fit([r["text"] for r in reference + new_corpus]).save(model)
    return {"dir": directory, "paths": paths, "model": model, "reference": reference, "new": new_corpus,
            "cross": {c["id"]: r["id"] for c, r in zip(cross, reference[::20])},
            "within": {c["id"]: r["id"] for c, r in zip(within, new[::25])}}


def clusters_file(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def check_planted(rows: list[dict], corpora: dict, verified: bool) -> None:
    """The clusters file names exactly the planted copies as removed, each with its source as evidence."""
    removed = {r["id"]: r for r in rows if r["reason"] != "kept"}
    assert set(removed) == set(corpora["cross"]) | set(corpora["within"])
    for copy, source in corpora["cross"].items():
        row = removed[copy]
        assert (row["reason"], row["matched_id"], row["kept_id"]) == ("reference", source, source)
        assert 0 <= int(row["distance"]) <= K
        assert (float(row["jaccard"]) >= 0.8) if verified else row["jaccard"] == ""
    for copy, source in corpora["within"].items():
        row = removed[copy]
        assert row["reason"] in ("near_duplicate", "same_fingerprint")
        assert (row["matched_id"], row["kept_id"]) == (source, source)
        assert float(row["jaccard"]) >= 0.8
    kept = {r["id"] for r in rows if r["reason"] == "kept"}
    assert kept == set(corpora["within"].values())  # a cluster of the reference has no kept row


def test_against_a_corpus_and_an_index_remove_exactly_the_planted_copies(corpora: dict) -> None:
    d, paths, model = corpora["dir"], corpora["paths"], str(corpora["model"])
    index = d / "ref.idx"
    built = simdup_run("index", "build", str(paths["reference"]), "-o", str(index), "-k", str(K), "--model", model, "-q")
    assert built.returncode == 0, built.stderr
    outputs, files = {}, {}
    for kind, against in (("corpus", [paths["reference"]]), ("index", [index]),
                          ("index+text", [index, paths["reference"]])):
        out, clusters = d / f"out-{kind}.jsonl", d / f"clusters-{kind}.csv"
        options = [x for path in against for x in ("--against", str(path))]
        result = simdup_run("dedup", str(paths["new"]), "-o", str(out), "--clusters", str(clusters), *options,
                            "--model", model, "-k", str(K), "--json", "-q")
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        verified = kind != "index"
        assert summary["reference"]["kind"] == kind.split("+")[0] and summary["reference"]["verified"] == verified
        assert summary["reference"]["documents"] == len(corpora["reference"])
        assert summary["reference"]["matched"] == len(corpora["cross"])
        assert summary["duplicates_removed"] == len(corpora["cross"]) + len(corpora["within"])
        check_planted(clusters_file(clusters), corpora, verified=verified)
        outputs[kind], files[kind] = out.read_bytes(), clusters.read_bytes()
    assert outputs["corpus"] == outputs["index"] == outputs["index+text"]  # the same kept records, byte for byte
    # The index with the reference's text verifies each match: the corpus reference's clusters file exactly.
    assert files["index+text"] == files["corpus"] != files["index"]


def test_an_index_whose_text_lacks_a_document_matches_it_by_fingerprint(corpora: dict, tmp_path: Path) -> None:
    paths, model = corpora["paths"], str(corpora["model"])
    index = tmp_path / "ref.idx"
    assert simdup_run("index", "build", str(paths["reference"]), "-o", str(index), "-k", str(K), "--model", model,
                      "-q").returncode == 0
    source = next(iter(corpora["cross"].values()))
    partial = tmp_path / "partial.jsonl"
    partial.write_text("".join(json.dumps(r) + "\n" for r in corpora["reference"] if r["id"] != source))
    result = simdup_run("dedup", str(paths["new"]), "-o", str(tmp_path / "out.jsonl"), "--against", str(index),
                        "--against", str(partial), "--model", model, "-k", str(K), "--json", "-q",
                        "--clusters", str(tmp_path / "c.csv"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["reference"]["unverified"] == 1
    rows = {r["id"]: r for r in clusters_file(tmp_path / "c.csv")}
    unverified = [r for r in rows.values() if r["reason"] == "reference" and r["jaccard"] == ""]
    assert [r["matched_id"] for r in unverified] == [source]


def test_file_dedup_against_a_corpus_equals_dedup_against_documents(corpora: dict) -> None:
    hasher = simdup.SimHasher.load(corpora["model"])
    texts = [r["text"] for r in corpora["new"]]
    ref_texts = [r["text"] for r in corpora["reference"]]
    expected = simdup.dedup(texts, K, hasher=hasher, against=ref_texts)
    with FileDedup([corpora["paths"]["new"]], K, hasher=hasher, jobs=1, against=[corpora["paths"]["reference"]]) as run:
        got = run.run()
        rows = [row for chunk in run.cluster_rows(chunk=5) for row in chunk]
    assert got.keep.tolist() == expected.keep.tolist()
    assert got.representative.tolist() == expected.representative.tolist()
    assert got.kept_reference.tolist() == expected.kept_reference.tolist()
    for a, b in zip(got.evidence, expected.evidence):
        np.testing.assert_array_equal(a, b)
    assert got.summary["reference"] == {**expected.summary["reference"], "kind": "corpus"}
    assert [row[6] for row in rows].count("reference") == len(corpora["cross"])


def test_an_index_text_read_by_workers_in_blocks_of_any_format_gives_the_corpus_answer(
        corpora: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The reference's text is read by the worker processes, block by block (JSON Lines) or as records
    # read by the main process (Parquet): the answer is the corpus reference's, whatever the split.
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    hasher = simdup.SimHasher.load(corpora["model"])
    reference = corpora["reference"]
    index = simdup.SimHashIndex(K)
    names = [r["id"] for r in reference]
    index.add_many(hasher.transform([r["text"] for r in reference]), hash_strings(
        [n.encode() for n in names]))
    by_key = dict(zip(hash_strings([n.encode() for n in names]).tolist(), names))
    half = len(reference) // 2
    first, second = tmp_path / "ref-a.jsonl", tmp_path / "ref-b.parquet"
    first.write_text("".join(json.dumps(r) + "\n" for r in reference[:half]), encoding="utf-8")
    pq.write_table(pa.table({"id": names[half:], "text": [r["text"] for r in reference[half:]]}), second)
    with FileDedup([corpora["paths"]["new"]], K, hasher=hasher, jobs=1,
                   against=[corpora["paths"]["reference"]]) as run:
        expected = run.run()
        expected_rows = [row for chunk in run.cluster_rows() for row in chunk]
    monkeypatch.setattr(simdup.stream, "BLOCK_BYTES", 1 << 14)  # a dozen blocks of the JSON Lines half
    for jobs in (1, 2):
        with FileDedup([corpora["paths"]["new"]], K, hasher=hasher, jobs=jobs, against=index,
                       reference_name=by_key.__getitem__, reference_text=[first, second]) as run:
            got = run.run()
            rows = [row for chunk in run.cluster_rows() for row in chunk]
        assert got.keep.tolist() == expected.keep.tolist()
        assert got.summary["reference"]["verified"] and got.summary["reference"]["unverified"] == 0
        assert rows == expected_rows
    # A bad record in the text is an error naming its file and line; with skip_bad it is skipped.
    lines = first.read_text(encoding="utf-8").splitlines(keepends=True)
    first.write_text("".join(lines[:3] + ["{not json\n"] + lines[3:]), encoding="utf-8")
    with FileDedup([corpora["paths"]["new"]], K, hasher=hasher, jobs=2, against=index,
                   reference_name=by_key.__getitem__, reference_text=[first, second]) as run:
        with pytest.raises(CorpusError, match=r"ref-a\.jsonl:4: "):
            run.run()
    with FileDedup([corpora["paths"]["new"]], K, hasher=hasher, jobs=2, against=index, skip_bad=True,
                   reference_name=by_key.__getitem__, reference_text=[first, second]) as run:
        assert run.run().keep.tolist() == expected.keep.tolist()


def test_dedup_against_an_index_matches_by_fingerprint_alone(corpora: dict) -> None:
    hasher = simdup.SimHasher.load(corpora["model"])
    index = simdup.SimHashIndex(K)
    index.add_many(hasher.transform([r["text"] for r in corpora["reference"]]),
                   np.arange(100, 100 + len(corpora["reference"]), dtype=np.uint64))
    texts = [r["text"] for r in corpora["new"]]
    result = simdup.dedup(texts, K, hasher=hasher, against=index)
    ids = [r["id"] for r in corpora["new"]]
    by_reason = result.evidence.reason_names()
    matched = {ids[x]: int(result.evidence.reference[x]) for x, why in enumerate(by_reason) if why == "reference"}
    position = {r["id"]: 100 + x for x, r in enumerate(corpora["reference"])}
    assert matched == {copy: position[source] for copy, source in corpora["cross"].items()}
    assert np.isnan(result.evidence.jaccard[[x for x, why in enumerate(by_reason) if why == "reference"]]).all()
    assert result.summary["reference"]["verified"] is False
    with pytest.raises(ValueError, match="fitted"):
        simdup.dedup(texts, K, hasher=simdup.SimHasher(), against=index)
    with pytest.raises(TypeError, match="single document"):
        simdup.dedup(texts, K, against="one reference document")
    # An index answers within its own k: a smaller one matches within it, as the summary says.
    small = simdup.SimHashIndex(2)
    small.add_many(hasher.transform(["one reference document about oil"]), np.array([1], np.uint64))
    assert simdup.dedup(texts, K, hasher=hasher, against=small).summary["reference"]["k"] == 2


def test_update_then_a_second_run_keeps_nothing_new(corpora: dict, tmp_path: Path) -> None:
    paths, model = corpora["paths"], str(corpora["model"])
    index = tmp_path / "ref.idx"
    assert simdup_run("index", "build", str(paths["reference"]), "-o", str(index), "-k", str(K), "--model", model,
                      "-q").returncode == 0
    first = simdup_run("dedup", str(paths["new"]), "-o", str(tmp_path / "week1.jsonl"), "--against", str(index),
                       "--update", str(index), "-k", str(K), "--json", "-q")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["update"] == {"index": str(index), "added": summary["kept"], "replaced": 0,
                                 "documents": len(corpora["reference"]) + summary["kept"]}
    assert not list(tmp_path.glob("*.tmp*")) and not list(tmp_path.glob(".*"))  # no temporary file left
    info = json.loads(simdup_run("index", "info", str(index)).stdout)
    assert info["documents"] == len(corpora["reference"]) + summary["kept"]
    # The same crawl again: every document is now in the reference.
    second = simdup_run("dedup", str(paths["new"]), "-o", str(tmp_path / "week2.jsonl"), "--against", str(index),
                        "--update", str(index), "-k", str(K), "--json", "-q")
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert again["kept"] == 0 and again["update"]["added"] == 0
    assert again["update"]["documents"] == info["documents"]
    assert (tmp_path / "week2.jsonl").read_bytes() == b""
    # A kept document crawled again, one word changed, matches its own name in the updated reference.
    kept = [json.loads(line) for line in (tmp_path / "week1.jsonl").read_text().splitlines()]
    week3 = tmp_path / "week3.jsonl"
    week3.write_text(json.dumps({"id": "again", "text": one_word_changed(kept[0]["text"], 99)}) + "\n")
    third = simdup_run("dedup", str(week3), "-o", str(tmp_path / "out3.jsonl"), "--against", str(index),
                       "--clusters", str(tmp_path / "c3.csv"), "-k", str(K), "-q")
    assert third.returncode == 0, third.stderr
    [row] = clusters_file(tmp_path / "c3.csv")
    assert (row["id"], row["matched_id"], row["reason"]) == ("again", kept[0]["id"], "reference")


def test_update_writes_a_new_index_without_a_reference(corpora: dict, tmp_path: Path) -> None:
    index = tmp_path / "first.idx"
    result = simdup_run("dedup", str(corpora["paths"]["new"]), "-o", str(tmp_path / "out.jsonl"), "--update",
                        str(index), "--json", "-q")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["update"]["documents"] == summary["kept"] and "fit" not in summary["timings"]  # embedded model
    query = simdup_run("index", "query", str(index), str(corpora["paths"]["new"]), "-q")
    assert query.returncode == 0, query.stderr
    copy = next(iter(corpora["within"]))
    assert f"{copy}\t{corpora['within'][copy]}\t" in query.stdout


@pytest.mark.parametrize("extra, message", [
    (["--update", "{dir}/new.jsonl"], "already exists"),
    (["--against", "{ref}", "--update", "{dir}/x.idx"], "build an index of it"),
    (["--against", "{idx}", "--against", "{idx2}"], "a second index"),
    (["--against", "{dir}/missing.jsonl"], "no such file"),
    (["--against", "{out}"], "would overwrite"),
    (["--against", "{new}"], "both an input and the --against corpus"),  # every document would match itself
    (["--against", "{bad_idx}"], "corrupted or truncated index file"),  # not "unknown format"
])
def test_bad_reference_options_get_one_line_errors(corpora: dict, tmp_path: Path, extra: list[str],
                                                   message: str) -> None:
    index = tmp_path / "ref.idx"
    assert simdup_run("index", "build", str(corpora["paths"]["reference"]), "-o", str(index), "-q").returncode == 0
    shutil.copy(index, tmp_path / "ref2.idx")
    out = tmp_path / "out.jsonl"  # the output: here an (empty) corpus too, to be named as a reference
    out.write_text("")
    fill = {"dir": str(corpora["dir"]), "ref": str(corpora["paths"]["reference"]), "idx": str(index), "out": str(out),
            "idx2": str(tmp_path / "ref2.idx"), "new": str(corpora["paths"]["new"]),
            "bad_idx": str(tmp_path / "bad.idx")}
    (tmp_path / "bad.idx").write_bytes(index.read_bytes()[:100])
    result = simdup_run("dedup", str(corpora["paths"]["new"]), "-o", str(out), *[x.format(**fill) for x in extra],
                        "-q")
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and message in result.stderr and "Traceback" not in result.stderr


def test_an_index_with_a_smaller_k_warns(corpora: dict, tmp_path: Path) -> None:
    index = tmp_path / "ref.idx"
    assert simdup_run("index", "build", str(corpora["paths"]["reference"]), "-o", str(index), "-k", "3",
                      "-q").returncode == 0
    result = simdup_run("dedup", str(corpora["paths"]["new"]), "-o", str(tmp_path / "o.jsonl"), "--against",
                        str(index), "--json", "-q")
    assert result.returncode == 0, result.stderr
    assert "within 3 bits" in result.stderr and json.loads(result.stdout)["reference"]["k"] == 3
