"""Why two documents are, or are not, near-duplicates: their distance, shingle Jaccard and the text that differs.

:func:`explain` answers the question a clusters file (``simdup dedup
--clusters``) raises, "why was this document removed?", for one pair: the
two fingerprints and their Hamming distance, the exact shingle Jaccard that
``dedup``'s verification computes (:func:`simdup.batch.shingle_sets`, the
same number), whether ``dedup`` with ``k`` and ``verify`` would link the
pair and why not, and a word diff of the two texts as the hasher sees them
(HTML reduced to its main content, bytes decoded).

The diff compares words (runs of non-space characters), or characters for
text in scripts written without spaces (Chinese, Japanese, Thai, ...),
decided as verification decides between word and character shingles. It is
:class:`difflib.SequenceMatcher`'s, which is quadratic in the worst case, so
its work is bounded: long texts are first matched on word bigrams
(:data:`ANCHOR_FROM`), ``autojunk`` is on for long stretches
(:data:`AUTOJUNK_FROM`) and at most :data:`MAX_DIFF_UNITS` units are aligned
(see :func:`diff_units`). Measured on Reuters text with 30 scattered one-word
changes: 0.07 s for 5,000 words, 0.5 s for 19,000, 2.0 s for 50,000; two
unrelated texts of 50,000 words: 1.0 s.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Sequence
from itertools import pairwise
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from . import _core
from ._validation import check_k
from .batch import (
    DEFAULT_K,
    DEFAULT_SHINGLE_SIZE,
    DEFAULT_VERIFY,
    MAX_K,
    ShingleSize,
    check_shingle_size,
    check_verify,
    text_shingle_sets,
)
from .hasher import SimHasher
from .text.tokenize import Preparer

__all__ = ["AUTOJUNK_FROM", "DEFAULT_CONTEXT", "DEFAULT_MAX_HUNKS", "DEFAULT_MAX_PART", "MAX_DIFF_UNITS", "Explanation",
           "Hunk", "diff_units", "explain", "shingle_unit"]

DEFAULT_CONTEXT = 5
"""Units (words or characters) of unchanged text shown around each change."""
AUTOJUNK_FROM = 20_000
"""Above this many units in a document the diff turns on SequenceMatcher's ``autojunk`` heuristic.

Without it the diff is the most faithful (``autojunk`` treats a unit in
more than 1 % of the text, such as "the", as unable to start a match, which
can misalign a change), and below this size it costs well under a second;
above it, two unrelated texts of natural language would take seconds to
minutes (measured on Reuters text: 60,000 words each, 9.0 s without,
1.8 s with it)."""
ANCHOR_FROM = 2_000
"""From this many units in both texts the diff first matches unit bigrams (see :func:`_align`)."""
MAX_DIFF_UNITS = 50_000
"""At most this many units of each document are aligned after their common beginning and end.

