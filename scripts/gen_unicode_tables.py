"""Generate ``simdup/_unicode_tables.h``: simdup's character data, frozen at one Unicode version.

Fingerprint spec v2 must give identical fingerprints on every supported Python, so the
character data the tokenizer uses is generated once, from one named Unicode version, and
shipped in the source instead of being read from the running Python's ``unicodedata``.

Run (needs a Python whose ``unicodedata`` is Unicode 15.1.0, i.e. CPython 3.13, and the
``opencc`` package, pinned below)::

    python3.13 scripts/gen_unicode_tables.py           # writes simdup/_unicode_tables.h
    python3.13 scripts/gen_unicode_tables.py --check   # exit 1 if the shipped header differs

The output is deterministic. The script refuses to run on any other Unicode version. It
can be imported on any Python (the tests do, to share the definitions below); only
generation needs Unicode 15.1.0 and opencc.

Definitions (these are part of the fingerprint spec; the header repeats them)
----------------------------------------------------------------------------
All character data is Unicode 15.1.0. A code point is "assigned" when its general
category is not Cn.

fold(cp, lower) -> a sequence of 0..SD_FOLD_MAX code points
    1. If cp is a Default_Ignorable_Code_Point (DEFAULT_IGNORABLE below, copied from
       DerivedCoreProperties.txt of Unicode 15.1.0) the result is empty.
    2. If cp is a surrogate (U+D800..U+DFFF) or unassigned, the result is cp itself
       (so is it for every value >= 0x110000 passed to sd_fold).
    3. Otherwise s = NFKD(cp). With lower != 0, repeat s = NFKD(lower(s)) until s no
       longer changes, where lower(s) applies each code point's full lowercase mapping
       (UnicodeData.txt simple lowercase + SpecialCasing.txt unconditional mappings, i.e.
       Python's str.lower() of that one character; no context such as final sigma).
    4. Default-ignorable code points are removed from s (none occur in practice).
    Every result is a fixpoint: folding any code point of fold(cp, lower) with the same
    `lower` gives that code point back (the generator asserts this, and convergence).
    Folding works per code point: it does not reorder combining marks (NFKD's canonical
    ordering step across code points is not applied). Hangul syllables decompose to
    conjoining jamo (computed arithmetically in the header, per Unicode section 3.12).

class(cp) -> SD_SEP (0), SD_WORD (1) or SD_UNSPACED (2)
    SD_UNSPACED if the general category of cp starts with L, N or M and cp lies in one of
    UNSPACED_RANGES (scripts written without spaces between words); else SD_WORD if its
    general category starts with L, N or M; else SD_SEP (P*, S*, Z*, C*, unassigned, and
    every value >= 0x110000). Class is defined on the code point given; callers pass
    already-folded code points (e.g. half-width katakana fold to full-width first).

t2s(cp) -> one code point
    OpenCC's Traditional -> Simplified conversion (configuration "t2s" of the opencc
    Python package, version OPENCC_VERSION, Apache-2.0 licensed data) applied to the
    single character cp, kept only when cp lies in T2S_RANGES (the Han ranges of
    UNSPACED_RANGES) and the result is exactly one code point different from cp;
    otherwise t2s(cp) = cp. Where the result is itself mapped, the mapping is applied
    again until it no longer changes, so t2s(t2s(cp)) == t2s(cp) (opencc 1.4.2 has one
    such chain: U+85B4 -> U+82E7 -> U+82CE). Every result is Han, fold-stable and
    SD_UNSPACED (asserted by the tests).
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import unicodedata

UNICODE_VERSION = "15.1.0"
OPENCC_VERSION = "1.4.2"

HEADER_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                           "simdup", "_unicode_tables.h")

SD_SEP, SD_WORD, SD_UNSPACED = 0, 1, 2

# Default_Ignorable_Code_Point, from DerivedCoreProperties.txt of Unicode 15.1.0
# (= Other_Default_Ignorable_Code_Point + Cf + Variation_Selector - White_Space
#  - FFF9..FFFB - 13430..1343F - Prepended_Concatenation_Mark). Inclusive ranges.
DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD, "SOFT HYPHEN"),
    (0x034F, 0x034F, "COMBINING GRAPHEME JOINER"),
    (0x061C, 0x061C, "ARABIC LETTER MARK"),
    (0x115F, 0x1160, "HANGUL CHOSEONG FILLER..HANGUL JUNGSEONG FILLER"),
    (0x17B4, 0x17B5, "KHMER VOWEL INHERENT AQ..AA"),
    (0x180B, 0x180F, "MONGOLIAN FREE VARIATION SELECTORS, VOWEL SEPARATOR"),
    (0x200B, 0x200F, "ZERO WIDTH SPACE..RIGHT-TO-LEFT MARK"),
    (0x202A, 0x202E, "LEFT-TO-RIGHT EMBEDDING..RIGHT-TO-LEFT OVERRIDE"),
    (0x2060, 0x206F, "WORD JOINER..NOMINAL DIGIT SHAPES (incl. reserved U+2065)"),
    (0x3164, 0x3164, "HANGUL FILLER"),
    (0xFE00, 0xFE0F, "VARIATION SELECTOR-1..16"),
    (0xFEFF, 0xFEFF, "ZERO WIDTH NO-BREAK SPACE"),
    (0xFFA0, 0xFFA0, "HALFWIDTH HANGUL FILLER"),
    (0xFFF0, 0xFFF8, "reserved (Other_Default_Ignorable_Code_Point)"),
    (0x1BCA0, 0x1BCA3, "SHORTHAND FORMAT LETTER OVERLAP..UP STEP"),
    (0x1D173, 0x1D17A, "MUSICAL SYMBOL BEGIN BEAM..END PHRASE"),
    (0xE0000, 0xE0FFF, "tags, VARIATION SELECTOR-17..256, reserved"),
)

# Blocks (or parts) of scripts written without spaces between words. Only code points
# whose general category starts with L, N or M are SD_UNSPACED. Inclusive ranges.
HAN_RANGES = (
    (0x2E80, 0x2EFF, "CJK Radicals Supplement (So: stays SD_SEP)"),
    (0x2F00, 0x2FDF, "Kangxi Radicals (So: stays SD_SEP; NFKD maps them to ideographs)"),
    (0x3005, 0x3007, "IDEOGRAPHIC ITERATION MARK, CLOSING MARK, NUMBER ZERO"),
    (0x3021, 0x3029, "HANGZHOU NUMERAL ONE..NINE"),
    (0x302A, 0x302D, "IDEOGRAPHIC TONE MARKS (Mn)"),
    (0x3031, 0x3035, "VERTICAL KANA REPEAT MARKS"),
    (0x3038, 0x303B, "HANGZHOU NUMERAL TEN..THIRTY, VERTICAL IDEOGRAPHIC ITERATION MARK"),
    (0x303C, 0x303C, "MASU MARK"),
    (0x3400, 0x4DBF, "CJK Unified Ideographs Extension A"),
    (0x4E00, 0x9FFF, "CJK Unified Ideographs"),
    (0xF900, 0xFAFF, "CJK Compatibility Ideographs"),
    (0x20000, 0x2A6DF, "CJK Unified Ideographs Extension B"),
    (0x2A700, 0x2B73F, "Extension C"),
    (0x2B740, 0x2B81F, "Extension D"),
    (0x2B820, 0x2CEAF, "Extension E"),
    (0x2CEB0, 0x2EBEF, "Extension F"),
    (0x2EBF0, 0x2EE5F, "Extension I (new in 15.1)"),
    (0x2F800, 0x2FA1F, "CJK Compatibility Ideographs Supplement"),
    (0x30000, 0x3134F, "Extension G"),
    (0x31350, 0x323AF, "Extension H"),
)
UNSPACED_RANGES = HAN_RANGES + (
    (0x0E00, 0x0E7F, "Thai"),
    (0x0E80, 0x0EFF, "Lao"),
    (0x0F00, 0x0FFF, "Tibetan"),
    (0x1000, 0x109F, "Myanmar"),
    (0x1780, 0x17FF, "Khmer"),
    (0x19E0, 0x19FF, "Khmer Symbols (all So: stay SD_SEP)"),
    (0x3040, 0x309F, "Hiragana"),
    (0x30A0, 0x30FF, "Katakana (incl. U+30FC PROLONGED SOUND MARK)"),
    (0x3100, 0x312F, "Bopomofo"),
    (0x31A0, 0x31BF, "Bopomofo Extended"),
    (0x31F0, 0x31FF, "Katakana Phonetic Extensions"),
    (0xA9E0, 0xA9FF, "Myanmar Extended-B"),
    (0xAA60, 0xAA7F, "Myanmar Extended-A"),
    (0x1AFF0, 0x1AFFF, "Kana Extended-B"),
    (0x1B000, 0x1B16F, "Kana Supplement, Kana Extended-A, Small Kana Extension"),
    (0x1950, 0x197F, "Tai Le"),
    (0x1980, 0x19DF, "New Tai Lue"),
    (0x1A20, 0x1AAF, "Tai Tham"),
    (0x1B00, 0x1B7F, "Balinese"),
    (0xA000, 0xA4CF, "Yi Syllables, Yi Radicals (So: stay SD_SEP)"),
    (0xA980, 0xA9DF, "Javanese"),
    (0xAA80, 0xAADF, "Tai Viet"),
    (0x16FE0, 0x16FFF, "Ideographic Symbols and Punctuation (Tangut, Nushu, Khitan marks)"),
    (0x17000, 0x18AFF, "Tangut, Tangut Components"),
    (0x18B00, 0x18CFF, "Khitan Small Script"),
    (0x18D00, 0x18D7F, "Tangut Supplement"),
    (0x1B170, 0x1B2FF, "Nushu"),
)
UNSPACED_RANGES = tuple(sorted(UNSPACED_RANGES))
# t2s maps only Han code points.
T2S_RANGES = HAN_RANGES

SHIFT = 7                  # two-level tables: cp >> SHIFT picks a block of 2**SHIFT entries
HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3


def in_ranges(cp, ranges):
    return any(lo <= cp <= hi for lo, hi, _ in ranges)


def _range_set(ranges):
    out = set()
    for lo, hi, _ in ranges:
        out.update(range(lo, hi + 1))
    return frozenset(out)


IGNORABLE_SET = _range_set(DEFAULT_IGNORABLE)
UNSPACED_SET = _range_set(UNSPACED_RANGES)
T2S_SET = _range_set(T2S_RANGES)


def char_class(cp, ud=unicodedata):
    """The class rule, evaluated with the given unicodedata module."""
    if cp >= 0x110000:
        return SD_SEP
    if ud.category(chr(cp))[0] not in "LNM":
        return SD_SEP
    return SD_UNSPACED if cp in UNSPACED_SET else SD_WORD


def _lower(s):
    return "".join(ch.lower() for ch in s)


def fold(cp, lower, ud=unicodedata):
    """fold(cp, lower) as a str, evaluated with the given unicodedata module."""
    if cp in IGNORABLE_SET:
        return ""
    ch = chr(cp)
    if 0xD800 <= cp <= 0xDFFF or ud.category(ch) == "Cn":
        return ch
    s = ud.normalize("NFKD", ch)
    if lower:
        for _ in range(10):
            t = ud.normalize("NFKD", _lower(s))
            if t == s:
                break
            s = t
        else:  # pragma: no cover - asserted by the generator
            raise AssertionError(f"fold(U+{cp:04X}) does not converge")
    return "".join(c for c in s if ord(c) not in IGNORABLE_SET)


# ----------------------------------------------------------------------------------------
# Generation


def _require_versions():
    if unicodedata.unidata_version != UNICODE_VERSION:
        sys.exit(f"gen_unicode_tables: this Python's unicodedata is Unicode "
                 f"{unicodedata.unidata_version}, but the tables must be generated from "
                 f"Unicode {UNICODE_VERSION} (use CPython 3.13). Refusing to run.")
    try:
        import opencc
    except ImportError:
        sys.exit(f"gen_unicode_tables: needs the opencc package: "
                 f"pip install opencc=={OPENCC_VERSION}")
    version = getattr(opencc, "__version__", None)
    if version != OPENCC_VERSION:
        sys.exit(f"gen_unicode_tables: needs opencc=={OPENCC_VERSION}, found {version}")
    return opencc


def compute_data():
    """Per-code-point data from this Python (which must be Unicode 15.1.0) and opencc."""
    opencc = _require_versions()
    n = 0x110000
    cls = bytearray(n)
    folds = ({}, {})        # variant -> {cp: tuple of code points} where not identity
    for cp in range(n):
        cls[cp] = char_class(cp)
        for lower in (0, 1):
            f = fold(cp, lower)
            if f != chr(cp):
                folds[lower][cp] = tuple(ord(c) for c in f)
    # Idempotence: every output code point folds to itself.
    for lower in (0, 1):
        for cp, out in folds[lower].items():
            for c in out:
                assert folds[lower].get(c, (c,)) == (c,), (lower, hex(cp), hex(c))
    conv = opencc.OpenCC("t2s")
    t2s = {}
    for lo, hi, _ in T2S_RANGES:
        for cp in range(lo, hi + 1):
            r = conv.convert(chr(cp))
            if len(r) == 1 and r != chr(cp):
                t2s[cp] = ord(r)
    # Close chains so that t2s is idempotent (opencc 1.4.2 has one: U+85B4 -> U+82E7 -> U+82CE).
    for cp in list(t2s):
        seen = {cp}
        while t2s[cp] in t2s:
            assert t2s[cp] not in seen, f"t2s cycle at U+{cp:04X}"
            seen.add(t2s[cp])
            t2s[cp] = t2s[t2s[cp]]
    return cls, folds, t2s


def _dedup_two_level(values):
    """Split values (indexable 0..0x10FFFF) into deduplicated blocks of 2**SHIFT."""
    size = 1 << SHIFT
    index, blocks, seen = [], [], {}
    for b in range(0x110000 >> SHIFT):
        block = tuple(values[b * size:(b + 1) * size])
        if block not in seen:
            seen[block] = len(blocks)
            blocks.append(block)
        index.append(seen[block])
    return index, blocks


def _c_array(ctype, name, values, per_line=16, fmt="{}"):
    lines = [f"static const {ctype} {name}[{len(values)}] = {{"]
    for i in range(0, len(values), per_line):
        lines.append("  " + ",".join(fmt.format(v) for v in values[i:i + per_line]) + ",")
    lines.append("};")
    return "\n".join(lines)


def _ctype_for(maxval):
    return "uint8_t" if maxval < 256 else "uint16_t" if maxval < 65536 else "uint32_t"


def build_header(cls, folds, t2s):
    size = 1 << SHIFT
    n = 0x110000

    # class: two-level uint8
    cls_index, cls_blocks = _dedup_two_level(cls)

    # fold: records hold (fold0, fold1) words; record 0 = identity for both.
    # word: 0 = identity; else 0x80000000 | len << 21 | (len == 1 ? target : pool offset).
    pool = []
    pool_pos = {}

    def word(out):
        if out is None:
            return 0
        if len(out) == 1:
            return 0x80000000 | (1 << 21) | out[0]
        if not out:
            return 0x80000000
        if out not in pool_pos:
            pool_pos[out] = len(pool)
            pool.extend(out)
        return 0x80000000 | (len(out) << 21) | pool_pos[out]

    records = [(0, 0)]
    rec_pos = {(0, 0): 0}
    fold_rec = [0] * n
    fold_max = 0
    for cp in sorted(set(folds[0]) | set(folds[1])):
        if HANGUL_FIRST <= cp <= HANGUL_LAST:
            continue  # arithmetic decomposition in the header
        f0, f1 = folds[0].get(cp), folds[1].get(cp)
        rec = (word(f0), word(f1))
        if rec not in rec_pos:
            rec_pos[rec] = len(records)
            records.append(rec)
        fold_rec[cp] = rec_pos[rec]
    for lower in (0, 1):
        for out in folds[lower].values():
            fold_max = max(fold_max, len(out))
    assert len(pool) < (1 << 21)
    fold_index, fold_blocks = _dedup_two_level(fold_rec)

    # t2s: two-level uint16 index into a target list; 0 = identity.
    targets = [0]
    t2s_val = [0] * n
    for cp in sorted(t2s):
        t2s_val[cp] = len(targets)
        targets.append(t2s[cp])
    t2s_index, t2s_blocks = _dedup_two_level(t2s_val)

    flat = lambda blocks: [v for b in blocks for v in b]  # noqa: E731
    counts = {
        "fold0": len(folds[0]), "fold1": len(folds[1]), "fold_max": fold_max,
        "fold_records": len(records), "fold_pool": len(pool), "fold_blocks": len(fold_blocks),
        "class_blocks": len(cls_blocks), "t2s": len(t2s), "t2s_blocks": len(t2s_blocks),
        "word": sum(1 for c in cls if c == SD_WORD),
        "unspaced": sum(1 for c in cls if c == SD_UNSPACED),
    }

    def fmt_ranges(ranges):
        return "\n".join(f" *     U+{lo:04X}..U+{hi:04X}  {name}" for lo, hi, name in ranges)

    out = []
    out.append(f"""/* simdup/_unicode_tables.h -- GENERATED by scripts/gen_unicode_tables.py; do not edit.
 *
 * Character data for simdup fingerprint spec v2, frozen at Unicode {UNICODE_VERSION}
 * (generated from CPython's unicodedata {UNICODE_VERSION}) so fingerprints are identical
 * on every Python. Regenerate with a Unicode {UNICODE_VERSION} Python (CPython 3.13) and
 * opencc=={OPENCC_VERSION}:
 *     python3.13 scripts/gen_unicode_tables.py           (write)
 *     python3.13 scripts/gen_unicode_tables.py --check   (exit 1 if this file differs)
 *
 * Definitions (part of the fingerprint spec). All character data is Unicode {UNICODE_VERSION};
 * a code point is "assigned" when its general category is not Cn.
 *
 * sd_fold(cp, lower, out): fold(cp, lower), 0..SD_FOLD_MAX code points.
 *   1. A Default_Ignorable_Code_Point (DerivedCoreProperties.txt, Unicode {UNICODE_VERSION})
 *      folds to nothing. Those code points are:
{fmt_ranges(DEFAULT_IGNORABLE)}
 *   2. A surrogate (U+D800..U+DFFF) or unassigned code point folds to itself; so does
 *      every value >= 0x110000.
 *   3. Otherwise s = NFKD(cp). With lower != 0, repeat s = NFKD(lower(s)) until s no
 *      longer changes; lower(s) applies each code point's full lowercase mapping
 *      (UnicodeData.txt + unconditional SpecialCasing.txt, no final-sigma context).
 *   4. Default-ignorable code points are removed from s.
 *   Every result is a fixpoint: each code point of fold(cp, lower) folds to itself with
 *   the same `lower`. Folding is per code point: combining marks are not reordered.
 *   Hangul syllables U+AC00..U+D7A3 decompose arithmetically to conjoining jamo.
 *   Code points with a non-identity fold: {counts['fold0']} (lower == 0), {counts['fold1']} (lower != 0).
 *
 * sd_char_class(cp): SD_UNSPACED if the general category of cp starts with L, N or M
 *   and cp is in one of these ranges (scripts written without spaces between words:
 *   Han incl. radicals, iteration marks and Hangzhou numerals, kana, bopomofo, Thai,
 *   Lao, Tibetan, Myanmar, Khmer):
{fmt_ranges(UNSPACED_RANGES)}
 *   else SD_WORD if its general category starts with L, N or M; else SD_SEP (P*, S*,
 *   Z*, C*, unassigned, and every cp >= 0x110000). Callers pass folded code points.
 *   SD_WORD: {counts['word']} code points; SD_UNSPACED: {counts['unspaced']}.
 *
 * sd_t2s(cp): OpenCC's Traditional -> Simplified Chinese conversion (configuration
 *   "t2s" of the opencc Python package {OPENCC_VERSION}, https://github.com/BYVoid/OpenCC;
 *   its dictionaries are licensed Apache-2.0) applied to the single character cp,
 *   kept only when cp is in one of these Han ranges and the result is exactly one code
 *   point different from cp; otherwise cp itself. Where the result is itself mapped,
 *   the mapping is applied again until it no longer changes, so sd_t2s is idempotent
 *   (opencc {OPENCC_VERSION} has one such chain: U+85B4 -> U+82E7 -> U+82CE).
 *   {counts['t2s']} code points are mapped.
{fmt_ranges(T2S_RANGES)}
 *
 * Layout: each table is two-level: a block number for cp >> {SHIFT}, then a deduplicated
 * block of {size} entries. Pure C99; needs only <stdint.h>.
 */
