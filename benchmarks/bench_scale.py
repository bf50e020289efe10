"""Scale benchmark of ``simdup dedup`` (issue 15: streaming batch dedup with bounded memory).

Drives the command line as a subprocess, so the same script measures today's
``simdup dedup`` and its streaming, parallel rewrite. Three subcommands:

    python benchmarks/bench_scale.py generate 300000 -o /work/scale-data/en-300k.jsonl [--lang en] [--seed 0]
    python benchmarks/bench_scale.py run --sizes 300000,1M,3M,10M --workdir /work/scale-data \\
        [--lang en|zh|mixed] [--simdup-args "--jobs 2 --memory-limit 3G"] [--gzip]
    python benchmarks/bench_scale.py plot RESULTS.json [RESULTS.json ...] -o scale.png

``peer`` (run by ``run`` in a subprocess) is datasketch's MinHashLSH on a corpus.

The corpus (``generate``)
-------------------------
JSON Lines, one ``{"id": "d0000000123", "text": ...}`` a line (ids are the
record numbers, so they say nothing about which records are copies), from the
shared corpora (``benchmarks/shared_data.py``): English from Reuters-21578,
Chinese from Fudan, or both (``mixed``: each made-up base is Chinese with
probability ``--zh-share``). Records are *bases* and *copies*:

* **bases**. The first are the real stories themselves, non-blank ones, in a
  seeded random order (their own natural near-duplicates included: Reuters
  has re-issued stories, Fudan exact repeats). Beyond them, each base is
  *spliced*: its length (in units) is that of a random real story, at least
  3, and it is filled with runs of consecutive units from different random
  stories (English units are sentences, runs of at most 3 and at most a third
  of the base; Chinese units are lines, runs of at most 8 and at most a
  third), joined as paragraphs, with more runs while one is over half the
  text. So no real story gives a spliced base much more than half of its
  text, and two spliced bases share a run only by chance (each run is one
  of about 130,000 English sentences or 1,000,000 Chinese lines, at a random
  place): a pair at word 3-shingle Jaccard >= 0.8 would need nearly all of
  its runs in common. ``--check`` measures it: every pair among a sample of
  spliced bases (drawn from the first 10 million, since base *j* is a
  function of the seed and *j* alone), and each sampled base against its
  source stories.
* **copies**, ``--copy-rate`` of the records (default 0.3): an earlier base,
  half the time one of the last 1,000 bases (the same news cycle), half the
  time any earlier one (far apart in the file: the hard case for a bounded
  memory), with one edit: ``exact`` (10 % of copies), ``words`` (45 %:
  English words, or Chinese characters, substituted, deleted or inserted, a
  third each, at a rate drawn from 0.5-3 %), ``sentence`` (20 %: one
  sentence, or Chinese line, replaced by another story's; a base of fewer
  than 3 gets ``words`` instead), ``words+sentence`` (15 %, words at
  0.5-1.5 %) or ``boilerplate`` (10 %: 1-3 lines of site furniture added
  above or below, those of ``study_v2.py``). On a short story one sentence
  is a large part, so many ``sentence`` copies are below Jaccard 0.8 with
  their base: the hard side of recall (``--check`` gives the share by edit).

The ground truth goes beside the corpus, ``NAME.truth.tsv``: one line a record,
``id, kind, of, edit`` where kind is ``real`` (of: the shared corpus and
record), ``spliced`` or ``copy`` (of: the base's id; edit: e.g.
``words:0.021``). ``NAME.meta.json`` is written last (parameters, counts,
bytes, seconds), so a corpus without it is incomplete and is made again.

Streaming, in constant memory but for 8 bytes a base (which record each base
is): a spliced base is made again from its own seeded generator when a far
copy needs it, and the last 1,000 bases are kept. Deterministic for a seed,
and the corpus of N records is the first N records of any larger one.

The run (``run``)
-----------------
For each size, the corpus is generated in ``--workdir`` (or reused), then
``simdup dedup CORPUS -o OUT --json --clusters CLUSTERS -q`` plus
``--simdup-args`` runs under ``/usr/bin/time -v`` (without it: a fresh Python
process reads ``getrusage(RUSAGE_CHILDREN)``). Recorded: wall time; CPU time;
the peak RSS of the largest single process (the kernel's figure, what
``time`` reports); the peak PSS summed over the whole process tree, sampled
four times a second from ``/proc`` (a parallel command's workers add up here,
not in the single-process peak); the summary's per-phase ``timings``;
documents/s; removals. Checks, outside the measured processes:

* the kept ids of the output against ``simdup.dedup`` in memory with the
  CLI's defaults (and the ``-k``, ``--verify``, ``--no-verify``, ``--keep``,
  ``--ngram``, ``--tokenizer``, ``--segmenter`` given in ``--simdup-args``),
  up to ``--inmemory-max`` documents;
* unjustified removals: a removed document none of whose cluster's other
  documents is at shingle Jaccard >= 0.8 (word 3-grams of NFKC, case-folded
  ``\\w+`` words; character 5-grams, whitespace removed, for text mostly in
  scripts without spaces, as ``eval_quality.py``'s ground truth). Exact, on
  the removed documents only: the clustered documents are spread over
  buckets on disk by cluster, so the check fits in memory at any size;
* the ground truth: the share of copies in their base's cluster, by edit,
  and the removed documents by kind (keeping the first of a cluster, the
  default, a removed spliced base is a false merge of the generator's
  distinct documents).

Up to ``--peer-max`` documents (default 300,000), the peer runs on the same
corpus in a subprocess measured the same way: datasketch ``MinHash.generator``
(128 permutations) over the same shingles (hashed with xxh32 when xxhash is
installed, else datasketch's SHA-1 default), ``LeanMinHash``, a
``MinHashLSH(threshold=0.8, num_perm=128)`` filled in an
``insertion_session``, every document queried, the matches' connected
components as clusters, the first document of each kept (as simdup keeps the
first).

Writes ``--out`` (default ``WORKDIR/scale-LANG.json``) after every size, a
Markdown table (printed, and ``.md`` beside the JSON) and, when matplotlib is
installed, a plot (``.png``): wall time and peak memory against corpus size,
log-log. Never run by default: the tests smoke-run it on 2,000 documents
(``tests/test_bench_scale_smoke.py``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import platform
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from json.encoder import encode_basestring, encode_basestring_ascii
from pathlib import Path
from typing import IO, Any

import shared_data  # benchmarks/shared_data.py: the shared corpora's folder (SIMDUP_SHARED_DATA)

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).resolve()

GENERATOR_VERSION = 2  # bump when the corpus for a seed changes, so old corpora are not reused
DEFAULT_SIZES = (300_000, 1_000_000, 3_000_000, 10_000_000)
COPY_RATE = 0.30
NEAR_WINDOW = 1_000  # a near copy's base is one of the last NEAR_WINDOW bases
NEAR_SHARE = 0.5
MIN_UNITS, MAX_UNITS = 3, {"en": 60, "zh": 300}
MAX_RUN = {"en": 3, "zh": 8}  # units of one story in a row, in a spliced base
EDITS = (("exact", 0.10), ("words", 0.45), ("sentence", 0.20), ("words+sentence", 0.15), ("boilerplate", 0.10))
CHECK_SPAN = 10_000_000  # generate --check samples spliced bases from the first CHECK_SPAN bases
THRESHOLD = 0.8  # Jaccard of a justified removal, and MinHashLSH's threshold
NUM_PERM = 128
SAMPLE_SECONDS = 0.25  # process-tree memory sampling interval
BUCKET_BYTES = 256 << 20  # text held at once by the removal check
TIME = "/usr/bin/time"
CORPORA = {"en": ("reuters21578.jsonl.gz", "reuters"), "zh": ("fudan_zh.jsonl.gz", "fudan")}

# Scripts written without spaces (the ranges of study_v2.UNSPACED, spec v2), copied so that the
# peer's subprocess does not import simdup (its memory is measured).
UNSPACED = ("\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
            "\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f"
            "\u0e00-\u0e7f\u0e80-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff")
UNSPACED_CHAR = re.compile(f"[{UNSPACED}]")
WORD = re.compile(r"\w+")
REUTER_MARK = re.compile(r"\s*\breuter\b\s*$", re.IGNORECASE)
EN_PARAGRAPH = re.compile(r"\n(?=[ \t]{2,}\S)")
EN_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(<])")
EN_SENTENCE_KEEP = re.compile(r"((?<=[.!?])\s+)")  # the same split, separators kept (for edits)


# -- the shared stories, cut into units --------------------------------------------------------


@dataclass
class Source:
    """One language's real stories and the units spliced bases are made of.

    Attributes
    ----------
    lang : str
        ``"en"`` (Reuters-21578, sentence units) or ``"zh"`` (Fudan, line units).
    texts : list of str
        The non-blank real stories, as they are.
    ids : list of str
        ``"reuters:ID"`` or ``"fudan:ID"`` per story.
    units : list of str
        Every story's units, story after story.
    starts : array of int
        Story ``s`` holds ``units[starts[s]:starts[s + 1]]``.
    vocabulary : list of str
        Words (English) or characters (Chinese) for insertions and substitutions,
        one entry per occurrence in a prefix of the corpus (so drawn by frequency).
    furniture : list of str
        Site furniture lines for the ``boilerplate`` edit.
    mean_bytes : float
        Mean UTF-8 size of a story (to foresee a corpus's size).
    first_unit, n_units : list of int
        ``starts`` as each story's first unit and unit count (lists: faster to index).
    """

    lang: str
    texts: list[str]
    ids: list[str]
    units: list[str]
    starts: array
    vocabulary: list[str]
    furniture: list[str]
    mean_bytes: float = 0.0
    first_unit: list[int] = field(default_factory=list)
    n_units: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.first_unit = self.starts[:-1].tolist()
        self.n_units = [b - a for a, b in zip(self.starts[:-1], self.starts[1:])]

    def story_units(self, s: int) -> int:
        return self.n_units[s]


def _units(text: str, lang: str) -> list[str]:
    if lang == "zh":
        return [line.rstrip() for line in text.split("\n") if line.strip()]
    body = REUTER_MARK.sub("", text)  # every spliced base gets one sign-off, at its end
    return [s.strip() for p in EN_PARAGRAPH.split(body) for s in EN_SENTENCE.split(p) if s.strip()]


def load_source(lang: str) -> Source:
    """The stories of ``lang`` from the shared corpora (raises FileNotFoundError when absent)."""
    name, tag = CORPORA[lang]
    reason = shared_data.absent_reason(name)
    if reason:
        raise FileNotFoundError(reason)
    # study_v2's furniture lines, imported here only: it imports simdup, which the peer must not.
    from study_v2 import FURNITURE_EN, FURNITURE_ZH

    texts, ids, units, starts = [], [], [], array("q", [0])
    for r in shared_data.iter_records(name):
        text = r["text"]
        cut = _units(text, lang)
        if not cut:
            continue  # blank stories (2,535 of Reuters' records) would only add token-less documents
        texts.append(text)
        ids.append(f"{tag}:{r['id']}")
        units.extend(cut)
        starts.append(len(units))
    sample = "\n".join(texts[:2000])
    vocabulary = sample.split() if lang == "en" else [c for c in sample if UNSPACED_CHAR.match(c)]
    mean = sum(len(t.encode("utf-8")) for t in texts) / len(texts)
    return Source(lang, texts, ids, units, starts, vocabulary, FURNITURE_ZH if lang == "zh" else FURNITURE_EN, mean)


# -- the generator ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Params:
    """What a corpus is a function of, besides its size.

    Attributes
    ----------
    lang : {"en", "zh", "mixed"}
    seed : int
    copy_rate : float
        Share of records that are edited copies of an earlier base.
    zh_share : float
        ``mixed`` only: probability that a spliced base is Chinese.
    real_bases : int or None
        Real stories used as bases before the spliced ones (None: all of them).
    """

    lang: str = "en"
    seed: int = 0
    copy_rate: float = COPY_RATE
    zh_share: float = 0.2
    real_bases: int | None = None

    def meta(self) -> dict[str, Any]:
        """The parameters as a corpus's meta records them (``zh_share`` only for ``mixed``)."""
        return {**asdict(self), "zh_share": self.zh_share if self.lang == "mixed" else None}


class Generator:
    """The records of a corpus: a pure function of its :class:`Params` and the record number.

    Parameters
    ----------
    sources : dict
        ``"en"`` and/or ``"zh"`` :class:`Source`, as ``params.lang`` needs.
    params : Params
    """

    def __init__(self, sources: dict[str, Source], params: Params) -> None:
        self.sources, self.params = sources, params
        self.lang, self.seed, self.copy_rate, self.zh_share = params.lang, params.seed, params.copy_rate, params.zh_share
        langs = ["en", "zh"] if self.lang == "mixed" else [self.lang]
        # The real stories first, as bases, in one seeded order (both languages mixed for "mixed").
        self.real = [(x, s) for x in langs for s in range(len(sources[x].texts))]
        random.Random(self.seed).shuffle(self.real)
        self.real = self.real[:params.real_bases]
        self._rng = random.Random()

    def base(self, j: int) -> tuple[str, str, str, str]:
        """Base ``j``: ``(text, lang, kind, of)``, kind ``real`` (of: the story) or ``spliced``."""
        if j < len(self.real):
            lang, s = self.real[j]
            src = self.sources[lang]
            return src.texts[s], lang, "real", src.ids[s]
        text, lang, _ = self.spliced_with_sources(j)
        return text, lang, "spliced", ""

    def _spliced(self, rng: random.Random, lang: str) -> tuple[str, list[int]]:
        """A new base from runs of units of different stories; also the stories it took from.

        ``int(rng.random() * n)`` instead of ``rng.randrange(n)``: four times faster, and its
        bias (n / 2**53) is nothing here; the generator's speed is mostly these draws.
        """
        src = self.sources[lang]
        n_stories = len(src.texts)
        rnd = rng.random
        target = min(max(src.story_units(int(rnd() * n_stories)), MIN_UNITS), MAX_UNITS[lang])
        longest = max(1, min(MAX_RUN[lang], target // 3))
        pieces: list[str] = []
        used: list[int] = []
        count = chars = biggest = 0
        units, starts, sizes = src.units, src.first_unit, src.n_units
        join = " ".join if lang == "en" else "\n".join
        # Enough units, and no piece more than half the text (units differ in length): so no story
        # gives a base much more than half of its shingles.
        while count < target or 2 * biggest > chars:
            s = int(rnd() * n_stories)
            if s in used:
                continue
            size = sizes[s]
            run = min(1 + int(rnd() * longest), size, target - count if target > count else 1)
            first = starts[s] + int(rnd() * (size - run + 1))
            piece = units[first] if run == 1 else join(units[first:first + run])
            pieces.append(piece)
            used.append(s)
            count += run
            chars += len(piece)
            biggest = max(biggest, len(piece))
        if lang == "en":
            return "\n    ".join(pieces) + "\n Reuter\n", used
        return "\n".join(pieces) + "\n", used

    def spliced_with_sources(self, j: int) -> tuple[str, str, list[int]]:
        """Spliced base ``j`` (``j`` past the real stories), its language and its source stories."""
        rng = self._rng
        rng.seed((self.seed << 40) + j)  # base j is made again, identical, whenever a far copy needs it
        lang = ("zh" if rng.random() < self.zh_share else "en") if self.lang == "mixed" else self.lang
        text, used = self._spliced(rng, lang)
        return text, lang, used

    def edit(self, text: str, lang: str, rng: random.Random) -> tuple[str, str]:
        """An edited copy of ``text`` and its edit's name (``words:0.021``, ``sentence``, ...)."""
        src = self.sources[lang]
        x = rng.random()
        for kind, weight in EDITS:
            x -= weight
            if x < 0:
                break
        if kind == "exact":
            return text, kind
        if kind == "boilerplate":
            lines = rng.sample(src.furniture, rng.randint(1, 3))
            if rng.random() < 0.5:
                return text.rstrip("\n") + "\n" + "\n".join(lines) + "\n", kind
            return "\n".join(lines) + "\n" + text, kind
        if "sentence" in kind:
            changed = _replace_sentence(text, lang, src, rng)
            if changed is None:
                kind = "words"  # too few sentences: another one would be another story, not a copy
            else:
                text = changed
        name = kind
        if "words" in kind:
            rate = rng.uniform(0.005, 0.03 if kind == "words" else 0.015)
            text = _edit_tokens(text, lang, rate, src.vocabulary, rng)
            name = f"{kind}:{rate:.3f}"
        return text, name

    def records(self, n: int) -> Iterator[tuple[str, str, str]]:
        """The first ``n`` records: ``(id, text, truth line)``."""
        rng = random.Random(self.seed)  # the record-level stream: copy or base, which base, which edit
        base_record = array("q")  # record number of each base (8 bytes a base: the only growing state)
        ring: list[tuple[int, str, str]] = [(-1, "", "")] * NEAR_WINDOW  # the last bases: (j, text, lang)
        for r in range(n):
            rid = f"d{r:010d}"
            nb = len(base_record)
            if nb and rng.random() < self.copy_rate:
                if rng.random() < NEAR_SHARE:
                    j = nb - 1 - rng.randrange(min(NEAR_WINDOW, nb))
                else:
                    j = rng.randrange(nb)
                kept_j, text, lang = ring[j % NEAR_WINDOW]
                if kept_j != j:
                    text, lang, _, _ = self.base(j)
                text, edit = self.edit(text, lang, rng)
                yield rid, text, f"{rid}\tcopy\td{base_record[j]:010d}\t{edit}\n"
            else:
                text, lang, kind, of = self.base(nb)
                base_record.append(r)
                ring[nb % NEAR_WINDOW] = (nb, text, lang)
                yield rid, text, f"{rid}\t{kind}\t{of}\t\n"


def _edit_tokens(text: str, lang: str, rate: float, vocabulary: list[str], rng: random.Random) -> str:
    """Substitute, delete or insert (a third each) ``rate`` of the words (English) or characters (Chinese).

    The edits of ``study_v2.word_edit`` and ``char_edit``, drawn from the record stream's
    ``random.Random`` (a NumPy draw per edit would cost more than the edit).
    """
    parts: list[str] = text.split(" ") if lang == "en" else list(text)
    if not parts:
        return text
    rnd, n, size = rng.random, len(parts), len(vocabulary)
    # Positions drawn with replacement (a word edited twice now and then, as people do): rng.sample
    # costs more than the rest of the edit.
    for _ in range(max(1, round(rate * n))):
        x = int(rnd() * n)
        if lang == "zh" and parts[x].isspace():
            continue  # keep the lines
        op, new = int(rnd() * 3), vocabulary[int(rnd() * size)]
        parts[x] = new if op == 0 else "" if op == 1 else f"{new} {parts[x]}" if lang == "en" else new + parts[x]
    # A deleted English word leaves two spaces, as a careless edit does; shingles see words only.
    return " ".join(parts) if lang == "en" else "".join(parts)


def _replace_sentence(text: str, lang: str, src: Source, rng: random.Random) -> str | None:
    """One sentence (English) or line (Chinese) of ``text`` replaced by a random unit of another story.

    None when ``text`` has fewer than :data:`MIN_UNITS` sentences (lines of 10 characters or more).
    """
    if lang == "en":
        parts = EN_SENTENCE_KEEP.split(text)  # sentence, separator, sentence, ...
        slots = [x for x in range(0, len(parts), 2) if parts[x].strip()]
    else:
        parts = text.split("\n")
        slots = [x for x, line in enumerate(parts) if len(line.strip()) >= 10]
    if len(slots) < MIN_UNITS:
        return None
    slot = slots[rng.randrange(len(slots))]
    parts[slot] = src.units[rng.randrange(len(src.units))]
    return "".join(parts) if lang == "en" else "\n".join(parts)


def corpus_paths(path: Path) -> tuple[Path, Path]:
    """The truth and meta files beside the corpus ``path`` (``x.jsonl[.gz]``: ``x.truth.tsv``, ``x.meta.json``)."""
    stem = re.sub(r"\.jsonl(\.gz)?$", "", path.name)
    return path.with_name(stem + ".truth.tsv"), path.with_name(stem + ".meta.json")


def _open_write(path: Path, gz: bool) -> IO[bytes]:
    if gz:
        # Level 1: zlib packs these records at about 90 MB/s (to 44 %), at level 6 at 22 MB/s (to 37 %),
        # which would make gzip, not the records, the generator's pace.
        return gzip.GzipFile(path, "wb", compresslevel=1)  # type: ignore[return-value]
    return open(path, "wb")


def load_sources(lang: str) -> dict[str, Source]:
    return {x: load_source(x) for x in (["en", "zh"] if lang == "mixed" else [lang])}


def estimated_bytes(sources: dict[str, Source], params: Params, n: int, gz: bool) -> float:
    """Rough size of a corpus of ``n`` records (the real stories' mean size), for the disk check."""
    if params.lang == "mixed":
        per = (1 - params.zh_share) * sources["en"].mean_bytes + params.zh_share * sources["zh"].mean_bytes
    else:
        per = sources[params.lang].mean_bytes
    return n * (per + 40) * (0.45 if gz else 1.0)


def generate(path: Path, n: int, params: Params, sources: dict[str, Source] | None = None,
             quiet: bool = False) -> dict[str, Any]:
    """Write the corpus of ``n`` records to ``path`` (``.jsonl`` or ``.jsonl.gz``), its truth and its meta.

    Returns
    -------
    dict
        The meta: parameters, counts of records by kind, bytes, seconds, documents/s.
    """
    sources = sources or load_sources(params.lang)
    truth_path, meta_path = corpus_paths(path)
    meta_path.unlink(missing_ok=True)
    need = estimated_bytes(sources, params, n, path.name.endswith(".gz"))
    free = shutil.disk_usage(path.parent).free
    if need > 0.9 * free:
        raise OSError(f"{path}: about {need / 1e9:.1f} GB needed, {free / 1e9:.1f} GB free")
    gen = Generator(sources, params)
    counts = {"real": 0, "spliced": 0, "copy": 0}
    text_bytes = 0
    start, cpu = time.perf_counter(), time.process_time()
    tmp, tmp_truth = path.with_name(path.name + ".part"), truth_path.with_name(truth_path.name + ".part")
    with _open_write(tmp, path.name.endswith(".gz")) as out, open(tmp_truth, "w", encoding="utf-8") as truth:
        lines: list[str] = []
        rows: list[str] = []
        step = max(100_000, n // 10)
        for r, (rid, text, row) in enumerate(gen.records(n), 1):
            # json.dumps's C string encoders without its call overhead; the ASCII one is 2.5x faster,
            # the other keeps Chinese as UTF-8 (3 bytes a character, not a 6-byte \\u escape).
            encoded = encode_basestring_ascii(text) if text.isascii() else encode_basestring(text)
            lines.append(f'{{"id": "{rid}", "text": {encoded}}}\n')
            rows.append(row)
            counts[row.split("\t", 2)[1]] += 1
            if len(lines) == 4096:
                chunk = "".join(lines).encode("utf-8")
                text_bytes += len(chunk)
                out.write(chunk)
                truth.write("".join(rows))
                lines.clear()
                rows.clear()
            if not quiet and r % step == 0 and r < n:
                rate = r / (time.perf_counter() - start)
                print(f"  generated {r:,} of {n:,} records ({rate:,.0f}/s)", file=sys.stderr, flush=True)
        chunk = "".join(lines).encode("utf-8")
        text_bytes += len(chunk)
        out.write(chunk)
        truth.write("".join(rows))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    tmp.replace(path)
    tmp_truth.replace(truth_path)
    meta = {"version": GENERATOR_VERSION, "records": n, **params.meta(), "counts": counts, "jsonl_bytes": text_bytes,
            "file_bytes": path.stat().st_size, "seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3),
            "records_per_second": round(n / seconds, 1) if seconds else None,
            "mb_per_second": round(text_bytes / 1e6 / seconds, 2) if seconds else None,
            # On a shared machine the CPU rate is the steadier figure (this process's own time).
            "records_per_cpu_second": round(n / cpu, 1) if cpu else None}
    meta_path.write_text(json.dumps(meta, indent=2))
    return meta


def reusable(path: Path, want: dict[str, Any]) -> dict[str, Any] | None:
    """The meta of a complete corpus at ``path`` made with the parameters ``want``, else None."""
    truth_path, meta_path = corpus_paths(path)
    if not (path.exists() and truth_path.exists() and meta_path.exists()):
        return None
    meta: dict[str, Any] = json.loads(meta_path.read_text())
    same = all(meta.get(key) == value for key, value in want.items())
    return meta if same and meta.get("file_bytes") == path.stat().st_size else None


def check_distinct(gen: Generator, sample: int, rng: random.Random) -> dict[str, Any]:
    """Are spliced bases distinct? Every pair of ``sample`` random spliced bases, and each against its sources.

    The bases are drawn from the first :data:`CHECK_SPAN` bases (a 10M corpus's), not only a small
    corpus's, since base ``j`` is a function of the seed and ``j`` alone. Every pair that shares a
    shingle is found through an inverted index, so the maximum is over all pairs of the sample.
    """
    first = len(gen.real)
    picked = sorted(rng.sample(range(first, first + CHECK_SPAN), sample))
    sets: list[set[str]] = []
    own: list[float] = []
    for j in picked:
        text, lang, used = gen.spliced_with_sources(j)
        sets.append(shingles(text))
        src = gen.sources[lang]
        own.append(max(jaccard(sets[-1], shingles(src.texts[s])) for s in used))
    postings: dict[str, list[int]] = {}
    for x, s in enumerate(sets):
        for g in s:
            postings.setdefault(g, []).append(x)
    shared: dict[tuple[int, int], int] = {}
    for docs in postings.values():
        for a in range(len(docs)):
            for b in range(a + 1, len(docs)):
                key = (docs[a], docs[b])
                shared[key] = shared.get(key, 0) + 1
    values = [c / (len(sets[a]) + len(sets[b]) - c) for (a, b), c in shared.items()]
    pairs = sample * (sample - 1) // 2
    return {"spliced_bases": sample, "pairs": pairs, "pairs_sharing_a_shingle": len(values),
            "max_pair_jaccard": round(max(values, default=0.0), 4),
            "mean_pair_jaccard": sum(values) / pairs if pairs else 0.0,
            "pairs_at_0.5": sum(v >= 0.5 for v in values), "pairs_at_0.8": sum(v >= THRESHOLD for v in values),
            "max_jaccard_to_a_source_story": round(max(own), 4),
            "mean_max_jaccard_to_a_source_story": round(sum(own) / len(own), 4)}


def check_copies(gen: Generator, sample: int, rng: random.Random) -> dict[str, dict[str, float]]:
    """Jaccard of a copy with its base, per edit kind, on ``sample`` copies of random bases."""
    first = len(gen.real)
    by_kind: dict[str, list[float]] = {}
    for _ in range(sample):
        j = rng.randrange(first + CHECK_SPAN)
        text, lang, _, _ = gen.base(j)
        copy, edit = gen.edit(text, lang, rng)
        by_kind.setdefault(edit.split(":")[0], []).append(jaccard(shingles(text), shingles(copy)))
    return {kind: {"copies": len(v), "mean_jaccard": round(sum(v) / len(v), 4), "min_jaccard": round(min(v), 4),
                   "share_at_0.8": round(sum(x >= THRESHOLD for x in v) / len(v), 4)}
            for kind, v in sorted(by_kind.items())}


# -- shingles (the ground truth of a justified removal; no simdup code) -------------------------


def is_unspaced(text: str) -> bool:
    """At least 20 % of the non-space characters are from scripts written without spaces."""
    chars = "".join(text.split())
    return bool(chars) and len(UNSPACED_CHAR.findall(chars)) >= 0.2 * len(chars)


def shingles(text: str) -> set[str]:
    """Character 5-grams (whitespace removed) of unspaced text, else word 3-grams (NFKC, case-folded ``\\w+``)."""
    if not text.isascii():  # ASCII is NFKC already, and has no unspaced script
        text = unicodedata.normalize("NFKC", text)
        if is_unspaced(text):
            chars = "".join(text.split())
            return {chars[x:x + 5] for x in range(max(1, len(chars) - 4))} if chars else set()
    words = WORD.findall(text.casefold())
    return {" ".join(words[x:x + 3]) for x in range(max(1, len(words) - 2))} if words else set()


def jaccard(a: set[str], b: set[str]) -> float:
    inter = len(a & b)
    union = len(a) + len(b) - inter
    return inter / union if union else 1.0


# -- reading corpora and results ----------------------------------------------------------------


def iter_corpus(path: Path) -> Iterator[tuple[str, str]]:
    """``(id, text)`` of each record of a JSON Lines corpus (``.gz`` too)."""
    opener: Callable[..., IO[str]] = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            yield r["id"], r["text"]


def record_number(doc_id: str) -> int:
    """The record number in a generated id (``d0000000123`` -> 123)."""
    return int(doc_id[1:])


@dataclass
class Clusters:
    """Documents in clusters of two or more, from a clusters file (``id, cluster, kept_id, ...`` rows).

    Attributes
    ----------
    cluster : array of int
        Cluster number per record, -1 for a document in no cluster.
    removed : bytearray
        1 for a removed record (in a cluster, not its kept document).
    """

    cluster: array
    removed: bytearray
    n_removed: int = 0


def read_clusters(path: Path, n: int) -> Clusters:
    cluster = array("q", [-1]) * n
    removed = bytearray(n)
    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            x = record_number(row["id"])
            cluster[x] = int(row["cluster"])
            if row["id"] != row["kept_id"]:
                removed[x] = 1
    return Clusters(cluster, removed, sum(removed))


def kept_in_output(path: Path, n: int) -> bytearray:
    """1 for each record whose id is in the deduplicated output."""
    kept = bytearray(n)
    for doc_id, _ in iter_corpus(path):
        kept[record_number(doc_id)] = 1
    return kept


# -- the checks -------------------------------------------------------------------------------


def check_removals(corpus: Path, clusters: Clusters, scratch: Path, text_bytes: int) -> dict[str, Any]:
    """Exactly how many removed documents have no cluster-mate at shingle Jaccard >= 0.8 (unjustified).

    The clustered documents' texts go to buckets by cluster number (on disk when more than
    :data:`BUCKET_BYTES` of them are expected), then each bucket's clusters are checked in memory
    (:func:`unjustified_in`).
    """
    n = len(clusters.cluster)
    clustered = sum(1 for c in clusters.cluster if c >= 0)
    n_buckets = max(1, math.ceil(text_bytes * clustered / max(n, 1) / BUCKET_BYTES))
    names = [scratch / f"bucket-{b}.jsonl" for b in range(n_buckets)]
    in_memory: list[tuple[int, int, str]] = []  # the one bucket, when it is small
    with ExitStack() as stack:
        files = [stack.enter_context(open(name, "w", encoding="utf-8")) for name in names] if n_buckets > 1 else []
        for doc_id, text in iter_corpus(corpus):
            x = record_number(doc_id)
            c = clusters.cluster[x]
            if c < 0:
                continue
            if files:
                files[c % n_buckets].write(json.dumps([c, x, text], ensure_ascii=False) + "\n")
            else:
                in_memory.append((c, x, text))
    unjustified: list[dict[str, Any]] = []
    largest = 0
    for name in names:
        rows: list[tuple[int, int, str]] = in_memory
        if n_buckets > 1:
            with open(name, encoding="utf-8") as f:
                rows = [(c, x, text) for c, x, text in map(json.loads, f)]
            name.unlink()
        groups: dict[int, list[tuple[int, str]]] = {}
        for c, x, text in rows:
            groups.setdefault(c, []).append((x, text))
        del rows
        for members in groups.values():
            largest = max(largest, len(members))
            unjustified += unjustified_in(members, clusters.removed)
    return {"removed": clusters.n_removed, "unjustified": len(unjustified), "largest_cluster": largest,
            "buckets": n_buckets, "examples": unjustified[:5]}


def unjustified_in(members: list[tuple[int, str]], removed: bytearray) -> list[dict[str, Any]]:
    """The removed members of one cluster with no other member at shingle Jaccard >= 0.8.

    For each removed document the kept one is tried first, then the others in order, until one
    is at 0.8; a size ratio below 0.8 rules a pair out without intersecting (Jaccard <= ratio).
    """
    if len(members) > 2000:
        print(f"  (checking a cluster of {len(members):,} documents pairwise)", file=sys.stderr)
    sets: dict[int, set[str]] = {}

    def shingled(x: int, text: str) -> set[str]:
        if x not in sets:
            sets[x] = shingles(text)
        return sets[x]

    order = [m for m in members if not removed[m[0]]] + [m for m in members if removed[m[0]]]
    out: list[dict[str, Any]] = []
    for x, text in members:
        if not removed[x]:
            continue
        mine = shingled(x, text)
        best = 0.0
        for y, other in order:
            if y == x:
                continue
            theirs = shingled(y, other)
            small, big = sorted((len(mine), len(theirs)))
            if big and small / big < THRESHOLD:
                continue
            best = max(best, jaccard(mine, theirs))
            if best >= THRESHOLD:
                break
        if best < THRESHOLD:
            # The closest cluster-mate, for the report (the pairs skipped above included).
            closest = max(jaccard(mine, shingled(y, other)) for y, other in members if y != x)
            out.append({"id": f"d{x:010d}", "cluster_size": len(members), "best_jaccard": round(closest, 3)})
    return out


def copy_jaccards(truth: Path, texts: list[str]) -> dict[int, float]:
    """Shingle Jaccard of each generated copy with its base (record number -> Jaccard); texts in memory."""
    out = {}
    with open(truth, encoding="utf-8") as f:
        for line in f:
            doc_id, kind, of, _ = line.split("\t")
            if kind == "copy":
                x = record_number(doc_id)
                out[x] = jaccard(shingles(texts[x]), shingles(texts[record_number(of)]))
    return out


def check_truth(truth: Path, clusters: Clusters, near: dict[int, float] | None = None) -> dict[str, Any]:
    """The generated copies found (in their base's cluster), by edit; the removed documents by kind.

    With ``near`` (:func:`copy_jaccards`) also the recall on the copies at Jaccard >= 0.8 with their
    base, the near-duplicates that a dedup at 0.8 should remove.
    """
    found: dict[str, list[int]] = {}
    removed_by_kind = {"copy": 0, "real": 0, "spliced": 0}
    with open(truth, encoding="utf-8") as f:
        for line in f:
            doc_id, kind, of, edit = line.rstrip("\n").split("\t")
            x = record_number(doc_id)
            if clusters.removed[x]:
                removed_by_kind[kind] += 1
            if kind == "copy":
                c = clusters.cluster[x]
                hit = c >= 0 and c == clusters.cluster[record_number(of)]
                is_near = near is not None and near[x] >= THRESHOLD
                for key in (edit.split(":")[0], "all") + (("near",) if is_near else ()):
                    tally = found.setdefault(key, [0, 0])
                    tally[0] += 1
                    tally[1] += hit
    every, close = found.pop("all", [0, 0]), found.pop("near", [0, 0])
    return {"copies": every[0], "copies_found": every[1], "recall": round(every[1] / every[0], 4) if every[0] else None,
            "near_copies": close[0] if near is not None else None,
            "near_copies_found": close[1] if near is not None else None,
            "near_recall": round(close[1] / close[0], 4) if close[0] else None,
            "by_edit": {k: {"copies": t[0], "found": t[1], "recall": round(t[1] / t[0], 4)}
                        for k, t in sorted(found.items())},
            "removed_by_kind": removed_by_kind}


def dedup_options(simdup_args: list[str]) -> dict[str, Any]:
    """The ``simdup.dedup`` settings that ``simdup dedup`` would take from these extra flags (the rest ignored)."""
    from simdup.batch import DEFAULT_K, DEFAULT_VERIFY

    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("-k", type=int, default=DEFAULT_K)
    p.add_argument("--verify", type=float, default=DEFAULT_VERIFY)
    p.add_argument("--no-verify", dest="verify", action="store_const", const=None)
    p.add_argument("--keep", default="first")
    p.add_argument("--ngram", type=int, default=1)
    p.add_argument("--tokenizer", default="auto")
    p.add_argument("--segmenter", default="jieba")
    known, _ = p.parse_known_args(simdup_args)
    return vars(known)


def check_in_memory(texts: list[str], kept: bytearray, simdup_args: list[str]) -> dict[str, Any]:
    """``simdup.dedup`` on the whole corpus in memory, as ``simdup dedup`` calls it: are the same ids kept?

    ``texts`` are in record order (the generated ids are the record numbers).
    """
    from simdup import SimHasher, dedup

    o = dedup_options(simdup_args)
    hasher = SimHasher(ngram_range=(1, o["ngram"]), tokenizer=o["tokenizer"], segmenter=o["segmenter"])
    result = dedup(texts, o["k"], hasher=hasher, keep=o["keep"], verify=o["verify"])
    api = result.keep.tolist()
    only_cli = sum(1 for x, k in enumerate(api) if k and not kept[x])
    only_api = sum(1 for x, k in enumerate(api) if not k and kept[x])
    return {"identical": only_cli == only_api == 0, "removed": len(api) - sum(api),
            "removed_by_cli_only": only_cli, "removed_by_api_only": only_api,
            "api_seconds": result.summary["seconds"], "options": o}


# -- measuring a command ------------------------------------------------------------------------


RUSAGE_WRAPPER = """\
import json, resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as f:
    json.dump({"user": ru.ru_utime, "sys": ru.ru_stime, "maxrss_kb": ru.ru_maxrss}, f)
sys.exit(code)
"""


@dataclass
class Measured:
    """A command's wall and CPU time, its peak memory and output."""

    wall_seconds: float
    cpu_seconds: float | None
    peak_rss_mb: float | None  # largest single process (kernel's ru_maxrss)
    tree_peak_pss_mb: float | None  # whole process tree, sampled
    returncode: int
    how: str
    stdout: str = field(repr=False, default="")
    stderr: str = field(repr=False, default="")


def _tree_kb(pid: int) -> int | None:
    """PSS (RSS where PSS cannot be read) of ``pid`` and all its descendants, in kB; None off Linux."""
    total, stack, seen = 0, [pid], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
        except (OSError, StopIteration, ValueError):
            try:
                with open(f"/proc/{p}/statm") as f:
                    total += int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
            except OSError:
                continue  # the process ended between the listing and the read
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    stack.extend(int(c) for c in f.read().split())
        except OSError:
            if p == pid:
                return None
    return total


def measure(cmd: list[str], workdir: Path, name: str) -> Measured:
    """Run ``cmd`` under ``/usr/bin/time -v`` (else a getrusage wrapper), sampling the tree's memory."""
    timing = workdir / f"{name}.time"
    out, err = workdir / f"{name}.stdout", workdir / f"{name}.stderr"
    gnu = Path(TIME).exists()
    full = [TIME, "-v", "-o", str(timing), *cmd] if gnu else [sys.executable, "-c", RUSAGE_WRAPPER, str(timing), *cmd]
    peak: list[int | None] = [0]
    with open(out, "w") as fo, open(err, "w") as fe:
        start = time.perf_counter()
        proc = subprocess.Popen(full, stdout=fo, stderr=fe)

        def sample() -> None:
            while proc.poll() is None:
                kb = _tree_kb(proc.pid)
                if kb is None:
                    peak[0] = None
                    return
                if peak[0] is not None:
                    peak[0] = max(peak[0], kb)
                time.sleep(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = proc.wait()
        wall = time.perf_counter() - start
        sampler.join()
    cpu = rss = None
    if timing.exists():
        text = timing.read_text()
        if gnu:
            fields = dict(line.strip().rsplit(": ", 1) for line in text.splitlines() if ": " in line)
            cpu = float(fields["User time (seconds)"]) + float(fields["System time (seconds)"])
            rss = int(fields["Maximum resident set size (kbytes)"]) / 1024
        else:
            usage = json.loads(text)
            cpu, rss = usage["user"] + usage["sys"], usage["maxrss_kb"] / 1024
    tree = peak[0] / 1024 if peak[0] else None
    return Measured(round(wall, 3), cpu and round(cpu, 3), rss and round(rss, 1), tree and round(tree, 1), code,
                    "/usr/bin/time -v" if gnu else "getrusage(RUSAGE_CHILDREN)", out.read_text(), err.read_text())


# -- the peer: datasketch MinHashLSH ------------------------------------------------------------


def peer_main(args: argparse.Namespace) -> int:
    """MinHashLSH end to end on a corpus: writes its clusters (simdup's clusters format) and a summary."""
    from datasketch import LeanMinHash, MinHash, MinHashLSH

    kwargs: dict[str, Any] = {"num_perm": NUM_PERM}
    try:
        from xxhash import xxh32_intdigest

        kwargs["hashfunc"], hash_name = xxh32_intdigest, "xxh32"
    except ImportError:
        hash_name = "sha1 (datasketch's default)"  # 3x slower to hash than xxh32
    timings: dict[str, float] = {}
    start = time.perf_counter()
    ids: list[str] = []
    token_less: set[int] = set()

    def shingle_bytes() -> Iterator[list[bytes]]:
        for doc_id, text in iter_corpus(args.corpus):
            s = shingles(text)
            if not s:
                token_less.add(len(ids))
            ids.append(doc_id)
            yield [g.encode("utf-8") for g in s]

    signatures = [LeanMinHash(m) for m in MinHash.generator(shingle_bytes(), **kwargs)]
    timings["read+minhash"] = time.perf_counter() - start
    start = time.perf_counter()
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    with lsh.insertion_session() as session:
        for x, m in enumerate(signatures):
            if x not in token_less:  # an empty set's signature matches every other empty set
                session.insert(x, m, check_duplication=False)
    timings["index"] = time.perf_counter() - start
    start = time.perf_counter()
    parent = list(range(len(ids)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x, m in enumerate(signatures):
        if x in token_less:
            continue
        for y in lsh.query(m):
            a, b = find(x), find(y)
            if a != b:
                parent[max(a, b)] = min(a, b)  # the root is the component's first document: the one kept
    timings["query"] = time.perf_counter() - start
    start = time.perf_counter()
    roots = [find(x) for x in range(len(ids))]
    sizes: dict[int, int] = {}
    for r in roots:
        sizes[r] = sizes.get(r, 0) + 1
    number = {r: c for c, r in enumerate(r for r in dict.fromkeys(roots) if sizes[r] > 1)}
    with open(args.clusters, "w", encoding="utf-8") as f:
        for x, r in enumerate(roots):
            if sizes[r] > 1:
                f.write(json.dumps({"id": ids[x], "cluster": number[r], "kept_id": ids[r], "distance": None}) + "\n")
    timings["cluster"] = time.perf_counter() - start
    removed = sum(1 for x, r in enumerate(roots) if x != r)
    summary = {"documents": len(ids), "duplicates_removed": removed, "clusters": len(number),
               "largest_cluster": max(sizes.values(), default=0), "token_less_documents": len(token_less),
               "hash": hash_name, "num_perm": NUM_PERM, "threshold": THRESHOLD,
               "timings": {k: round(v, 4) for k, v in timings.items()}}
    print(json.dumps(summary, indent=2))
    return 0


# -- the run ------------------------------------------------------------------------------------


def parse_size(text: str) -> int:
    """``300000``, ``300k``, ``1M``, ``1e6``."""
    t = text.strip().lower().replace(",", "").replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    return int(float(t[:-1] if scale > 1 else t) * scale)


def git_commit() -> str | None:
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10, check=False).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}{' (modified)' if dirty else ''}" if head else None


def params_of(args: argparse.Namespace) -> Params:
    return Params(args.lang, args.seed, args.copy_rate, args.zh_share, args.real_bases)


def loaded(args: argparse.Namespace, cache: dict[str, dict[str, Source]]) -> dict[str, Source]:
    """The shared stories, read once a run."""
    if "sources" not in cache:
        cache["sources"] = load_sources(args.lang)
    return cache["sources"]


def generator_checks(gen: Generator, sample: int, seed: int) -> dict[str, Any]:
    """:func:`check_distinct` and :func:`check_copies` on ``sample`` bases and copies."""
    rng = random.Random(seed + 1)
    return {"distinct": check_distinct(gen, sample, rng), "copies": check_copies(gen, sample, rng)}


def corpus_for(args: argparse.Namespace, n: int, sources: dict[str, dict[str, Source]]) -> tuple[Path, dict[str, Any]]:
    """The corpus of ``n`` records in the workdir: reused when complete and made alike, else generated.

    ``sources`` caches the shared stories across sizes; they are read only when a corpus is made.
    """
    params = params_of(args)
    suffix = ".jsonl.gz" if args.gzip else ".jsonl"
    real = "" if params.real_bases is None else f"-b{params.real_bases}"
    path = args.workdir / f"corpus-{params.lang}-{n}-s{params.seed}-r{params.copy_rate:g}{real}{suffix}"
    meta = reusable(path, {"version": GENERATOR_VERSION, "records": n, **params.meta()})
    if meta is not None:
        print(f"corpus: reusing {path} ({meta['file_bytes'] / 1e6:,.1f} MB on disk, "
              f"{meta['jsonl_bytes'] / 1e6:,.1f} MB of JSON Lines)", flush=True)
        return path, {**meta, "reused": True}
    print(f"corpus: generating {n:,} records into {path} ...", flush=True)
    meta = generate(path, n, params, loaded(args, sources))
    print(f"corpus: {meta['file_bytes'] / 1e6:,.1f} MB on disk ({meta['jsonl_bytes'] / 1e6:,.1f} MB of JSON Lines) "
          f"in {meta['seconds']:.1f} s: {meta['records_per_second']:,.0f} records/s, {meta['mb_per_second']} MB/s "
          f"({meta['records_per_cpu_second']:,.0f} records a CPU second); "
          f"{meta['counts']}", flush=True)
    return path, {**meta, "reused": False}


def run_one(args: argparse.Namespace, n: int, sources: dict[str, dict[str, Source]]) -> dict[str, Any]:
    """Corpus, simdup measured, the peer measured (up to ``--peer-max``), then the checks: one row of results."""
    corpus, meta = corpus_for(args, n, sources)
    truth = corpus_paths(corpus)[0]
    rundir = args.workdir / f"run-{args.lang}-{n}"
    rundir.mkdir(exist_ok=True)
    suffix = ".jsonl.gz" if args.gzip else ".jsonl"
    output, cluster_file = rundir / f"simdup-out{suffix}", rundir / "simdup-clusters.jsonl"
    for stale in (output, cluster_file):
        stale.unlink(missing_ok=True)
    extra = shlex.split(args.simdup_args)
    cmd = [*shlex.split(args.simdup_cmd), "dedup", str(corpus), "-o", str(output), "--json",
           "--clusters", str(cluster_file), "-q", *extra]
    print(f"simdup: {' '.join(shlex.quote(c) for c in cmd)}", flush=True)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    m = measure(cmd, rundir, "simdup")
    if m.returncode != 0:
        raise RuntimeError(f"simdup dedup failed ({m.returncode}):\n{m.stderr[-3000:]}")
    summary = json.loads(m.stdout)
    docs = summary["documents"]
    # `time` counts only the processes it waits for; the streaming command's workers are the
    # forkserver's children, which it never sees: the command's own count of its CPU time adds them.
    if summary.get("cpu_seconds") and (m.cpu_seconds is None or summary["cpu_seconds"] > m.cpu_seconds):
        m = replace(m, cpu_seconds=round(summary["cpu_seconds"], 3))
    row: dict[str, Any] = {
        "size": n, "lang": args.lang, "corpus": {"path": str(corpus), **meta},
        "loadavg_before": load and [round(x, 2) for x in load],
        "simdup": {**{k: v for k, v in asdict(m).items() if k not in ("stdout", "stderr")},
                   "command": cmd, "documents_per_second": round(docs / m.wall_seconds, 1),
                   "summary": summary},
    }
    print(f"simdup: {m.wall_seconds:.1f} s wall, {m.cpu_seconds} s CPU, peak RSS {m.peak_rss_mb} MB "
          f"(process tree PSS {m.tree_peak_pss_mb} MB), {summary['duplicates_removed']:,} removed", flush=True)
    peer: dict[str, Any] | None = None
    if n <= args.peer_max:
        peer_clusters = rundir / "peer-clusters.jsonl"
        pcmd = [sys.executable, str(SCRIPT), "peer", str(corpus), "--clusters", str(peer_clusters)]
        print("peer: datasketch MinHashLSH ...", flush=True)
        pm = measure(pcmd, rundir, "peer")
        if pm.returncode != 0:
            raise RuntimeError(f"the peer failed ({pm.returncode}):\n{pm.stderr[-3000:]}")
        psum = json.loads(pm.stdout)
        peer = {**{k: v for k, v in asdict(pm).items() if k not in ("stdout", "stderr")},
                "documents_per_second": round(psum["documents"] / pm.wall_seconds, 1), "summary": psum}
        print(f"peer: {pm.wall_seconds:.1f} s wall, {pm.cpu_seconds} s CPU, peak RSS {pm.peak_rss_mb} MB, "
              f"{psum['duplicates_removed']:,} removed", flush=True)
    if not args.no_check:
        print("checks: removals, ground truth" + (", in memory" if n <= args.inmemory_max else "") + " ...",
              flush=True)
        start = time.perf_counter()
        clusters = read_clusters(cluster_file, n)
        kept = kept_in_output(output, n)
        row["simdup"]["output_matches_clusters_file"] = all(kept[x] != clusters.removed[x] for x in range(n))
        near = None
        if n <= args.inmemory_max:
            texts = [text for _, text in iter_corpus(corpus)]
            near = copy_jaccards(truth, texts)
            row["simdup"]["in_memory"] = check_in_memory(texts, kept, extra)
            del texts
        row["simdup"]["removals"] = check_removals(corpus, clusters, rundir, meta["jsonl_bytes"])
        row["simdup"]["truth"] = check_truth(truth, clusters, near)
        if peer is not None:
            pc = read_clusters(rundir / "peer-clusters.jsonl", n)
            peer["removals"] = check_removals(corpus, pc, rundir, meta["jsonl_bytes"])
            peer["truth"] = check_truth(truth, pc, near)
        row["check_seconds"] = round(time.perf_counter() - start, 1)
    if peer is not None:
        row["peer"] = peer
        s = row["simdup"]
        row["ratios_simdup_over_peer"] = {
            key: round(s[key] / peer[key], 3) if s.get(key) and peer.get(key) else None
            for key in ("wall_seconds", "cpu_seconds", "peak_rss_mb", "tree_peak_pss_mb")}
    if not args.keep_outputs:
        output.unlink(missing_ok=True)
    return row


def fmt(x: Any, spec: str = ",.1f") -> str:
    return "-" if x is None else format(x, spec) if isinstance(x, (int, float)) and not isinstance(x, bool) else str(x)


def markdown(results: dict[str, Any]) -> str:
    """The results as Markdown tables: one row a system and size, then each simdup run's phases."""
    lines = [f"## simdup dedup at scale ({results['lang']}; {results['label']})", "",
             (f"`{results['command_line']}`; simdup {results['simdup_version']} at {results['git_commit']}; "
              f"{results['machine']}"), "",
             ("| system | documents | corpus MB | wall s | CPU s | documents/s | peak RSS MB | tree PSS MB "
              "| removed | unjustified | copies found | = in memory |"),
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for row in results["runs"]:
        for system, r in (("simdup dedup", row["simdup"]), ("datasketch MinHashLSH", row.get("peer"))):
            if r is None:
                continue
            rem, truth = r.get("removals", {}), r.get("truth", {})
            found = f"{truth['copies_found']:,} / {truth['copies']:,}" if truth else "-"
            if truth.get("near_copies") is not None:
                found += f" ({truth['near_copies_found']:,} / {truth['near_copies']:,} at 0.8)"
            same = r.get("in_memory", {}).get("identical")
            lines.append(f"| {system} | {row['size']:,} | {fmt(row['corpus']['jsonl_bytes'] / 1e6)} "
                         f"| {fmt(r['wall_seconds'], ',.2f')} | {fmt(r['cpu_seconds'], ',.2f')} "
                         f"| {fmt(r['documents_per_second'], ',.0f')} | {fmt(r['peak_rss_mb'])} "
                         f"| {fmt(r['tree_peak_pss_mb'])} | {r['summary']['duplicates_removed']:,} "
                         f"| {fmt(rem.get('unjustified'), ',')} | {found} "
                         f"| {'-' if same is None else 'yes' if same else 'NO'} |")
    lines.append("")
    for row in results["runs"]:
        t = row["simdup"]["summary"]["timings"]
        phases = ", ".join(f"{p} {s:.2f} s" for p, s in t.items())
        lines.append(f"- {row['size']:,}: phases {phases}")
        if row.get("ratios_simdup_over_peer"):
            ratios = ", ".join(f"{k.replace('_seconds', '').replace('_mb', '')} {fmt(v, '.2f')}x"
                               for k, v in row["ratios_simdup_over_peer"].items())
            lines.append(f"  - simdup / MinHashLSH: {ratios}")
        c = row["corpus"]
        lines.append(f"  - corpus: generated at {fmt(c['records_per_second'], ',.0f')} records/s, "
                     f"{c['mb_per_second']} MB/s ({fmt(c.get('records_per_cpu_second'), ',.0f')} a CPU second)"
                     f"{', reused' if c.get('reused') else ''}; {c['counts']}")
    return "\n".join(lines) + "\n"


def plot(results: list[dict[str, Any]], out: Path) -> bool:
    """Wall time and peak memory against corpus size, log-log, one line a results file (and its peer)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter, NullFormatter
    except ImportError:
        print("(matplotlib is not installed: no plot; pip install matplotlib)", file=sys.stderr)
        return False
    plain = FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}")  # 300,000 rather than 3x10^5
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(11, 4.2))
    for res in results:
        for key, label in (("simdup", f"{res['label']} [{res['lang']}]"), ("peer", f"datasketch MinHashLSH [{res['lang']}]")):
            runs = [r for r in res["runs"] if r.get(key)]
            if not runs:
                continue
            sizes = [r["size"] for r in runs]
            style = "o-" if key == "simdup" else "s--"
            ax_t.plot(sizes, [r[key]["wall_seconds"] for r in runs], style, label=label)
            # The kernel's peak of the largest process is exact but blind to a parallel run's other
            # workers; the tree's sampled PSS sees them all but can miss a short peak: the larger.
            mem = [max(r[key]["tree_peak_pss_mb"] or 0, r[key]["peak_rss_mb"] or 0) for r in runs]
            ax_m.plot(sizes, mem, style, label=label)
    for ax, ylabel in ((ax_t, "wall time (s)"), (ax_m, "peak memory (MB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            axis.set_major_formatter(plain)
            # Minor ticks labelled only when the axis spans less than a decade (else too many labels).
            axis.set_minor_formatter(plain if high < 10 * low else NullFormatter())
        ax.set_xlabel("documents")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    ax_t.set_title("time")
    ax_m.set_title("memory: largest process's peak RSS, or the tree's sampled PSS if larger", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return True


def run_main(args: argparse.Namespace) -> int:
    args.workdir = Path(args.workdir) if args.workdir else Path(tempfile.gettempdir()) / "simdup-bench-scale"
    args.workdir.mkdir(parents=True, exist_ok=True)
    out = Path(args.out) if args.out else args.workdir / f"scale-{args.lang}.json"
    import simdup

    results: dict[str, Any] = {
        "label": args.label or ("simdup dedup " + args.simdup_args).strip(), "lang": args.lang,
        "command_line": " ".join(shlex.quote(a) for a in sys.argv), "simdup_version": simdup.__version__,
        "git_commit": git_commit(), "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores", "runs": []}
    sources: dict[str, dict[str, Source]] = {}
    if args.check:
        print(f"generator: checking {args.check:,} spliced bases and copies ...", flush=True)
        results["generator_check"] = generator_checks(Generator(loaded(args, sources), params_of(args)), args.check,
                                                      args.seed)
        d = results["generator_check"]["distinct"]
        print(f"generator: {d['pairs']:,} pairs of spliced bases: largest Jaccard {d['max_pair_jaccard']}, "
              f"{d['pairs_at_0.8']} at 0.8; largest Jaccard with a source story {d['max_jaccard_to_a_source_story']}",
              flush=True)
    for n in args.sizes:
        print(f"== {n:,} documents ({args.lang})", flush=True)
        results["runs"].append(run_one(args, n, sources))
        out.write_text(json.dumps(results, indent=2))  # after every size: a long run keeps what it measured
    table = markdown(results)
    out.with_suffix(".md").write_text(table)
    print()
    print(table)
    print(f"results: {out}, {out.with_suffix('.md')}")
    if plot([results], out.with_suffix(".png")):
        print(f"plot: {out.with_suffix('.png')}")
    return 0


def generate_main(args: argparse.Namespace) -> int:
    params = params_of(args)
    sources = load_sources(params.lang)
    meta = generate(Path(args.output), args.n, params, sources)
    print(json.dumps(meta, indent=2))
    if args.check:
        print(json.dumps(generator_checks(Generator(sources, params), args.check, params.seed), indent=2))
    return 0


def plot_main(args: argparse.Namespace) -> int:
    return 0 if plot([json.loads(Path(p).read_text()) for p in args.results], Path(args.output)) else 1


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="See the module docstring for how the corpus is made and what is measured.")
    sub = parser.add_subparsers(dest="command", required=True)

    def corpus_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--lang", choices=["en", "zh", "mixed"], default="en",
                       help="Reuters-21578 English, Fudan Chinese, or both (default: en)")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--copy-rate", type=float, default=COPY_RATE,
                       help=f"share of records that are edited copies of an earlier base (default {COPY_RATE})")
        p.add_argument("--zh-share", type=float, default=0.2,
                       help="mixed: probability that a made-up base is Chinese (default 0.2)")
        p.add_argument("--real-bases", type=parse_size, metavar="N",
                       help="use only N real stories as bases before the spliced ones (default: all)")
        p.add_argument("--check", type=int, nargs="?", const=2000, default=0, metavar="SAMPLE",
                       help="also measure the generator: all pairs of SAMPLE spliced bases (default 2000), "
                       "each against its source stories, and copy-to-base Jaccard by edit")

    g = sub.add_parser("generate", help="write a corpus, its ground truth and its meta",
                       description="Write N records to OUTPUT (.jsonl or .jsonl.gz), OUTPUT's .truth.tsv and "
                       ".meta.json beside it.")
    g.add_argument("n", type=parse_size, metavar="N", help="records (300000, 300k, 1M)")
    g.add_argument("-o", "--output", required=True)
    corpus_options(g)
    g.set_defaults(func=generate_main)

    r = sub.add_parser("run", help="generate (or reuse) corpora and measure simdup dedup (and the peer) on them",
                       description="For each size: the corpus, then `simdup dedup` measured, the peer, the checks.")
    r.add_argument("--sizes", type=lambda s: [parse_size(x) for x in s.split(",") if x.strip()],
                   default=list(DEFAULT_SIZES), help="comma-separated corpus sizes (default 300k,1M,3M,10M)")
    r.add_argument("--workdir", help="where corpora, outputs and results go (default: "
                   f"{Path(tempfile.gettempdir()) / 'simdup-bench-scale'}); corpora are kept and reused")
    corpus_options(r)
    r.add_argument("--gzip", action="store_true", help="corpora (and simdup's output) as .jsonl.gz")
    r.add_argument("--simdup-args", default="", help='extra flags for simdup dedup, e.g. "--jobs 2 --memory-limit 3G"')
    r.add_argument("--simdup-cmd", default=f"{shlex.quote(sys.executable)} -m simdup",
                   help="the simdup command (default: this Python's -m simdup)")
    r.add_argument("--inmemory-max", type=parse_size, default=300_000,
                   help="compare with simdup.dedup in memory up to this size (default 300k)")
    r.add_argument("--peer-max", type=parse_size, default=300_000,
                   help="run datasketch MinHashLSH up to this size (default 300k; 0: never)")
    r.add_argument("--no-check", action="store_true", help="timings only: no removal, truth or in-memory checks")
    r.add_argument("--keep-outputs", action="store_true", help="keep simdup's deduplicated corpus")
    r.add_argument("--label", help="name of this run in the table and plot (default: simdup dedup + its flags)")
    r.add_argument("--out", help="results JSON (default WORKDIR/scale-LANG.json; .md and .png beside it)")
    r.set_defaults(func=run_main)

    p = sub.add_parser("peer", help="(used by run) datasketch MinHashLSH on a corpus; summary JSON on stdout")
    p.add_argument("corpus", type=Path)
    p.add_argument("--clusters", type=Path, required=True, help="clusters file to write (simdup's format)")
    p.set_defaults(func=peer_main)

    pl = sub.add_parser("plot", help="plot one or more results files together")
    pl.add_argument("results", nargs="+")
    pl.add_argument("-o", "--output", required=True)
    pl.set_defaults(func=plot_main)

    args = parser.parse_args(None if argv is None else list(argv))
    try:
        return int(args.func(args))
    except FileNotFoundError as e:
        print(f"bench_scale.py: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
