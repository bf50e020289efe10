"""SimHasher: estimator behaviour, pinned fingerprints, persistence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import simdup
from simdup import NotFittedError, SimHasher, _core

DOCS = [
    "The quick brown fox jumps over the lazy dog.",
    "Reuters reported that crude oil prices rose 3 pct on Monday.",
    "我来到北京清华大学",
    "Ünïcödé façade — naïve café",
    "",
]

# Spec v2 known answers. They may only change together with SPEC_VERSION.
KNOWN = {
    "default": [0x193713075216E48A, 0x26643CAA2EE53086, 0xD07E9699C8E27F11, 0xA808A04041C8A00D, 0],
    "uniform": [0x593B03225397E4AE, 0x26643CAAAEE53084, 0xD076109908A02F01, 0xA808A04041C8A00D, 0],
    "uniform_1_3_sublinear": [0x417A0223563760EA, 0x568430860C9510C0, 0x92D2FFD20CA2BBCB, 0xA82C20E021DC224F, 0],
}


def test_spec_version_is_two() -> None:
    assert simdup.SPEC_VERSION == 2


def test_known_answers_default_model() -> None:
    assert [simdup.simhash(d) for d in DOCS] == KNOWN["default"]
    assert SimHasher.default().transform(DOCS).tolist() == KNOWN["default"]


def test_known_answers_without_idf() -> None:
    assert SimHasher(use_idf=False).transform(DOCS).tolist() == KNOWN["uniform"]
    hasher = SimHasher(use_idf=False, ngram_range=(1, 3), sublinear_tf=True)
    assert hasher.transform(DOCS).tolist() == KNOWN["uniform_1_3_sublinear"]


def test_fold_makes_variant_forms_alike() -> None:
    hasher = SimHasher.default()
    pairs = [
        ("中华人民共和国成立于一九四九年，首都是北京。", "中華人民共和國成立於一九四九年，首都是北京。"),  # Traditional
        ("Price 123 USD, up 5%", "Ｐｒｉｃｅ　１２３　ＵＳＤ，ｕｐ　５％"),  # full-width
        ("cafe\u0301 naïve office", "café nai\u0308ve o\ufb03ce"),  # combining accents, ligature
        ("co-operation in-formation", "co-oper\u00adation in-for\u200bmation"),  # soft hyphen, zero width space
    ]
    for a, b in pairs:
        assert hasher.fingerprint(a) == hasher.fingerprint(b), (a, b)
    assert SimHasher.default().set_params(fold_traditional=False).fingerprint(pairs[0][0]) != \
        SimHasher.default().set_params(fold_traditional=False).fingerprint(pairs[0][1])


def test_fingerprints_are_the_same_in_a_fresh_process() -> None:
    code = "import simdup, json, sys; print(json.dumps([simdup.simhash(d) for d in json.load(sys.stdin)]))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], input=json.dumps(DOCS), capture_output=True,
                         text=True, env=env, check=True).stdout
    assert json.loads(out) == KNOWN["default"]


def test_transform_returns_uint64_array() -> None:
    fps = SimHasher.default().transform(iter(DOCS))
    assert isinstance(fps, np.ndarray) and fps.dtype == np.uint64 and fps.shape == (len(DOCS),)
    assert SimHasher.default().transform([]).shape == (0,)


def test_str_and_bytes_give_the_same_fingerprint() -> None:
    hasher = SimHasher.default()
    for doc in DOCS:
        assert hasher.fingerprint(doc) == hasher.fingerprint(doc.encode("utf-8"))


def test_near_duplicates_are_closer_than_unrelated_documents(reuters_texts: list[str]) -> None:
    hasher = SimHasher.default()
    long_docs = [d for d in reuters_texts if len(d.split()) > 150][:50]
    edited = [" ".join(w if i % 40 else f"changed{i}" for i, w in enumerate(d.split())) for d in long_docs]
    a, b = hasher.transform(long_docs), hasher.transform(edited)
    near = simdup.hamming(a, b)
    unrelated = simdup.hamming(a, np.roll(a, 1))
    assert np.median(near) <= 6
    assert np.median(unrelated) >= 20


def test_empty_and_tokenless_documents_are_zero_with_zero_tokens() -> None:
    fps, n = SimHasher.default().transform(["", "   ", "!!! ... 😀 🇫🇷", "word"], return_n_tokens=True)
    assert fps[:3].tolist() == [0, 0, 0] and n.tolist() == [0, 0, 0, 1]


def test_unfitted_hasher_raises_not_fitted() -> None:
    with pytest.raises(NotFittedError, match="fit"):
        SimHasher().transform(["text"])
    with pytest.raises(NotFittedError):
        SimHasher().vocabulary_


def test_fit_transform_equals_fit_then_transform(reuters_texts: list[str]) -> None:
    docs = reuters_texts[:100]
    assert (SimHasher().fit_transform(docs) == SimHasher().fit(docs).transform(docs)).all()


@pytest.mark.parametrize("smooth", [True, False])
def test_fit_learns_scikit_learns_idf(reuters_texts: list[str], smooth: bool) -> None:
    from reference import sklearn_idf

    docs = reuters_texts[:300]
    hasher = SimHasher(idf_cap_df=None, smooth_idf=smooth).fit(docs)
    indptr, terms = _core.doc_terms(hasher._prepare(docs), 1, 1, hasher._preparer().flags)
    vocabulary, columns = np.unique(terms, return_inverse=True)
    idf_q = np.floor(sklearn_idf(indptr, columns, len(vocabulary), smooth) * 2**16 + 0.5).astype(np.uint32)
    # The table leaves out tokens that weigh what an unseen token weighs (with
    # smooth_idf=False, those in one document).
    kept = idf_q < hasher._unseen_q
    assert np.array_equal(hasher.vocabulary_, vocabulary[kept])
    assert np.array_equal(hasher._idf_q, idf_q[kept])
    assert (idf_q[~kept] == hasher._unseen_q).all() and kept.sum() > 1000


def test_unseen_tokens_get_the_documented_weight(reuters_texts: list[str]) -> None:
    hasher = SimHasher().fit(reuters_texts[:100])
    assert hasher.n_docs_ == 100
    # the cap: a token in 10 % of the documents (10 of 100)
    assert hasher.unseen_idf_ == pytest.approx(np.log(101 / 11) + 1, abs=1e-4)
    assert hasher.unseen_idf_ > hasher.idf_.max()
    unbounded = SimHasher(idf_cap_df=None).fit(reuters_texts[:100])
    assert unbounded.unseen_idf_ == pytest.approx(np.log(101) + 1, abs=1e-4)
    assert unbounded.unseen_idf_ >= unbounded.idf_.max()
    smooth_off = SimHasher(smooth_idf=False, idf_cap_df=None).fit(reuters_texts[:100])
    assert smooth_off.unseen_idf_ == pytest.approx(np.log(100) + 1, abs=1e-4)
    tiny = SimHasher().fit(["one doc", "two docs"])  # 10 % of 2 documents: the cap is one document
    assert tiny.unseen_idf_ == pytest.approx(np.log(3 / 2) + 1, abs=1e-4)


def test_idf_cap_bounds_rare_tokens(reuters_texts: list[str]) -> None:
    docs = reuters_texts[:400]
    capped, unbounded = SimHasher().fit(docs), SimHasher(idf_cap_df=None).fit(docs)
    # Only tokens in more than 10 % of the documents stay in the table, with their own IDF.
    kept = np.isin(unbounded.vocabulary_, capped.vocabulary_)
    assert 0 < kept.sum() < len(kept)
    assert np.array_equal(unbounded.idf_[kept], capped.idf_)
    assert (unbounded.idf_[~kept] >= capped.unseen_idf_ - 1e-4).all()
    with pytest.raises(ValueError, match="idf_cap_df"):
        SimHasher(idf_cap_df=0).fit(docs)
    with pytest.raises(ValueError, match="idf_cap_df"):
        SimHasher(idf_cap_df=1.5).fit(docs)


def test_min_df_drops_rare_tokens(reuters_texts: list[str]) -> None:
    full = SimHasher(idf_cap_df=None).fit(reuters_texts[:200])
    pruned = SimHasher(min_df=2, idf_cap_df=None).fit(reuters_texts[:200])
    assert 0 < len(pruned.vocabulary_) < len(full.vocabulary_)
    assert np.isin(pruned.vocabulary_, full.vocabulary_).all()


def test_get_set_params_and_repr() -> None:
    hasher = SimHasher(ngram_range=(1, 2))
    assert hasher.get_params()["ngram_range"] == (1, 2)
    assert hasher.set_params(binary=True) is hasher and hasher.binary
    assert repr(hasher) == "SimHasher(ngram_range=(1, 2), binary=True)"
    with pytest.raises(ValueError, match="invalid parameter"):
        hasher.set_params(nope=1)


def test_works_with_sklearn_clone() -> None:
    from sklearn.base import clone

    copy = clone(SimHasher(ngram_range=(1, 2), min_df=3))
    assert copy.get_params() == SimHasher(ngram_range=(1, 2), min_df=3).get_params()


def test_save_load_round_trip(tmp_path: Path, reuters_texts: list[str]) -> None:
    hasher = SimHasher(ngram_range=(1, 2), sublinear_tf=False).fit(reuters_texts[:300])
    path = tmp_path / "model.npz"
    hasher.save(path)
    loaded = SimHasher.load(path)
    assert loaded.get_params() == hasher.get_params()
    assert (loaded.transform(reuters_texts[300:400]) == hasher.transform(reuters_texts[300:400])).all()
    assert loaded.n_docs_ == 300 and loaded.unseen_idf_ == hasher.unseen_idf_
    with zipfile.ZipFile(path) as z:  # plain arrays only, no pickles
        assert sorted(z.namelist()) == sorted(
            f"{k}.npy" for k in ["format", "spec_version", "simdup_version", "params", "vocabulary",
                                 "idf_q", "unseen_idf_q", "n_docs"])


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.npz"
    SimHasher(use_idf=False).save(path)
    before = path.read_bytes()

    def crash(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        SimHasher(use_idf=False, binary=True).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_callable_tokenizer_must_be_given_again_on_load(tmp_path: Path) -> None:
    def split(text: str) -> list[str]:
        return text.split()

    hasher = SimHasher(tokenizer=split).fit(["a b c", "b c d"])
    hasher.save(tmp_path / "m.npz")
    with pytest.raises(ValueError, match="split"):
        SimHasher.load(tmp_path / "m.npz")
    loaded = SimHasher.load(tmp_path / "m.npz", tokenizer=split)
    assert loaded.fingerprint("a b x") == hasher.fingerprint("a b x")


def test_load_rejects_corrupt_truncated_and_foreign_files(tmp_path: Path) -> None:
    good = tmp_path / "good.npz"
    SimHasher().fit(["one two", "two three"]).save(good)
    data = good.read_bytes()
    cases = {
        "truncated.npz": data[: len(data) // 2],
        "garbage.npz": b"\x00\xff" * 100,
        "flipped.npz": data[:200] + bytes([data[200] ^ 0xFF]) + data[201:],
        "empty.npz": b"",
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError):
            SimHasher.load(tmp_path / name)
    other = tmp_path / "other.npz"
    np.savez(other, x=np.arange(3))
    with pytest.raises(ValueError, match="not a simdup model"):
        SimHasher.load(other)
    with pytest.raises(FileNotFoundError):
        SimHasher.load(tmp_path / "missing.npz")


def test_load_rejects_other_spec_version(tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    SimHasher(use_idf=False).save(path)
    with np.load(path) as z:
        arrays = dict(z)
    arrays["spec_version"] = np.array(1)  # a model simdup 0.1 wrote
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="spec v1; this simdup implements v2"):
        SimHasher.load(path)


def test_default_returns_independent_hashers() -> None:
    a = SimHasher.default()
    a.set_params(ngram_range=(1, 2)).fit(["x y z"])
    assert SimHasher.default().ngram_range == (1, 1)
    assert simdup.simhash(DOCS[0]) == KNOWN["default"][0]