#ifndef SIMDUP_UNICODE_TABLES_H
#define SIMDUP_UNICODE_TABLES_H

#include <stdint.h>

#define SD_UNICODE_VERSION "{UNICODE_VERSION}"
#define SD_OPENCC_VERSION "{OPENCC_VERSION}"
#define SD_FOLD_MAX {fold_max}
#define SD_T2S_COUNT {counts['t2s']}

enum {{ SD_SEP = 0, SD_WORD = 1, SD_UNSPACED = 2 }};
""")
    out.append(_c_array(_ctype_for(len(cls_blocks)), "sd_class_index", cls_index))
    out.append(_c_array("uint8_t", "sd_class_blocks", flat(cls_blocks), per_line=32))
    out.append(_c_array(_ctype_for(len(fold_blocks)), "sd_fold_index", fold_index))
    out.append(_c_array(_ctype_for(len(records)), "sd_fold_blocks", flat(fold_blocks)))
    out.append(_c_array("uint32_t", "sd_fold_records", [w for r in records for w in r],
                        per_line=8, fmt="0x{:08X}u"))
    out.append(_c_array("uint32_t", "sd_fold_pool", pool, per_line=12, fmt="0x{:X}"))
    out.append(_c_array(_ctype_for(len(t2s_blocks)), "sd_t2s_index", t2s_index))
    out.append(_c_array(_ctype_for(len(targets)), "sd_t2s_blocks", flat(t2s_blocks)))
    out.append(_c_array("uint32_t", "sd_t2s_targets", targets, per_line=12, fmt="0x{:X}"))
    out.append(f"""
