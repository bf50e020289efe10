"""The compiled kernels against the pure-Python reference (tests/reference.py)."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest
import reference as ref
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from simdup import SimHasher, _core

# Characters that exercise the word rule: ASCII, Latin accents, combining marks,
# Cyrillic, Arabic with harakat, Hebrew, Devanagari, CJK, emoji, digits of other
# scripts, controls, a lone surrogate, separators and punctuation.
ALPHABET = list(
    "abcXYZ019 \t\n.,;:!?'\"-_/\\()"
    "éÉßøÅ\u0301\u0308ñ"
    "кошКА"
    "كَتَبَ"
    "שלום"
    "हिन्दी"
    "中文字測試"
    "😀🇫🇷"
    "٣३"
    "\x00\x01\x7f\u200b\ufeff\ud800"
    "İΣς"
    "ภาษาไทย"
    "ひらがなカタカナｶﾀｶﾅー"
    "們國發後學门国发"
    "ＡＢ１２，。ﬁ①\u00ad\u00a0\u3000"
)
texts = st.text(alphabet=st.sampled_from(ALPHABET), max_size=80) | st.text(max_size=40)
ngram_ranges = st.tuples(st.integers(1, 4), st.integers(0, 3)).map(lambda t: (t[0], t[0] + t[1]))


@given(st.binary(max_size=200), st.integers(0, 2**64 - 1))
def test_xxh64_matches_xxhash_package(data: bytes, seed: int) -> None:
    assert _core.xxh64(data, seed) == xxhash.xxh64_intdigest(data, seed)


def _assigned_alike(ch: str) -> bool:
    # The core's tables are Unicode 15.1; this Python's unicodedata may be older.
    # Characters it assigns have the same category and decomposition in 15.1
    # (checked for 3.10-3.13 by tests/test_unicode_tables.py).
    return unicodedata.category(ch) != "Cn"


def test_char_class_and_fold_follow_the_reference() -> None:
    cps = list(range(0, 0x3100)) + list(range(0xF900, 0xFB00)) + list(range(0xFF00, 0xFFF0)) + [
        0x4E00, 0x9FA5, 0x1F600, 0x20000, 0xE0100, 0xE0001, 0x10FFFF, 0x11F00]
    for cp in cps:
        ch = chr(cp)
        if not _assigned_alike(ch):
            continue
        assert _core.char_class(cp) == ref.char_class(ch), hex(cp)
        for lower in (False, True):
            assert "".join(map(chr, _core.fold_char(cp, lower))) == ref.fold_char(ch, lower), hex(cp)


def test_fold_examples() -> None:
    def fold(text: str, t2s: bool = False) -> str:
        return "".join(chr(c) for ch in text for c in _core.fold_char(ord(ch), True, t2s))

    assert fold("ＡＢＣ１２３") == "abc123"
    assert fold("ﬁ") == "fi"
    assert fold("é") == fold("e\u0301")
    assert fold("soft\u00adhyphen\u200b") == "softhyphen"
    assert fold("們國發", t2s=True) == "们国发"


@given(st.lists(st.tuples(st.integers(0, 2**64 - 1), st.integers(-(2**40), 2**40)), max_size=30))
def test_simhash_weighted_matches_reference(features: list[tuple[int, int]]) -> None:
    hashes = np.array([h for h, _ in features], dtype=np.uint64)
    weights = np.array([w for _, w in features], dtype=np.int64)
    assert _core.simhash_weighted(hashes, weights) == ref.simhash_weighted(features)


def test_simhash_weighted_tie_gives_zero_bit() -> None:
    # Two equal-weight features that disagree on every bit: every sum is 0.
    h = np.array([0x00FF00FF00FF00FF, 0xFF00FF00FF00FF00], dtype=np.uint64)
    assert _core.simhash_weighted(h, np.array([5, 5], dtype=np.int64)) == 0
    assert _core.simhash_weighted(h, np.array([5, 4], dtype=np.int64)) == 0x00FF00FF00FF00FF


def _hasher_with_table(table: dict[int, int], unseen: int, **params: object) -> SimHasher:
    hasher = SimHasher(**params)  # type: ignore[arg-type]
    terms = np.array(sorted(table), dtype=np.uint64)
    hasher._set_idf(terms, np.array([table[int(t)] for t in terms], dtype=np.uint32), unseen, 1)
    return hasher


@settings(max_examples=300, deadline=None)
@given(
    st.lists(texts.filter(lambda t: all(_assigned_alike(c) for c in t)), min_size=1, max_size=4),
    ngram_ranges,
    st.sampled_from([ref.TF_RAW, ref.TF_SUBLINEAR, ref.TF_BINARY]),
    st.booleans(),
    st.booleans(),
    st.sampled_from(["auto", "words"]),
    st.integers(1, 2**20),
    st.data(),
)
def test_fingerprint_matches_reference(docs, ngram_range, tf_mode, lowercase, traditional, tokenizer,
                                       unseen, data) -> None:
    words_only = tokenizer == "words"
    # IDF entries for some of the documents' own tokens, so lookups hit and miss.
    tokens = sorted({h for d in docs
                     for h in ref.token_hashes(ref.terms(d, lowercase, traditional, words_only), ngram_range)})
    chosen = data.draw(st.lists(st.sampled_from(tokens), unique=True) if tokens else st.just([]))
    table = {h: data.draw(st.integers(1, 2**22)) for h in chosen}
    params = dict(
        tokenizer=tokenizer, ngram_range=ngram_range, lowercase=lowercase, fold_traditional=traditional,
        sublinear_tf=tf_mode == ref.TF_SUBLINEAR, binary=tf_mode == ref.TF_BINARY, input="text",
    )
    fps, n_tokens = _hasher_with_table(table, unseen, **params).transform(docs, return_n_tokens=True)
    for doc, fp, n in zip(docs, fps, n_tokens):
        assert (int(fp), int(n)) == ref.fingerprint(doc, table, unseen, ngram_range, tf_mode, lowercase,
                                                    traditional, words_only=words_only)


@settings(max_examples=200, deadline=None)
@given(st.lists(texts.filter(lambda t: all(_assigned_alike(c) for c in t)), min_size=1, max_size=4),
       st.integers(1, 4), st.integers(1, 6), st.booleans())
def test_verification_shingles_match_reference(docs, word_n, char_n, traditional) -> None:
    from internals import shingle_sets

    hasher = SimHasher(input="text", fold_traditional=traditional)
    indptr, terms = shingle_sets(hasher, docs, (word_n, char_n))
    for row, doc in enumerate(docs):
        got = set(terms[indptr[row]:indptr[row + 1]].tolist())
        assert got == ref.shingles(doc, word_n, char_n, True, traditional)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.text(max_size=6).filter(lambda t: all(_assigned_alike(c) for c in t)), max_size=12),
                min_size=1, max_size=3), ngram_ranges)
def test_callable_tokenizer_hashes_folded_tokens(token_lists, ngram_range) -> None:
    docs = ["\x1f".join(tokens) for tokens in token_lists]
    def split(text: str) -> list[str]:
        return text.split("\x1f")
    hasher = SimHasher(tokenizer=split, use_idf=False, ngram_range=ngram_range, lowercase=False, input="text")
    for doc, fp in zip(docs, hasher.transform(docs)):
        expected = ref.fingerprint(doc, {}, 1 << 16, ngram_range, lowercase=False, traditional=True, tokenizer=split)
        assert int(fp) == expected[0]


def _table(hasher: SimHasher) -> dict[int, int]:
    return dict(zip(hasher.vocabulary_.tolist(), hasher._idf_q.tolist()))


def test_default_model_matches_reference_on_reuters(reuters_texts: list[str]) -> None:
    hasher = SimHasher.default()
    docs = reuters_texts[:300]
    table = _table(hasher)
    for doc, fp in zip(docs, hasher.transform(docs)):
        assert int(fp) == ref.fingerprint(doc, table, hasher._unseen_q, traditional=True)[0]


def test_default_model_matches_reference_on_chinese(fudan_texts: list[str]) -> None:
    hasher = SimHasher.default()
    docs = fudan_texts[:20]
    table = _table(hasher)
    for doc, fp in zip(docs, hasher.transform(docs)):
        assert int(fp) == ref.fingerprint(doc, table, hasher._unseen_q, traditional=True)[0]


def test_chinese_tokenizer_matches_reference_with_jieba(fudan_texts: list[str]) -> None:
    import jieba

    hasher = SimHasher(tokenizer="chinese", use_idf=False, fold_traditional=False)
    docs = fudan_texts[:10]
    for doc, fp in zip(docs, hasher.transform(docs)):
        assert int(fp) == ref.fingerprint(doc, {}, 1 << 16, segment=jieba.cut)[0]


@pytest.mark.parametrize("ngram_range", [(1, 1), (1, 3), (2, 2)])
@pytest.mark.parametrize("smooth", [True, False])
@pytest.mark.parametrize("cap_df", [None, 0.01, 0.2])
def test_fit_idf_matches_reference(reuters_texts: list[str], ngram_range, smooth: bool, cap_df) -> None:
    docs = reuters_texts[:200]
    hasher = SimHasher(ngram_range=ngram_range, smooth_idf=smooth, idf_cap_df=cap_df).fit(docs)
    table, unseen = ref.idf_table([ref.token_hashes(ref.terms(d, traditional=True), ngram_range) for d in docs],
                                  smooth, cap_df)
    assert sorted(table) == hasher.vocabulary_.tolist()
    got = _table(hasher)
    # numpy's and libm's log may differ in the last bit: allow one quantum.
    assert max(abs(got[h] - q) for h, q in table.items()) <= 1
    assert abs(hasher._unseen_q - unseen) <= 1


@given(st.lists(texts, max_size=8))
def test_join_segments_equals_python_join_and_encode(segments: list[str]) -> None:
    assert _core.join_segments(segments) == " ".join(segments).encode("utf-8", "surrogatepass")


def test_simhash_weighted_rejects_sums_that_could_overflow() -> None:
    h = np.array([2**64 - 1] * 2, dtype=np.uint64)
    with pytest.raises(ValueError, match="2\\*\\*61"):
        _core.simhash_weighted(h, np.array([2**62, 2**62], dtype=np.int64))
    assert _core.simhash_weighted(h, np.array([2**59, -(2**59)], dtype=np.int64)) == 0


def test_fitted_hasher_pickles_and_deep_copies() -> None:
    import copy
    import pickle

    hasher = SimHasher().fit(["alpha beta", "beta gamma delta"])
    for clone in (pickle.loads(pickle.dumps(hasher)), copy.deepcopy(hasher)):
        assert clone.fingerprint("alpha gamma") == hasher.fingerprint("alpha gamma")
    assert pickle.loads(pickle.dumps(SimHasher.default())).fingerprint("oil prices") == SimHasher.default().fingerprint("oil prices")
