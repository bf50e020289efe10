"""Quality of near-duplicate detection: precision, recall and F1 on real corpora.

One command regenerates every table and plot:

    python benchmarks/eval_quality.py                 # Reuters and Fudan, full
    python benchmarks/eval_quality.py --limit 2000    # quicker
    python benchmarks/eval_quality.py --tiny          # smoke run

Ground truth: the exact Jaccard similarity of word 3-shingle sets (Chinese:
character 5-shingles, whitespace removed) for every pair of documents above
0.5, found exactly: an inverted index over each document's prefix of rarest
shingles (prefix filtering: a pair with Jaccard >= t must share one of the
first |A| - ceil(t|A|) + 1 shingles of A in a global rarest-first order)
gives the candidates, whose exact Jaccard is then computed. No sampling.

Systems, on the same documents in one run: simdup with its parameters varied
(k 0-10; words, word n-grams or 3-shingles; TF-IDF, TF or uniform weights;
with and without the verification stage), the `simhash` package (its default
features and word tokens, its own SimhashIndex at k=3) and datasketch
MinHashLSH (128 permutations, threshold 0.8, word 3-shingles). A pair is
positive at threshold tau when its true Jaccard is at least tau.

Synthetic edits: real documents edited at 1, 2, 5, 10 and 20 % of their words
(substitutions, deletions, insertions) plus, in turn, a moved sentence, a
changed date line or an appended footer; unrelated real documents are the
negatives.

Writes ``benchmarks/results/quality.json``, ``quality.md`` (tables) and PNG
plots into ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np

from simdup import SimHasher, _core, find_duplicates, hamming

ROOT = Path(__file__).resolve().parent
DATA = ROOT.parents[1] / "shared" / "data"
OUT = ROOT / "results"
TAUS = (0.9, 0.8, 0.7)
KS = range(0, 11)
EDIT_RATES = (0.01, 0.02, 0.05, 0.10, 0.20)
FOOTER = ("Copyright 1987 Reuters Limited. All rights reserved. Republication or redistribution of "
          "this content is prohibited without prior written consent.")


# -- data and shingles ---------------------------------------------------------------------


def load(name: str, limit: int | None) -> list[str]:
    with gzip.open(DATA / name, "rt", encoding="utf-8") as f:
        texts = (json.loads(line)["text"] for line in f)
        return list(islice((t for t in texts if t.strip()), limit))


def chars_no_space(text: str) -> list[str]:
    return list("".join(text.split()))


def shingle_sets(docs: list[str], chinese: bool) -> tuple[np.ndarray, np.ndarray]:
    """CSR (indptr, terms): each document's distinct shingle hashes, sorted."""
    shingler = (SimHasher(tokenizer=chars_no_space, ngram_range=(5, 5), use_idf=False) if chinese
                else SimHasher(tokenizer="words", ngram_range=(3, 3), use_idf=False))
    indptr, terms = _core.doc_terms(shingler._prepare(docs), *shingler.ngram_range, shingler._preparer().delimited)
    rows = np.repeat(np.arange(len(docs)), np.diff(indptr))
    return indptr, np.ascontiguousarray(terms[np.lexsort((terms, rows))])


