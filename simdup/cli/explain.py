"""``simdup explain``: why two documents are, or are not, near-duplicates (:func:`simdup.explain.explain`).

Two forms: ``simdup explain FILE_A FILE_B`` (each file one document, as for
``simdup compare``) and ``simdup explain ID_A ID_B --corpus CORPUS`` (two
records of a corpus, by id: the ids of a ``simdup dedup --clusters`` file).
With ``--corpus`` and no ``--model`` the hasher is fitted on the corpus as
``simdup dedup`` fits it, so the distance printed is the one that run
computed.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .. import _core
from ..batch import DEFAULT_K, DEFAULT_VERIFY, MAX_K
from ..corpus import format_of, open_corpus
from ..explain import DEFAULT_CONTEXT, DEFAULT_MAX_HUNKS, DEFAULT_MAX_PART, explain
from ..hasher import SimHasher
from ..stream._df import DfCounter
from ..stream._memory import default_limit
from ._common import CliError, check_stdout, corpus_reads, hasher_from_args, int_at_least, model_reads, progress, warn
from ._dedup_inputs import input_files, shard_names
from ._documents import file_format, one_document

FIT_BATCH = 4096  # documents counted at a time while fitting: one call into the core, bounded memory


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``explain`` to the subcommands ``sub``; ``common`` holds the shared options."""
    p = sub.add_parser("explain", parents=[common], help="why two documents are (not) near-duplicates",
                       description="Show for two documents their fingerprints, Hamming distance, shingle Jaccard "
                       "(as `simdup dedup --verify` computes it), whether `simdup dedup` links them and why not, "
                       "and the text that differs. A and B are two files, each one document (as for `simdup "
                       "compare`), or with --corpus two record ids of the corpus (the ids of a `simdup dedup "
                       "--clusters` file). With --corpus and no --model the model is fitted on the corpus as "
                       "`simdup dedup` fits it, so the distance is the one dedup computed; without --corpus the "
                       "embedded model is used.")
    p.add_argument("a", metavar="A", help="a file (one document), or with --corpus a record id")
    p.add_argument("b", metavar="B", help="a file (one document), or with --corpus a record id")
    p.add_argument("--corpus", action="append", metavar="CORPUS",
                   help="look A and B up by id in this corpus (any format `simdup dedup` reads; repeat it, or give "
                   "a quoted glob, for a corpus of several files read as one, as `simdup dedup` reads its INPUTs)")
    p.add_argument("-k", type=int, default=DEFAULT_K, choices=range(MAX_K + 1), metavar="K",
                   help=f"largest Hamming distance between candidate near-duplicates, 0-{MAX_K} (default {DEFAULT_K})")
    p.add_argument("--verify", type=float, metavar="THRESHOLD", default=DEFAULT_VERIFY,
                   help=f"the shingle Jaccard a link needs, as for `simdup dedup` (default {DEFAULT_VERIFY})")
    p.add_argument("--no-verify", dest="verify", action="store_const", const=None,
                   help="judge the link as `simdup dedup --no-verify` would: on the distance only")
    p.add_argument("--context", type=int_at_least(0), default=DEFAULT_CONTEXT, metavar="N",
                   help=f"words (characters for unspaced scripts) of context around each change "
                   f"(default {DEFAULT_CONTEXT})")
    p.add_argument("--max-hunks", type=int_at_least(0), default=DEFAULT_MAX_HUNKS, metavar="N",
                   help=f"changes shown; the rest are counted (default {DEFAULT_MAX_HUNKS})")
    p.add_argument("--max-part", type=int_at_least(0), default=DEFAULT_MAX_PART, metavar="N",
                   help=f"words (characters) shown of one removed, added or unchanged stretch; a longer one shows "
                   f"its first and last N/2 (default {DEFAULT_MAX_PART}; 0: all; not applied to --json)")
    p.add_argument("--json", action="store_true", help="print the explanation as one JSON object")
    g = p.add_argument_group("fitting on --corpus (as `simdup dedup` without --model)")
    g.add_argument("--ngram", type=int, default=1, help="word n-grams up to this length as tokens (default 1)")
    g.add_argument("--tokenizer", default="auto", choices=["auto", "words", "chinese"])
    g.add_argument("--segmenter", default="jieba", choices=["jieba", "rjieba"], help="Chinese word segmenter")
    g.add_argument("--skip-bad", action="store_true", help="skip malformed records, as `simdup dedup --skip-bad`")
    p.set_defaults(run=cmd_explain, parser=p)


