"""simdup/_unicode_tables.h: the generated Unicode 15.1 tables of fingerprint spec v2.

The header is C, so the tests compile tests/c/dump_unicode_tables.c against it with gcc
(skipped when gcc is absent), dump every entry for all 0x110000 code points, and check
them against the definitions in scripts/gen_unicode_tables.py evaluated with the running
Python's unicodedata. That is exact for every code point the running Python assigns:
between Unicode 13.0 (Python 3.10) and 15.1 (Python 3.13) no assigned code point changed
its NFKD decomposition or lowercase mapping, and the one category change (U+1734 Mn ->
Mc) does not change its class. On a Unicode 15.1 Python every code point is checked, and
with opencc installed the header is regenerated and compared byte for byte.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
HEADER = ROOT / "simdup" / "_unicode_tables.h"
GENERATOR = ROOT / "scripts" / "gen_unicode_tables.py"
DUMPER = ROOT / "tests" / "c" / "dump_unicode_tables.c"
N = 0x110000


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_unicode_tables", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()

RUNNING_UNICODE = tuple(int(x) for x in unicodedata.unidata_version.split("."))
TABLE_UNICODE = tuple(int(x) for x in gen.UNICODE_VERSION.split("."))
IS_TABLE_VERSION = RUNNING_UNICODE == TABLE_UNICODE
newer_unicode = pytest.mark.skipif(
    RUNNING_UNICODE > TABLE_UNICODE,
    reason=f"running Python's Unicode {unicodedata.unidata_version} is newer than the "
           f"tables' {gen.UNICODE_VERSION}: its data is not a reference for them",
)


class Dump:
    def __init__(self, data: bytes):
        pos = 0

        def take(dtype, count):
            nonlocal pos
            arr = np.frombuffer(data, dtype=dtype, count=count, offset=pos)
            pos += arr.nbytes
            return arr

        self.cls = take(np.uint8, N)
        self.t2s = take(np.uint32, N)
        self.length = [take(np.uint8, N), take(np.uint8, N)]
        self.out = [take(np.uint32, int(self.length[v].sum(dtype=np.int64))) for v in (0, 1)]
        self.offset = [np.concatenate(([0], np.cumsum(self.length[v], dtype=np.int64)))
                       for v in (0, 1)]
        self.extra = take(np.uint32, 12).reshape(3, 4)
        assert pos == len(data)

    def fold(self, cp: int, lower: int) -> str:
        lo, hi = self.offset[lower][cp], self.offset[lower][cp + 1]
        return "".join(chr(c) for c in self.out[lower][lo:hi])

    def identity(self, lower: int) -> np.ndarray:
        """Mask of the code points that fold to themselves."""
        n, out, off = self.length[lower], self.out[lower], self.offset[lower]
        first = out[np.minimum(off[:-1], len(out) - 1)]
        return (n == 1) & (first == np.arange(N, dtype=np.uint32))


@pytest.fixture(scope="module")
def dump(tmp_path_factory) -> Dump:
    cc = os.environ.get("CC", "gcc")
    if shutil.which(cc) is None:
        pytest.skip(f"no C compiler ({cc}) to compile {HEADER.name} with")
    tmp = tmp_path_factory.mktemp("unicode_tables")
    exe = tmp / "dump_unicode_tables"
    # Strict C99: the header must compile warning-free wherever the core is built.
    subprocess.run([cc, "-std=c99", "-O1", "-Wall", "-Wextra", "-pedantic", "-Werror",
                    "-I", str(HEADER.parent), str(DUMPER), "-o", str(exe)],
                   check=True, capture_output=True, text=True)
    out = tmp / "dump.bin"
    run = subprocess.run([str(exe), str(out)], check=True, capture_output=True, text=True)
    assert run.stdout.strip() == gen.UNICODE_VERSION
    return Dump(out.read_bytes())


@pytest.fixture(scope="module")
def categories() -> list[str]:
    category = unicodedata.category
    return [category(chr(cp)) for cp in range(N)]


def _ignorable_mask() -> np.ndarray:
    mask = np.zeros(N, dtype=bool)
    for lo, hi, _ in gen.DEFAULT_IGNORABLE:
        mask[lo:hi + 1] = True
    return mask


def _define(name: str) -> str:
    m = re.search(rf"^#define {name} (.+)$", HEADER.read_text(encoding="utf-8"), re.M)
    assert m, name
    return m.group(1).strip()


# ---------------------------------------------------------------------------------------
# The header itself


def test_header_is_self_contained_and_small():
    text = HEADER.read_text(encoding="utf-8")
    assert re.findall(r"^[ \t]*#[ \t]*include.*$", text, re.M) == ["#include <stdint.h>"]
    assert _define("SD_UNICODE_VERSION") == f'"{gen.UNICODE_VERSION}"'
    assert HEADER.stat().st_size < 1_500_000
    for decl in ("static inline int sd_char_class(uint32_t cp)",
                 "static inline int sd_fold(uint32_t cp, int lower, uint32_t out[SD_FOLD_MAX])",
                 "static inline uint32_t sd_t2s(uint32_t cp)",
                 "enum { SD_SEP = 0, SD_WORD = 1, SD_UNSPACED = 2 };"):
        assert decl in text


def test_generator_refuses_other_unicode_versions():
    if IS_TABLE_VERSION:
        pytest.skip("the running Python has the tables' Unicode version")
    with pytest.raises(SystemExit, match="Refusing to run"):
        gen.main(["--check"])


def _generation_python() -> str | None:
    """An interpreter that can regenerate the header: this one, or $SIMDUP_UNICODE_PYTHON."""
    if IS_TABLE_VERSION and importlib.util.find_spec("opencc") is not None:
        return sys.executable
    return os.environ.get("SIMDUP_UNICODE_PYTHON")


def test_shipped_header_is_what_the_generator_writes():
    python = _generation_python()
    if python is None:
        pytest.skip(f"needs a Unicode {gen.UNICODE_VERSION} Python with opencc=="
                    f"{gen.OPENCC_VERSION} (this one, or $SIMDUP_UNICODE_PYTHON)")
    run = subprocess.run([python, str(GENERATOR), "--check"], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


# ---------------------------------------------------------------------------------------
# class


def test_class_beyond_unicode_is_sep(dump):
    assert list(dump.extra[:, 0]) == [gen.SD_SEP] * 3
    assert set(np.unique(dump.cls)) <= {gen.SD_SEP, gen.SD_WORD, gen.SD_UNSPACED}


@newer_unicode
def test_class_matches_rule(dump, categories):
    expected = np.zeros(N, dtype=np.uint8)
    assigned = np.zeros(N, dtype=bool)
    unspaced = gen.UNSPACED_SET
    for cp, cat in enumerate(categories):
        if cat != "Cn":
            assigned[cp] = True
            if cat[0] in "LNM":
                expected[cp] = gen.SD_UNSPACED if cp in unspaced else gen.SD_WORD
    if IS_TABLE_VERSION:
        assigned[:] = True  # unassigned code points must be SD_SEP too
    bad = np.flatnonzero(assigned & (dump.cls != expected))
    assert not bad.size, [f"U+{cp:04X}: {dump.cls[cp]} != {expected[cp]}" for cp in bad[:20]]
    # Code points new since the running Python's Unicode can only be what the rule allows.
    new_unspaced = np.flatnonzero(~assigned & (dump.cls == gen.SD_UNSPACED))
    assert all(int(cp) in unspaced for cp in new_unspaced)


def test_class_examples(dump):
    c = dump.cls
    assert c[ord("a")] == c[ord("Z")] == c[ord("7")] == c[ord("é")] == gen.SD_WORD
    assert c[0x0301] == gen.SD_WORD                          # combining acute (Mn)
    for ch in " \t\n.,-_'\"!?()[]\u3000\u3001\u3002\uff0c\u00a0":
        assert c[ord(ch)] == gen.SD_SEP, repr(ch)
    for ch in "中國们あアーカ々〇ㄅกລབမក\u3099":
        assert c[ord(ch)] == gen.SD_UNSPACED, repr(ch)
    assert c[0x20000] == c[0x2EBF0] == c[0x31350] == gen.SD_UNSPACED  # Ext B, I, H
    assert c[0x11F00] == gen.SD_WORD      # KAWI SIGN CANDRABINDU: Mn since Unicode 15.0
    assert c[0xD800] == c[0xE000] == c[0xFFFF] == c[0x10FFFF] == gen.SD_SEP
    assert c[0x2F00] == gen.SD_SEP        # Kangxi radical: So (folds to U+4E00 first)


# ---------------------------------------------------------------------------------------
# fold


@newer_unicode
@pytest.mark.parametrize("lower", [0, 1])
def test_fold_matches_definition(dump, categories, lower):
    identity = dump.identity(lower)
    ignorable = _ignorable_mask()
    assert not dump.length[lower][ignorable].any(), "default-ignorables fold to nothing"
    bad = []
    for cp, cat in enumerate(categories):
        if ignorable[cp] or cat in ("Co", "Cs"):
            if cat in ("Co", "Cs") and not identity[cp]:
                bad.append(cp)
            continue
        if cat == "Cn" and not IS_TABLE_VERSION:
            continue  # may be assigned in the tables' Unicode version
        ch = chr(cp)
        if identity[cp]:
            # Fast path: fold(cp) == cp exactly when NFKD and lower leave it alone.
            if (unicodedata.is_normalized("NFKD", ch) and (not lower or ch.lower() == ch)):
                continue
        if dump.fold(cp, lower) != gen.fold(cp, lower):
            bad.append(cp)
    assert not bad, [f"U+{cp:04X}: {dump.fold(cp, lower)!r} != {gen.fold(cp, lower)!r}"
                     for cp in bad[:20]]


@pytest.mark.parametrize("lower", [0, 1])
def test_fold_is_idempotent(dump, lower):
    out = dump.out[lower]
    assert (out < N).all()
    identity = dump.identity(lower)
    not_fixed = np.unique(out[~identity[out]])
    assert not not_fixed.size, [f"U+{cp:04X}" for cp in not_fixed[:20]]


def test_fold_max_is_reached(dump):
    fold_max = int(_define("SD_FOLD_MAX"))
    assert fold_max == max(int(dump.length[0].max()), int(dump.length[1].max())) == 18
    assert len(dump.fold(0xFDFA, 0)) == 18


def test_fold_beyond_unicode_is_identity(dump):
    for cp, (_, t2s, n, first) in zip((0x110000, 0x7FFFFFFF, 0xFFFFFFFF), dump.extra):
        assert (t2s, n, first) == (cp, 1, cp)


def test_fold_ascii(dump):
    for cp in range(128):
        ch = chr(cp)
        assert dump.fold(cp, 0) == ch
        assert dump.fold(cp, 1) == (ch.lower() if "A" <= ch <= "Z" else ch)


def test_fold_examples(dump):
    def fold(s, lower=1):
        return "".join(dump.fold(ord(ch), lower) for ch in s)

    assert fold("Ａ") == "a" and fold("Ａ", 0) == "A"               # full-width
    assert fold("ﬁ") == "fi" and fold("ＡＢＣ１２３") == "abc123"
    assert fold("é") == fold("e\u0301") == "e\u0301"                # precomposed or not
    assert fold("É") == "e\u0301" and fold("É", 0) == "E\u0301"
    assert fold("\u3000") == " " and dump.cls[ord(" ")] == gen.SD_SEP
    assert fold("\u00a0") == " "
    assert fold("①²") == "12" and fold("⑴") == "(1)" and fold("\u00a8") == " \u0308"
    assert fold("ｶﾞｰ") == "カ\u3099ー"                               # half-width katakana
    assert all(dump.cls[ord(c)] == gen.SD_UNSPACED for c in fold("ｶﾞｰ"))
    assert fold("한") == "\u1112\u1161\u11ab" and fold("하") == "\u1112\u1161"
    assert fold("\u0130") == "i\u0307" and fold("\u0130", 0) == "I\u0307"
    assert fold("ẞ") == "ß" and fold("Σ") == "σ" and fold("ς") == "ς"
    assert fold("ＫＥ\u00adＹ\u200b\ufeff") == "key"                  # ignorables dropped
    assert fold("\u2F00") == "一" and fold("\uF900") == "豈"          # radical, compat ideograph
    assert fold("\U0001D400") == "a" and fold("㎏") == "kg"
    assert fold("\ud800", 0) == "\ud800" and fold("\U000E0041") == ""


# ---------------------------------------------------------------------------------------
# t2s


def test_t2s_pairs(dump):
    t = dump.t2s
    for trad, simp in zip("們國發髮後學愛體書龍麼臺灣鬱", "们国发发后学爱体书龙么台湾郁"):
        assert chr(t[ord(trad)]) == simp, trad
    for ch in "们国发后学爱体书龙么台湾郁中文字一":
        assert t[ord(ch)] == ord(ch), ch
    assert (t[:0x2E80] == np.arange(0x2E80)).all()          # ASCII ... Hangul untouched
    assert chr(t[0x85B4]) == "苎"                           # 薴 -> 苧 -> 苎, chain closed


def test_t2s_shape(dump):
    t = dump.t2s
    cps = np.arange(N, dtype=np.uint32)
    mapped = np.flatnonzero(t != cps)
    assert mapped.size == int(_define("SD_T2S_COUNT")) > 4000
    assert all(int(cp) in gen.T2S_SET for cp in mapped)
    targets = t[mapped]
    assert (t[targets] == targets).all(), "t2s is idempotent"
    assert (dump.cls[targets] == gen.SD_UNSPACED).all()
    assert dump.identity(0)[targets].all() and dump.identity(1)[targets].all()
