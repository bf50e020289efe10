"""`simdup dedup --dask`: the same files as `simdup dedup`, from a local cluster or a scheduler address."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")
pytest.importorskip("dask.dataframe")

from test_cli import SAMPLE, run


@pytest.fixture(scope="module")
def scheduler() -> str:
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                       silence_logs=logging.ERROR)
    yield cluster.scheduler_address
    cluster.close()


def sample_lines() -> list[bytes]:
    with gzip.open(SAMPLE, "rb") as f:
        return f.readlines()


def single_machine(tmp_path: Path, source: Path) -> tuple[bytes, str]:
    out, clusters = tmp_path / "single.jsonl.gz", tmp_path / "single.csv"
    result = run("dedup", "--quiet", str(source), "-o", str(out), "--clusters", str(clusters))
    assert result.returncode == 0, result.stderr
    return gzip.decompress(out.read_bytes()), clusters.read_text()


def test_sample_on_a_local_cluster_writes_what_dedup_writes(tmp_path: Path) -> None:
    expected, expected_clusters = single_machine(tmp_path, SAMPLE)
    out, clusters = tmp_path / "dask.jsonl.gz", tmp_path / "dask.csv"
    # `--dask INPUT`: with no address, INPUT is not taken for one.
    result = run("dedup", "--dask", str(SAMPLE), "--workers", "2", "-o", str(out), "--clusters", str(clusters),
                 "--json")
    assert result.returncode == 0, result.stderr
    assert gzip.decompress(out.read_bytes()) == expected
    assert clusters.read_text() == expected_clusters
    summary = json.loads(result.stdout)
    assert summary["workers"] == 2 and summary["partitions"] == 4  # two a worker thread
    assert summary["documents"] == 2000 and summary["duplicates_removed"] == 42
    assert not list(tmp_path.glob(".*"))  # no temporary files left


def test_shards_on_a_scheduler_address(tmp_path: Path, scheduler: str) -> None:
    lines = sample_lines()
    whole = tmp_path / "whole.jsonl.gz"
    whole.write_bytes(gzip.compress(b"".join(lines)))
    expected, expected_clusters = single_machine(tmp_path, whole)
    shards = tmp_path / "shards"
    (shards / "b").mkdir(parents=True)
    names = ["a-0.jsonl.gz", "a-1.jsonl", "b/c-2.jsonl.gz"]  # sorted order is corpus order
    for n, name in enumerate(names):
        chunk = b"".join(lines[n * 700:(n + 1) * 700])
        (shards / name).write_bytes(gzip.compress(chunk) if name.endswith(".gz") else chunk)
    (shards / "README").write_text("not a corpus file")
    out, clusters = tmp_path / "out", tmp_path / "clusters.csv"
    pattern = str(shards / "**" / "*")  # a quoted glob: the shards, in sorted order
    result = run("dedup", pattern, "--dask", scheduler, "--split", "3", "-o", str(out), "--clusters",
                 str(clusters), "--json")
    assert result.returncode == 0, result.stderr
    written = b""
    for name in names:
        data = (out / name).read_bytes()
        written += gzip.decompress(data) if name.endswith(".gz") else data
    assert written == expected
    assert clusters.read_text() == expected_clusters
    assert json.loads(result.stdout)["partitions"] == 9

    again = run("dedup", pattern, "--dask", scheduler, "-o", str(out))
    assert again.returncode == 1 and "already exists" in again.stderr


def test_bad_records_are_reported_or_skipped(tmp_path: Path, scheduler: str) -> None:
    shards = tmp_path / "shards"
    shards.mkdir()
    lines = sample_lines()
    (shards / "0.jsonl").write_bytes(b"".join(lines[:50]))
    (shards / "1.jsonl").write_bytes(b"".join(lines[50:60]) + b"{broken\n" + b"".join(lines[60:100]))
    failed = run("dedup", str(shards / "*.jsonl"), "--dask", scheduler, "-o", str(tmp_path / "out"))
    assert failed.returncode == 1
    assert failed.stderr.strip().endswith("1.jsonl:11: not valid JSON (Expecting property name enclosed in "
                                          "double quotes)")
    assert "Traceback" not in failed.stderr and not (tmp_path / "out").exists()
    skipped = run("dedup", str(shards / "*.jsonl"), "--dask", scheduler, "-o", str(tmp_path / "out"), "--skip-bad",
                  "--json")
    assert skipped.returncode == 0, skipped.stderr
    summary = json.loads(skipped.stdout)
    assert summary["skipped_bad_records"] == 1 and summary["documents"] == 100


def test_usage_errors(tmp_path: Path, scheduler: str) -> None:
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "a.jsonl").write_text('{"text": "a b c"}\n')
    (mixed / "b.txt").write_text("a b c\n")
    result = run("dedup", str(mixed / "*"), "--dask", scheduler, "-o", str(tmp_path / "out"))
    assert result.returncode == 1 and "one corpus format" in result.stderr
    result = run("dedup", str(SAMPLE), "--dask", scheduler, "--workers", "2", "-o", str(tmp_path / "x.jsonl.gz"))
    assert result.returncode == 1 and "--workers is for the local cluster" in result.stderr
    result = run("dedup", str(SAMPLE), "--dask", "--split", "0", "-o", str(tmp_path / "x.jsonl.gz"))
    assert result.returncode == 2 and "--split must be at least 1" in result.stderr
    result = run("dedup", str(tmp_path / "nothing-*.jsonl"), "--dask", scheduler, "-o", str(tmp_path / "y"))
    assert result.returncode == 1 and "no corpus files" in result.stderr
    result = run("dedup", "--dask", "tcp://127.0.0.1:9", "-o", str(tmp_path / "z"))
    assert result.returncode == 2 and "required: INPUT" in result.stderr


def test_a_directory_of_documents_means_what_it_means_without_dask(tmp_path: Path, scheduler: str) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    text = "crude oil prices rose three percent on monday as traders weighed the supply outlook"
    (docs / "a.txt").write_text(text + "\n" + text)  # one document of two lines
    (docs / "b.txt").write_text(text + "\n" + text)
    (docs / "c.html").write_text(f"<html><body><p>{text.upper()} and more</p></body></html>")
    (docs / "d.txt").write_text("an unrelated note about the weather in the mountains this week")
    plain = run("dedup", str(docs), "-o", str(tmp_path / "plain"), "--clusters", str(tmp_path / "plain.csv"))
    assert plain.returncode == 0, plain.stderr
    dist = run("dedup", str(docs), "--dask", scheduler, "-o", str(tmp_path / "dist"), "--clusters",
               str(tmp_path / "dist.csv"))
    assert dist.returncode == 0, dist.stderr
    assert sorted(p.name for p in (tmp_path / "dist").iterdir()) == ["a.txt", "c.html", "d.txt"]
    assert sorted(p.name for p in (tmp_path / "plain").iterdir()) == ["a.txt", "c.html", "d.txt"]
    assert (tmp_path / "dist.csv").read_text() == (tmp_path / "plain.csv").read_text()


def test_text_line_shards_are_named_by_file_and_line(tmp_path: Path, scheduler: str) -> None:
    text = "crude oil prices rose three percent on monday as traders weighed the supply outlook"
    (tmp_path / "s1.txt").write_text(f"{text}\nsomething else entirely about mountains and weather\n")
    (tmp_path / "s2.txt").write_text(f"unrelated words about a football match last night\n{text}\n")
    result = run("dedup", str(tmp_path / "s*.txt"), "--dask", scheduler, "-o", str(tmp_path / "out"),
                 "--clusters", str(tmp_path / "c.csv"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "c.csv").read_text().splitlines() == [
        "id,cluster,kept_id,matched_id,distance,jaccard,reason", "s1.txt:1,0,s1.txt:1,,,,kept",
        "s2.txt:2,0,s1.txt:1,s1.txt:1,0,1.0,same_fingerprint"]
    assert (tmp_path / "out" / "s2.txt").read_text() == "unrelated words about a football match last night\n"


def write_new_and_reference(tmp_path: Path) -> tuple[Path, Path]:
    """1,200 new documents and 600 reference ones; 300 are in both (cross-collection copies) and the
    sample's own near-duplicates are within each."""
    lines = sample_lines()
    new, reference = tmp_path / "new.jsonl", tmp_path / "reference.jsonl"
    new.write_bytes(b"".join(lines[:1200]))
    reference.write_bytes(b"".join(lines[900:1500]))
    return new, reference


