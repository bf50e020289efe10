"""Pure-Python reference of fingerprint spec v2 (written out in simdup/hasher.py).

Slow and obvious on purpose: the compiled core is checked against it. The
character data comes from this Python's ``unicodedata`` and, for the
Traditional-to-Simplified fold, from the ``opencc`` package; the core's tables
were generated from Unicode 15.1 and OpenCC, so on another Python the two agree
on the characters both Unicode versions assign alike (the tests draw those).
"""

from __future__ import annotations

import math
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

import xxhash

TF_RAW, TF_SUBLINEAR, TF_BINARY = 0, 1, 2
IDF_SCALE = 1 << 16

# The spec's character data (ignorables, scripts without spaces) as the table generator lists it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import gen_unicode_tables as _gen

IGNORABLE = [(lo, hi) for lo, hi, _ in _gen.DEFAULT_IGNORABLE]
UNSPACED = [(lo, hi) for lo, hi, _ in _gen.UNSPACED_RANGES]
HAN = [(lo, hi) for lo, hi, _ in _gen.T2S_RANGES]
SEP, WORD, UNSPACED_CHAR = 0, 1, 2


def _in(cp: int, ranges: list[tuple[int, int]]) -> bool:
    return any(lo <= cp <= hi for lo, hi in ranges)


def char_class(ch: str) -> int:
    """Separator, word character (L, N, M), or a character of a script written without spaces."""
    if unicodedata.category(ch)[0] not in "LNM":
        return SEP
    return UNSPACED_CHAR if _in(ord(ch), UNSPACED) else WORD


@lru_cache(maxsize=None)
def _t2s_converter() -> Callable[[str], str]:
    import opencc

    return opencc.OpenCC("t2s").convert


def t2s(ch: str) -> str:
    """OpenCC's Traditional-to-Simplified conversion of one character, when it gives one character."""
    if not _in(ord(ch), HAN):
        return ch
    out = ch
    while True:  # OpenCC has one chain (U+85B4 -> U+82E7 -> U+82CE); the spec follows it to its end
        again = _t2s_converter()(out)
        if len(again) != 1 or again == out:
            return out
        out = again


def fold_char(ch: str, lower: bool = True, traditional: bool = False) -> str:
    """NFKD, then (with ``lower``) lower-case and NFKD again until nothing changes; ignorables vanish."""
    if _in(ord(ch), IGNORABLE):
        return ""
    out = unicodedata.normalize("NFKD", ch)
    while lower:
        again = unicodedata.normalize("NFKD", out.lower())
        if again == out:
            break
        out = again
    out = "".join(c for c in out if not _in(ord(c), IGNORABLE))
    return "".join(t2s(c) for c in out) if traditional else out


def terms(text: str, lower: bool = True, traditional: bool = False, words_only: bool = False) -> list[str]:
    """Spec v2 terms: words, and the bigrams of each run of unspaced-script characters."""
    out: list[str] = []
    word: list[str] = []
    run: list[str] = []

    def end_word() -> None:
        if word:
            out.append("".join(word))
            word.clear()

    def end_run() -> None:
        if len(run) == 1:
            out.append(run[0])
        run.clear()

    for ch in "".join(fold_char(c, lower, traditional) for c in text):
        cls = char_class(ch)
        if cls == UNSPACED_CHAR and not words_only:
            end_word()
            if run:
                out.append(run[-1] + ch)
            run.append(ch)
        elif cls != SEP:
            end_run()
            word.append(ch)
        else:
            end_word()
            end_run()
    end_word()
    end_run()
    return out


def term_hash(term: str) -> int:
    return xxhash.xxh64_intdigest(term.encode("utf-8", "surrogatepass"))


def _ngram_hash(hashes: list[int]) -> int:
    return xxhash.xxh64_intdigest(b"".join(h.to_bytes(8, "little") for h in hashes))


def token_hashes(tokens: list[str], ngram_range: tuple[int, int] = (1, 1)) -> list[int]:
    """Hashes of the terms and of their n-grams (n-gram: XXH64 of the terms' LE hashes)."""
    lo, hi = ngram_range
    hashes = [term_hash(w) for w in tokens]
    out = []
    for end in range(1, len(hashes) + 1):
        for n in range(lo, hi + 1):
            if n == 1:
                out.append(hashes[end - 1])
            elif n <= end:
                out.append(_ngram_hash(hashes[end - n:end]))
    return out