def cmd_explain(args: argparse.Namespace) -> int:
    """``simdup explain A B [--corpus CORPUS]``: the explanation on stdout."""
    if args.verify is not None and not 0.0 <= args.verify <= 1.0:
        args.parser.error(f"--verify: a Jaccard threshold is in [0, 1], got {args.verify}")
    if args.corpus:
        names, docs, hasher, model = _from_corpus(args)
    else:
        if args.ngram != 1 or args.tokenizer != "auto" or args.segmenter != "jieba" or args.skip_bad:
            args.parser.error("--ngram, --tokenizer, --segmenter and --skip-bad are for fitting on --corpus")
        check_stdout(corpus_reads([args.a, args.b]) + model_reads(args))
        hasher = hasher_from_args(args).for_corpus()
        names, docs = [args.a, args.b], []
        for path in names:
            kind = file_format(path)
            if kind:
                raise CliError(f"{path}: a {kind} corpus holds many documents; explain takes two documents, or "
                               f"two ids with --corpus {path}")
            docs.append(one_document(path))
        model = args.model or "the embedded default model (give --model, or --corpus to fit on it)"
    result = explain(docs[0], docs[1], hasher=hasher, k=args.k, verify=args.verify, context=args.context)
    if args.json:
        out = {"a": names[0], "b": names[1], "model": model, **result.to_dict()}
        out["hunks_omitted"] = max(0, len(out["hunks"]) - args.max_hunks)
        out["hunks"] = out["hunks"][:args.max_hunks]
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(f"model: {model}")
        print(result.format(names[0], names[1], max_hunks=args.max_hunks, max_part=args.max_part or None))
    return 0


def _from_corpus(args: argparse.Namespace) -> tuple[list[str], list[Any], SimHasher, str]:
    """The two records of ``--corpus`` named by A and B, the hasher, and how it was made (one read of the corpus).

    Without ``--model`` the hasher is fitted on every record, as ``simdup
    dedup`` fits it (:class:`simdup.stream.FileDedup`'s document frequencies,
    counted the same way); with one, the read stops once both are found.
    """
    files, root = input_files(args.corpus)
    corpus_format = format_of(files[0])
    check_stdout(corpus_reads(files) + model_reads(args))
    fit = not args.model
    hasher = hasher_from_args(args, fit=True).for_corpus(corpus_format)
    # Several text files: dedup names each line FILE:LINE so that ids stay unique across them.
    prefixes = ([f"{name}:" for name in shard_names(files, root)] if root is not None and corpus_format == "lines"
                else [""] * len(files))
    wanted = {args.a, args.b}
    found: dict[str, Any] = {}
    repeated: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="simdup-explain-") as tmp:
        counter = DfCounter(default_limit() // 2, Path(tmp)) if fit and hasher.use_idf else None
        batch: list[Any] = []
        n_docs = 0
        for doc_id, doc in progress(_records(files, prefixes, args), args, desc="reading"):
            if doc_id in wanted:
                if doc_id in found:
                    repeated.add(doc_id)
                else:
                    found[doc_id] = doc
            if not fit:
                if len(found) == len(wanted):
                    break  # a model given: nothing more to read
                continue
            n_docs += 1
            if counter is not None:
                batch.append(doc)
                if len(batch) >= FIT_BATCH:
                    _count_df(hasher, batch, counter)
        missing = [x for x in dict.fromkeys([args.a, args.b]) if x not in found]
        if missing:
            raise CliError(f"{', '.join(missing)}: no record with this id in {' '.join(args.corpus)} "
                           f"(ids from --id-field {args.id_field!r}; text files: line numbers)")
        for doc_id in sorted(repeated):
            warn(f"id {doc_id} names several records; explaining the first")
        if fit:
            if counter is not None:
                _count_df(hasher, batch, counter)
                hasher._set_idf(*counter.table(smooth_idf=hasher.smooth_idf, min_df=hasher.min_df,
                                               idf_cap_df=hasher.idf_cap_df))
            else:
                hasher._fit_frequencies(np.empty(0, np.uint64), np.empty(0, np.int64), n_docs)
    model = (f"fitted on {' '.join(args.corpus)} ({n_docs} documents), as `simdup dedup` fits it without --model"
             if fit else args.model)
    return [args.a, args.b], [found[args.a], found[args.b]], hasher, model


def _records(files: list[Path], prefixes: list[str], args: argparse.Namespace) -> Iterator[tuple[str, Any]]:
    for path, prefix in zip(files, prefixes):
        corpus = open_corpus(path, args.text_field, args.id_field, args.skip_bad)
        for doc_id, doc in corpus.records():
            yield f"{prefix}{doc_id}", doc
        for warning in corpus.warnings:
            warn(warning)


def _count_df(hasher: SimHasher, batch: list[Any], counter: DfCounter) -> None:
    """Count a batch's document frequencies as :func:`simdup.stream._worker.scan` does for dedup; empty the batch."""
    if not batch:
        return
    prepare = hasher._preparer()
    lo, hi = hasher._check_params()
    _, terms = _core.doc_terms([prepare(d) for d in batch], lo, hi, prepare.flags)
    counter.add(*np.unique(terms, return_counts=True), len(batch))
    batch.clear()
