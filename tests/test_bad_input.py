"""Bad and unusual documents and parameters: a clear error or a documented result."""

from __future__ import annotations

import time

import numpy as np
import pytest

from simdup import SimHasher, simhash


@pytest.mark.parametrize("doc", [None, 42, 3.5, ["a list"], {"text": "x"}, object()])
def test_non_text_documents_raise_type_error(doc: object) -> None:
    with pytest.raises(TypeError, match="str or bytes"):
        simhash(doc)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="str or bytes"):
        SimHasher.default().transform(["fine", doc])  # type: ignore[list-item]


def test_single_string_to_transform_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="single document"):
        SimHasher.default().transform("one document")
    with pytest.raises(TypeError, match="iterable"):
        SimHasher.default().transform(42)  # type: ignore[arg-type]


def test_invalid_utf8_is_replaced_by_default_or_raises_when_strict() -> None:
    broken = b"caf\xe9 au lait \xff\xfe na\xc3"
    # Each bad byte decodes to U+FFFD, a word separator.
    assert simhash(broken) == simhash("caf\ufffd au lait \ufffd\ufffd na\ufffd")
    with pytest.raises(UnicodeDecodeError):
        SimHasher.default().set_params(encoding_errors="strict").fingerprint(broken)
    assert isinstance(UnicodeDecodeError("utf-8", b"", 0, 1, "x"), ValueError)


def test_binary_junk_is_fast_and_deterministic() -> None:
    junk = np.random.default_rng(0).integers(0, 256, 2_000_000, dtype=np.uint8).tobytes()
    start = time.perf_counter()
    a = simhash(junk)
    assert time.perf_counter() - start < 5
    assert a == simhash(junk)


def test_control_characters_separate_words() -> None:
    assert simhash("alpha\x00beta\x07gamma\x1b[0m") == simhash("alpha beta gamma 0m")


def test_emoji_only_and_punctuation_only_are_token_less() -> None:
    fps, n = SimHasher.default().transform(["😀😀🎉", "...!!!", "\u200b\ufeff"], return_n_tokens=True)
    assert fps.tolist() == [0, 0, 0] and n.tolist() == [0, 0, 0]


def test_right_to_left_and_combining_marks_stay_in_words() -> None:
    hasher = SimHasher(use_idf=False, tokenizer="words")
    _, n = hasher.transform(["كَتَبَ الوَلَدُ", "שָׁלוֹם עוֹלָם", "हिन्दी भाषा"], return_n_tokens=True)
    assert n.tolist() == [2, 2, 2]  # diacritics and vowel signs do not split words


def test_lone_surrogates_do_not_crash() -> None:
    assert simhash("abc\ud800def") == simhash("abc def")


def test_100_mb_document_is_fingerprinted_in_linear_time() -> None:
    block = " ".join(f"w{i}" for i in range(50_000)) + "\n"
    doc = (block * (100_000_000 // len(block) + 1))[:100_000_000]
    start = time.perf_counter()
    fp, n = SimHasher.default().transform([doc], return_n_tokens=True)
    assert time.perf_counter() - start < 30
    assert n[0] > 10_000_000 and fp[0] != 0


@pytest.mark.parametrize(
    "params, message",
    [
        ({"ngram_range": (0, 1)}, "ngram_range"),
        ({"ngram_range": (2, 1)}, "ngram_range"),
        ({"ngram_range": (1, 17)}, "ngram_range"),
        ({"ngram_range": "1,2"}, "ngram_range"),
        ({"tokenizer": "spaces"}, "tokenizer"),
        ({"segmenter": "pkuseg"}, "segmenter"),
        ({"min_df": 0}, "min_df"),
        ({"encoding_errors": "nonsense"}, "encoding_errors"),
    ],
)
def test_bad_parameters_raise_value_error(params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimHasher(use_idf=False, **params).transform(["text"])
    with pytest.raises(ValueError, match=message):
        SimHasher(**params).fit(["text"])


def test_tokenizer_returning_non_strings_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="iterable of str"):
        SimHasher(tokenizer=lambda text: [1, 2], use_idf=False).fingerprint("x")


def test_fit_on_no_documents_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="at least one"):
        SimHasher().fit([])


def test_fit_on_token_less_documents_gives_empty_vocabulary() -> None:
    hasher = SimHasher().fit(["", "!!!"])
    assert len(hasher.vocabulary_) == 0 and hasher.fingerprint("word") != 0
