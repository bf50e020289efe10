"""Decision study for fingerprint spec v2 (issue 11): which token weighting and which features.

    python benchmarks/study_v2.py            # full: ~300 sources per corpus, 2,000-document backgrounds
    python benchmarks/study_v2.py --tiny     # smoke run, well under a minute

Candidates are emulated with the *current* simdup API, so the numbers can
steer the v2 core before it exists:

* features come from a callable tokenizer (``SimHasher(tokenizer=f)``), whose
  tokens simdup hashes verbatim: words for space-delimited scripts plus
  overlapping character bigrams (or 1+2-grams, or 3-grams) inside each run of
  characters from scripts written without spaces; "jieba" is simdup's own
  Chinese tokenizer (rjieba segmenter, the fast port of the same dictionary);
* weights come from replacing the fitted IDF table (``SimHasher._set_idf``)
  with a transformed one: capped, square-rooted, log-damped, or with another
  IDF for unseen tokens; TF-only weightings use ``use_idf=False``.

The IDF is fitted, as ``simdup.dedup`` fits it, on the corpus being hashed:
a background sample of the corpus (which holds the sources) plus the edited
copies of the group being measured. The document frequencies are counted
once for the background and once per group of copies and added, which gives
the same table as ``fit`` on the union (checked at start-up). Rows marked
"model w/o copies" use the table fitted on the background alone, as a saved
model applied to new documents would: the copies' new tokens are then unseen.

Metrics, per corpus and per edit group (never averaged over groups): the share
of copies within 3 and within 6 bits of their source; and the share of
unrelated background pairs (every pair of the background, those with
ground-truth Jaccard >= 0.5 removed) within 3 and within 6 bits. Ground truth
for that exclusion: character 5-shingles (whitespace removed) for unspaced
text, lower-cased NFKC word 3-shingles otherwise, computed here in Python.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simdup import SimHasher, _core
from simdup.idf import idf_from_df, quantize

import shared_data  # benchmarks/shared_data.py: the shared corpora's folder (SIMDUP_SHARED_DATA)

ROOT = Path(__file__).resolve().parent
DATA = shared_data.data_dir()

# Scripts written without spaces between words (spec v2): Han (with extension A,
# compatibility ideographs and the supplementary planes), kana (incl. half-width
# katakana), Thai, Lao, Tibetan, Myanmar, Khmer.
UNSPACED = ("\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
            "\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f"
            "\u0e00-\u0e7f\u0e80-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff")
RUNS = re.compile(f"([{UNSPACED}]+)|((?:(?![{UNSPACED}])\\w)+)")
UNSPACED_CHAR = re.compile(f"[{UNSPACED}]")
WORD = re.compile(r"\w+")


# -- tokenizers (the candidate features) -------------------------------------------------------


def make_tokenizer(ngrams: tuple[int, ...], normalize: str = "") -> Callable[[str], list[str]]:
    """Words for spaced scripts + character n-grams inside runs of unspaced characters.

    Parameters
    ----------
    ngrams : tuple of int
        Character n-gram sizes taken inside each unspaced run; a run shorter
        than the smallest size gives itself as one token (a lone character is
        a unigram), as spec v2 says.
    normalize : {"", "nfkc", "nfkc+t2s"}
        Applied to the (already lower-cased) text first: NFKC compatibility
        fold then ``casefold``; "+t2s" also folds Traditional to Simplified
        Chinese with OpenCC.
    """
    t2s = None
    if "t2s" in normalize:
        import opencc

        t2s = opencc.OpenCC("t2s").convert

    def tokens(text: str) -> list[str]:
        if normalize:
            text = unicodedata.normalize("NFKC", text).casefold()
        if t2s is not None:
            text = t2s(text)
        out: list[str] = []
        for run, word in RUNS.findall(text):
            if word:
                out.append(word)
                continue
            if len(run) < min(ngrams):
                out.append(run)
                continue
            for n in ngrams:
                out.extend(run[x:x + n] for x in range(len(run) - n + 1))
        return out

    tokens.__qualname__ = f"chars{'+'.join(map(str, ngrams))}{'_' + normalize if normalize else ''}"
    return tokens


def feature_sets(chinese: bool) -> dict[str, dict]:
    """SimHasher keyword arguments per candidate feature set."""
    bigrams = {"tokenizer": make_tokenizer((2,))}
    if not chinese:  # on English text every candidate reduces to words
        return {"words": bigrams, "words, NFKC": {"tokenizer": make_tokenizer((2,), "nfkc")}}
    return {
        "jieba words (rjieba)": {"tokenizer": "auto", "segmenter": "rjieba"},
        "char bigrams": bigrams,
        "char 1+2-grams": {"tokenizer": make_tokenizer((1, 2))},
        "char 3-grams": {"tokenizer": make_tokenizer((3,))},
        "char bigrams, NFKC": {"tokenizer": make_tokenizer((2,), "nfkc")},
        "char bigrams, NFKC+t2s": {"tokenizer": make_tokenizer((2,), "nfkc+t2s")},
    }


# -- weightings: IDF tables derived from document frequencies -----------------------------------


@dataclass
class Weighting:
    """One candidate weighting: TF mode plus a rule turning document frequencies into an IDF table."""

    name: str
    sublinear_tf: bool = True
    use_idf: bool = True
    # (idf of the vocabulary, n_docs) -> (new idf, idf of unseen tokens)
    rule: Callable[[np.ndarray, int], tuple[np.ndarray, float]] | None = None


def _idf_at(share: float, n: int) -> float:
    """Smooth IDF of a token in ``share`` of ``n`` documents."""
    return float(np.log((1 + n) / (1 + share * n)) + 1)


def _cap(share: float) -> Callable[[np.ndarray, int], tuple[np.ndarray, float]]:
    def rule(idf: np.ndarray, n: int) -> tuple[np.ndarray, float]:
        cap = _idf_at(share, n)
        return np.minimum(idf, cap), cap
    return rule


WEIGHTINGS = [
    Weighting("(a) TF-IDF (today)", rule=lambda idf, n: (idf, float(np.log(1 + n) + 1))),
    Weighting("(b) sublinear TF", use_idf=False),
    Weighting("(c) raw TF", sublinear_tf=False, use_idf=False),
    Weighting("(d1) IDF capped at df 1 %", rule=_cap(0.01)),
    Weighting("(d2) IDF capped at df 0.1 %", rule=_cap(0.001)),
    Weighting("(d3) raw TF, IDF capped at 1 %", sublinear_tf=False, rule=_cap(0.01)),
    Weighting("(d4) raw TF, IDF capped at 10 %", sublinear_tf=False, rule=_cap(0.1)),
    Weighting("(e1) sqrt IDF", rule=lambda idf, n: (np.sqrt(idf), float(np.sqrt(np.log(1 + n) + 1)))),
    Weighting("(e2) 1 + ln IDF", rule=lambda idf, n: (1 + np.log(idf), float(1 + np.log(np.log(1 + n) + 1)))),
    Weighting("(e3) raw TF, sqrt IDF", sublinear_tf=False,
              rule=lambda idf, n: (np.sqrt(idf), float(np.sqrt(np.log(1 + n) + 1)))),
    Weighting("(f) IDF, unseen = median", rule=lambda idf, n: (idf, float(np.median(idf)) if len(idf) else 1.0)),
]
# weightings also shown with a model fitted without the copies (copies' new tokens unseen)
WITHOUT_COPIES = ("(a) TF-IDF (today)", "(d1) IDF capped at df 1 %", "(f) IDF, unseen = median")


@dataclass
class Frequencies:
    vocabulary: np.ndarray
    df: np.ndarray
    n_docs: int

    def __add__(self, other: Frequencies) -> Frequencies:
        vocabulary, inverse = np.unique(np.concatenate([self.vocabulary, other.vocabulary]), return_inverse=True)
        df = np.bincount(inverse, weights=np.concatenate([self.df, other.df]), minlength=len(vocabulary))
        return Frequencies(vocabulary, df.astype(np.int64), self.n_docs + other.n_docs)


def frequencies(hasher: SimHasher, prepared: list[bytes]) -> Frequencies:
    """Document frequency of each token hash in ``prepared`` documents."""
    indptr, terms = _core.doc_terms(prepared, 1, 1, hasher._preparer().flags)
    rows = np.repeat(np.arange(len(prepared)), np.diff(indptr))
    pairs = np.unique(np.stack([terms.astype(np.uint64), rows.astype(np.uint64)], axis=1), axis=0)
    vocabulary, df = np.unique(pairs[:, 0], return_counts=True)
    return Frequencies(vocabulary, df.astype(np.int64), len(prepared))


def weighted(params: dict, weighting: Weighting, freq: Frequencies) -> SimHasher:
    """A hasher with ``params`` whose IDF table is ``weighting`` applied to ``freq``."""
    hasher = SimHasher(**params, sublinear_tf=weighting.sublinear_tf, use_idf=weighting.use_idf)
    if weighting.use_idf:
        assert weighting.rule is not None
        idf, unseen = weighting.rule(idf_from_df(freq.df, freq.n_docs), freq.n_docs)
        hasher._set_idf(freq.vocabulary, quantize(idf), int(quantize([unseen])[0]), freq.n_docs)
    return hasher


# -- ground truth for "unrelated" (independent of simdup) ----------------------------------------


def is_unspaced(text: str) -> bool:
    """At least 20 % of the non-space characters are from scripts written without spaces."""
    chars = "".join(text.split())
    return bool(chars) and len(UNSPACED_CHAR.findall(chars)) >= 0.2 * len(chars)


def shingles(text: str) -> set[int]:
    """Character 5-shingles (whitespace removed) of unspaced text, else word 3-shingles (NFKC, lower-cased)."""
    if is_unspaced(text):
        chars = "".join(text.split())
        return {hash(chars[x:x + 5]) for x in range(max(1, len(chars) - 4))}
    words = WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    return {hash(" ".join(words[x:x + 3])) for x in range(max(1, len(words) - 2))}


def jaccard(a: set[int], b: set[int]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


# -- copies ----------------------------------------------------------------------------------


FURNITURE_EN = ["Share this article", "Share on Facebook  Share on Twitter  Email", "Print this page",
                "Copyright © 2012 Example Media Group. All rights reserved.",
                "This material may not be published, broadcast, rewritten or redistributed.",
                "Related: Markets close higher as investors weigh earnings",
                "Related: Five things to watch this week", "Sign up for our newsletter", "Comments (0)"]
FURNITURE_ZH = ["分享到：新浪微博 腾讯微博 QQ空间 人人网", "版权所有 © 2003 新华网 未经书面授权禁止转载",
                "相关新闻：股市收盘走高 投资者关注业绩", "相关阅读：本周值得关注的五件事", "打印本页 关闭窗口",
                "责任编辑：王明", "【我要评论】【推荐给朋友】", "免责声明：本文仅代表作者个人观点"]


def char_edit(text: str, rate: float, op: str, rng: np.random.Generator) -> str:
    """Substitute, insert or delete ``rate`` of the unspaced characters; new ones from the same article."""
    chars = list(text)
    positions = [x for x, c in enumerate(chars) if UNSPACED_CHAR.match(c)]
    pool = [chars[x] for x in positions]
    if not positions:
        return text
    chosen = rng.choice(positions, size=max(1, round(rate * len(positions))), replace=False)
    for x in sorted(chosen.tolist(), reverse=True):  # from the end, so earlier positions stay valid
        if op == "sub":
            choices = [c for c in (pool[int(rng.integers(len(pool)))] for _ in range(5)) if c != chars[x]]
            chars[x] = choices[0] if choices else chars[x]
        elif op == "ins":
            chars.insert(x, pool[int(rng.integers(len(pool)))])
        else:
            del chars[x]
    return "".join(chars)


def word_edit(text: str, rate: float, vocabulary: list[str], rng: np.random.Generator) -> str:
    """Substitute, insert or delete (a third each) ``rate`` of the words, keeping the layout."""
    parts = re.split(r"(\s+)", text)
    words = list(range(0, len(parts), 2))
    if not words:
        return text
    for x in rng.choice(words, size=max(1, round(rate * len(words))), replace=False).tolist():
        op = int(rng.integers(3))
        new = vocabulary[int(rng.integers(len(vocabulary)))]
        parts[x] = new if op == 0 else "" if op == 1 else f"{new} {parts[x]}"
    return "".join(parts)


def paragraphs(text: str) -> list[str]:
    """Blank-line blocks, else indented-line blocks (Reuters), else lines."""
    for pattern in (r"\n\s*\n", r"\n(?=[ \t]{2,}\S)", r"\n"):
        blocks = [b for b in re.split(pattern, text) if b.strip()]
        if len(blocks) >= 3:
            return blocks
    return [text]


def moved_paragraph(text: str, rng: np.random.Generator) -> str:
    blocks = paragraphs(text)
    if len(blocks) < 3:
        return text
    block = blocks.pop(int(rng.integers(len(blocks))))
    blocks.insert(int(rng.integers(len(blocks) + 1)), block)
    return "\n\n".join(blocks)


def partial(text: str, rng: np.random.Generator, unspaced: bool) -> str:
    """A contiguous 70-90 % of the source, in order (characters for unspaced text, else words)."""
    units = list(text) if unspaced else re.split(r"(?<=\s)", text)
    keep = int(len(units) * rng.uniform(0.7, 0.9))
    start = int(rng.integers(len(units) - keep + 1))
    return "".join(units[start:start + keep])


def boilerplate(text: str, lines: list[str], rng: np.random.Generator) -> str:
    picked = rng.choice(len(lines), size=int(rng.integers(3, 6)), replace=False)
    return text + "\n" + "\n".join(lines[x] for x in picked.tolist())


FULL_WIDTH = {c: chr(c + 0xFEE0) for c in range(0x21, 0x7F) if not chr(c).isalpha()}


def copies(sources: list[str], chinese: bool, vocabulary: list[str], rng: np.random.Generator) -> dict[str, list[str]]:
    """Every edit group: name -> one copy per source."""
    groups: dict[str, list[str]] = {}
    if chinese:
        for op in ("sub", "ins", "del"):
            for rate in (0.01, 0.02, 0.05):
                groups[f"char {op} {rate:.0%}"] = [char_edit(s, rate, op, rng) for s in sources]
        import opencc

        s2t = opencc.OpenCC("s2t").convert
        groups["Traditional"] = [s2t(s) for s in sources]
        groups["full-width"] = [s.translate(FULL_WIDTH) for s in sources]
    else:
        for rate in (0.01, 0.02, 0.05):
            groups[f"word edit {rate:.0%}"] = [word_edit(s, rate, vocabulary, rng) for s in sources]
    groups["boilerplate"] = [boilerplate(s, FURNITURE_ZH if chinese else FURNITURE_EN, rng) for s in sources]
    groups["moved paragraph"] = [moved_paragraph(s, rng) for s in sources]
    groups["partial 70-90 %"] = [partial(s, rng, chinese) for s in sources]
    return groups


# -- the study -------------------------------------------------------------------------------


@dataclass
class Corpus:
    name: str
    chinese: bool
    background: list[str]  # distinct texts; the first len(sources) are the sources
    n_sources: int
    groups: dict[str, list[str]] = field(default_factory=dict)


def load_texts(name: str) -> list[str]:
    with gzip.open(DATA / name, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def build(name: str, records: list[dict], chinese: bool, long_enough: Callable[[str], bool], n_sources: int,
          n_background: int, rng: np.random.Generator) -> Corpus:
    seen: set[str] = set()
    texts = []
    for r in records:
        t = r["text"]
        if t.strip() and t not in seen and r.get("id") != "R237":  # R237: defect of the dragnet source
            seen.add(t)
            texts.append(t)
    order = rng.permutation(len(texts)).tolist()
    longs = [texts[x] for x in order if long_enough(texts[x])]
    sources = longs[:n_sources]
    rest = [texts[x] for x in order if texts[x] not in set(sources)]
    background = sources + rest[:max(0, n_background - len(sources))]
    vocabulary = sorted({w for s in background[:500] for w in s.split()})
    corpus = Corpus(name, chinese, background, len(sources))
    corpus.groups = copies(sources, chinese, vocabulary, rng)
    return corpus


def unrelated_mask(corpus: Corpus, close: np.ndarray, cache: dict) -> np.ndarray:
    """For flagged background pairs (rows of ``close``): True when ground-truth Jaccard < 0.5."""
    keep = np.ones(len(close), dtype=bool)
    for x, (a, b) in enumerate(close.tolist()):
        if (a, b) not in cache:
            for x_ in (a, b):
                if x_ not in cache:
                    cache[x_] = shingles(corpus.background[x_])
            cache[(a, b)] = jaccard(cache[a], cache[b])
        keep[x] = cache[(a, b)] < 0.5
    return keep


def study(corpus: Corpus) -> list[dict]:
    """Within-3/6 rates per group and false positives, for every feature set x weighting."""
    rows = []
    n = len(corpus.background)
    iu, ju = np.triu_indices(n, 1)
    jaccard_cache: dict = {}
    for feature, params in feature_sets(corpus.chinese).items():
        start = time.perf_counter()
        probe = SimHasher(**params)
        prepared_bg = probe._prepare(corpus.background)
        base = frequencies(probe, prepared_bg)
        prepared_src = prepared_bg[:corpus.n_sources]
        group_prep = {g: probe._prepare(docs) for g, docs in corpus.groups.items()}
        group_freq = {g: base + frequencies(probe, p) for g, p in group_prep.items()}
        variants = [(w, False) for w in WEIGHTINGS] + [(w, True) for w in WEIGHTINGS if w.name in WITHOUT_COPIES]
        for w, without_copies in variants:
            row = {"features": feature, "weighting": w.name + (", model w/o copies" if without_copies else "")}
            for g in corpus.groups:
                hasher = weighted(params, w, base if without_copies else group_freq[g])
                a = hasher._transform_prepared(prepared_src)[0]
                b = hasher._transform_prepared(group_prep[g])[0]
                d = np.bitwise_count(a ^ b)
                row[g] = (float(np.mean(d <= 3)), float(np.mean(d <= 6)))
            # unrelated pairs: every background pair, IDF fitted on the background
            fps = weighted(params, w, base)._transform_prepared(prepared_bg)[0]
            d = np.bitwise_count(fps[iu] ^ fps[ju])
            close = np.flatnonzero(d <= 6)
            related = ~unrelated_mask(corpus, np.stack([iu[close], ju[close]], axis=1), jaccard_cache)
            n_unrelated = len(d) - int(related.sum())
            row["unrelated pairs"] = n_unrelated
            row["FP<=3"] = int(((d[close] <= 3) & ~related).sum()) / n_unrelated
            row["FP<=6"] = int((~related).sum()) / n_unrelated
            rows.append(row)
        print(f"  [{corpus.name}] {feature}: {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    return rows


def check_frequencies(docs: list[str]) -> None:
    """Base + copies document frequencies give the same IDF table as ``fit`` on the union."""
    params = {"tokenizer": make_tokenizer((2,))}
    half = len(docs) // 2
    probe = SimHasher(**params)
    freq = frequencies(probe, probe._prepare(docs[:half])) + frequencies(probe, probe._prepare(docs[half:]))
    fitted = SimHasher(**params, idf_cap_df=None).fit(docs)  # the weighting rules below cap it themselves
    mine = weighted(params, WEIGHTINGS[0], freq)
    assert np.array_equal(fitted._vocabulary, mine._vocabulary) and np.array_equal(fitted._idf_q, mine._idf_q)
    assert fitted._unseen_q == mine._unseen_q


def table(corpus: Corpus, rows: list[dict]) -> str:
    groups = list(corpus.groups)
    head = ("| features | weighting | " + " | ".join(groups) + " | unrelated ≤3 | unrelated ≤6 |\n"
            "|---|---|" + "---:|" * (len(groups) + 2))
    lines = [head]
    for r in rows:
        cells = [f"{r[g][0]:.2f} / {r[g][1]:.2f}" for g in groups]
        lines.append(f"| {r['features']} | {r['weighting']} | " + " | ".join(cells)
                     + f" | {r['FP<=3']:.1e} | {r['FP<=6']:.1e} |")
    return "\n".join(lines)


def targets(corpus: Corpus, rows: list[dict], group: str) -> str:
    ok = [f"{r['features']} / {r['weighting']} ({r[group][0]:.2f}, FP {r['FP<=3']:.1e})" for r in rows
          if r[group][0] >= 0.9 and r["FP<=3"] <= 1e-4]
    return f"Meets targets on {corpus.name} ({group} within 3 bits >= 0.90, unrelated within 3 <= 1e-4): " + (
        "; ".join(ok) if ok else "none")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="smoke run: 30 sources, 150-document backgrounds")
    parser.add_argument("--sources", type=int, default=300)
    parser.add_argument("--background", type=int, default=2000)
    parser.add_argument("--corpus", choices=["fudan", "reuters", "dragnet", "all"], default="all")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    if not DATA.exists():
        print(shared_data.absent_reason(), file=sys.stderr)
        return 2
    n_src, n_bg = (30, 150) if args.tiny else (args.sources, args.background)
    rng = np.random.default_rng(11)
    corpora = []
    if args.corpus in ("fudan", "all"):
        corpora.append(build("Fudan", load_texts("fudan_zh.jsonl.gz"), True,
                             lambda t: 2000 <= len("".join(t.split())) <= 12000, n_src, n_bg, rng))
    if args.corpus in ("reuters", "all"):
        corpora.append(build("Reuters", load_texts("reuters21578.jsonl.gz"), False,
                             lambda t: len(t.split()) >= 150, n_src, n_bg, rng))
    if args.corpus in ("dragnet", "all"):
        corpora.append(build("dragnet", load_texts("dragnet_test.jsonl.gz"), False,
                             lambda t: len(t.split()) >= 150, n_src, n_bg, rng))
    check_frequencies(corpora[0].background[:60])
    print("# Spec v2 decision study (benchmarks/study_v2.py" + (" --tiny" if args.tiny else "") + ")\n")
    print("Cells: share of copies within 3 bits / within 6 bits of their source. Unrelated: share of background "
          "pairs (ground-truth Jaccard < 0.5) within 3 / 6 bits.\n")
    report = {}
    for corpus in corpora:
        rows = study(corpus)
        n_unrelated = rows[0]["unrelated pairs"]
        lengths = [len("".join(s.split())) if corpus.chinese else len(s.split())
                   for s in corpus.background[:corpus.n_sources]]
        print(f"## {corpus.name}: {corpus.n_sources} sources (median {int(np.median(lengths))} "
              f"{'characters' if corpus.chinese else 'words'}), background {len(corpus.background)} documents, "
              f"{n_unrelated:,} unrelated pairs\n")
        print(table(corpus, rows))
        print()
        print(targets(corpus, rows, "char sub 1%" if corpus.chinese else "word edit 1%"))
        print()
        report[corpus.name] = rows
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