@pytest.mark.slow  # (two Dask runs and two local ones: CI runs it with the slow tests)
@pytest.mark.parametrize("kind", ["corpus", "index"])
def test_against_writes_what_dedup_writes(tmp_path: Path, scheduler: str, kind: str) -> None:
    new, reference = write_new_and_reference(tmp_path)
    against = reference
    if kind == "index":
        against = tmp_path / "reference.idx"
        built = run("index", "build", str(reference), "-o", str(against), "-k", "8", "--quiet")
        assert built.returncode == 0, built.stderr
    outputs = {}
    for name, extra in (("plain", []), ("dask", ["--dask", scheduler])):
        out = tmp_path / f"{name}.jsonl"
        clusters = [tmp_path / f"{name}-clusters.csv", tmp_path / f"{name}-clusters.jsonl"]
        for n, path in enumerate(clusters):  # the same run twice: one clusters file each
            result = run("dedup", str(new), *extra, "--against", str(against), "-o", str(out if n == 0 else
                         tmp_path / f"{name}-again.jsonl"), "--clusters", str(path), "--json", "--quiet")
            assert result.returncode == 0, result.stderr
        outputs[name] = (out.read_bytes(), clusters[0].read_text(), clusters[1].read_text(), json.loads(result.stdout))
    plain, dask = outputs["plain"], outputs["dask"]
    assert dask[:3] == plain[:3]  # the kept records and both clusters files, byte for byte
    assert dask[3]["reference"] == plain[3]["reference"]
    assert plain[3]["reference"]["kind"] == kind and plain[3]["reference"]["matched"] >= 250
    for key in ("documents", "kept", "duplicates_removed", "clusters", "pairs"):
        assert dask[3][key] == plain[3][key], key
    reasons = [json.loads(line)["reason"] for line in dask[2].splitlines()]
    assert reasons.count("reference") == plain[3]["reference"]["matched"]
    assert {"kept", "same_fingerprint", "reference"} <= set(reasons)


