"""How often unrelated documents land near each other, by IDF cap and document length.

Fits ``SimHasher`` with each weighting on a whole corpus, draws random pairs
of distinct documents (pairs with identical fingerprints, nearly all exact
repeats, are left out) and prints the share within 3 and within 6 bits, for
all documents and for the shortest 30 % (short texts are where stop words
weigh most). Random pairs of a corpus are almost all unrelated: Reuters-21578
holds about 500 near-duplicate pairs among 180 million.

    python benchmarks/probe_unrelated.py              # 2M pairs per cell, ~2 min
    python benchmarks/probe_unrelated.py --tiny       # smoke run
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys

import numpy as np

from simdup import SimHasher

import shared_data  # benchmarks/shared_data.py: the shared corpora's folder (SIMDUP_SHARED_DATA)

DATA = shared_data.data_dir()
WEIGHTINGS = {
    "IDF cap 5 %": {"idf_cap_df": 0.05},
    "IDF cap 10 % (default)": {},
    "IDF cap 20 %": {"idf_cap_df": 0.2},
    "no IDF": {"use_idf": False},
}


def load(name: str, limit: int | None) -> list[str]:
    with gzip.open(DATA / name, "rt", encoding="utf-8") as f:
        texts = dict.fromkeys(t for t in (json.loads(line)["text"] for line in f) if t.strip())
    return list(texts)[:limit]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2_000_000)
    parser.add_argument("--tiny", action="store_true")
    args = parser.parse_args(argv)
    if not DATA.exists():
        print(shared_data.absent_reason(), file=sys.stderr)
        return 2
    limit, n_pairs = (300, 20_000) if args.tiny else (None, args.pairs)
    rng = np.random.default_rng(3)
    print("| corpus | weighting | all: within 3 | within 6 | shortest 30 %: within 3 | within 6 |")
    print("|---|---|---:|---:|---:|---:|")
    for title, name, size in (("Reuters", "reuters21578.jsonl.gz", lambda t: len(t.split())),
                              ("Fudan", "fudan_zh.jsonl.gz", len)):
        docs = load(name, limit)
        lengths = np.array([size(d) for d in docs])
        short = lengths < np.percentile(lengths, 30)
        for label, params in WEIGHTINGS.items():
            hasher = SimHasher(input="text", **params)
            fps, n_tokens = (hasher.fit(docs) if hasher.use_idf else hasher).transform(docs, return_n_tokens=True)
            cells = []
            for mask in (n_tokens > 0, (n_tokens > 0) & short):
                rows = np.flatnonzero(mask)
                a, b = rng.choice(rows, n_pairs), rng.choice(rows, n_pairs)
                keep = (a != b) & (fps[a] != fps[b])
                d = np.bitwise_count(fps[a[keep]] ^ fps[b[keep]])
                cells += [f"{np.mean(d <= 3):.1e}", f"{np.mean(d <= 6):.1e}"]
            print(f"| {title} | {label} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
