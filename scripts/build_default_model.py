"""Build simdup/data/default_en.npz, the embedded English IDF table.

Fits a default SimHasher on the non-empty stories of Reuters-21578 (from
``../shared/data/reuters21578.jsonl.gz``; see simdup/data/README.md) and
saves it. Tokens seen in a single story are dropped (``min_df=2``): they
would weigh almost as much as unseen tokens anyway, and leaving them out
halves the file.

    python scripts/build_default_model.py [--corpus PATH] [--out PATH]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from simdup import SimHasher
from simdup.io import read_jsonl

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=ROOT.parent / "shared/data/reuters21578.jsonl.gz", type=Path)
    parser.add_argument("--out", default=ROOT / "simdup/data/default_en.npz", type=Path)
    args = parser.parse_args()
    texts = [text for _, text in read_jsonl(args.corpus) if text.strip()]
    hasher = SimHasher(min_df=2).fit(texts)
    hasher.save(args.out)
    print(f"{args.out}: {len(hasher.vocabulary_)} terms from {hasher.n_docs_} documents, "
          f"unseen idf {hasher.unseen_idf_:.3f}, {args.out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
