"""``simdup fit``: learn an IDF model from a corpus and save it (the ``--model`` of later runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .._atomic import check_writable
from ..corpus import open_corpus
from ._common import check_paths, corpus_reads, hasher_from_args, progress, warn


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``fit`` to the subcommands ``sub``; ``common`` holds the shared options."""
    p = sub.add_parser("fit", parents=[common], help="learn an IDF model from a corpus")
    p.add_argument("corpus", nargs="+", metavar="CORPUS")
    p.add_argument("-o", "--output", required=True, help="model file to write (.npz)")
    p.add_argument("--ngram", type=int, default=1, help="use word n-grams up to this length (default 1)")
    p.add_argument("--tokenizer", default="auto", choices=["auto", "words", "chinese"])
    p.add_argument("--min-df", type=int, default=1, help="drop tokens in fewer documents (default 1)")
    p.set_defaults(run=cmd_fit, parser=p)


def cmd_fit(args: argparse.Namespace) -> int:
    """``simdup fit CORPUS... -o MODEL``: fit IDF on every corpus's documents and save the model."""
    if args.model:
        # Taken (a shared option) but never read: `fit --model m.npz -o m.npz` replaced the file it named
        args.parser.error("--model: fit learns a new model from CORPUS and reads none (leave --model out)")
    output = Path(args.output)
    check_paths(corpus_reads(args.corpus), [("-o", output)])
    check_writable(output)
    corpora = [open_corpus(path, args.text_field, args.id_field) for path in args.corpus]
    formats = {corpus.format for corpus in corpora}
    fitting = hasher_from_args(args, fit=True)
    if "warc" in formats:
        fitting.for_corpus("warc")  # refuses --input-type text before anything is read
    texts = []
    for corpus in corpora:
        texts += [doc for _, doc in progress(corpus.records(), args, desc="reading")]
    # WARC pages are (page, content_type) pairs: HTML to fit on; other documents are auto-detected then.
    hasher = fitting.for_corpus("warc" if formats == {"warc"} else None)
    hasher.fit(texts)
    fitting.for_corpus()  # the model's default for later runs, not the WARC reading mode
    hasher.save(output)
    print(f"{args.output}: {len(hasher.vocabulary_)} terms from {hasher.n_docs_} documents", file=sys.stderr)
    if len(hasher.vocabulary_) == 0 and args.min_df > 1:
        warn(f"--min-df {args.min_df} keeps no terms of {hasher.n_docs_} documents: every token will weigh the "
             "same (lower --min-df)")
    return 0
