"""Does ``simdup calibrate``'s suggestion hold on an exact ground truth? (issue 17)

    python benchmarks/eval_calibrate.py                    # Reuters and Fudan, as eval_quality.py builds them
    python benchmarks/eval_calibrate.py --corpus reuters --sample 50 --queries 300

The corpora are ``eval_quality.py``'s: per language a background of distinct
texts (group "natural") and, one group at a time, the background plus the
edited copies of one edit group (1-5 % edits, boilerplate, a moved paragraph,
partial copies, ...), as ``eval_quality.py`` evaluates them; and "all
groups": the background with every group's copies at once (copies of one
source are then near-duplicates of each other too). Each has an exact ground
truth of every pair with shingle Jaccard >= 0.5 (``eval_quality.truth_pairs``,
no simdup code; shingles after NFKC, case folding and, for Chinese, OpenCC's
Traditional-to-Simplified, which simdup's verification shingles do not
apply). A pair outside it is below 0.5.

On each: :func:`simdup.calibrate.calibrate` with a hasher fitted on the
corpus (as ``dedup`` fits one), the ``k`` it suggests for precision 0.99 at
Jaccard 0.8; then, over *every* pair within ``k`` bits
(:func:`simdup.find_duplicates`), the precision on the ground truth (Jaccard
>= 0.8) and on simdup's own verification shingles, and the recall of the
ground truth's positives. When calibrate finds no ``k`` that reaches the
target, the best precision any ``k`` <= 10 has on the ground truth is shown:
it should fall short too.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import simdup
from simdup import SimHasher
from simdup.batch import MAX_K, shingle_jaccard
from simdup.calibrate import calibrate

sys.path.insert(0, str(Path(__file__).resolve().parent))
import shared_data
from eval_quality import load_corpora, shingle_array, truth_pairs

NAMES = {"reuters": "English (Reuters)", "fudan": "Chinese (Fudan)"}


def corpus_groups(name: str, n_sources: int = 200, n_background: int = 1000) -> dict[str, list[str]]:
    """``eval_quality.py``'s corpus ``name``, per group: "natural" (the background), the background with
    each edit group's copies, and "all groups" (the background with every group's copies)."""
    corpus = load_corpora([name], n_sources, n_background)[0]
    out = {"natural": corpus.background}
    out.update({group: corpus.background + copies for group, copies in corpus.groups.items()})
    out["all groups"] = corpus.background + [t for copies in corpus.groups.values() for t in copies]
    return out


def evaluate(docs: list[str], *, precision: float = 0.99, jaccard: float = 0.8, sample: int = 1000,
             queries: int | None = 10_000, seed: int = 0) -> dict[str, Any]:
    """Calibrate on ``docs``, then measure the suggestion's precision and recall on the exact ground truth."""
    start = time.perf_counter()
    truth = truth_pairs([shingle_array(t) for t in docs])
    truth_seconds = time.perf_counter() - start
    hasher = SimHasher().fit(docs)
    fps, n_tokens = hasher.transform(docs, return_n_tokens=True)
    start = time.perf_counter()
    cal = calibrate(docs, hasher=hasher, sample=sample, queries=queries, seed=seed)
    seconds = time.perf_counter() - start
    suggestion = cal.suggest(precision=precision, jaccard=jaccard)
    positives = {p for p, j in truth.items() if j >= jaccard}
    pairs = simdup.find_duplicates(fps, MAX_K)
    keep = (n_tokens[pairs.i] > 0) & (n_tokens[pairs.j] > 0)  # as calibrate and dedup: token-less are left out
    i, j, d = pairs.i[keep], pairs.j[keep], pairs.distance[keep]
    true_jac = np.array([truth.get(p, 0.0) for p in zip(i.tolist(), j.tolist())])
    own_jac = shingle_jaccard(hasher, docs, i, j) if len(i) else np.empty(0)
    est_p, est_r = cal.precision(jaccard), cal.recall(jaccard)
    per_k = []
    for k in range(MAX_K + 1):
        within = d <= k
        n = int(within.sum())
        per_k.append({
            "k": k, "pairs": n,
            "estimated_precision": _num(est_p[k]),
            "precision_truth": float(np.mean(true_jac[within] >= jaccard)) if n else None,
            "precision_simdup_shingles": float(np.mean(own_jac[within] >= jaccard)) if n else None,
            "estimated_recall": _num(est_r[k]),
            "recall_truth": float((true_jac[within] >= jaccard).sum() / len(positives)) if positives else None,
        })
    row = per_k[suggestion.k]
    truth_p = [x["precision_truth"] for x in per_k if x["precision_truth"] is not None]
    return {"documents": len(docs), "with_tokens": cal.documents, "truth_pairs": len(truth), "positives": len(positives),
            "truth_seconds": round(truth_seconds, 2), "calibrate_seconds": round(seconds, 2),
            "timings": {k: round(v, 3) for k, v in cal.timings.items()},
            "suggested_k": suggestion.k, "met": suggestion.met,
            "estimated_precision": suggestion.precision, "estimated_recall": suggestion.recall,
            "precision_truth": row["precision_truth"], "precision_simdup_shingles": row["precision_simdup_shingles"],
            "recall_truth": row["recall_truth"], "best_precision_truth": max(truth_p, default=None),
            "per_k": per_k}