@pytest.mark.slow  # (as above)
def test_update_writes_the_index_dedup_writes(tmp_path: Path, scheduler: str) -> None:
    new, reference = write_new_and_reference(tmp_path)
    index = tmp_path / "reference.idx"
    assert run("index", "build", str(reference), "-o", str(index), "-k", "8", "--quiet").returncode == 0
    summaries = {}
    for name, extra in (("plain", []), ("dask", ["--dask", scheduler])):
        result = run("dedup", str(new), *extra, "--against", str(index), "--update", str(tmp_path / f"{name}.idx"),
                     "-o", str(tmp_path / f"{name}.jsonl"), "--json", "--quiet")
        assert result.returncode == 0, result.stderr
        summaries[name] = json.loads(result.stdout)
    assert (tmp_path / "dask.idx").read_bytes() == (tmp_path / "plain.idx").read_bytes()
    assert (tmp_path / "dask.idx.names.json").read_bytes() == (tmp_path / "plain.idx.names.json").read_bytes()
    assert summaries["dask"]["update"] == {**summaries["plain"]["update"], "index": str(tmp_path / "dask.idx")}
    assert summaries["dask"]["update"]["added"] == summaries["dask"]["kept"] - summaries["dask"]["token_less_documents"]
    # Against the updated index, a second run keeps only the token-less documents (they match nothing).
    again = run("dedup", str(new), "--dask", scheduler, "--against", str(tmp_path / "dask.idx"), "-o",
                str(tmp_path / "again.jsonl"), "--json", "--quiet")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["kept"] == summaries["dask"]["token_less_documents"] > 0


def test_against_usage_errors(tmp_path: Path, scheduler: str) -> None:
    new, reference = write_new_and_reference(tmp_path)
    update = run("dedup", str(new), "--dask", scheduler, "--against", str(reference), "--update",
                 str(tmp_path / "x.idx"), "-o", str(tmp_path / "out.jsonl"))
    assert update.returncode == 1 and update.stderr.startswith("simdup: error: --update adds the kept documents")
    missing = run("dedup", str(new), "--dask", scheduler, "--against", str(tmp_path / "none.jsonl"), "-o",
                  str(tmp_path / "out.jsonl"))
    assert missing.returncode == 1 and "no such file" in missing.stderr and "Traceback" not in missing.stderr
    overwrite = run("dedup", str(new), "--dask", scheduler, "--against", str(reference), "-o", str(reference))
    assert overwrite.returncode == 1 and "Traceback" not in overwrite.stderr
    index = tmp_path / "ref.idx"
    assert run("index", "build", str(reference), "-o", str(index), "-q").returncode == 0
    with_text = run("dedup", str(new), "--dask", scheduler, "--against", str(index), "--against", str(reference),
                    "-o", str(tmp_path / "out.jsonl"))
    assert with_text.returncode == 1 and "not an index with its text" in with_text.stderr
    assert not (tmp_path / "out.jsonl").exists()