/* Class of a code point (callers pass already-folded code points). cp >= 0x110000 -> SD_SEP. */
static inline int sd_char_class(uint32_t cp)
{{
    if (cp >= 0x110000u) return SD_SEP;
    return sd_class_blocks[((uint32_t)sd_class_index[cp >> {SHIFT}] << {SHIFT}) | (cp & {size - 1}u)];
}}

/* Fold one code point: writes 0..SD_FOLD_MAX code points to out[] and returns how many.
   lower != 0: the case-folding variant; lower == 0: compatibility fold only. */
static inline int sd_fold(uint32_t cp, int lower, uint32_t out[SD_FOLD_MAX])
{{
    uint32_t w, n, i, payload;
    if (cp >= 0x110000u) {{ out[0] = cp; return 1; }}
    if (cp - 0x{HANGUL_FIRST:X}u <= 0x{HANGUL_LAST - HANGUL_FIRST:X}u) {{
        /* Hangul syllable: L V [T] conjoining jamo (Unicode 3.12). */
        uint32_t s = cp - 0x{HANGUL_FIRST:X}u, t = s % 28u;
        out[0] = 0x1100u + s / 588u;
        out[1] = 0x1161u + (s % 588u) / 28u;
        if (t == 0) return 2;
        out[2] = 0x11A7u + t;
        return 3;
    }}
    w = sd_fold_records[2u * sd_fold_blocks[((uint32_t)sd_fold_index[cp >> {SHIFT}] << {SHIFT})
                                            | (cp & {size - 1}u)] + (lower != 0)];
    if (w == 0) {{ out[0] = cp; return 1; }}
    n = (w >> 21) & 0x3FFu;
    payload = w & 0x1FFFFFu;
    if (n == 1) {{ out[0] = payload; return 1; }}
    for (i = 0; i < n; i++) out[i] = sd_fold_pool[payload + i];
    return (int)n;
}}

