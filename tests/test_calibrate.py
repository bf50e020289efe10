"""simdup.calibrate and `simdup calibrate`: pairs per Hamming distance against a brute force, the suggestion, the CLI.

The oracle counts every pair of documents by distance in pure Python and
computes their Jaccard on the reference shingles (tests/reference.py): on a
corpus small enough for the sampling to take every pair, the calibration
must equal it exactly.
"""

from __future__ import annotations

import gzip
import itertools
import json
import math
import random
import sys
from pathlib import Path

import numpy as np
import pytest
import reference as ref
from reference_dedup import jaccard, popcount

import simdup
from simdup.batch import MAX_K
from simdup.calibrate import Calibration, _draw_triangles, calibrate, plot, sample_pairs
from simdup.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "reuters-sample.jsonl.gz"


# -- corpora ----------------------------------------------------------------------------------


def clustered_fingerprints(n: int, seed: int, centres: int = 25, max_flips: int = 14) -> np.ndarray:
    """Fingerprints near a few centres (so every distance 0..16 has pairs), with some repeated exactly."""
    rng = random.Random(seed)
    base = [rng.getrandbits(64) for _ in range(centres)]
    fps = []
    for _ in range(n):
        f = rng.choice(base)
        for bit in rng.sample(range(64), rng.randrange(max_flips)):
            f ^= 1 << bit
        fps.append(f)
    fps += fps[: n // 8]  # identical fingerprints: groups at distance 0
    return np.array(fps, dtype=np.uint64)


def brute_counts(fps: np.ndarray, has_tokens: np.ndarray, max_distance: int = 16) -> dict[tuple[int, int], int]:
    """Every pair (i < j) of documents with tokens within ``max_distance`` bits, with its distance."""
    ids = [int(x) for x in np.flatnonzero(has_tokens)]
    out = {}
    for a, b in itertools.combinations(ids, 2):
        d = popcount(int(fps[a]) ^ int(fps[b]))
        if d <= max_distance:
            out[(a, b)] = d
    return out


WORDS = [f"{a}{b}{c}" for a in "bcdfg" for b in "aeiou" for c in "klmnprst"]


def planted_corpus(seed: int = 3) -> tuple[list[str], dict[str, list[tuple[int, int]]]]:
    """Random texts, copies of them at known word-edit rates, exact duplicates, token-less documents.

    Returns the documents and, per edit rate, the (source, copy) pairs.
    """
    rng = random.Random(seed)
    sources = [" ".join(rng.choice(WORDS) for _ in range(rng.randrange(80, 140))) for _ in range(30)]
    docs = list(sources)
    planted: dict[str, list[tuple[int, int]]] = {}
    for rate in (0.0, 0.01, 0.03, 0.1, 0.3):
        planted[f"{rate:g}"] = []
        for s in range(0, 30, 2):
            words = sources[s].split()
            for x in range(len(words)):
                if rng.random() < rate:
                    words[x] = rng.choice(WORDS)
            planted[f"{rate:g}"].append((s, len(docs)))
            docs.append(" ".join(words))
    docs += ["", "!!! ...", docs[1], docs[1]]  # token-less documents, and an exact duplicate group
    return docs, planted


# -- sample_pairs against the brute force ---------------------------------------------------


@pytest.mark.parametrize("max_distance", [16, 12, 6, 0])
def test_counts_and_pairs_equal_the_brute_force_when_everything_is_sampled(max_distance: int) -> None:
    fps = clustered_fingerprints(300, seed=max_distance)
    tokens = np.array([0 if x % 17 == 5 else 3 for x in range(len(fps))])
    truth = brute_counts(fps, tokens > 0, max_distance)
    drawn = sample_pairs(fps, tokens, max_distance=max_distance, sample=10**9, queries=None)
    expected = np.bincount(list(truth.values()), minlength=max_distance + 1)
    assert drawn.found.tolist() == expected.tolist()
    assert drawn.pairs.tolist() == expected.astype(float).tolist()
    assert drawn.documents == int((tokens > 0).sum()) and drawn.exact_distance == max_distance
    got = list(zip(drawn.i.tolist(), drawn.j.tolist()))
    assert len(got) == len(set(got))  # each pair once
    assert dict(zip(got, drawn.distance.tolist())) == truth
    assert min(expected[:max_distance + 1]) > 0 or max_distance == 0  # every distance was exercised


def test_a_sample_per_distance_is_distinct_pairs_at_that_distance() -> None:
    fps = clustered_fingerprints(400, seed=7)
    truth = brute_counts(fps, np.ones(len(fps), bool))
    drawn = sample_pairs(fps, sample=20, queries=60, seed=1)
    per_distance = np.bincount(drawn.distance, minlength=17)
    assert per_distance.tolist() == np.minimum(drawn.found, 20).tolist()
    pairs = list(zip(drawn.i.tolist(), drawn.j.tolist()))
    assert len(set(pairs)) == len(pairs)
    assert all(truth[p] == d for p, d in zip(pairs, drawn.distance.tolist()))
    # Exact up to MAX_K; above, only the pairs with a queried document were found.
    exact = np.bincount(list(truth.values()), minlength=17)
    assert drawn.found[:MAX_K + 1].tolist() == exact[:MAX_K + 1].tolist()
    assert (drawn.found[MAX_K + 1:] < exact[MAX_K + 1:]).all() and drawn.queried == 60


def test_estimated_counts_above_max_k_are_unbiased() -> None:
    fps = clustered_fingerprints(400, seed=11)
    exact = sample_pairs(fps, queries=None).found[MAX_K + 1:]
    mean = np.mean([sample_pairs(fps, queries=40, sample=1, seed=s).pairs[MAX_K + 1:] for s in range(200)], axis=0)
    # 200 seeds (fixed, so the test is deterministic): the mean is within 5 % of the exact counts.
    assert np.all(np.abs(mean / exact - 1) < 0.05), (mean, exact)


def test_pairs_of_a_large_group_of_identical_fingerprints_are_drawn_without_listing_them() -> None:
    rng = np.random.default_rng(0)
    i, j = _draw_triangles(np.array([0, 7]), np.array([7, 3]), 100, rng, np.arange(10))
    assert sorted(zip(i.tolist(), j.tolist())) == list(itertools.combinations(range(7), 2)) + [(7, 8), (7, 9), (8, 9)]
    fps = np.zeros(2_000_000, np.uint64)  # 2e12 pairs at distance 0
    drawn = sample_pairs(fps, sample=500, max_distance=3)
    assert drawn.found.tolist() == [2_000_000 * 1_999_999 // 2, 0, 0, 0]
    pairs = set(zip(drawn.i.tolist(), drawn.j.tolist()))
    assert len(pairs) == 500 and all(a < b for a, b in pairs)


@pytest.mark.parametrize("kwargs", [{"sample": 0}, {"queries": 0}, {"max_distance": 17}, {"max_distance": -1},
                                    {"sample": 2.5}, {"threads": 0}])
def test_sample_pairs_rejects_bad_parameters(kwargs: dict) -> None:
    with pytest.raises((ValueError, TypeError)):
        sample_pairs(np.arange(10, dtype=np.uint64), **kwargs)


def test_sample_pairs_rejects_token_counts_of_another_length() -> None:
    with pytest.raises(ValueError, match="token counts"):
        sample_pairs(np.arange(10, dtype=np.uint64), np.ones(9))


# -- calibrate on documents against the oracle ------------------------------------------------


def oracle_table(docs: list[str], fps: np.ndarray, n_tokens: np.ndarray, t: float = 0.8) -> dict:
    """Per distance: every pair's Jaccard on the reference shingles; precision and recall at each k."""
    truth = brute_counts(fps, n_tokens > 0)
    shingles = [ref.shingles(d, 3, 5, True, True) for d in docs]
    per_d: list[list[float]] = [[] for _ in range(17)]
    for (a, b), d in truth.items():
        per_d[d].append(jaccard(shingles[a], shingles[b]))
    pos = [sum(x >= t for x in js) for js in per_d]
    cum_pos, cum_pairs = list(itertools.accumulate(pos)), list(itertools.accumulate(len(js) for js in per_d))
    precision = [p / n if n else math.nan for p, n in zip(cum_pos, cum_pairs)]
    recall = [p / cum_pos[-1] for p in cum_pos]
    return {"jaccard": per_d, "precision": precision, "recall": recall}


def test_calibrate_equals_the_brute_force_on_planted_copies() -> None:
    docs, planted = planted_corpus()
    hasher = simdup.SimHasher().fit(docs)
    fps, n_tokens = hasher.transform(docs, return_n_tokens=True)
    cal = calibrate(docs, sample=10**6)  # an unfitted hasher is fitted on docs, as dedup does
    oracle = oracle_table(docs, fps, n_tokens)
    assert cal.documents == len(docs) - 2 and cal.exact_distance == 16
    for d in range(17):
        assert cal.pairs[d] == len(oracle["jaccard"][d])
        assert sorted(cal.jaccard[d].tolist()) == pytest.approx(sorted(oracle["jaccard"][d]), abs=1e-12)
    np.testing.assert_allclose(cal.precision(0.8), oracle["precision"], rtol=1e-12)
    np.testing.assert_allclose(cal.recall(0.8), oracle["recall"], rtol=1e-12)
    # What was planted: exact copies at distance 0 with Jaccard 1; 30 % edits far below 0.8.
    assert all(np.bitwise_count(fps[a] ^ fps[b]) == 0 for a, b in planted["0"])
    assert cal.pairs[0] >= len(planted["0"]) + 3 and cal.share(0.8)[0] == 1.0
    shingles = [ref.shingles(d, 3, 5, True, True) for d in docs]
    assert all(jaccard(shingles[a], shingles[b]) < 0.5 for a, b in planted["0.3"])
    table = cal.table()
    assert [row["distance"] for row in table] == list(range(17)) and not any(row["estimated"] for row in table)


def test_calibrate_uses_a_fitted_hasher_as_given_and_checks_its_input() -> None:
    docs, _ = planted_corpus()
    hasher = simdup.SimHasher.default()
    fps, n_tokens = hasher.transform(docs, return_n_tokens=True)
    cal = calibrate(docs, hasher=hasher, sample=10**6)
    assert cal.pairs.tolist() == np.bincount(list(brute_counts(fps, n_tokens > 0).values()), minlength=17).tolist()
    with pytest.raises(TypeError, match="single document"):
        calibrate("one document")
    with pytest.raises(ValueError):
        calibrate(docs, shingle_size=0)
    empty = calibrate([])
    assert empty.documents == 0 and empty.pairs.sum() == 0 and math.isnan(empty.suggest().precision or math.nan)


# -- the suggestion ---------------------------------------------------------------------------


def hand_made(pairs: list[float], shares: list[float | None], sampled: int = 100) -> Calibration:
    """A calibration whose distance d has ``pairs[d]`` pairs, a share ``shares[d]`` of them at Jaccard 1."""
    jac = []
    for share in shares:
        if share is None:
            jac.append(np.empty(0))
        else:
            hits = round(share * sampled)
            jac.append(np.r_[np.ones(hits), np.full(sampled - hits, 0.3)])
    n = len(pairs)
    return Calibration(1000, 1000, n - 1, np.array(pairs, float), np.array(pairs, np.int64), jac)


def test_precision_and_recall_weight_each_distance_by_its_pairs() -> None:
    cal = hand_made([100, 0, 50, 50, 200] + [0] * 12, [1.0, None, 0.9, 0.5, 0.1] + [None] * 12)
    p, r = cal.precision(0.8), cal.recall(0.8)
    # positives: 100, 0, 45, 25, 20 -> cumulative 100, 100, 145, 170, 190
    assert p[:5].tolist() == pytest.approx([1.0, 1.0, 145 / 150, 170 / 200, 190 / 400])
    assert r[:5].tolist() == pytest.approx([100 / 190, 100 / 190, 145 / 190, 170 / 190, 1.0])
    assert cal.share(0.8)[:5].tolist()[2:] == [0.9, 0.5, 0.1] and math.isnan(cal.share()[1])
    s = cal.suggest(precision=0.95)
    assert (s.k, s.met, s.target, s.verify) == (2, True, "precision", 0.8)
    assert s.precision == pytest.approx(145 / 150) and s.recall == pytest.approx(145 / 190)
    assert cal.suggest().k == 1  # default: precision 0.99; k=1 adds no pair, so keeps k=0's precision
    assert cal.suggest(precision=0.8).k == 3
    s = cal.suggest(recall=0.7)
    assert (s.k, s.met, s.target) == (2, True, "recall")
    assert cal.suggest(recall=1.0).k == 4
    assert cal.suggest(precision=0.95, jaccard=0.2).k == MAX_K  # every pair is >= 0.2: the largest k dedup takes


def test_unreachable_targets_say_so() -> None:
    cal = hand_made([10, 10, 10] + [0] * 14, [0.5, 0.9, 0.2] + [None] * 14)
    s = cal.suggest(precision=0.99)
    assert not s.met and s.k == 1  # the highest precision: (5 + 9) / 20
    assert s.precision == pytest.approx(0.7)
    far = hand_made([10] * 17, [0.0] * 12 + [1.0] * 5)  # every near-duplicate beyond MAX_K
    s = far.suggest(recall=0.5)
    assert not s.met and s.k == MAX_K and s.recall == 0.0


def test_vacuous_targets() -> None:
    none = hand_made([0] * 17, [None] * 17)
    assert none.suggest(precision=0.99).k == MAX_K  # no pair within any k: nothing wrong is found
    assert none.suggest(recall=0.9).k == 0  # no near-duplicate seen: nothing to miss
    short = hand_made([5, 5, 5], [1.0, 1.0, 0.0])  # max_distance 2 caps the suggestion
    assert short.suggest(precision=0.99).k == 1 and short.max_distance == 2


@pytest.mark.parametrize("kwargs", [{"precision": 0.9, "recall": 0.9}, {"precision": 0.0}, {"precision": 1.5},
                                    {"recall": -0.1}, {"jaccard": 1.2}, {"precision": "high"},
                                    {"precision": math.nan}])
def test_suggest_rejects_bad_targets(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        hand_made([1] * 17, [1.0] * 17).suggest(**kwargs)


def test_plot_writes_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    docs, _ = planted_corpus()
    out = tmp_path / "j.png"
    plot(calibrate(docs), out, jaccard=0.7)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["j.png"]  # no temporary left


# -- the command ------------------------------------------------------------------------------


def write_jsonl(path: Path, docs: list[str]) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for x, d in enumerate(docs):
            f.write(json.dumps({"id": f"d{x}", "text": d}) + "\n")
    return path


def test_cli_prints_the_table_and_the_dedup_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs, _ = planted_corpus()
    corpus = write_jsonl(tmp_path / "c.jsonl.gz", docs)
    assert main(["calibrate", str(corpus), "-q", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    head = next(x for x, line in enumerate(lines) if line.split()[:2] == ["bits", "pairs"])
    assert [line.split()[0] for line in lines[head + 1:head + 18]] == [str(d) for d in range(17)]
    cal = calibrate(docs)  # the same corpus in memory: the same table
    assert [int(line.split()[1].replace(",", "")) for line in lines[head + 1:head + 18]] == \
        [round(x) for x in cal.pairs]
    s = cal.suggest()
    assert f"suggested: k = {s.k} for precision >= 0.99 at Jaccard >= 0.8" in out
    assert f"simdup dedup {corpus} -o OUTPUT -k {s.k} --verify 0.8" in out


def test_cli_json_recall_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    docs = planted_corpus()[0]
    corpus = write_jsonl(tmp_path / "c.jsonl.gz", docs)
    png = tmp_path / "plot.png"
    assert main(["calibrate", str(corpus), "-q", "--json", "--recall", "0.9", "--jaccard", "0.7", "--plot", str(png),
                 "--sample", "50", "--max-distance", "12"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["table"]) == 13 and out["max_distance"] == 12 and out["jaccard"] == 0.7
    assert out["suggestion"]["target"] == "recall" and out["suggestion"]["value"] == 0.9
    assert out["suggestion"]["verify"] == 0.7 and out["suggestion"]["recall"] >= 0.9
    assert all(row["sampled"] <= 50 for row in out["table"]) and out["documents_read"] == len(docs)
    assert f"-k {out['suggestion']['k']} --verify 0.7" in out["command"]
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_cli_on_the_shipped_sample(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate", str(SAMPLE), "-q", "--json", "--jobs", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["documents_read"] == 2000 and out["exact_distance"] == 16  # 2,000 documents: all looked up
    assert out["table"][0]["share_0.8"] == 1.0


@pytest.mark.parametrize("args, message", [
    (["--precision", "1.5"], "--precision must be in (0, 1]"),
    (["--recall", "0"], "--recall must be in (0, 1]"),
    (["--jaccard", "2"], "--jaccard must be in [0, 1]"),
    (["--plot", "{corpus}"], "writes a PNG"),
    (["--plot", "{dir}/c.png", "--model", "{dir}/c.png"], "would overwrite"),
    (["--plot", "{dir}/plot.txt"], "writes a PNG"),
    (["--plot", "{dir}/missing/p.png"], "missing"),
])
def test_cli_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    corpus = write_jsonl(tmp_path / "c.jsonl.gz", ["some words here", "other words there"])
    if "{dir}/c.png" in args:
        simdup.SimHasher().fit(["a b c"]).save(tmp_path / "c.png")
    args = [a.format(corpus=corpus, dir=tmp_path) for a in args]
    assert main(["calibrate", str(corpus), "-q", *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("simdup: error:") and err.count("\n") == 1 and message in err


def test_cli_bad_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["calibrate", str(empty), "-q"]) == 1
    assert "no documents to calibrate on" in capsys.readouterr().err
    one = write_jsonl(tmp_path / "one.jsonl.gz", ["just one document", "", "..."])
    assert main(["calibrate", str(one), "-q"]) == 1
    assert "fewer than two documents with tokens" in capsys.readouterr().err
    assert main(["calibrate", str(tmp_path / "missing.jsonl"), "-q"]) == 1
    assert "no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["calibrate", str(one), "--precision", "0.9", "--recall", "0.9"])
    assert exit_.value.code == 2
    with pytest.raises(SystemExit):
        main(["calibrate", str(one), "--max-distance", "17"])


def test_cli_plot_without_matplotlib_fails_before_the_work(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = write_jsonl(tmp_path / "c.jsonl.gz", ["some words here", "other words there"])
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    assert main(["calibrate", str(corpus), "-q", "--plot", str(tmp_path / "p.png")]) == 1
    assert capsys.readouterr().err == "simdup: error: --plot needs matplotlib: pip install 'simdup[plot]'\n"
    assert not (tmp_path / "p.png").exists()


# -- the evidence: the suggestion on an exact ground truth (benchmarks/eval_calibrate.py) -------


@pytest.mark.slow
@pytest.mark.parametrize("name", ["reuters", "fudan"])
def test_suggested_k_reaches_the_target_precision_on_the_ground_truth(name: str) -> None:
    """On eval_quality.py's corpora (100 sources, background 500, each edit group in turn and all at once):
    wherever calibrate finds a k for precision 0.99 at Jaccard 0.8, every pair within k bits has that
    precision on the exact ground truth; wherever it finds none, no k <= 10 has it on the ground truth."""
    import shared_data

    shared_data.require({"reuters": "reuters21578.jsonl.gz", "fudan": "fudan_zh.jsonl.gz"}[name])
    from eval_calibrate import corpus_groups, evaluate

    met = 0
    for group, docs in corpus_groups(name, 100, 500).items():
        r = evaluate(docs, precision=0.99, jaccard=0.8)
        if r["met"]:
            met += 1
            assert r["precision_truth"] is None or r["precision_truth"] >= 0.99, (group, r)
            if r["precision_truth"] is not None:
                assert abs(r["estimated_precision"] - r["precision_truth"]) <= 0.02, (group, r)
        else:
            assert r["best_precision_truth"] is not None and r["best_precision_truth"] < 0.99, (group, r)
    assert met >= 4  # the 1 % edits, boilerplate and moved paragraphs at least