def truth_pairs(indptr: np.ndarray, terms: np.ndarray, t: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair (i < j) with shingle Jaccard >= t, exactly, by prefix filtering."""
    n = len(indptr) - 1
    sizes = np.diff(indptr)
    rows = np.repeat(np.arange(n), sizes)
    _, inverse, df = np.unique(terms, return_inverse=True, return_counts=True)
    # global order: rarest shingle first, ties by hash order (np.unique sorted them)
    rank = np.empty(len(df), dtype=np.int64)
    rank[np.lexsort((np.arange(len(df)), df))] = np.arange(len(df))
    r = rank[inverse]
    order = np.lexsort((r, rows))
    prefix = sizes - np.ceil(t * sizes).astype(np.int64) + 1
    position = np.arange(len(terms)) - np.repeat(indptr[:-1], sizes)
    keep = position < np.repeat(prefix, sizes)
    token, doc = r[order][keep], rows[order][keep]
    g = np.lexsort((doc, token))
    token, doc = token[g], doc[g]
    starts = np.flatnonzero(np.r_[True, token[1:] != token[:-1]])
    ends = np.r_[starts[1:], len(token)]
    ci, cj = [], []
    for s, e in zip(starts[ends - starts > 1].tolist(), ends[ends - starts > 1].tolist()):
        members = doc[s:e]
        a, b = np.triu_indices(len(members), 1)
        ci.append(members[a])
        cj.append(members[b])
    if not ci:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    pairs = np.unique(np.stack([np.concatenate(ci), np.concatenate(cj)], axis=1), axis=0)
    i, j = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    jac = _core.jaccard_pairs(indptr.astype(np.int64), terms, i, j)
    ok = jac >= t
    return i[ok], j[ok], jac[ok]


# -- systems -------------------------------------------------------------------------------


@dataclass
class Run:
    name: str
    pairs: set[tuple[int, int]]
    seconds: float


def simdup_configs(chinese: bool) -> dict[str, dict]:
    seg = {"segmenter": "rjieba"} if chinese and importlib.util.find_spec("rjieba") else {}
    return {
        "words, TF-IDF": dict(**seg),
        "words, TF": dict(use_idf=False, **seg),
        "words, uniform": dict(use_idf=False, binary=True, **seg),
        "words+2+3-grams, TF-IDF": dict(ngram_range=(1, 3), **seg),
        "2+3-grams, TF-IDF": dict(ngram_range=(2, 3), **seg),
        "3-shingles, TF-IDF": dict(ngram_range=(3, 3), **seg),
    }


def pair_set(i: np.ndarray, j: np.ndarray) -> set[tuple[int, int]]:
    return set(zip(i.tolist(), j.tolist()))


def simhash_runs(docs: list[str]) -> tuple[list[Run], dict[str, np.ndarray]]:
    try:
        from simhash import Simhash, SimhashIndex
    except ImportError:
        print("  (simhash not installed; skipped)")
        return [], {}
    import logging

    logging.getLogger("simhash").setLevel(logging.ERROR)  # "Big bucket found" per query
    runs, fingerprints = [], {}
    for label, features in (("default features", lambda d: d), ("word tokens", lambda d: re.findall(r"\w+", d.lower()))):
        start = time.perf_counter()
        hashes = []
        for d in docs:
            try:
                hashes.append(Simhash(features(d)))
            except OverflowError:  # simhash 2.1.2 + NumPy 2: a feature seen > 255 times
                hashes.append(Simhash(list(set(features(d)))) if label == "word tokens" else Simhash(""))
        index = SimhashIndex([(str(x), h) for x, h in enumerate(hashes)], k=3)
        pairs = set()
        for x, h in enumerate(hashes):
            for y in index.get_near_dups(h):
                if int(y) != x:
                    pairs.add((min(x, int(y)), max(x, int(y))))
        runs.append(Run(f"simhash ({label}), k=3", pairs, time.perf_counter() - start))
        fingerprints[label] = np.array([h.value for h in hashes], dtype=np.uint64)
    return runs, fingerprints


def minhash_signatures(indptr: np.ndarray, terms: np.ndarray, num_perm: int = 128) -> list:
    from datasketch import MinHash

    def identity(x: int) -> int:
        return x

    low = (terms & np.uint64(0xFFFFFFFF)).astype(np.int64)
    out = []
    for row in range(len(indptr) - 1):
        m = MinHash(num_perm=num_perm, hashfunc=identity)
        m.update_batch(low[indptr[row]:indptr[row + 1]].tolist())
        out.append(m)
    return out


def minhash_run(indptr: np.ndarray, terms: np.ndarray) -> Run | None:
    if importlib.util.find_spec("datasketch") is None:
        print("  (datasketch not installed; skipped)")
        return None
    from datasketch import MinHashLSH

    start = time.perf_counter()
    sigs = minhash_signatures(indptr, terms)
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    for x, m in enumerate(sigs):
        lsh.insert(x, m)
    pairs = set()
    for x, m in enumerate(sigs):
        for y in lsh.query(m):
            if y != x:
                pairs.add((min(x, y), max(x, y)))
    return Run("datasketch MinHashLSH (128 perm, threshold 0.8)", pairs, time.perf_counter() - start)


def lsh_collides(a, b, hashranges: list[tuple[int, int]]) -> bool:  # type: ignore[no-untyped-def]
    return any(np.array_equal(a.hashvalues[s:e], b.hashvalues[s:e]) for s, e in hashranges)


# -- metrics -------------------------------------------------------------------------------


def scores(pred: set[tuple[int, int]], truth: dict[tuple[int, int], float], tau: float) -> tuple[float, float, float]:
    positives = {p for p, j in truth.items() if j >= tau}
    hits = len(pred & positives)
    precision = hits / len(pred) if pred else 1.0
    recall = hits / len(positives) if positives else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


# -- synthetic edits -----------------------------------------------------------------------


def edit(text: str, rate: float, kind: int, vocabulary: list[str], rng: np.random.Generator) -> str:
    lines = text.split("\n")
    words = " ".join(lines).split()
    n_edits = max(1, round(rate * len(words)))
    for _ in range(n_edits):
        op = rng.integers(3)
        pos = int(rng.integers(len(words))) if words else 0
        if op == 0 and words:
            words[pos] = vocabulary[rng.integers(len(vocabulary))]
        elif op == 1 and len(words) > 1:
            del words[pos]
        else:
            words.insert(pos, vocabulary[rng.integers(len(vocabulary))])
    out = " ".join(words)
    if kind == 0:  # move a sentence
        sentences = re.split(r"(?<=\.)\s+", out)
        if len(sentences) > 2:
            s = sentences.pop(int(rng.integers(len(sentences))))
            sentences.insert(int(rng.integers(len(sentences))), s)
        out = " ".join(sentences)
    elif kind == 1:  # a changed date line
        out = f"Updated {int(rng.integers(1, 29))} March 1987 {int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d} GMT\n" + out
    else:
        out = out + "\n" + FOOTER
    return out


def edited_copies(docs: list[str], limit: int, rng: np.random.Generator) -> tuple[list[str], dict[float, list[str]]]:
    """Long documents and their edited copies at each rate."""
    long_docs = [d for d in docs if len(d.split()) >= 150][:limit]
    vocabulary = sorted({w for d in long_docs[:300] for w in d.split()})
    return long_docs, {rate: [edit(d, rate, x % 3, vocabulary, rng) for x, d in enumerate(long_docs)]
                       for rate in EDIT_RATES}


def synthetic(long_docs: list[str], edited: dict[float, list[str]], rng: np.random.Generator,
              systems: dict[str, Callable]) -> dict:
    """Recall on edited copies at each rate; false-positive rate on unrelated pairs."""
    a = rng.integers(len(long_docs), size=3 * len(long_docs))
    b = rng.integers(len(long_docs), size=3 * len(long_docs))
    negatives = [(x, y) for x, y in zip(a.tolist(), b.tolist()) if x != y]
    result = {"documents": len(long_docs), "negatives": len(negatives), "recall": {}, "false_positive_rate": {}}
    for name, decide in systems.items():
        result["recall"][name] = {
            f"{int(rate * 100)}%": float(np.mean(decide(long_docs, edited[rate]))) for rate in EDIT_RATES
        }
        left = [long_docs[x] for x, _ in negatives]
        right = [long_docs[y] for _, y in negatives]
        result["false_positive_rate"][name] = float(np.mean(decide(left, right)))
    return result


# -- the report ----------------------------------------------------------------------------


def evaluate(title: str, docs: list[str], chinese: bool, args: argparse.Namespace, report: dict) -> None:
    print(f"\n== {title}: {len(docs)} documents", flush=True)
    start = time.perf_counter()
    indptr, terms = shingle_sets(docs, chinese)
    usable = np.flatnonzero(np.diff(indptr) > 0)  # documents with at least one shingle
    docs = [docs[x] for x in usable.tolist()]
    indptr, terms = shingle_sets(docs, chinese)
    ti, tj, tjac = truth_pairs(indptr, terms)
    truth = dict(zip(zip(ti.tolist(), tj.tolist()), tjac.tolist()))
    print(f"  ground truth: {len(docs)} documents with shingles, {len(truth)} pairs with Jaccard >= 0.5 "
          f"(>= 0.9: {int((tjac >= 0.9).sum())}, >= 0.8: {int((tjac >= 0.8).sum())}, >= 0.7: "
          f"{int((tjac >= 0.7).sum())}); {time.perf_counter() - start:.1f} s", flush=True)
    rows, curves = [], {}

    def add(name: str, pred: set[tuple[int, int]], seconds: float, k: int | None = None) -> dict:
        row = {"system": name, "k": k, "pairs": len(pred), "ms_per_doc": 1000 * seconds / len(docs)}
        for tau in TAUS:
            p, r, f = scores(pred, truth, tau)
            row[f"P@{tau}"], row[f"R@{tau}"], row[f"F1@{tau}"] = p, r, f
        rows.append(row)
        return row

    fingerprints, fp_seconds = {}, {}
    for name, params in simdup_configs(chinese).items():
        start = time.perf_counter()
        hasher = SimHasher(**params)
        fps = hasher.fit_transform(docs) if hasher.use_idf else hasher.transform(docs)
        fp_seconds[name] = time.perf_counter() - start
        fingerprints[name] = fps
        curves[name] = []
        for k in KS:
            start = time.perf_counter()
            pairs = find_duplicates(fps, k)
            row = add(f"simdup {name}", pair_set(pairs.i, pairs.j), fp_seconds[name] + time.perf_counter() - start, k)
            curves[name].append(row)
    # the verification stage on the default configuration, at wider k
    shingle_hasher = SimHasher(tokenizer=chars_no_space, use_idf=False) if chinese else SimHasher(use_idf=False)
    for k in (3, 6, 8, 10):
        start = time.perf_counter()
        pairs = find_duplicates(fingerprints["words, TF-IDF"], k)
        size = 5 if chinese else 3
        jac = _shingle_jaccard(shingle_hasher, docs, pairs.i, pairs.j, size)
        ok = jac >= 0.8
        add("simdup words, TF-IDF + verify 0.8", pair_set(pairs.i[ok], pairs.j[ok]),
            fp_seconds["words, TF-IDF"] + time.perf_counter() - start, k)
    sim_runs, sim_fps = simhash_runs(docs)
    for run in sim_runs:
        add(run.name, run.pairs, run.seconds, 3)
    mh = minhash_run(indptr, terms)
    if mh:
        add(mh.name, mh.pairs, mh.seconds)
    for row in rows:
        if row["k"] in (None, 3) or "verify" in row["system"]:
            print(f"  {row['system']:<52} k={row['k']!s:<4} F1@0.9 {row['F1@0.9']:.3f}  F1@0.8 {row['F1@0.8']:.3f}  "
                  f"F1@0.7 {row['F1@0.7']:.3f}  {row['ms_per_doc']:.3f} ms/doc", flush=True)

    # Hamming distance of the default fingerprints: true duplicates against the rest
    fps = fingerprints["words, TF-IDF"]
    dup = hamming(fps[ti[tjac >= 0.8]], fps[tj[tjac >= 0.8]])
    rng = np.random.default_rng(1)
    a, b = rng.integers(len(docs), size=(2, 20000))
    unrelated = [(x, y) for x, y in zip(a.tolist(), b.tolist()) if x < y and (x, y) not in truth]
    non = hamming(fps[[x for x, _ in unrelated]], fps[[y for _, y in unrelated]])
    hist = {"duplicates (J >= 0.8)": np.bincount(dup, minlength=65).tolist(),
            "unrelated pairs": np.bincount(non, minlength=65).tolist()}

    entry = {"documents": len(docs), "truth_pairs": len(truth), "rows": rows, "curves": curves, "histogram": hist}
    if not chinese:
        entry["synthetic"] = synthetic_report(docs, args)
    report[title] = entry


def _shingle_jaccard(hasher: SimHasher, docs: list[str], i: np.ndarray, j: np.ndarray, size: int) -> np.ndarray:
    from simdup.dedup import shingle_jaccard

    return shingle_jaccard(hasher, docs, i, j, size)


def synthetic_report(docs: list[str], args: argparse.Namespace) -> dict:
    rng = np.random.default_rng(7)
    long_docs, edited = edited_copies(docs, 40 if args.tiny else 500, rng)
    # fitted on everything it will see, as dedup fits on its whole input
    hasher = SimHasher().fit(docs + [d for copies in edited.values() for d in copies])
    simhash_mod = importlib.util.find_spec("simhash")
    systems: dict[str, Callable] = {}
    for k in (3, 6):
        systems[f"simdup words, TF-IDF, k={k}"] = (
            lambda x, y, k=k: hamming(hasher.transform(x), hasher.transform(y)) <= k)
    if simhash_mod:
        from simhash import Simhash

        def simhash_decide(x: list[str], y: list[str]) -> np.ndarray:
            fx = np.array([Simhash(d).value for d in x], dtype=np.uint64)
            fy = np.array([Simhash(d).value for d in y], dtype=np.uint64)
            return hamming(fx, fy) <= 3
        systems["simhash (default features), k=3"] = simhash_decide
    if importlib.util.find_spec("datasketch"):
        from datasketch import MinHashLSH

        ranges = MinHashLSH(threshold=0.8, num_perm=128).hashranges

        def minhash_decide(x: list[str], y: list[str]) -> np.ndarray:
            sx = minhash_signatures(*shingle_sets(x, False))
            sy = minhash_signatures(*shingle_sets(y, False))
            return np.array([lsh_collides(a, b, ranges) for a, b in zip(sx, sy)])
        systems["datasketch MinHashLSH"] = minhash_decide
    result = synthetic(long_docs, edited, rng, systems)
    for name in systems:
        recalls = "  ".join(f"{rate} {value:.2f}" for rate, value in result["recall"][name].items())
        print(f"  synthetic edits, {name:<36} recall: {recalls}  false positives {result['false_positive_rate'][name]:.4f}")
    return result


def write_outputs(report: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "quality.json").write_text(json.dumps(report, indent=1))
    lines = []
    for title, entry in report.items():
        lines += [f"### {title}: {entry['documents']:,} documents, {entry['truth_pairs']:,} pairs with Jaccard >= 0.5",
                  "", "| system | k | P@0.9 | R@0.9 | F1@0.9 | P@0.8 | R@0.8 | F1@0.8 | P@0.7 | R@0.7 | F1@0.7 | ms/doc |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for row in entry["rows"]:
            if row["k"] not in (None, 3) and "verify" not in row["system"] and row["k"] != _best_k(entry, row["system"]):
                continue
            cells = [f"{row[f'{m}@{t}']:.3f}" for t in TAUS for m in ("P", "R", "F1")]
            lines.append(f"| {row['system']} | {row['k'] if row['k'] is not None else '-'} | " + " | ".join(cells)
                         + f" | {row['ms_per_doc']:.3f} |")
        lines.append("")
        if "synthetic" in entry:
            syn = entry["synthetic"]
            lines += [f"Synthetic edits of {syn['documents']} documents ({syn['negatives']} unrelated pairs as negatives):",
                      "", "| system | " + " | ".join(f"recall {r}" for r in next(iter(syn["recall"].values())))
                      + " | false-positive rate |", "|---|" + "---:|" * (len(EDIT_RATES) + 1)]
            for name, rec in syn["recall"].items():
                lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in rec.values())
                             + f" | {syn['false_positive_rate'][name]:.4f} |")
            lines.append("")
    (out / "quality.md").write_text("\n".join(lines))
    plot(report, out)


def _best_k(entry: dict, system: str) -> int | None:
    rows = [r for r in entry["rows"] if r["system"] == system and r["k"] is not None]
    return max(rows, key=lambda r: r["F1@0.8"])["k"] if rows else None


def plot(report: dict, out: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("  (matplotlib not installed: no plots)")
        return
    for title, entry in report.items():
        slug = title.split()[0].lower()
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for name, rows in entry["curves"].items():
            ks = [r["k"] for r in rows]
            axes[0].plot(ks, [r["P@0.8"] for r in rows], marker="o", label=name)
            axes[1].plot(ks, [r["R@0.8"] for r in rows], marker="o", label=name)
        for ax, what in zip(axes, ("precision", "recall")):
            ax.set_xlabel("k (largest Hamming distance)")
            ax.set_ylabel(f"{what} at Jaccard >= 0.8")
            ax.grid(alpha=0.3)
        axes[1].legend(fontsize=7)
        fig.suptitle(f"{title}: simdup precision and recall against k")
        fig.tight_layout()
        fig.savefig(out / f"pr_vs_k_{slug}.png", dpi=110)
        plt.close(fig)
        fig, ax = plt.subplots(figsize=(7, 3.5))
        for label, counts in entry["histogram"].items():
            counts = np.array(counts, dtype=float)
            ax.bar(np.arange(65) + (0.2 if "unrelated" in label else -0.2), counts / max(counts.sum(), 1),
                   width=0.4, label=f"{label} (n={int(counts.sum())})")
        ax.set_xlabel("Hamming distance of default fingerprints")
        ax.set_ylabel("share of pairs")
        ax.set_xlim(-1, 45)
        ax.legend()
        ax.set_title(f"{title}: where to put k")
        fig.tight_layout()
        fig.savefig(out / f"hamming_hist_{slug}.png", dpi=110)
        plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="first N non-empty documents of each corpus")
    parser.add_argument("--tiny", action="store_true", help="smoke run on a few hundred documents")
    parser.add_argument("--corpus", choices=["reuters", "fudan", "both"], default="both")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if not DATA.exists():
        print(f"no data at {DATA}", file=sys.stderr)
        return 2
    limit = 300 if args.tiny else args.limit
    SimHasher().fit(["warm up"])  # imports scikit-learn outside the timings
    report: dict = {}
    if args.corpus in ("reuters", "both"):
        evaluate("Reuters-21578", load("reuters21578.jsonl.gz", limit), False, args, report)
    if args.corpus in ("fudan", "both"):
        evaluate("Fudan", load("fudan_zh.jsonl.gz", 100 if args.tiny else limit), True, args, report)
    write_outputs(report, args.out)
    print(f"\nwrote {args.out}/quality.md, quality.json and plots")
    return 0


if __name__ == "__main__":
    sys.exit(main())