def shingles(text: str, word_n: int = 3, char_n: int = 5, lower: bool = True, traditional: bool = False) -> set[int]:
    """Verification shingles: character n-grams of the non-space characters when at least 20 % of
    them are unspaced-script characters, else word n-grams (words: runs of word and unspaced characters)."""
    folded = "".join(fold_char(c, lower, traditional) for c in text)
    chars = "".join(folded.split())
    words = []
    word: list[str] = []
    for ch in folded + " ":
        if char_class(ch) != SEP:
            word.append(ch)
        elif word:
            words.append("".join(word))
            word = []
    unspaced = sum(char_class(c) == UNSPACED_CHAR for c in chars)
    if unspaced and 5 * unspaced >= len(chars):
        # character n-grams: XXH64 of the code points as 4-byte little-endian words
        n = char_n if len(chars) >= char_n else 1  # a short text: its characters one by one
        return {xxhash.xxh64_intdigest(b"".join(ord(c).to_bytes(4, "little") for c in chars[x:x + n]))
                for x in range(len(chars) - n + 1)}
    hashes = [term_hash(u) for u in words]
    if len(hashes) < word_n or word_n == 1:
        return set(hashes)
    return {_ngram_hash(hashes[x:x + word_n]) for x in range(len(hashes) - word_n + 1)}


def term_weight(tf: int, idf_q: int, tf_mode: int) -> int:
    if tf_mode == TF_BINARY:
        return idf_q
    if tf_mode == TF_RAW:
        return tf * idf_q
    return math.floor((1.0 + math.log(tf)) * idf_q + 0.5)


def simhash_weighted(features: Iterable[tuple[int, int]]) -> int:
    """Bit b is 1 where sum(+w if bit b of h is set else -w) > 0."""
    features = list(features)
    fp = 0
    for b in range(64):
        total = sum(w if (h >> b) & 1 else -w for h, w in features)
        if total > 0:
            fp |= 1 << b
    return fp


def fingerprint(
    text: str,
    idf_q: dict[int, int],
    unseen_q: int,
    ngram_range: tuple[int, int] = (1, 1),
    tf_mode: int = TF_RAW,
    lowercase: bool = True,
    traditional: bool = False,
    segment: Callable[[str], Iterable[str]] | None = None,
    tokenizer: Callable[[str], Iterable[str]] | None = None,
    words_only: bool = False,
) -> tuple[int, int]:
    """(fingerprint, token count) of ``text``."""
    if tokenizer is not None:
        toks = [fold_char_string(t, lowercase, traditional)
                for tok in tokenizer(text) for t in tok.split("\x00")]
        toks = [t for t in toks if t]
    else:
        if segment is not None:
            text = " ".join(segment(text))
            words_only = True
        toks = terms(text, lowercase, traditional, words_only)
    counts = Counter(token_hashes(toks, ngram_range))
    features = [(h, term_weight(tf, idf_q.get(h, unseen_q), tf_mode)) for h, tf in counts.items()]
    return simhash_weighted(features), sum(counts.values())


def fold_char_string(text: str, lower: bool = True, traditional: bool = False) -> str:
    return "".join(fold_char(c, lower, traditional) for c in text)


def idf_table(docs_tokens: list[list[int]], smooth: bool = True, cap_df: float | None = None
              ) -> tuple[dict[int, int], int]:
    """Quantised IDF of each token hash and the unseen weight, from token lists.

    ``cap_df``: tokens in fewer than this fraction of the documents weigh as
    if they were in exactly that fraction (at least one document), and so do
    unseen tokens.
    """
    n = len(docs_tokens)
    df = Counter(h for toks in docs_tokens for h in set(toks))

    def idf(d: float) -> float:
        return math.log((n + smooth) / (d + smooth)) + 1 if d or smooth else math.log(n) + 1

    def q(x: float) -> int:
        return max(1, math.floor(x * IDF_SCALE + 0.5))

    cap = idf(max(1.0, cap_df * n)) if cap_df is not None else math.inf
    unseen = q(min(idf(0), cap))
    # Tokens weighing what an unseen token weighs are left out of the table.
    return {h: w for h, d in df.items() if (w := q(min(idf(d), cap))) < unseen}, unseen


def sklearn_idf(indptr, columns, n_terms: int, smooth_idf: bool):  # type: ignore[no-untyped-def]
    """scikit-learn's IDF of a documents-by-terms CSR matrix (the oracle of ``idf_from_df``)."""
    import numpy as np
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import TfidfTransformer

    counts = csr_matrix((np.ones(len(columns), dtype=np.float64), columns, indptr), shape=(len(indptr) - 1, n_terms))
    return TfidfTransformer(smooth_idf=smooth_idf).fit(counts).idf_
