"""Quality of near-duplicate detection, by script and by kind of edit (issues 6 and 11).

One command regenerates every table and plot:

    python benchmarks/eval_quality.py                  # all corpora and the mixed corpus
    python benchmarks/eval_quality.py --corpus fudan   # one corpus
    python benchmarks/eval_quality.py --tiny           # smoke run, under a minute

Corpora (``../shared/data``): Chinese (Fudan), English newswire (Reuters-21578),
English article text (dragnet gold text, read by path, never copied), and the
*mixed* corpus: all of them together plus the Mozilla Readability texts
(several languages, incl. Chinese and Japanese). Each corpus is a background
sample of distinct texts, which holds the sources, plus the edited copies of
one edit group at a time (edits as in ``study_v2.py``: Chinese character
substitutions, insertions and deletions at 1, 2, 5 %, copies converted to
Traditional, full-width digits and punctuation; English word edits at 1, 2,
5 %; for both: appended site furniture, a moved paragraph, a copy keeping a
contiguous 70-90 %). The group "natural" is the background alone, with the
near-duplicates the corpus already holds.

Ground truth, exact and independent of simdup (pure Python and NumPy): a
document is *unspaced* when at least 20 % of its non-space characters belong
to scripts written without spaces (Han, kana, Thai, Lao, Khmer, Myanmar,
Tibetan); its shingles are then the character 5-grams of its text after NFKC
and OpenCC's Traditional-to-Simplified conversion, with all whitespace
removed (a copy in full-width forms or Traditional characters is the same
article), otherwise the word 3-grams of its NFKC, case-folded ``\\w+`` words. Shingles are hashed with Python's ``hash`` (one process, so
consistent; 64-bit, collisions negligible). Every pair with Jaccard >= 0.5 is
found exactly: prefix filtering (a pair with Jaccard >= t shares one of the
first |A| - ceil(t|A|) + 1 shingles of A in a global rarest-first order) gives
candidates, whose Jaccard is computed on the exact sets. A pair is positive
when its Jaccard is >= 0.8; every pair not found is below 0.5, so "unrelated
pairs" are sampled from pairs outside the ground truth.

Systems, on the same documents in one run:

* ``simdup.dedup(docs)`` with no arguments: whatever the defaults of the
  installed simdup are (spec v2 is picked up automatically);
* named simdup variants (``dedup`` arguments, see ``simdup_variants``), incl.
  an emulation of the spec v2 candidate from ``study_v2.py``;
* datasketch MinHashLSH (128 permutations, threshold 0.8) on the ground-truth
  shingles;
* ``simhash`` from PyPI: ``Simhash(text)`` (its default features, character
  4-grams) and ``Simhash(words)``, each with its ``SimhashIndex`` at k=3.

A simdup run predicts every pair inside one of its clusters (what ``dedup``
removes); MinHashLSH and simhash predict the pairs their index returns.
Metrics per corpus and group: precision, recall and F1 at Jaccard >= 0.8
(pairs of the group's copies and of the mixed corpus are also split by
script); the share of copies within 3 and 6 bits of their source (fingerprint
systems); the share of sampled unrelated pairs within 3 / 6 bits and the share
a system links; speed (fingerprinting MB/s on one core; verification seconds
as a share of ``dedup`` seconds).

Writes ``benchmarks/results/quality.json``, ``quality.md`` and PNG plots.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import re
import sys
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

import simdup
from simdup import SimHasher

sys.path.insert(0, str(Path(__file__).resolve().parent))
from study_v2 import (  # noqa: E402  (the edits and the data loading are shared with the study)
    UNSPACED_CHAR,
    copies,
    load_texts,
)

import shared_data  # noqa: E402  (benchmarks/shared_data.py: the shared corpora's folder)

ROOT = Path(__file__).resolve().parent
DATA = shared_data.data_dir()
OUT = ROOT / "results"
TAU = 0.8
WORD = re.compile(r"\w+")


# -- ground truth (no simdup code) ----------------------------------------------------------


def is_unspaced(text: str) -> bool:
    """At least 20 % of the non-space characters are from scripts written without spaces."""
    chars = "".join(text.split())
    return bool(chars) and len(UNSPACED_CHAR.findall(chars)) >= 0.2 * len(chars)


@lru_cache(maxsize=1)
def _t2s() -> Callable[[str], str]:
    import opencc

    return opencc.OpenCC("t2s").convert


def shingle_array(text: str) -> np.ndarray:
    """Sorted distinct shingle hashes: character 5-grams (unspaced text) or word 3-grams."""
    if is_unspaced(text):
        # The same article in full-width forms or in Traditional characters is the
        # same text: NFKC, and OpenCC's own (phrase-level) Traditional-to-Simplified.
        chars = "".join(_t2s()(unicodedata.normalize("NFKC", text)).split())
        grams = [chars[x:x + 5] for x in range(max(1, len(chars) - 4))] if chars else []
    else:
        words = WORD.findall(unicodedata.normalize("NFKC", text).casefold())
        grams = [" ".join(words[x:x + 3]) for x in range(max(1, len(words) - 2))] if words else []
    return np.unique(np.fromiter((hash(g) for g in grams), dtype=np.int64, count=len(grams)))


def truth_pairs(sets: list[np.ndarray], t: float = 0.5) -> dict[tuple[int, int], float]:
    """Every pair (i < j) with shingle Jaccard >= t, exactly, by prefix filtering."""
    sizes = np.array([len(s) for s in sets], dtype=np.int64)
    if not sizes.sum():
        return {}
    terms = np.concatenate(sets)
    rows = np.repeat(np.arange(len(sets)), sizes)
    _, inverse, df = np.unique(terms, return_inverse=True, return_counts=True)
    # global order: rarest shingle first, ties by value (np.unique sorted them)
    rank = np.empty(len(df), dtype=np.int64)
    rank[np.lexsort((np.arange(len(df)), df))] = np.arange(len(df))
    r = rank[inverse]
    order = np.lexsort((r, rows))
    prefix = sizes - np.ceil(t * sizes).astype(np.int64) + 1
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    keep = (np.arange(len(terms)) - starts) < np.repeat(prefix, sizes)
    token, doc = r[order][keep], rows[order][keep]
    g = np.lexsort((doc, token))
    token, doc = token[g], doc[g]
    bounds = np.flatnonzero(np.r_[True, token[1:] != token[:-1], True])
    candidates: set[tuple[int, int]] = set()
    for s, e in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        if e - s > 1:
            members = doc[s:e].tolist()
            candidates.update((members[a], members[b]) for a in range(len(members)) for b in range(a + 1, len(members)))
    out = {}
    for i, j in candidates:
        inter = len(np.intersect1d(sets[i], sets[j], assume_unique=True))
        jac = inter / (len(sets[i]) + len(sets[j]) - inter)
        if jac >= t:
            out[(i, j)] = jac
    return out


# -- data and copies ---------------------------------------------------------------------------


@dataclass
class Corpus:
    """A background of distinct texts (the first ``n_sources`` are the sources) and edit groups."""

    name: str
    background: list[str]
    n_sources: int
    groups: dict[str, list[str]] = field(default_factory=dict)
    script: list[str] = field(default_factory=list)  # "unspaced" / "spaced" per background text


def distinct_texts(records: list[dict]) -> list[str]:
    seen: set[str] = set()
    out = []
    for r in records:
        t = r["text"]
        if t.strip() and t not in seen and r.get("id") != "R237":  # R237: a defect of the dragnet source
            seen.add(t)
            out.append(t)
    return out


def make_corpus(name: str, texts: list[str], chinese: bool, long_enough: Callable[[str], bool],
                n_sources: int, n_background: int, rng: np.random.Generator) -> Corpus:
    order = rng.permutation(len(texts)).tolist()
    sources = [texts[x] for x in order if long_enough(texts[x])][:n_sources]
    chosen = set(sources)
    background = sources + [texts[x] for x in order if texts[x] not in chosen][:max(0, n_background - len(sources))]
    corpus = Corpus(name, background, len(sources))
    corpus.groups = edit_groups(sources, chinese, background, rng)
    return corpus


def edit_groups(sources: list[str], chinese: bool, background: list[str], rng: np.random.Generator
                ) -> dict[str, list[str]]:
    """Every edit group of ``study_v2.copies``; English word edits draw from the background's words."""
    vocabulary = [] if chinese else sorted({w for s in background[:500] for w in s.split()})
    return copies(sources, chinese, vocabulary, rng)


