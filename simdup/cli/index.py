"""``simdup index build|add|query|info``: a saved near-duplicate index of a corpus, for crawlers that keep state.

The index holds fingerprints under uint64 ids; the documents' names, the
model and the build's input settings live beside it
(:mod:`simdup.cli._index_names`), so ``add`` and ``query`` fingerprint as
the build did.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import check_writable
from ..corpus import open_corpus
from ._common import (
    CommandHasher, check_paths, check_stdout, corpus_reads, hasher_from_args, model_reads, progress,
)
from ._index_names import (add_documents, index_hasher, index_lock, load_index, names_path, new_index,
                           save_index)


BATCH = 8192
"""Documents fingerprinted at a time: one call into the core, and bounded memory."""


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``index`` and its actions to the subcommands ``sub``; ``common`` holds the shared options."""
    p = sub.add_parser("index", help="a saved near-duplicate index: build, add, query, info",
                       description="Keep an exact Hamming index of a corpus between runs (for crawlers). "
                       "Documents are named by their ids (--id-field; file names for directories).")
    isub = p.add_subparsers(dest="index_command", required=True, metavar="ACTION")
    q = isub.add_parser("build", parents=[common], help="fingerprint CORPUS and write a new index")
    q.add_argument("corpus", nargs="+", metavar="CORPUS")
    q.add_argument("-o", "--output", dest="index", required=True, metavar="INDEX")
    q.add_argument("-k", type=int, default=3, choices=range(17), metavar="K", help="largest distance, 0-16 (default 3)")
    q.set_defaults(run=cmd_index_build)
    q = isub.add_parser("add", parents=[common], help="add CORPUS's documents to INDEX")
    q.add_argument("index", metavar="INDEX")
    q.add_argument("corpus", nargs="+", metavar="CORPUS")
    q.set_defaults(run=cmd_index_add)
    q = isub.add_parser("query", parents=[common], help="print QUERY_ID<TAB>MATCH_ID<TAB>DISTANCE per match")
    q.add_argument("index", metavar="INDEX")
    q.add_argument("corpus", nargs="+", metavar="CORPUS")
    q.set_defaults(run=cmd_index_query)
    q = isub.add_parser("info", help="size, k and table design of INDEX (JSON)")
    q.add_argument("index", metavar="INDEX")
    q.set_defaults(run=cmd_index_info)


def cmd_index_build(args: argparse.Namespace) -> int:
    """``simdup index build CORPUS... -o INDEX``: a new index and its names file."""
    path = Path(args.index)
    check_paths(corpus_reads(args.corpus) + model_reads(args), _index_writes(path))
    check_writable(path)
    check_writable(names_path(path))
    names, fps = _with_tokens(*_index_documents(args, hasher_from_args(args)))
    index, meta = new_index(args, len(fps))
    add_documents(index, meta, names, fps)
    with index_lock(path):
        save_index(index, meta, path)
    print(f"{args.index}: {len(index):,} documents, k={args.k}", file=sys.stderr)
    return 0


def cmd_index_add(args: argparse.Namespace) -> int:
    """``simdup index add INDEX CORPUS...``: add documents, with the build's model and input settings."""
    path = Path(args.index)
    check_paths(corpus_reads(args.corpus), _index_writes(path))
    if not path.parent.is_dir():
        raise FileNotFoundError(2, "No such file or directory", str(path))
    with index_lock(path):  # from the load to the save: another add would be lost, or break the names
        index, meta = load_index(path)
        check_writable(path)
        check_writable(names_path(path))
        names, fps = _with_tokens(*_index_documents(args, index_hasher(args, meta, path)))
        add_documents(index, meta, names, fps)
        save_index(index, meta, path)
    print(f"{args.index}: added {len(names):,}, now {len(index):,} documents", file=sys.stderr)
    return 0


def cmd_index_query(args: argparse.Namespace) -> int:
    """``simdup index query INDEX CORPUS...``: ``QUERY_ID<TAB>MATCH_ID<TAB>DISTANCE`` per match on stdout."""
    path = Path(args.index)
    check_stdout(corpus_reads(args.corpus) + [("the index", path), ("the index's names file", names_path(path))])
    index, meta = load_index(path)
    names, fps, n_tokens = _index_documents(args, index_hasher(args, meta, path))
    offsets, ids, distances = index.query_many(fps, n_tokens=n_tokens)  # a token-less query matches nothing
    out = sys.stdout
    for q, name in enumerate(names):
        for i, d in zip(ids[offsets[q]:offsets[q + 1]].tolist(), distances[offsets[q]:offsets[q + 1]].tolist()):
            out.write(f"{name}\t{meta['names'].get(f'{i:016x}', f'{i:016x}')}\t{d}\n")
    return 0


def cmd_index_info(args: argparse.Namespace) -> int:
    """``simdup index info INDEX``: size, k, model and table design as JSON on stdout."""
    index, meta = load_index(Path(args.index))
    info = {"index": args.index, "documents": len(index), "k": index.k, "model": meta.get("model") or "default",
            "bytes": index.nbytes, "design": index.plan.describe()}
    print(json.dumps(info, indent=2))
    return 0


def _index_writes(path: Path) -> list[tuple[str, Path]]:
    return [("the index", path), ("the index's names file", names_path(path))]


def _index_documents(args: argparse.Namespace,
                     hashers: CommandHasher) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Names, fingerprints and token counts of CORPUS's documents, each file read with its format's settings.

    Texts are fingerprinted a batch at a time and not kept: a corpus larger than memory can be indexed
    (its names and fingerprints stay, about 100 bytes a document).
    """
    names: list[str] = []
    fps, counts = [], []
    for path in args.corpus:
        corpus = open_corpus(path, args.text_field, args.id_field)
        hasher = hashers.for_corpus(corpus.format)
        texts: list = []
        for doc_id, text in progress(corpus.records(), args, desc="reading"):
            names.append(doc_id)
            texts.append(text)
            if len(texts) == BATCH:
                f, n = hasher.transform(texts, return_n_tokens=True)
                fps.append(f)
                counts.append(n)
                texts = []
        if texts:
            f, n = hasher.transform(texts, return_n_tokens=True)
            fps.append(f)
            counts.append(n)
    if not fps:
        return names, np.empty(0, np.uint64), np.empty(0, np.int64)
    return names, np.concatenate(fps), np.concatenate(counts)


def _with_tokens(names: list[str], fps: np.ndarray, n_tokens: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The documents that have tokens; a token-less one (empty, punctuation, a page without text) has the
    fingerprint 0 and is never a near-duplicate, so it is not stored (and its name not kept)."""
    has = n_tokens > 0
    skipped = int((~has).sum())
    if skipped:
        print(f"simdup: {skipped:,} document(s) without tokens not indexed (never near-duplicates)",
              file=sys.stderr)
    return [n for n, h in zip(names, has.tolist()) if h], fps[has]