def _num(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", nargs="+", choices=list(NAMES), default=list(NAMES))
    parser.add_argument("--sources", type=int, default=200, help="sources (and copies per group), as eval_quality.py")
    parser.add_argument("--background", type=int, default=1000, help="background documents, as eval_quality.py")
    parser.add_argument("--groups", nargs="*", help="only these groups (default: all, and natural, and all groups)")
    parser.add_argument("--precision", type=float, default=0.99)
    parser.add_argument("--jaccard", type=float, default=0.8)
    parser.add_argument("--sample", type=int, default=1000, help="pairs per distance (calibrate's --sample)")
    parser.add_argument("--queries", type=int, default=10_000, help="calibrate's --queries")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-k", action="store_true", help="also print estimated and true P, R for every k")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if shared_data.absent_reason():
        print(shared_data.absent_reason(), file=sys.stderr)
        return 2
    print(f"calibrate --sample {args.sample} --queries {args.queries}; suggested k for precision "
          f"{args.precision} at Jaccard {args.jaccard}; P, R measured over every pair within k bits. "
          "est: calibrate's estimate (fingerprints alone); truth: exact ground truth (eval_quality.py); "
          "simdup: simdup's verification shingles; best truth: the highest true precision of any k <= 10")
    results: dict[str, dict[str, Any]] = {}
    for name in args.corpus:
        print(f"\n== {NAMES[name]} ({args.sources} sources, background {args.background})")
        print(f"{'group':<18} {'docs':>5} {'pos':>6} {'k':>3} {'met':>4} {'est P':>7} {'P truth':>8} {'P simdup':>8} "
              f"{'est R':>7} {'R truth':>8} {'best truth P':>12} {'s':>5}")
        results[name] = {}
        for group, docs in corpus_groups(name, args.sources, args.background).items():
            if args.groups and group not in args.groups:
                continue
            r = evaluate(docs, precision=args.precision, jaccard=args.jaccard, sample=args.sample,
                         queries=args.queries, seed=args.seed)
            results[name][group] = r
            print(f"{group:<18} {r['documents']:>5} {r['positives']:>6} {r['suggested_k']:>3} "
                  f"{'yes' if r['met'] else 'no':>4} {_f(r['estimated_precision']):>7} {_f(r['precision_truth']):>8} "
                  f"{_f(r['precision_simdup_shingles']):>8} {_f(r['estimated_recall']):>7} "
                  f"{_f(r['recall_truth']):>8} {_f(r['best_precision_truth']):>12} {r['calibrate_seconds']:>5.1f}",
                  flush=True)
            if args.per_k:
                for row in r["per_k"]:
                    print(f"    k={row['k']:>2} pairs {row['pairs']:>6,}  est P {_f(row['estimated_precision'])}  "
                          f"P truth {_f(row['precision_truth'])}  P simdup {_f(row['precision_simdup_shingles'])}  "
                          f"est R {_f(row['estimated_recall'])}  R truth {_f(row['recall_truth'])}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