def load_corpora(names: list[str], n_sources: int, n_background: int) -> list[Corpus]:
    rng = np.random.default_rng(11)
    built: dict[str, Corpus] = {}
    specs = {
        "fudan": ("Chinese (Fudan)", "fudan_zh.jsonl.gz", True, lambda t: 2000 <= len("".join(t.split())) <= 12000),
        "reuters": ("English (Reuters)", "reuters21578.jsonl.gz", False, lambda t: len(t.split()) >= 150),
        "dragnet": ("English articles (dragnet)", "dragnet_test.jsonl.gz", False, lambda t: len(t.split()) >= 150),
    }
    wanted = set(names)
    if "mixed" in wanted:
        wanted |= set(specs)
    for key, (title, path, chinese, long_enough) in specs.items():
        if key in wanted:
            built[key] = make_corpus(title, distinct_texts(load_texts(path)), chinese, long_enough,
                                     n_sources, n_background, rng)
    out = [built[k] for k in specs if k in names]
    if "mixed" in names:
        out.append(mixed_corpus([built[k] for k in specs], distinct_texts(load_texts(
            "mozilla_readability_testpages.jsonl.gz"))))
    for corpus in out:
        corpus.script = ["unspaced" if is_unspaced(t) else "spaced" for t in corpus.background]
    return out