/* Traditional -> Simplified Chinese, one code point to one (identity when unmapped). */
static inline uint32_t sd_t2s(uint32_t cp)
{{
    uint32_t k;
    if (cp >= 0x110000u) return cp;
    k = sd_t2s_blocks[((uint32_t)sd_t2s_index[cp >> {SHIFT}] << {SHIFT}) | (cp & {size - 1}u)];
    return k ? sd_t2s_targets[k] : cp;
}}

#endif /* SIMDUP_UNICODE_TABLES_H */
""")
    return "\n".join(out), counts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="regenerate in memory; exit 1 if the shipped header differs")
    ap.add_argument("--output", default=HEADER_PATH, help="header path (default: %(default)s)")
    args = ap.parse_args(argv)
    cls, folds, t2s = compute_data()
    text, counts = build_header(cls, folds, t2s)
    path = os.path.normpath(args.output)
    if args.check:
        try:
            with open(path, encoding="utf-8") as f:
                old = f.read()
        except FileNotFoundError:
            old = ""
        if old != text:
            diff = difflib.unified_diff(old.splitlines(), text.splitlines(), "shipped",
                                        "regenerated", lineterm="", n=1)
            for i, line in enumerate(diff):
                if i >= 40:
                    print("...")
                    break
                print(line)
            print(f"gen_unicode_tables: {path} is out of date", file=sys.stderr)
            return 1
        print(f"gen_unicode_tables: {path} is up to date")
        return 0
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(f"wrote {path} ({len(text.encode())} bytes): {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