The rest of both, past that point, is reported as one replacement (see :attr:`Explanation.diff_truncated`)."""

DEFAULT_MAX_HUNKS = 10
"""Hunks :meth:`Explanation.format` shows."""
DEFAULT_MAX_PART = 40
"""Units of one part of a hunk :meth:`Explanation.format` shows."""

_UNSPACED = 2  # _core.char_class of a character of a script written without spaces


@dataclass(frozen=True)
class Hunk:
    """One change of the diff with its context, like a hunk of a unified diff.

    Attributes
    ----------
    a_start, a_stop, b_start, b_stop : int
        The units (words or characters) the hunk covers in A and in B,
        ``[start, stop)``, counted from 0.
    parts : tuple of (str, str)
        ``(op, text)`` in order: ``" "`` text in both (context, or unchanged
        text between two nearby changes), ``"-"`` text only in A, ``"+"``
        text only in B. A's covered units are the ``" "`` and ``"-"`` parts
        in order, B's the ``" "`` and ``"+"`` parts; a part's units are
        joined by one space (words) or nothing (characters).
    """

    a_start: int
    a_stop: int
    b_start: int
    b_stop: int
    parts: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Explanation:
    """What :func:`explain` found about two documents A and B.

    Attributes
    ----------
    fingerprint_a, fingerprint_b : int
    n_tokens_a, n_tokens_b : int
        Tokens the hasher read; a document of 0 tokens is never a near-duplicate.
    distance : int
        Hamming distance of the fingerprints.
    jaccard : float
        Exact Jaccard similarity of the shingle sets, as ``dedup``'s
        verification computes it (two empty sets: 1.0).
    shingles_a, shingles_b, shingles_shared : int
        Sizes of the shingle sets and of their intersection.
    shingle_units : (str, str)
        What A's and B's shingles are n-grams of: "words" or "characters".
    shingle_size : (int, int)
        Shingle sizes: words, characters.
    k : int
    verify : float or None
        The ``dedup`` parameters the pair was judged with.
    linked : bool
        ``dedup`` with ``k`` and ``verify`` links the pair: both have
        tokens, the distance is at most ``k`` and the Jaccard at least
        ``verify``. Two documents not linked may still share a cluster
        through other documents.
    reason : str
        Why they are linked, or why not.
    diff_unit : str
        "words" or "characters": what the diff compares.
    units_a, units_b : int
        Words (or characters) of each text.
    hunks : tuple of Hunk
        The changes, in order; none when the texts have the same units.
    diff_truncated : bool
        The texts were too long to align in full: past
        :data:`MAX_DIFF_UNITS` units after their common beginning, the rest
        of both is one replacement in the last hunk.
    autojunk : bool
        The diff used SequenceMatcher's ``autojunk`` heuristic (long texts).
    """

    fingerprint_a: int
    fingerprint_b: int
    n_tokens_a: int
    n_tokens_b: int
    distance: int
    jaccard: float
    shingles_a: int
    shingles_b: int
    shingles_shared: int
    shingle_units: tuple[str, str]
    shingle_size: tuple[int, int]
    k: int
    verify: float | None
    linked: bool
    reason: str
    diff_unit: str
    units_a: int
    units_b: int
    hunks: tuple[Hunk, ...]
    diff_truncated: bool
    autojunk: bool

    def format(self, name_a: str = "A", name_b: str = "B", *, max_hunks: int | None = DEFAULT_MAX_HUNKS,
               max_part: int | None = DEFAULT_MAX_PART) -> str:
        """The explanation as lines of text for a person (``simdup explain`` prints it).

        Parameters
        ----------
        name_a, name_b : str
            What to call the documents (ids or file names).
        max_hunks : int or None, default=10
            Hunks shown; the rest are counted ("N more"). None shows all.
        max_part : int or None, default=40
            Units (words or characters) shown of one part of a hunk: a longer
            part shows its first and last ``max_part // 2``, the count of
            those left out between. None shows all.
        """
        lines = [f"A: {name_a}  {self.fingerprint_a:016x}  {_tokens(self.n_tokens_a)}",
                 f"B: {name_b}  {self.fingerprint_b:016x}  {_tokens(self.n_tokens_b)}"]
        lines.append(f"Hamming distance {self.distance} ({'within' if self.distance <= self.k else 'over'} k={self.k})")
        if self.verify is None:
            check = "not checked: --no-verify"
        else:
            check = f"at --verify {self.verify}: {'passes' if self.jaccard >= self.verify else 'fails'}"
        lines.append(f"shingle Jaccard {self.jaccard:.3f} ({self._shingle_kind()}: {self.shingles_shared} shared of "
                     f"{self.shingles_a + self.shingles_b - self.shingles_shared}; {check})")
        if self.linked:
            settings = f"-k {self.k} " + ("--no-verify" if self.verify is None else f"--verify {self.verify}")
            lines.append(f"linked: `simdup dedup {settings}` links them, so they share a cluster")
        else:
            lines.append(f"not linked: {self.reason} (they may still share a cluster through other documents)")
        unit = self.diff_unit
        if not self.hunks:
            lines.append(f"no difference in their {unit} ({self.units_a} {unit}), as the hasher reads them")
            return "\n".join(lines)
        lines.append(f"difference in {unit} ({self.units_a} in A, {self.units_b} in B; "
                     f"{len(self.hunks)} change{'s' if len(self.hunks) != 1 else ''}):")
        joiner = "" if unit == "characters" else " "
        shown = self.hunks if max_hunks is None else self.hunks[:max_hunks]
        for hunk in shown:
            lines.append(f"@@ {unit} {_span(hunk.a_start, hunk.a_stop)} of A, {_span(hunk.b_start, hunk.b_stop)} "
                         "of B @@")
            for op, text in hunk.parts:
                lines.append(f"{op} {_elide(text, joiner, unit, max_part)}")
        if len(shown) < len(self.hunks):
            lines.append(f"... {len(self.hunks) - len(shown)} more (--max-hunks)")
        if self.diff_truncated:
            lines.append(f"(texts too long to align in full: past {MAX_DIFF_UNITS} {unit} after their common "
                         "beginning, the rest of both is shown as one change)")
        return "\n".join(lines)

    def _shingle_kind(self) -> str:
        words, chars = self.shingle_size
        kind = {"words": f"word {words}-grams", "characters": f"character {chars}-grams"}
        a, b = self.shingle_units
        return kind[a] if a == b else f"{kind[a]} of A, {kind[b]} of B"

    def to_dict(self) -> dict[str, Any]:
        """The explanation as JSON-ready data (fingerprints as 16-digit hex strings)."""
        out = asdict(self)
        out["fingerprint_a"] = f"{self.fingerprint_a:016x}"
        out["fingerprint_b"] = f"{self.fingerprint_b:016x}"
        out["shingle_units"] = list(self.shingle_units)
        out["shingle_size"] = list(self.shingle_size)
        out["hunks"] = [{"a_start": h.a_start, "a_stop": h.a_stop, "b_start": h.b_start, "b_stop": h.b_stop,
                         "parts": [{"op": op, "text": text} for op, text in h.parts]} for h in self.hunks]
        return out


def explain(a: object, b: object, *, hasher: SimHasher | None = None,
            shingle_size: ShingleSize = DEFAULT_SHINGLE_SIZE, k: int = DEFAULT_K,
            verify: float | None = DEFAULT_VERIFY, context: int = DEFAULT_CONTEXT) -> Explanation:
    """Explain how near-duplicate two documents are, as :func:`simdup.dedup` judges them.

    Parameters
    ----------
    a, b : str or bytes (or ``(page, content_type)`` pairs for HTML input)
        The two documents.
    hasher : SimHasher, optional
        A fitted hasher (default: the embedded model, :meth:`SimHasher.default`).
        For the distance a ``dedup`` run computed, pass the model it used
        (without a model, ``dedup`` fits one on its input).
    shingle_size, k, verify
        As for :func:`simdup.dedup`.
    context : int, default=5
        Unchanged units (words or characters) shown around each change.

    Returns
    -------
    Explanation

    Raises
    ------
    TypeError
        A document that is not str or bytes.
    ValueError
        ``k``, ``verify``, ``shingle_size`` or ``context`` out of range.
    NotFittedError
        An unfitted hasher.
    """
    k = check_k(k, MAX_K)
    check_verify(verify)
    words, chars = check_shingle_size(shingle_size)
    if isinstance(context, bool) or not isinstance(context, (int, np.integer)) or context < 0:
        raise ValueError(f"context must be an int >= 0, got {context!r}")
    hasher = SimHasher.default() if hasher is None else hasher
    fps, n_tokens = hasher.transform([a, b], return_n_tokens=True)  # type: ignore[list-item]
    fp_a, fp_b = (int(x) for x in fps)
    tokens_a, tokens_b = (int(x) for x in n_tokens)
    distance = (fp_a ^ fp_b).bit_count()

    prepare = hasher._preparer()
    texts = [prepare.text_bytes(a), prepare.text_bytes(b)]
    indptr, terms = text_shingle_sets(texts, words, chars, prepare.shingle_flags)
    jaccard = float(_core.jaccard_pairs(indptr, terms, np.array([0]), np.array([1]))[0])
    set_a, set_b = terms[indptr[0]:indptr[1]], terms[indptr[1]:indptr[2]]
    shared = len(np.intersect1d(set_a, set_b, assume_unique=True))
    decoded = [t.decode("utf-8", "replace") for t in texts]
    units = (shingle_unit(decoded[0], prepare), shingle_unit(decoded[1], prepare))

    linked, reason = _judge(distance, tokens_a, tokens_b, jaccard, k, verify)
    # Characters when either text is compared on characters: a word diff of unspaced text
    # would show a whole sentence changed for one character.
    diff_unit = "characters" if "characters" in units else "words"
    seq_a, seq_b = (_split(t, diff_unit) for t in decoded)
    hunks, truncated, autojunk = diff_units(seq_a, seq_b, context, "" if diff_unit == "characters" else " ")
    return Explanation(fp_a, fp_b, tokens_a, tokens_b, distance, jaccard, len(set_a), len(set_b), shared, units,
                       (words, chars), k, verify, linked, reason, diff_unit, len(seq_a), len(seq_b), hunks,
                       truncated, autojunk)


def _judge(distance: int, tokens_a: int, tokens_b: int, jaccard: float, k: int, verify: float | None
           ) -> tuple[bool, str]:
    """Whether ``dedup`` links the pair (its rules: :func:`simdup.batch._links`, then verification), and why."""
    if not tokens_a or not tokens_b:
        which = "A and B have" if not tokens_a and not tokens_b else ("A has" if not tokens_a else "B has")
        return False, f"{which} no tokens: a token-less document is never a near-duplicate"
    if distance > k:
        return False, f"Hamming distance {distance} > k={k}"
    if verify is None:
        return True, f"Hamming distance {distance} <= k={k}, no verification"
    if jaccard < verify:
        return False, f"shingle Jaccard {jaccard:.3f} < verify={verify}"
    return True, f"Hamming distance {distance} <= k={k} and shingle Jaccard {jaccard:.3f} >= verify={verify}"


def shingle_unit(text: str, preparer: Preparer | None = None) -> str:
    """What verification shingles ``text`` (prepared) into: "characters" or "words".

    Characters when at least 20 % of its non-space characters, folded as the
    hasher folds, belong to scripts written without spaces (the core's rule,
    :func:`simdup.batch.shingle_sets`). Each distinct character is looked at
    once, so a long text costs one count of its characters.
    """
    preparer = Preparer() if preparer is None else preparer
    lower, t2s = preparer.lowercase, preparer.fold_traditional
    unspaced = non_space = 0
    for ch, count in Counter(text).items():
        for cp in _core.fold_char(ord(ch), lower, t2s):
            if chr(cp).isspace():  # the core's white space is str.split()'s
                continue
            non_space += count
            if _core.char_class(cp) == _UNSPACED:
                unspaced += count
    return "characters" if unspaced and 5 * unspaced >= non_space else "words"


def _split(text: str, unit: str) -> list[str]:
    """The diff's units of ``text``: its words (runs of non-space characters) or its non-space characters."""
    return list("".join(text.split())) if unit == "characters" else text.split()