def mixed_corpus(parts: list[Corpus], extra: list[str]) -> Corpus:
    """All backgrounds plus ``extra`` texts; a group pools the matching groups of each part.

    Sources come first (in part order) so copies line up with ``background[:n_sources]``.
    """
    sources = [t for c in parts for t in c.background[:c.n_sources]]
    rest = [t for c in parts for t in c.background[c.n_sources:]]
    seen = set(sources) | set(rest)
    background = sources + rest + [t for t in extra if t not in seen]
    pooled = {"1 % edits": ("char sub 1%", "word edit 1%"), "5 % edits": ("char sub 5%", "word edit 5%"),
              "boilerplate": ("boilerplate",), "partial 70-90 %": ("partial 70-90 %",)}
    groups = {}
    for name, keys in pooled.items():
        groups[name] = [t for c in parts for t in next(c.groups[k] for k in keys if k in c.groups)]
    return Corpus("Mixed (Fudan + Reuters + dragnet + Mozilla)", background, len(sources), groups)


# -- systems ----------------------------------------------------------------------------------


@dataclass
class Result:
    """One system's output on one corpus."""

    pairs: set[tuple[int, int]]
    seconds: float
    fingerprints: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)


def cluster_pairs(labels: np.ndarray) -> set[tuple[int, int]]:
    """Every pair of documents that share a cluster label."""
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.r_[True, labels[order][1:] != labels[order][:-1], True])
    out: set[tuple[int, int]] = set()
    for s, e in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        members = sorted(order[s:e].tolist())
        out.update((members[a], members[b]) for a in range(len(members)) for b in range(a + 1, len(members)))
    return out


def simdup_variants() -> dict[str, Callable[[list[str]], dict]]:
    """``dedup`` keyword arguments per named variant, made per run from the documents.

    "defaults" passes nothing, so it measures whatever defaults the installed
    simdup has; the others change one choice each: no verification, k=6 (the
    default before spec v2), no IDF at all, or the weights of spec v1
    (sublinear TF, unbounded IDF).
    """
    variants: dict[str, Callable[[list[str]], dict]] = {
        "defaults": lambda docs: {},
        "defaults, verify=None": lambda docs: {"verify": None},
        "k=3, verify=None": lambda docs: {"k": 3, "verify": None},
    }
    variants["k=6"] = lambda docs: {"k": 6}
    variants["no IDF (raw TF only)"] = lambda docs: {"hasher": SimHasher(use_idf=False)}
    variants["spec v1 weights (sublinear TF, unbounded IDF)"] = lambda docs: {
        "hasher": SimHasher(sublinear_tf=True, idf_cap_df=None)}
    return variants


def run_simdup(docs: list[str], params: Callable[[list[str]], dict]) -> Result:
    start = time.perf_counter()
    result = simdup.dedup(docs, **params(docs))
    seconds = time.perf_counter() - start
    return Result(cluster_pairs(result.labels), seconds, result.fingerprints, dict(result.timings))


