"""Pure-Python reference of fingerprint spec v1 (written out in simdup/hasher.py).

Slow and obvious on purpose: the compiled core is checked against it.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable

import xxhash

TF_RAW, TF_SUBLINEAR, TF_BINARY = 0, 1, 2
IDF_SCALE = 1 << 16


def is_word_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LNM"


def words(text: str) -> list[str]:
    """Maximal runs of letters, numbers and marks."""
    out: list[str] = []
    current: list[str] = []
    for ch in text:
        if is_word_char(ch):
            current.append(ch)
        elif current:
            out.append("".join(current))
            current = []
    if current:
        out.append("".join(current))
    return out


def word_hash(word: str) -> int:
    return xxhash.xxh64_intdigest(word.encode("utf-8", "surrogatepass"))


def token_hashes(tokens: list[str], ngram_range: tuple[int, int] = (1, 1)) -> list[int]:
    """Hashes of the words and of their n-grams (n-gram: XXH64 of the words' LE hashes)."""
    lo, hi = ngram_range
    hashes = [word_hash(w) for w in tokens]
    out = []
    for end in range(1, len(hashes) + 1):
        for n in range(lo, hi + 1):
            if n == 1:
                out.append(hashes[end - 1])
            elif n <= end:
                joined = b"".join(h.to_bytes(8, "little") for h in hashes[end - n : end])
                out.append(xxhash.xxh64_intdigest(joined))
    return out


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
    tf_mode: int = TF_SUBLINEAR,
    lowercase: bool = True,
    segment: Callable[[str], Iterable[str]] | None = None,
    tokenizer: Callable[[str], Iterable[str]] | None = None,
) -> tuple[int, int]:
    """(fingerprint, token count) of ``text``."""
    if lowercase:
        text = text.lower()
    if tokenizer is not None:
        toks = [t for tok in tokenizer(text) for t in tok.split("\x00") if t]
    else:
        if segment is not None:
            text = " ".join(segment(text))
        toks = words(text)
    counts = Counter(token_hashes(toks, ngram_range))
    features = [(h, term_weight(tf, idf_q.get(h, unseen_q), tf_mode)) for h, tf in counts.items()]
    return simhash_weighted(features), sum(counts.values())


def idf_table(docs_tokens: list[list[int]], smooth: bool = True) -> tuple[dict[int, int], int]:
    """Quantised IDF of each token hash and the unseen weight, from token lists."""
    n = len(docs_tokens)
    df = Counter(h for toks in docs_tokens for h in set(toks))
    def q(x: float) -> int:
        return max(1, math.floor(x * IDF_SCALE + 0.5))
    if smooth:
        table = {h: q(math.log((1 + n) / (1 + d)) + 1) for h, d in df.items()}
        return table, q(math.log(1 + n) + 1)
    return {h: q(math.log(n / d) + 1) for h, d in df.items()}, q(math.log(n) + 1)