def diff_units(a: Sequence[str], b: Sequence[str], context: int = DEFAULT_CONTEXT, joiner: str = " ",
               max_units: int = MAX_DIFF_UNITS) -> tuple[tuple[Hunk, ...], bool, bool]:
    """The hunks turning unit sequence ``a`` into ``b``, with ``context`` units around each change.

    The work is bounded: the common beginning and end are set aside first
    (linear); of what is left, at most ``max_units`` units of each side are
    aligned by :class:`difflib.SequenceMatcher` (long ones anchored on
    bigrams first, :func:`_align`; ``autojunk`` on above
    :data:`AUTOJUNK_FROM` units), and the rest of both is one replacement.

    Returns
    -------
    (tuple of Hunk, bool, bool)
        The hunks; whether the alignment was cut at ``max_units``; whether
        ``autojunk`` was on.
    """
    n_a, n_b = len(a), len(b)
    head = 0
    for x, y in zip(a, b):
        if x != y:
            break
        head += 1
    tail = 0
    while tail < min(n_a, n_b) - head and a[n_a - 1 - tail] == b[n_b - 1 - tail]:
        tail += 1
    mid_a, mid_b = a[head:n_a - tail], b[head:n_b - tail]
    truncated = len(mid_a) > max_units or len(mid_b) > max_units
    cut_a, cut_b = mid_a[:max_units], mid_b[:max_units]
    junk: list[bool] = []  # set when a pass turns autojunk on
    ops: list[tuple[str, int, int, int, int]] = []
    if head:
        ops.append(("equal", 0, head, 0, head))
    if cut_a or cut_b:
        ops += [(tag, i1 + head, i2 + head, j1 + head, j2 + head) for tag, i1, i2, j1, j2 in _align(cut_a, cut_b, junk)]
    if truncated:
        ops.append(("replace", head + len(cut_a), n_a - tail, head + len(cut_b), n_b - tail))
    if tail:
        ops.append(("equal", n_a - tail, n_a, n_b - tail, n_b))
    hunks = tuple(_hunk(group, a, b, joiner) for group in _grouped(_merge_equal(ops), context))
    return hunks, truncated, bool(junk)


