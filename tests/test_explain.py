"""`simdup.explain` and `simdup explain`: the Jaccard and the diff against pure-Python oracles, the CLI's two forms."""

from __future__ import annotations

import csv
import gzip
import json
import re
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest
import reference as ref
from hypothesis import given, settings
from hypothesis import strategies as st

import simdup
from simdup import SimHasher
from simdup.batch import MAX_K, shingle_jaccard
from simdup.cli import main
from simdup.explain import Explanation, diff_units, explain, shingle_unit

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "reuters-sample.jsonl.gz"

WORDS = ["oil", "price", "rose", "fell", "bank", "rate", "the", "of", "Crude", "MARKET", "1987", "u.s.", "co-op",
         "say", "year"]
HANZI = "我们今天去公园散步天气很好阳光明媚的是不了人在有中国经济发展市场"  # simplified: fold_traditional leaves them

# -- pure-Python oracles ------------------------------------------------------------------


def english_shingles(text: str, n: int = 3) -> set[tuple[str, ...]]:
    """Word n-grams of ASCII text: words are runs of letters and digits, case folded; short texts their words."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    if len(words) < n:
        return {(w,) for w in words}
    return {tuple(words[x:x + n]) for x in range(len(words) - n + 1)}


def chinese_shingles(text: str, n: int = 5) -> set[str]:
    """Character n-grams of the non-space characters; short texts their characters."""
    chars = "".join(text.split())
    if len(chars) < n:
        return set(chars)
    return {chars[x:x + n] for x in range(len(chars) - n + 1)}


def jaccard(a: set, b: set) -> float:
    return 1.0 if not a | b else len(a & b) / len(a | b)


def check_reassembles(a: list[str], b: list[str], hunks: tuple, joiner: str = " ") -> None:
    """The hunks are a diff of a and b: A's text = its context and removed parts in order, B's likewise,
    and what lies between hunks is the same in both."""
    pa = pb = 0
    rebuilt_a: list[str] = []
    rebuilt_b: list[str] = []
    for h in hunks:
        assert pa <= h.a_start <= h.a_stop and pb <= h.b_start <= h.b_stop
        assert a[pa:h.a_start] == b[pb:h.b_start]  # unchanged between hunks
        rebuilt_a += a[pa:h.a_start]
        rebuilt_b += b[pb:h.b_start]
        side_a = joiner.join(text for op, text in h.parts if op in " -")
        side_b = joiner.join(text for op, text in h.parts if op in " +")
        assert side_a == joiner.join(a[h.a_start:h.a_stop])
        assert side_b == joiner.join(b[h.b_start:h.b_stop])
        assert any(op != " " for op, _ in h.parts)
        rebuilt_a += split(side_a, joiner)
        rebuilt_b += split(side_b, joiner)
        pa, pb = h.a_stop, h.b_stop
    assert a[pa:] == b[pb:]
    assert rebuilt_a + a[pa:] == a and rebuilt_b + b[pb:] == b


def split(text: str, joiner: str) -> list[str]:
    if not text:
        return []
    return text.split(joiner) if joiner else list(text)


# -- the library --------------------------------------------------------------------------

word_lists = st.lists(st.sampled_from(WORDS), max_size=40)


@settings(max_examples=150, deadline=None)
@given(a=word_lists, b=word_lists, seps=st.lists(st.sampled_from([" ", "\n", ", ", " - ", "\t"]), min_size=1))
def test_jaccard_and_counts_of_english_text_match_python_sets(a: list[str], b: list[str], seps: list[str]) -> None:
    text_a = "".join(w + seps[i % len(seps)] for i, w in enumerate(a))
    text_b = " ".join(b)
    e = explain(text_a, text_b)
    sa, sb = english_shingles(text_a), english_shingles(text_b)
    assert (e.shingles_a, e.shingles_b, e.shingles_shared) == (len(sa), len(sb), len(sa & sb))
    assert e.jaccard == pytest.approx(jaccard(sa, sb), abs=1e-12)
    assert e.shingle_units == ("words", "words") and e.diff_unit == "words"
    # The same number `dedup --verify` computes.
    assert e.jaccard == shingle_jaccard(SimHasher.default(), [text_a, text_b], [0], [1])[0]


@settings(max_examples=100, deadline=None)
@given(a=st.text(alphabet=HANZI + " \n", max_size=40), b=st.text(alphabet=HANZI + " ", max_size=40))
def test_jaccard_of_chinese_text_is_on_character_5_grams(a: str, b: str) -> None:
    e = explain(a, b)
    sa, sb = chinese_shingles(a), chinese_shingles(b)
    assert (e.shingles_a, e.shingles_b, e.shingles_shared) == (len(sa), len(sb), len(sa & sb))
    assert e.jaccard == pytest.approx(jaccard(sa, sb), abs=1e-12)
    if a.strip() and b.strip():
        assert e.shingle_units == ("characters", "characters") and e.diff_unit == "characters"
        check_reassembles(list("".join(a.split())), list("".join(b.split())), e.hunks, joiner="")


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet="abc XYZ 1\u00a0\u3000ＡＢ我们中国ひらがなไทย,.", max_size=30))
def test_shingle_unit_follows_the_verification_rule(text: str) -> None:
    # The reference's rule: characters when >= 20 % of the folded non-space characters are of unspaced scripts.
    folded = "".join(ref.fold_char(c, True, True) for c in text)
    chars = "".join(folded.split())
    unspaced = sum(ref.char_class(c) == ref.UNSPACED_CHAR for c in chars)
    expected = "characters" if unspaced and 5 * unspaced >= len(chars) else "words"
    assert shingle_unit(text) == expected
    # ... and it is the one the core applied: the sets match the reference's shingles.
    e = explain(text, "x")
    assert e.shingles_a == len(ref.shingles(text, 3, 5, True, True))


@settings(max_examples=300, deadline=None)
@given(a=word_lists, b=word_lists, context=st.integers(0, 4))
def test_hunks_reassemble_both_texts(a: list[str], b: list[str], context: int) -> None:
    hunks, truncated, _ = diff_units(a, b, context)
    assert not truncated
    check_reassembles(a, b, hunks)
    assert (not hunks) == (a == b)
    for h in hunks:  # at most `context` unchanged units at either end of a hunk
        assert h.parts[0][0] != " " or len(h.parts[0][1].split()) <= context
        assert h.parts[-1][0] != " " or len(h.parts[-1][1].split()) <= context


@settings(max_examples=200, deadline=None)
@given(a=st.lists(st.sampled_from(WORDS[:4]), max_size=60), edits=st.lists(st.tuples(st.integers(0, 60),
       st.integers(0, 3), word_lists.filter(lambda w: len(w) < 4)), max_size=5), context=st.integers(0, 3))
def test_hunks_reassemble_when_anchored_on_bigrams(a: list[str], edits: list, context: int) -> None:
    # Long texts are matched on bigrams first; here every text is (ANCHOR_FROM patched to 0).
    b = list(a)
    for at, drop, insert in edits:
        b[at:at + drop] = insert
    with patch("simdup.explain.ANCHOR_FROM", 0):
        hunks, _, _ = diff_units(a, b, context)
    check_reassembles(a, b, hunks)
    assert (not hunks) == (a == b)


@settings(max_examples=100, deadline=None)
@given(a=word_lists, b=word_lists, cap=st.integers(0, 5))
def test_a_capped_alignment_still_reassembles(a: list[str], b: list[str], cap: int) -> None:
    hunks, truncated, _ = diff_units(a, b, 2, max_units=cap)
    check_reassembles(a, b, hunks)
    head = next((x for x, (p, q) in enumerate(zip(a, b)) if p != q), min(len(a), len(b)))
    tail = next((x for x, (p, q) in enumerate(zip(a[head:][::-1], b[head:][::-1])) if p != q),
                min(len(a), len(b)) - head)
    assert truncated == (max(len(a), len(b)) - head - tail > cap)


def test_explain_words_of_the_prepared_text() -> None:
    a = "Crude oil prices rose sharply on Monday after the OPEC meeting in Vienna ended early."
    b = "Crude oil prices fell sharply on Monday after the OPEC meeting in Vienna ended early."
    e = explain(a, b, context=2)
    assert isinstance(e, Explanation)
    assert e.hunks[0].parts == ((" ", "oil prices"), ("-", "rose"), ("+", "fell"), (" ", "sharply on"))
    assert (e.hunks[0].a_start, e.hunks[0].a_stop) == (1, 6)
    fps = SimHasher.default().transform([a, b])
    assert e.distance == simdup.hamming(int(fps[0]), int(fps[1]))
    assert (e.fingerprint_a, e.fingerprint_b) == (int(fps[0]), int(fps[1]))
    text = e.format()
    assert "- rose\n+ fell" in text and f"Hamming distance {e.distance}" in text


def test_distance_with_a_fitted_hasher(reuters_texts: list[str]) -> None:
    hasher = SimHasher().fit(reuters_texts[:300])
    a, b = reuters_texts[5], reuters_texts[5].replace(" the ", " a ", 3)
    e = explain(a, b, hasher=hasher)
    fps, n_tokens = hasher.transform([a, b], return_n_tokens=True)
    assert e.distance == simdup.hamming(int(fps[0]), int(fps[1]))
    assert (e.n_tokens_a, e.n_tokens_b) == tuple(n_tokens.tolist())


def test_the_verdict_follows_k_and_verify() -> None:
    a = " ".join(WORDS * 3)
    b = " ".join(WORDS * 3).replace("bank", "banks", 1)
    d = explain(a, b).distance
    assert explain(a, b, k=d).linked == (explain(a, b).jaccard >= 0.8)
    if d:
        low = explain(a, b, k=d - 1)
        assert not low.linked and low.reason == f"Hamming distance {d} > k={d - 1}"
    strict = explain(a, b, k=MAX_K, verify=1.0)
    assert not strict.linked and "< verify=1.0" in strict.reason
    assert explain(a, b, k=d, verify=None).linked
    none = explain("", "!!! ???")
    assert not none.linked and "no tokens" in none.reason and none.jaccard == 1.0


def test_identical_and_html_documents() -> None:
    same = explain("a b c d e", b"a b c d e")
    assert same.distance == 0 and same.hunks == () and same.jaccard == 1.0 and same.linked
    page = ("<html><head><title>t</title></head><body><nav>Home | About</nav><article><p>{}</p></article>"
            "<footer>Copyright</footer></body></html>")
    story = "The central bank raised its key interest rate by half a point to curb inflation, officials said. " * 3
    e = explain(page.format(story), page.format(story.replace("half a point", "a quarter point", 1)))
    removed = " ".join(t for h in e.hunks for op, t in h.parts if op == "-")
    added = " ".join(t for h in e.hunks for op, t in h.parts if op == "+")
    assert removed == "half" and added == "quarter"  # "by half a point" -> "by a quarter point": words of the text
    assert e.units_a == len(story.split()) and "Home" not in e.format() and "<p>" not in e.format()


def test_bad_arguments() -> None:
    with pytest.raises(TypeError):
        explain(3, "a")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="k"):
        explain("a", "b", k=99)
    with pytest.raises(ValueError, match="verify"):
        explain("a", "b", verify=1.5)
    with pytest.raises(ValueError, match="context"):
        explain("a", "b", context=-1)
    with pytest.raises(ValueError, match="shingle_size"):
        explain("a", "b", shingle_size=0)
    with pytest.raises(simdup.NotFittedError):
        explain("a", "b", hasher=SimHasher())


def test_long_texts_are_bounded() -> None:
    rng = np.random.default_rng(0)
    vocab = np.array([f"w{i}" for i in range(300)])
    a = vocab[rng.integers(0, 300, 30_000)].tolist()
    b = vocab[rng.integers(0, 300, 30_000)].tolist()
    hunks, truncated, autojunk = diff_units(a, b, 3, max_units=10_000)
    assert truncated and autojunk is False
    check_reassembles(a, b, hunks)
    e = explain(" ".join(a), " ".join(b))
    assert e.autojunk and not e.diff_truncated and len(e.hunks) == 1  # unrelated texts: one long change
    assert re.search(r"\n- (w\d+ ){5}\[\.\.\. \d+ words \.\.\.\]( w\d+){5}\n", e.format(max_part=10))
    edited = list(a)
    for x in range(100, 30_000, 1000):
        edited[x] = "changed"
    near = explain(" ".join(a), " ".join(edited))
    assert len(near.hunks) == 30 and near.autojunk
    text = near.format(max_hunks=3)
    assert text.count("@@") == 6 and "... 27 more (--max-hunks)" in text


# -- the command line -----------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_two_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt.gz"
    a.write_text("Crude oil prices rose sharply on Monday after the meeting in Vienna")
    b.write_bytes(gzip.compress(b"Crude oil prices fell sharply on Monday after the meeting in Vienna"))
    code, out, err = run(capsys, "explain", str(a), str(b), "--context", "1")
    assert code == 0, err
    fps = SimHasher.default().transform([a.read_bytes(), gzip.decompress(b.read_bytes())])
    d = simdup.hamming(int(fps[0]), int(fps[1]))
    assert out.splitlines()[:4] == [
        "model: the embedded default model (give --model, or --corpus to fit on it)",
        f"A: {a}  {int(fps[0]):016x}  12 tokens",
        f"B: {b}  {int(fps[1]):016x}  12 tokens",
        f"Hamming distance {d} ({'within' if d <= 8 else 'over'} k=8)"]
    assert "@@ words 3-5 of A, 3-5 of B @@\n  prices\n- rose\n+ fell\n  sharply\n" in out


def test_cli_identical_empty_and_binary_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.txt").write_text("same words here and there")
    code, out, _ = run(capsys, "explain", str(tmp_path / "a.txt"), str(tmp_path / "a.txt"))
    assert code == 0 and "Hamming distance 0" in out and "no difference in their words (5 words)" in out
    (tmp_path / "e1.txt").write_bytes(b"")
    (tmp_path / "e2.txt").write_bytes(b"  \n")
    code, out, _ = run(capsys, "explain", str(tmp_path / "e1.txt"), str(tmp_path / "e2.txt"))
    assert code == 0 and "0 tokens (token-less" in out and "not linked: A and B have no tokens" in out
    (tmp_path / "bin").write_bytes(bytes(range(256)) * 4)
    code, out, err = run(capsys, "explain", str(tmp_path / "bin"), str(tmp_path / "a.txt"))
    assert code == 0 and "Traceback" not in err and "not linked" in out


def test_cli_html_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = "<!doctype html><html><body><nav>Menu</nav><article><p>{}</p></article></body></html>"
    story = "The bank raised its key rate by half a point to curb inflation, officials said on Tuesday. " * 2
    (tmp_path / "a.html").write_text(page.format(story))
    (tmp_path / "b.html").write_text(page.format(story.replace("Tuesday", "Wednesday", 1)))
    code, out, _ = run(capsys, "explain", str(tmp_path / "a.html"), str(tmp_path / "b.html"), "--json")
    assert code == 0
    got = json.loads(out)
    parts = [p for h in got["hunks"] for p in h["parts"] if p["op"] != " "]
    assert parts == [{"op": "-", "text": "Tuesday."}, {"op": "+", "text": "Wednesday."}]


JSON_KEYS = {"a": str, "b": str, "model": str, "fingerprint_a": str, "fingerprint_b": str, "n_tokens_a": int,
             "n_tokens_b": int, "distance": int, "jaccard": float, "shingles_a": int, "shingles_b": int,
             "shingles_shared": int, "shingle_units": list, "shingle_size": list, "k": int, "verify": float,
             "linked": bool, "reason": str, "diff_unit": str, "units_a": int, "units_b": int, "hunks": list,
             "diff_truncated": bool, "autojunk": bool, "hunks_omitted": int}


@pytest.fixture(scope="module")
def dedup_run(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    """The clusters file of `simdup dedup SAMPLE -o OUT --clusters c.csv`."""
    tmp = tmp_path_factory.mktemp("dedup")
    assert main(["dedup", "-q", str(SAMPLE), "-o", str(tmp / "out.jsonl.gz"), "--clusters", str(tmp / "c.csv"),
                 "--jobs", "1"]) == 0
    with open(tmp / "c.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_cli_corpus_distance_is_the_clusters_files(dedup_run: list[dict[str, str]],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    removed = [r for r in dedup_run if r["id"] != r["kept_id"]]
    rows = [r for r in removed if r["distance"] != "0"][:3] + [r for r in removed if r["distance"] == "0"][:1]
    assert len(rows) == 4
    for row in rows:
        code, out, err = run(capsys, "explain", row["id"], row["kept_id"], "--corpus", str(SAMPLE), "--json", "-q")
        assert code == 0, err
        got = json.loads(out)
        assert got["distance"] == int(row["distance"]) and got["linked"] and got["jaccard"] >= 0.8
        assert (got["a"], got["b"]) == (row["id"], row["kept_id"])
        assert "fitted on" in got["model"] and "(2000 documents)" in got["model"]
        assert {k: type(got[k]) for k in JSON_KEYS} == JSON_KEYS and set(got) == set(JSON_KEYS)
        assert re.fullmatch(r"[0-9a-f]{16}", got["fingerprint_a"])
    # The human form of the first: the distance line.
    code, out, _ = run(capsys, "explain", rows[0]["id"], rows[0]["kept_id"], "--corpus", str(SAMPLE))
    assert f"Hamming distance {rows[0]['distance']} (within k=8)" in out and "linked: " in out


def test_cli_corpus_with_a_model_and_text_shards(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with gzip.open(SAMPLE, "rt") as f:
        records = [json.loads(line) for line in f][:50]
    model = tmp_path / "m.npz"
    hasher = SimHasher().fit([r["text"] for r in records])
    hasher.save(model)
    code, out, err = run(capsys, "explain", records[3]["id"], records[1]["id"], "--corpus", str(SAMPLE),
                         "--model", str(model), "--json")
    assert code == 0, err
    expected = explain(records[3]["text"], records[1]["text"], hasher=SimHasher.load(model))
    got = json.loads(out)
    assert got["distance"] == expected.distance and got["jaccard"] == expected.jaccard
    assert got["model"] == str(model)
    # Text files read as one corpus, as dedup reads them: ids FILE:LINE.
    (tmp_path / "x.txt").write_text("first line of x\nsecond line of x here\n")
    (tmp_path / "y.txt").write_text("a line of y\n")
    code, out, err = run(capsys, "explain", "x.txt:2", "y.txt:1", "--corpus", str(tmp_path / "x.txt"),
                         "--corpus", str(tmp_path / "y.txt"))
    assert code == 0, err
    assert "A: x.txt:2" in out and "B: y.txt:1" in out and "fitted on" in out and "(3 documents)" in out


def test_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "explain", "nope", "190", "--corpus", str(SAMPLE))
    assert code == 1 and err.startswith("simdup: error: nope: no record with this id in") and err.count("\n") == 1
    code, _, err = run(capsys, "explain", "nope", "nada", "--corpus", str(SAMPLE), "--model", "missing.npz")
    assert code == 1 and "missing.npz" in err and err.count("\n") == 1
    code, _, err = run(capsys, "explain", str(SAMPLE), str(SAMPLE))
    assert code == 1 and "explain takes two documents, or two ids with --corpus" in err
    code, _, err = run(capsys, "explain", str(tmp_path / "none.txt"), str(SAMPLE))
    assert code == 1 and err.startswith("simdup: error:") and "none.txt" in err
    with pytest.raises(SystemExit) as exit_:
        main(["explain", "a", "b", "--verify", "2"])
    assert exit_.value.code == 2
    with pytest.raises(SystemExit):
        main(["explain", "a", "b", "--ngram", "2"])  # fitting options need --corpus
    assert "for fitting on --corpus" in capsys.readouterr().err


def test_the_readme_shows_what_the_command_prints(capsys: pytest.CaptureFixture[str]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = "$ simdup explain 1125 522 --corpus data/reuters-sample.jsonl.gz\n"
    shown = readme.split(command, 1)[1].split("```", 1)[0]
    code, out, _ = run(capsys, "explain", "1125", "522", "--corpus", str(SAMPLE), "-q")
    assert code == 0
    assert out.replace(str(SAMPLE), "data/reuters-sample.jsonl.gz") == shown


def test_cli_truncated_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.txt.gz").write_bytes(gzip.compress(b"some words of a document " * 50)[:40])
    (tmp_path / "b.txt").write_text("x")
    code, _, err = run(capsys, "explain", str(tmp_path / "a.txt.gz"), str(tmp_path / "b.txt"))
    assert code == 1 and err.startswith("simdup: error:") and "a.txt.gz" in err and err.count("\n") == 1
