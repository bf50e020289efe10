"""Streaming batch dedup of corpus files (simdup.stream): the same answer as simdup.dedup, in bounded memory."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simdup.stream
from simdup import SimHasher, dedup
from simdup.cli import main
from simdup.corpus import CorpusError
from simdup.idf import fit_idf_table
from simdup.stream import FileDedup
from simdup.stream._df import DfCounter, merge_runs
from simdup.stream._memory import parse_size


def write_jsonl(path: Path, texts: list[str], ids: list[str] | None = None) -> Path:
    ids = ids if ids is not None else [f"d{n}" for n in range(len(texts))]
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as f:
        for doc_id, text in zip(ids, texts):
            f.write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n")
    return path


def edited_copies(texts: list[str], seed: int = 0) -> list[str]:
    """The texts, then edited copies of every third (a word dropped, one changed), shuffled in."""
    rng = np.random.default_rng(seed)
    out = list(texts)
    for text in texts[::3]:
        words = text.split()
        if len(words) > 4:
            words.pop(int(rng.integers(len(words))))
            words[int(rng.integers(len(words)))] = "changed"
        out.append(" ".join(words))
    order = rng.permutation(len(out))
    return [out[x] for x in order]


def assert_same(result, expected) -> None:
    for name in ("fingerprints", "n_tokens", "labels", "representative", "keep", "distance"):
        np.testing.assert_array_equal(getattr(result, name), getattr(expected, name), err_msg=name)
    for name in ("i", "j", "distance"):
        np.testing.assert_array_equal(getattr(result.pairs, name), getattr(expected.pairs, name), err_msg=name)


def stream(paths: list[Path], tmp_path: Path, **kwargs):
    with FileDedup(paths, tmp_dir=tmp_path, **kwargs) as run:
        return run.run()


# -- the same answer as simdup.dedup ------------------------------------------------------------


@pytest.mark.parametrize("verify", [0.8, None])
@pytest.mark.parametrize("keep", ["first", "longest"])
def test_english_corpus_equals_in_memory_dedup(reuters_texts, tmp_path, verify, keep) -> None:
    texts = edited_copies(reuters_texts[:600])
    path = write_jsonl(tmp_path / "c.jsonl.gz", texts)
    expected = dedup(texts, verify=verify, keep=keep)
    assert (~expected.keep).sum() > 100  # the copies are found
    # A memory limit this small splits verification into many chunks and spills the document frequencies.
    with FileDedup([path], tmp_dir=tmp_path, verify=verify, keep=keep, jobs=1, memory_limit=200_000) as run:
        assert_same(run.run(), expected)
        assert run.stats["df_runs_spilled"] > 1
        assert verify is None or run.stats["verify_tasks"] > 3
        # Partial copies' sets are too small to reach 0.8: pruned by their sizes, unread, same answer.
        assert verify is None or run.stats["pairs_size_pruned"] > 0


def test_chinese_corpus_equals_in_memory_dedup_with_a_segmenter(fudan_texts, tmp_path) -> None:
    pytest.importorskip("jieba")
    texts = edited_copies(fudan_texts[:40])
    path = write_jsonl(tmp_path / "c.jsonl", texts)
    for params in ({}, {"tokenizer": "chinese"}):
        expected = dedup(texts, hasher=SimHasher(**params))
        # tokenizer="chinese" spills two texts: the segmented one (fingerprints) and the plain one (shingles).
        assert_same(stream([path], tmp_path, hasher=SimHasher(**params), jobs=1, memory_limit=100_000), expected)


def test_worker_processes_give_the_same_answer(reuters_texts, tmp_path, monkeypatch) -> None:
    texts = edited_copies(reuters_texts[:900], seed=3)
    path = write_jsonl(tmp_path / "c.jsonl", texts)
    one = stream([path], tmp_path, jobs=1)
    # Small blocks and chunks, so that both workers read, fingerprint and verify.
    monkeypatch.setattr(simdup.stream, "BLOCK_BYTES", 1 << 16)
    with FileDedup([path], tmp_dir=tmp_path, jobs=2, memory_limit=300_000) as run:
        two = run.run()
        assert run.jobs == 2 and run.stats["read_tasks"] > 4 and run.stats["verify_tasks"] > 2
        assert run.peak_rss_workers > 0 and run.cpu_seconds > 0
    assert_same(two, one)
    assert_same(one, dedup(texts))


def test_a_fitted_hasher_fingerprints_while_reading(reuters_texts, tmp_path) -> None:
    texts = edited_copies(reuters_texts[:300])
    path = write_jsonl(tmp_path / "c.jsonl", texts)
    for hasher in (SimHasher.default(), SimHasher(use_idf=False)):
        with FileDedup([path], hasher=hasher, jobs=1, tmp_dir=tmp_path) as run:
            result = run.run()
            assert "fit" not in run.timings and "fingerprint" not in run.timings
        assert_same(result, dedup(texts, hasher=hasher))


def test_shards_are_one_corpus(reuters_texts, tmp_path) -> None:
    texts = edited_copies(reuters_texts[:300])
    a = write_jsonl(tmp_path / "a.jsonl", texts[:200], [f"a{n}" for n in range(200)])
    b = write_jsonl(tmp_path / "b.jsonl.gz", texts[200:], [f"b{n}" for n in range(len(texts) - 200)])
    expected = dedup(texts)
    with FileDedup([a, b], jobs=1, tmp_dir=tmp_path) as run:
        assert_same(run.run(), expected)
        rows = [row for chunk in run.cluster_rows(chunk=7) for row in chunk]
        out = tmp_path / "out.jsonl"
        run.write(out)
    ids = [f"a{n}" for n in range(200)] + [f"b{n}" for n in range(len(texts) - 200)]
    kept = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert kept == [ids[x] for x in np.flatnonzero(expected.keep)]
    members = np.flatnonzero(np.bincount(expected.labels, minlength=len(texts))[expected.labels] > 1)
    assert [r[0] for r in rows] == [ids[m] for m in members]
    assert [r[2] for r in rows] == [ids[expected.representative[m]] for m in members]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=st.lists(st.sampled_from(["the cat sat on the mat", "the cat sat on a mat", "a dog ran", "",
                                      "un chat noir", "猫坐在垫子上了", "猫坐在垫子上", "!!", "x y z w"]),
                     max_size=25),
       k=st.integers(0, 10), verify=st.sampled_from([None, 0.5, 1.0]))
def test_any_small_corpus_equals_in_memory_dedup(tmp_path, docs, k, verify) -> None:
    path = write_jsonl(tmp_path / "h.jsonl", docs)
    result = stream([path], tmp_path, k=k, verify=verify, jobs=1, memory_limit=1000)
    if not docs:
        assert len(result.keep) == 0
        return
    assert_same(result, dedup(docs, k=k, verify=verify))


# -- bounded memory: the document-frequency counter --------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blocks=st.lists(st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 50), max_size=40), max_size=30),
       budget=st.integers(16, 4000), cap=st.sampled_from([None, 0.1, 0.5]), min_df=st.integers(1, 3))
def test_df_counter_equals_one_count_of_everything(tmp_path, blocks, budget, cap, min_df) -> None:
    counter = DfCounter(budget, tmp_path)
    everything = []
    for block in blocks:
        terms, counts = np.unique(np.array(block, dtype=np.uint64), return_counts=True)
        counter.add(terms, counts, n_docs=3)
        everything.append(np.repeat(terms, counts))
    n_docs = max(3 * len(blocks), 1)
    counter.n_docs = n_docs
    vocabulary, df = np.unique(np.concatenate(everything) if everything else np.empty(0, np.uint64),
                               return_counts=True)
    expected = fit_idf_table(vocabulary, df, n_docs, smooth_idf=True, min_df=min_df, idf_cap_df=cap)
    got = counter.table(smooth_idf=True, min_df=min_df, idf_cap_df=cap)
    np.testing.assert_array_equal(got.vocabulary, expected.vocabulary)
    np.testing.assert_array_equal(got.idf_q, expected.idf_q)
    assert (got.unseen_q, got.n_docs) == (expected.unseen_q, expected.n_docs)


def test_df_counter_spills_past_its_budget(tmp_path) -> None:
    counter = DfCounter(64 << 10, tmp_path)
    rng = np.random.default_rng(0)
    for _ in range(40):
        terms = np.unique(rng.integers(0, 2**64, 2000, dtype=np.uint64))
        counter.add(terms, np.ones(len(terms), np.int64), 10)
    assert counter.runs_spilled > 1


def test_merge_runs_sums_counts() -> None:
    terms, counts = merge_runs([(np.array([1, 5], np.uint64), np.array([2, 1])),
                                (np.array([2, 5, 9], np.uint64), np.array([1, 4, 1]))])
    assert terms.tolist() == [1, 2, 5, 9] and counts.tolist() == [2, 1, 5, 1]


# -- files, errors, clean-up ---------------------------------------------------------------------


def test_a_bad_record_names_the_file_and_line(tmp_path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "a b c"}\n\n{"text": 3}\n{"text": "d e f"}\n')
    with pytest.raises(CorpusError, match=r"bad\.jsonl:3: field 'text' is not a string"):
        stream([path], tmp_path, jobs=1)
    with FileDedup([path], skip_bad=True, jobs=1, tmp_dir=tmp_path) as run:
        assert len(run.run().keep) == 2
        assert run.skipped == 1


def test_temporary_files_are_removed_even_after_an_error(tmp_path) -> None:
    spill = tmp_path / "spill"
    spill.mkdir()
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "a b c"}\n' * 5000 + "not json\n")
    with pytest.raises(CorpusError):
        stream([path], spill, jobs=1)
    assert list(spill.iterdir()) == []


def test_parameters_are_checked(tmp_path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", ["a b c"])
    for kwargs, message in (({"jobs": 0}, "jobs"), ({"keep": "last"}, "keep"), ({"k": 11}, "k"),
                            ({"verify": 2.0}, "verify"), ({"hasher": SimHasher(tokenizer=lambda t: t.split()),
                                                          "jobs": 2}, "pickle")):
        with pytest.raises(ValueError, match=message):
            FileDedup([path], tmp_dir=tmp_path, **kwargs)


@pytest.mark.parametrize(("text", "size"), [("512M", 512 << 20), ("4G", 4 << 30), ("1.5GiB", 3 << 29),
                                            ("100000000", 100_000_000)])
def test_parse_size(text, size) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "4X", "-1G", "1K"])
def test_parse_size_refuses(text) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


# -- the command line ------------------------------------------------------------------------------


def test_cli_shards_by_glob_to_a_directory_and_to_one_file(reuters_texts, tmp_path, capsys) -> None:
    texts = edited_copies(reuters_texts[:300])
    shards = tmp_path / "in"
    shards.mkdir()
    write_jsonl(shards / "a.jsonl", texts[:150], [f"a{n}" for n in range(150)])
    write_jsonl(shards / "b.jsonl.gz", texts[150:], [f"b{n}" for n in range(len(texts) - 150)])
    expected = dedup(texts)
    assert main(["dedup", str(shards / "*.jsonl*"), "-o", str(tmp_path / "out"), "-q", "--json", "-j", "1",
                 "--clusters", str(tmp_path / "c.csv")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["kept"] == int(expected.keep.sum())
    assert summary["candidate_pairs"] >= summary["pairs"] > 0 and summary["peak_rss_mb"] > 0
    a = (tmp_path / "out" / "a.jsonl").read_text().splitlines()
    b = gzip.open(tmp_path / "out" / "b.jsonl.gz", "rt").read().splitlines()
    assert len(a) + len(b) == summary["kept"]
    assert main(["dedup", str(shards / "a.jsonl"), str(shards / "b.jsonl.gz"), "-o", str(tmp_path / "one.jsonl"),
                 "-q", "-j", "1"]) == 0
    assert (tmp_path / "one.jsonl").read_text().splitlines() == a + b


def test_cli_refuses_bad_run_options(tmp_path, capsys) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", ["a b c"])
    out = str(tmp_path / "o.jsonl")
    for options, message in ((["--jobs", "0"], "at least 1"), (["--memory-limit", "lots"], "not a size"),
                             (["--memory-limit", "1M"], "below the minimum"),
                             (["--compress-level", "3"], "no output is compressed")):
        with pytest.raises(SystemExit):
            main(["dedup", str(path), "-o", out, *options])
        assert message in capsys.readouterr().err
    assert main(["dedup", str(path), "-o", out, "--tmp-dir", str(tmp_path / "nope")]) == 1
    assert "not a directory" in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()


def test_cli_jobs_do_not_change_the_output(reuters_texts, tmp_path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", edited_copies(reuters_texts[:400]))
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"o{jobs}.jsonl.gz"
        assert main(["dedup", str(path), "-o", str(out), "-q", "-j", jobs, "--clusters",
                     str(tmp_path / f"c{jobs}.csv")]) == 0
        outputs.append((gzip.open(out).read(), (tmp_path / f"c{jobs}.csv").read_bytes()))
    assert outputs[0] == outputs[1]


def test_spill_files_a_killed_run_left_are_removed_by_the_next_run(tmp_path) -> None:
    import subprocess
    import sys

    path = write_jsonl(tmp_path / "c.jsonl", ["a b c d"] * 10)
    code = (f"import os, signal; from simdup.stream import FileDedup; "
            f"run = FileDedup([{str(path)!r}], jobs=1, tmp_dir={str(tmp_path)!r}); os.kill(os.getpid(), signal.SIGKILL)")
    subprocess.run([sys.executable, "-c", code], check=False)
    left = [p for p in tmp_path.iterdir() if "simdup-spill" in p.name]
    assert len(left) == 1  # what SIGKILL leaves
    with FileDedup([path], jobs=1, tmp_dir=tmp_path) as run:
        run.run()
        assert [p for p in tmp_path.iterdir() if "simdup-spill" in p.name] == [run.tmp]
    assert not [p for p in tmp_path.iterdir() if "simdup-spill" in p.name]


def test_cli_compress_level(reuters_texts, tmp_path, capsys) -> None:
    path = write_jsonl(tmp_path / "c.jsonl.gz", reuters_texts[:200])
    with pytest.raises(SystemExit):
        main(["dedup", str(path), "-o", str(tmp_path / "o.jsonl.gz"), "--compress-level", "12"])
    assert "gzip levels are 0 to 9" in capsys.readouterr().err
    sizes = {}
    for level in ("1", "9"):
        out = tmp_path / f"o{level}.jsonl.gz"
        assert main(["dedup", str(path), "-o", str(out), "-q", "--compress-level", level]) == 0
        sizes[level] = out.stat().st_size
        assert gzip.open(out).read() == gzip.open(tmp_path / "o1.jsonl.gz").read()
    assert sizes["1"] > sizes["9"]
    # An input written for speed (gzip -1, header XFL 4) is followed by the output.
    fast = tmp_path / "fast.jsonl.gz"
    fast.write_bytes(gzip.compress(gzip.open(path).read(), 1))
    assert main(["dedup", str(fast), "-o", str(tmp_path / "f.jsonl.gz"), "-q"]) == 0
    assert (tmp_path / "f.jsonl.gz").read_bytes()[8] == 4
    assert main(["dedup", str(path), "-o", str(tmp_path / "d.jsonl.gz"), "-q"]) == 0
    assert (tmp_path / "d.jsonl.gz").read_bytes()[8] == 0  # level 6


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"")), max_size=40),
       final_newline=st.booleans(), data=st.data(), block=st.integers(1, 64))
def test_copy_lines_equals_the_obvious_copy(tmp_path, monkeypatch, lines, final_newline, data, block) -> None:
    import io

    from simdup.corpus import LinesCorpus

    content = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    path = tmp_path / "l.txt"
    path.write_bytes(content)
    raw = content.split(b"\n")
    if raw and raw[-1] == b"":
        raw.pop()
    wanted = sorted(data.draw(st.sets(st.integers(1, max(len(raw), 1)), max_size=len(raw))) if raw else [])
    corpus = LinesCorpus(path)
    original = corpus.raw_blocks
    monkeypatch.setattr(corpus, "raw_blocks", lambda size=block, **kw: original(block, **kw))
    out = io.BytesIO()
    corpus.copy_lines(np.array(wanted, dtype=np.int64), out)
    assert out.getvalue() == b"".join(raw[n - 1] + b"\n" for n in wanted)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=st.lists(st.tuples(st.integers(0, 1), st.integers(0, 6000), st.integers(0, 60)), max_size=40))
def test_read_docs_reads_each_blob_and_no_more_than_it_needs(tmp_path, monkeypatch, docs) -> None:
    from simdup.stream import _spill

    contents = [bytes(range(256)) * 24, bytes(reversed(range(256))) * 24]
    files = []
    for n, content in enumerate(contents):
        files.append(str(tmp_path / f"f{n}.bin"))
        Path(files[-1]).write_bytes(content)
    file = np.array([d[0] for d in docs], dtype=np.int32)
    starts = np.array([min(d[1], 6000) for d in docs], dtype=np.int64)
    stops = np.minimum(starts + np.array([d[2] for d in docs], dtype=np.int64), len(contents[0]))
    read = []
    real_pread = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, n, offset: read.append(n) or real_pread(fd, n, offset))
    got = _spill.read_docs(files, file, starts, stops)
    assert got == [contents[f][a:b] for f, a, b in zip(file.tolist(), starts.tolist(), stops.tolist())]
    # What a read holds beyond its documents is at most _GAP bytes a document.
    assert sum(read) <= int((stops - starts).sum()) + _spill._GAP * len(docs)