def _align(a: Sequence[str], b: Sequence[str], junk: list[bool]) -> list[tuple[str, int, int, int, int]]:
    """SequenceMatcher's opcodes of ``a`` and ``b``, found in two passes when they are long.

    One pass on units costs, per change, about the length times how often a
    unit recurs, which is seconds for long texts of a small vocabulary
    (natural language: 19,000 words with 30 scattered changes took 5 s). So
    a long pair is first matched on unit bigrams, which recur far less; the
    runs found anchor the alignment, and only the stretches between them are
    matched unit by unit.
    """
    if min(len(a), len(b)) < ANCHOR_FROM:
        return _opcodes(a, b, junk)
    blocks = _matcher(list(pairwise(a)), list(pairwise(b)), junk).get_matching_blocks()
    ops: list[tuple[str, int, int, int, int]] = []
    pa = pb = 0
    for i, j, size in blocks:
        if not size:  # the closing (len, len, 0): the gap up to the end of both
            i, j = len(a), len(b)
        else:
            # A run of `size` equal bigrams is size + 1 equal units; its first may be the last of the run before.
            skip = max(pa - i, pb - j, 0)
            i, j, size = i + skip, j + skip, size + 1 - skip
        ops += [(tag, i1 + pa, i2 + pa, j1 + pb, j2 + pb) for tag, i1, i2, j1, j2 in _opcodes(a[pa:i], b[pb:j], junk)]
        if size:
            ops.append(("equal", i, i + size, j, j + size))
        pa, pb = i + size, j + size
    return ops


