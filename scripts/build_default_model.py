"""Build simdup/data/default.npz, the embedded IDF table of ``SimHasher.default()``.

Fits a default ``SimHasher()`` on the distinct non-empty texts of
Reuters-21578 (English newswire) and the Fudan corpus (Chinese articles), from
``../shared/data/`` (see simdup/data/README.md), and saves it. With the
default IDF cap the table keeps only the tokens found in more than 10 % of
those documents: the common words, characters and character bigrams that
IDF damps. Every other token weighs the cap, as an unseen token does.

    python scripts/build_default_model.py [--shared PATH] [--out PATH]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from simdup import SimHasher
from simdup.corpus import read_jsonl

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ("reuters21578.jsonl.gz", "fudan_zh.jsonl.gz")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=ROOT.parent / "shared/data", type=Path)
    parser.add_argument("--out", default=ROOT / "simdup/data/default.npz", type=Path)
    args = parser.parse_args()
    texts: dict[str, None] = {}  # distinct texts: an exact repeat is one document, not two
    for name in CORPORA:
        texts.update((text, None) for _, text in read_jsonl(args.shared / name) if text.strip())
    hasher = SimHasher().fit(list(texts))
    hasher.save(args.out)
    print(f"{args.out}: {len(hasher.vocabulary_)} terms from {hasher.n_docs_} documents, "
          f"unseen idf {hasher.unseen_idf_:.3f}, {args.out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