class SimhashPyPI:
    """``simhash`` from PyPI, with fingerprints cached by text (they need no corpus statistics)."""

    def __init__(self, label: str) -> None:
        from simhash import Simhash

        logging.getLogger("simhash").setLevel(logging.ERROR)  # "Big bucket found" per query
        self.label, self.simhash, self.cache = label, Simhash, {}

    def fingerprint(self, text: str):  # type: ignore[no-untyped-def]
        if text not in self.cache:
            features = text if self.label == "default features" else WORD.findall(text.lower())
            try:
                self.cache[text] = self.simhash(features)
            except OverflowError:  # simhash 2.1.2 + NumPy 2: a feature seen > 255 times
                self.cache[text] = self.simhash(list(set(features)) if self.label != "default features" else "")
        return self.cache[text]

    def run(self, docs: list[str]) -> Result:
        from simhash import SimhashIndex

        start = time.perf_counter()
        hashes = [self.fingerprint(d) for d in docs]
        index = SimhashIndex([(str(x), h) for x, h in enumerate(hashes)], k=3)
        pairs = set()
        for x, h in enumerate(hashes):
            for y in index.get_near_dups(h):
                if int(y) != x:
                    pairs.add((min(x, int(y)), max(x, int(y))))
        return Result(pairs, time.perf_counter() - start, np.array([h.value for h in hashes], dtype=np.uint64))


class MinHashLSHRun:
    """datasketch MinHashLSH (128 permutations, threshold 0.8) on the ground-truth shingles."""

    def __init__(self) -> None:
        self.cache: dict[int, object] = {}

    def signature(self, shingles: np.ndarray):  # type: ignore[no-untyped-def]
        from datasketch import MinHash

        key = hash(shingles.tobytes())
        if key not in self.cache:
            m = MinHash(num_perm=128, hashfunc=lambda x: x)
            m.update_batch((shingles & 0xFFFFFFFF).tolist())  # datasketch hashes are 32-bit
            self.cache[key] = m
        return self.cache[key]

    def run(self, sets: list[np.ndarray]) -> Result:
        from datasketch import MinHashLSH

        start = time.perf_counter()
        sigs = [self.signature(s) for s in sets]
        lsh = MinHashLSH(threshold=0.8, num_perm=128)
        for x, m in enumerate(sigs):
            lsh.insert(x, m)
        pairs = set()
        for x, m in enumerate(sigs):
            pairs.update((min(x, y), max(x, y)) for y in lsh.query(m) if y != x)
        return Result(pairs, time.perf_counter() - start)


# -- metrics ----------------------------------------------------------------------------------


def prf(pred: set[tuple[int, int]], positives: set[tuple[int, int]]) -> dict[str, float]:
    hits = len(pred & positives)
    p = hits / len(pred) if pred else 1.0
    r = hits / len(positives) if positives else 1.0
    return {"P": p, "R": r, "F1": 2 * p * r / (p + r) if p + r else 0.0, "positives": len(positives)}