def _matcher(a: Sequence[Any], b: Sequence[Any], junk: list[bool]) -> difflib.SequenceMatcher:
    """A matcher, with ``autojunk`` for long sequences (noted in ``junk``)."""
    autojunk = max(len(a), len(b)) > AUTOJUNK_FROM
    if autojunk and not junk:
        junk.append(True)
    return difflib.SequenceMatcher(None, a, b, autojunk=autojunk)


def _opcodes(a: Sequence[str], b: Sequence[str], junk: list[bool]) -> list[tuple[str, int, int, int, int]]:
    if not a and not b:
        return []
    if not a or not b:
        return [("insert" if b else "delete", 0, len(a), 0, len(b))]
    return list(_matcher(a, b, junk).get_opcodes())


def _merge_equal(ops: list[tuple[str, int, int, int, int]]) -> list[tuple[str, int, int, int, int]]:
    """``ops`` with adjacent unchanged runs joined (passes and anchors can end and start one each)."""
    merged: list[tuple[str, int, int, int, int]] = []
    for op in ops:
        if op[0] == "equal" and merged and merged[-1][0] == "equal":
            merged[-1] = ("equal", merged[-1][1], op[2], merged[-1][3], op[4])
        else:
            merged.append(op)
    return merged


def _grouped(ops: list[tuple[str, int, int, int, int]], n: int) -> list[list[tuple[str, int, int, int, int]]]:
    """The changes in ``ops`` grouped with ``n`` units of context, as :meth:`difflib.SequenceMatcher.get_grouped_opcodes`.

    (That method works on the matcher's own opcodes; these also hold the
    common beginning and end set aside before matching.)
    """
    ops = [op for op in ops if op[1] != op[2] or op[3] != op[4]]
    if not any(op[0] != "equal" for op in ops):
        return []
    if ops[0][0] == "equal":
        tag, i1, i2, j1, j2 = ops[0]
        ops[0] = tag, max(i1, i2 - n), i2, max(j1, j2 - n), j2
    if ops[-1][0] == "equal":
        tag, i1, i2, j1, j2 = ops[-1]
        ops[-1] = tag, i1, min(i2, i1 + n), j1, min(j2, j1 + n)
    groups: list[list[tuple[str, int, int, int, int]]] = []
    group: list[tuple[str, int, int, int, int]] = []
    for tag, i1, i2, j1, j2 in ops:
        # An unchanged stretch longer than twice the context ends one hunk and starts the next.
        if tag == "equal" and i2 - i1 > 2 * n:
            group.append((tag, i1, min(i2, i1 + n), j1, min(j2, j1 + n)))
            groups.append(group)
            group = []
            i1, j1 = max(i1, i2 - n), max(j1, j2 - n)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        groups.append(group)
    return [g for g in groups if any(op[0] != "equal" for op in g)]


def _hunk(group: list[tuple[str, int, int, int, int]], a: Sequence[str], b: Sequence[str], joiner: str) -> Hunk:
    parts: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in group:
        if tag == "equal":
            if i2 > i1:
                parts.append((" ", joiner.join(a[i1:i2])))
            continue
        if i2 > i1:
            parts.append(("-", joiner.join(a[i1:i2])))
        if j2 > j1:
            parts.append(("+", joiner.join(b[j1:j2])))
    return Hunk(group[0][1], group[-1][2], group[0][3], group[-1][4], tuple(parts))


def _tokens(n: int) -> str:
    return f"{n} tokens" if n else "0 tokens (token-less: never a near-duplicate)"


def _span(start: int, stop: int) -> str:
    """Units ``[start, stop)`` counted from 1, as a person reads them."""
    if stop <= start:
        return f"none (after {start})"
    return f"{start + 1}" if stop == start + 1 else f"{start + 1}-{stop}"


def _elide(text: str, joiner: str, unit: str, max_part: int | None) -> str:
    units = list(text) if not joiner else text.split(joiner)
    if max_part is None or len(units) <= max_part:
        return text
    half = max(1, max_part // 2)
    return f"{joiner.join(units[:half])}{joiner}[... {len(units) - 2 * half} {unit} ...]{joiner}" \
           f"{joiner.join(units[-half:])}"