def unrelated_sample(n: int, truth: dict, size: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``size`` distinct random pairs (i < j) of documents ``0..n-1`` outside the ground truth."""
    total = n * (n - 1) // 2
    if total <= size:
        i, j = np.triu_indices(n, 1)
    else:
        a, b = rng.integers(n, size=(2, int(size * 1.2)))
        i, j = np.minimum(a, b), np.maximum(a, b)
        keep = i != j
        pairs = np.unique(np.stack([i[keep], j[keep]], axis=1), axis=0)[:size]
        i, j = pairs[:, 0], pairs[:, 1]
    ok = np.array([(x, y) not in truth for x, y in zip(i.tolist(), j.tolist())], dtype=bool)
    return np.stack([i[ok], j[ok]], axis=1)


def evaluate_group(corpus: Corpus, group: str, sets_bg: list[np.ndarray], systems: dict, args: argparse.Namespace,
                   rng: np.random.Generator) -> dict:
    """Every system on the background plus one group's copies (none for "natural")."""
    copies = corpus.groups.get(group, [])
    docs = corpus.background + copies
    n_bg, n_src = len(corpus.background), corpus.n_sources
    sets = sets_bg + [shingle_array(t) for t in copies]
    start = time.perf_counter()
    truth = truth_pairs(sets)
    truth_seconds = time.perf_counter() - start
    positives = {p for p, j in truth.items() if j >= TAU}
    script = corpus.script + [corpus.script[x] for x in range(len(copies))]
    copy_pairs = [(x, n_bg + x) for x in range(len(copies))]  # (source, its copy)
    unrelated = unrelated_sample(n_bg, truth, args.unrelated, rng)
    entry: dict = {"documents": len(docs), "MB": sum(len(d.encode()) for d in docs) / 1e6,
                   "truth_pairs": len(truth), "positives": len(positives),
                   "copies_positive": sum((a, b) in positives for a, b in copy_pairs),
                   "unrelated_pairs": len(unrelated), "truth_seconds": truth_seconds, "systems": {}}
    for name, run in systems.items():
        res: Result = run(docs, sets)
        row: dict = {"all": prf(res.pairs, positives), "seconds": res.seconds}
        if copies:  # pairs touching this group's copies, by script of the source
            for s in sorted(set(script[:len(copies)])):
                touch = {p for p in positives if p[1] >= n_bg and script[p[1]] == s}
                pred = {p for p in res.pairs if p[1] >= n_bg and script[p[1]] == s}
                row[f"copies, {s}"] = prf(pred, touch)
        if len(set(script)) > 1:
            for s in sorted(set(script)):
                both = {p for p in positives if script[p[0]] == script[p[1]] == s}
                row[f"{s} documents"] = prf({p for p in res.pairs if script[p[0]] == script[p[1]] == s}, both)
        linked = np.array([(x, y) in res.pairs for x, y in unrelated.tolist()], dtype=bool)
        row["unrelated linked"] = float(linked.mean()) if len(linked) else 0.0
        if res.fingerprints is not None:
            fps = res.fingerprints
            if copies:
                d = np.bitwise_count(fps[:len(copies)] ^ fps[n_bg:])
                row["copies within 3"], row["copies within 6"] = float(np.mean(d <= 3)), float(np.mean(d <= 6))
            d = np.bitwise_count(fps[unrelated[:, 0]] ^ fps[unrelated[:, 1]])
            row["unrelated within 3"], row["unrelated within 6"] = float(np.mean(d <= 3)), float(np.mean(d <= 6))
        if res.timings:
            fp_seconds = res.timings.get("fit", 0.0) + res.timings.get("fingerprint", 0.0)
            row["fingerprint MB/s"] = entry["MB"] / fp_seconds if fp_seconds else None
            row["verify share"] = res.timings.get("verify", 0.0) / max(sum(res.timings.values()), 1e-12)
        entry["systems"][name] = row
    assert n_src >= len(copies)
    return entry


def make_systems() -> dict[str, Callable[[list[str], list[np.ndarray]], Result]]:
    systems: dict[str, Callable[[list[str], list[np.ndarray]], Result]] = {}
    for name, params in simdup_variants().items():
        systems[f"simdup {name}"] = lambda docs, sets, params=params: run_simdup(docs, params)
    if importlib.util.find_spec("datasketch"):
        lsh = MinHashLSHRun()
        systems["MinHashLSH (128 perm, 0.8)"] = lambda docs, sets: lsh.run(sets)
    else:
        print("  (datasketch not installed; skipped)")
    if importlib.util.find_spec("simhash"):
        for label in ("default features", "word tokens"):
            peer = SimhashPyPI(label)
            systems[f"simhash ({label}), k=3"] = lambda docs, sets, peer=peer: peer.run(docs)
    else:
        print("  (simhash not installed; skipped)")
    return systems


# -- report ------------------------------------------------------------------------------------


def fmt(x: float | None, spec: str = ".3f") -> str:
    return "-" if x is None else format(x, spec)


def markdown(report: dict) -> str:
    lines = [f"simdup {report['simdup_version']} (fingerprint spec v{report['spec_version']}); defaults: "
             f"`simdup.dedup(docs)` with no arguments. Positives: exact shingle Jaccard >= {TAU}.",
             "", "Command: `python benchmarks/eval_quality.py " + report["command"] + "`", ""]
    for title, corpus in report["corpora"].items():
        lines += [f"## {title}", ""]
        for group, entry in corpus.items():
            lines += [f"### {title}: {group} ({entry['documents']:,} documents, {entry['positives']:,} positive pairs"
                      + (f", {entry['copies_positive']} of the copies positive" if group != "natural" else "")
                      + f"; {entry['unrelated_pairs']:,} unrelated pairs)", ""]
            splits = sorted({k for row in entry["systems"].values() for k in row
                             if isinstance(row[k], dict) and k != "all"})
            head = ["system", "P", "R", "F1"] + [f"F1 {s}" for s in splits] + [
                "copies ≤3 bits", "copies ≤6 bits", "unrelated ≤3 bits", "unrelated ≤6 bits", "unrelated linked",
                "s", "fingerprint MB/s", "verify share"]
            lines += ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
            for name, row in entry["systems"].items():
                cells = [name, fmt(row["all"]["P"]), fmt(row["all"]["R"]), fmt(row["all"]["F1"])]
                cells += [fmt(row[s]["F1"]) if s in row else "-" for s in splits]
                cells += [fmt(row.get("copies within 3"), ".2f"), fmt(row.get("copies within 6"), ".2f"),
                          fmt(row.get("unrelated within 3"), ".1e"), fmt(row.get("unrelated within 6"), ".1e"),
                          fmt(row["unrelated linked"], ".1e"), fmt(row["seconds"], ".2f"),
                          fmt(row.get("fingerprint MB/s"), ".2f"), fmt(row.get("verify share"), ".2f")]
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
    return "\n".join(lines)


def plot(report: dict, out: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("  (matplotlib not installed: no plots)")
        return
    for title, corpus in report["corpora"].items():
        groups = list(corpus)
        systems = list(next(iter(corpus.values()))["systems"])
        fig, ax = plt.subplots(figsize=(max(7, 0.8 * len(groups) * 1.2), 4))
        width = 0.8 / len(systems)
        for s, name in enumerate(systems):
            ax.bar(np.arange(len(groups)) + s * width - 0.4 + width / 2,
                   [corpus[g]["systems"][name]["all"]["F1"] for g in groups], width=width, label=name)
        ax.set_xticks(np.arange(len(groups)), groups, rotation=35, ha="right", fontsize=8)
        ax.set_ylabel(f"F1 at Jaccard >= {TAU}")
        ax.set_ylim(0, 1.02)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=6, loc="lower left")
        ax.set_title(f"{title}: F1 by edit group")
        fig.tight_layout()
        slug = re.sub(r"[^a-z]+", "_", title.lower()).strip("_")
        fig.savefig(out / f"quality_f1_{slug}.png", dpi=110)
        plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="smoke run: 12 sources, 60-document backgrounds")
    parser.add_argument("--sources", type=int, default=200, help="sources (and copies per group) per corpus")
    parser.add_argument("--background", type=int, default=1000, help="background documents per corpus")
    parser.add_argument("--unrelated", type=int, default=100_000, help="unrelated pairs sampled per corpus")
    parser.add_argument("--corpus", nargs="+", choices=["fudan", "reuters", "dragnet", "mixed"],
                        default=["fudan", "reuters", "dragnet", "mixed"])
    parser.add_argument("--groups", nargs="*", help="only these edit groups (and natural)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if not DATA.exists():
        print(shared_data.absent_reason(), file=sys.stderr)
        return 2
    if args.tiny:
        args.sources, args.background, args.unrelated = 12, 60, 2000
    SimHasher().fit(["warm up"])  # imports scikit-learn outside the timings
    simdup.dedup(["预热 jieba 词典", "warm up"])  # loads the segmenter's dictionary outside the timings
    systems = make_systems()
    rng = np.random.default_rng(5)
    report: dict = {"simdup_version": simdup.__version__ if hasattr(simdup, "__version__") else "?",
                    "spec_version": simdup.SPEC_VERSION, "command": " ".join(sys.argv[1:] if argv is None else argv),
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "corpora": {}}
    for corpus in load_corpora(args.corpus, args.sources, args.background):
        sets_bg = [shingle_array(t) for t in corpus.background]
        groups = ["natural"] + [g for g in corpus.groups if not args.groups or g in args.groups]
        if args.tiny:  # one group of each kind keeps the smoke run short
            groups = ["natural"] + [g for g in corpus.groups if "1%" in g or "1 %" in g or g == "Traditional"][:2]
        print(f"\n== {corpus.name}: background {len(corpus.background)} documents, {corpus.n_sources} sources",
              flush=True)
        report["corpora"][corpus.name] = {}
        for group in groups:
            entry = evaluate_group(corpus, group, sets_bg, systems, args, rng)
            report["corpora"][corpus.name][group] = entry
            for name, row in entry["systems"].items():
                print(f"  {group:<18} {name:<46} P {row['all']['P']:.3f}  R {row['all']['R']:.3f}  "
                      f"F1 {row['all']['F1']:.3f}  copies<=3 {fmt(row.get('copies within 3'), '.2f')}  "
                      f"unrelated<=3 {fmt(row.get('unrelated within 3'), '.1e')}  {row['seconds']:.2f} s", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "quality.json").write_text(json.dumps(report, indent=1))
    (args.out / "quality.md").write_text(markdown(report))
    plot(report, args.out)
    print(f"\nwrote {args.out}/quality.md, quality.json and plots")
    return 0


if __name__ == "__main__":
    sys.exit(main())
