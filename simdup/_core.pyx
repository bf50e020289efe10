# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False
"""Typed kernels of simdup; the Python modules around them validate input.

Everything here works on UTF-8 ``bytes`` and ``uint64`` buffers and runs its
loops with the GIL released. The fingerprint spec these kernels implement is
written out in ``simdup/hasher.py`` and mirrored by ``tests/reference.py``.
"""

from libc.math cimport floor, log
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcpy
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.unicode cimport (
    PyUnicode_1BYTE_KIND, PyUnicode_2BYTE_KIND, PyUnicode_DATA, PyUnicode_GET_LENGTH, PyUnicode_KIND,
)

import threading
import unicodedata

import numpy as np

cdef extern from *:
    """
    #include <string.h>
    #include <stdint.h>
    /* XXH64 and the n-gram hashes read and write little-endian words. */
    static inline uint64_t sd_read64(const uint8_t* p) {
        uint64_t v; memcpy(&v, p, 8);
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        v = __builtin_bswap64(v);
    #endif
        return v;
    }
    static inline uint32_t sd_read32(const uint8_t* p) {
        uint32_t v; memcpy(&v, p, 4);
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        v = __builtin_bswap32(v);
    #endif
        return v;
    }
    #if defined(__GNUC__)
    #define sd_prefetch(p) __builtin_prefetch(p)
    #else
    #define sd_prefetch(p) ((void)0)
    #endif
    static inline void sd_write64(uint8_t* p, uint64_t v) {
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        v = __builtin_bswap64(v);
    #endif
        memcpy(p, &v, 8);
    }
    """
    uint64_t sd_read64(const uint8_t* p) nogil
    uint32_t sd_read32(const uint8_t* p) nogil
    void sd_write64(uint8_t* p, uint64_t v) nogil
    void sd_prefetch(const void* p) nogil

cdef extern from "Python.h":
    # A macro over the str's own buffer: safe without the GIL while we hold a reference.
    Py_UCS4 _read_cp "PyUnicode_READ"(int kind, const void* data, Py_ssize_t index) nogil
    bint PyUnicode_IS_ASCII(object text)
    bint Py_UNICODE_ISSPACE(Py_UCS4 ch) nogil


# --------------------------------------------------------------------------
# XXH64 (the reference is the ``xxhash`` package; tests check bit equality)
# --------------------------------------------------------------------------

cdef enum:
    MAX_NGRAM = 16
    TF_RAW = 0
    TF_SUBLINEAR = 1
    TF_BINARY = 2

cdef uint64_t P1 = 0x9E3779B185EBCA87ULL
cdef uint64_t P2 = 0xC2B2AE3D27D4EB4FULL
cdef uint64_t P3 = 0x165667B19E3779F9ULL
cdef uint64_t P4 = 0x85EBCA77C2B2AE63ULL
cdef uint64_t P5 = 0x27D4EB2F165667C5ULL


cdef inline uint64_t _rotl(uint64_t x, int r) noexcept nogil:
    return (x << r) | (x >> (64 - r))


cdef inline uint64_t _round(uint64_t acc, uint64_t lane) noexcept nogil:
    acc += lane * P2
    acc = _rotl(acc, 31)
    return acc * P1


cdef inline uint64_t _merge(uint64_t acc, uint64_t v) noexcept nogil:
    acc ^= _round(0, v)
    return acc * P1 + P4


cdef uint64_t _xxh64(const uint8_t* p, size_t n, uint64_t seed) noexcept nogil:
    cdef const uint8_t* end = p + n
    cdef uint64_t h, v1, v2, v3, v4
    if n >= 32:
        v1 = seed + P1 + P2
        v2 = seed + P2
        v3 = seed
        v4 = seed - P1
        while p + 32 <= end:
            v1 = _round(v1, sd_read64(p))
            v2 = _round(v2, sd_read64(p + 8))
            v3 = _round(v3, sd_read64(p + 16))
            v4 = _round(v4, sd_read64(p + 24))
            p += 32
        h = _rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)
        h = _merge(h, v1)
        h = _merge(h, v2)
        h = _merge(h, v3)
        h = _merge(h, v4)
    else:
        h = seed + P5
    h += <uint64_t>n
    while p + 8 <= end:
        h ^= _round(0, sd_read64(p))
        h = _rotl(h, 27) * P1 + P4
        p += 8
    if p + 4 <= end:
        h ^= <uint64_t>sd_read32(p) * P1
        h = _rotl(h, 23) * P2 + P3
        p += 4
    while p < end:
        h ^= <uint64_t>p[0] * P5
        h = _rotl(h, 11) * P1
        p += 1
    h ^= h >> 33
    h *= P2
    h ^= h >> 29
    h *= P3
    h ^= h >> 32
    return h


def xxh64(const uint8_t[::1] data not None, uint64_t seed=0):
    """XXH64 of a bytes-like object (bit-identical to ``xxhash.xxh64_intdigest``)."""
    cdef uint64_t h
    cdef const uint8_t* p = &data[0] if data.shape[0] else <const uint8_t*>""
    with nogil:
        h = _xxh64(p, <size_t>data.shape[0], seed)
    return h


# --------------------------------------------------------------------------
# Word characters: Unicode categories L* (letters), N* (numbers), M* (marks)
# --------------------------------------------------------------------------

# One bit a code point; built once, lazily, from this Python's unicodedata.
cdef const uint8_t* WORD_BITS = NULL
cdef uint8_t ASCII_WORD[128]
_word_bits_ref = None
_word_bits_lock = threading.Lock()


def _word_char_bitmap():
    """Bitmap of the code points whose Unicode category starts with L, N or M."""
    bits = bytearray(0x110000 // 8)
    category = unicodedata.category
    # Planes 4-13 hold no letters, numbers or marks; skipping them keeps this fast.
    for lo, hi in ((0, 0x40000), (0xE0000, 0xE1000)):
        for cp in range(lo, hi):
            if category(chr(cp))[0] in "LNM":
                bits[cp >> 3] |= 1 << (cp & 7)
    return bytes(bits)


cdef void _ensure_word_bits() except *:
    global WORD_BITS, _word_bits_ref
    if WORD_BITS != NULL:
        return
    with _word_bits_lock:
        if WORD_BITS != NULL:
            return
        table = _word_char_bitmap()
        for c in range(128):
            ASCII_WORD[c] = (table[c >> 3] >> (c & 7)) & 1
        _word_bits_ref = table  # keeps the buffer alive for the process
        WORD_BITS = <const uint8_t*>PyBytes_AS_STRING(table)


def is_word_char(str ch not None):
    """True where the tokenizer counts ``ch`` (one character) as part of a word."""
    _ensure_word_bits()
    if len(ch) != 1:
        raise ValueError("expected a single character")
    cdef uint32_t cp = ord(ch)
    return bool((WORD_BITS[cp >> 3] >> (cp & 7)) & 1)


cdef inline Py_ssize_t _decode_utf8(const uint8_t* s, Py_ssize_t i, Py_ssize_t n,
                                   uint32_t* cp) noexcept nogil:
    """Decode one code point at s[i]; return its length. Invalid bytes give U+FFFD, length 1."""
    cdef uint8_t c = s[i]
    cdef uint32_t v
    if c < 0xC2:
        cp[0] = 0xFFFD
        return 1
    if c < 0xE0:
        if i + 1 < n and (s[i + 1] & 0xC0) == 0x80:
            cp[0] = ((c & 0x1F) << 6) | (s[i + 1] & 0x3F)
            return 2
    elif c < 0xF0:
        if i + 2 < n and (s[i + 1] & 0xC0) == 0x80 and (s[i + 2] & 0xC0) == 0x80:
            v = ((c & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F)
            if v >= 0x800:
                cp[0] = v
                return 3
    elif c < 0xF5:
        if (i + 3 < n and (s[i + 1] & 0xC0) == 0x80 and (s[i + 2] & 0xC0) == 0x80
                and (s[i + 3] & 0xC0) == 0x80):
            v = (((c & 0x07) << 18) | ((s[i + 1] & 0x3F) << 12)
                 | ((s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F))
            if 0x10000 <= v < 0x110000:
                cp[0] = v
                return 4
    cp[0] = 0xFFFD
    return 1


cdef inline bint _is_han(uint32_t cp) noexcept nogil:
    return ((0x3400 <= cp <= 0x4DBF) or (0x4E00 <= cp <= 0x9FFF) or (0xF900 <= cp <= 0xFAFF)
            or (0x20000 <= cp <= 0x323AF))


def han_count(str text not None):
    """``(han, visible)``: Han ideographs, and characters that are not whitespace, in ``text``."""
    cdef int kind = PyUnicode_KIND(text)
    cdef const void* data = PyUnicode_DATA(text)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), i
    cdef uint32_t cp
    cdef int64_t han = 0, visible = 0
    with nogil:
        for i in range(n):
            cp = _read_cp(kind, data, i)
            visible += not Py_UNICODE_ISSPACE(cp)
            han += _is_han(cp)
    return han, visible


cdef inline Py_ssize_t _put_utf8(uint8_t* out, uint32_t cp) noexcept nogil:
    # Surrogates are written as 3 bytes, as Python's "surrogatepass" does.
    if cp < 0x80:
        out[0] = <uint8_t>cp
        return 1
    if cp < 0x800:
        out[0] = <uint8_t>(0xC0 | (cp >> 6))
        out[1] = <uint8_t>(0x80 | (cp & 0x3F))
        return 2
    if cp < 0x10000:
        out[0] = <uint8_t>(0xE0 | (cp >> 12))
        out[1] = <uint8_t>(0x80 | ((cp >> 6) & 0x3F))
        out[2] = <uint8_t>(0x80 | (cp & 0x3F))
        return 3
    out[0] = <uint8_t>(0xF0 | (cp >> 18))
    out[1] = <uint8_t>(0x80 | ((cp >> 12) & 0x3F))
    out[2] = <uint8_t>(0x80 | ((cp >> 6) & 0x3F))
    out[3] = <uint8_t>(0x80 | (cp & 0x3F))
    return 4


cdef Py_ssize_t _put_str(uint8_t* out, str text) noexcept:
    """UTF-8 of ``text`` into ``out`` (room for 4 bytes a character); returns the length."""
    cdef int kind = PyUnicode_KIND(text)
    cdef const void* data = PyUnicode_DATA(text)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), i, pos = 0
    cdef const uint8_t* d1
    cdef const uint16_t* d2
    cdef const uint32_t* d4
    # One loop per storage width: Chinese segments are mostly 2-byte kind.
    if kind == PyUnicode_1BYTE_KIND:
        d1 = <const uint8_t*>data
        if PyUnicode_IS_ASCII(text):
            memcpy(out, d1, n)
            return n
        for i in range(n):
            pos += _put_utf8(out + pos, d1[i])
    elif kind == PyUnicode_2BYTE_KIND:
        d2 = <const uint16_t*>data
        for i in range(n):
            pos += _put_utf8(out + pos, d2[i])
    else:
        d4 = <const uint32_t*>data
        for i in range(n):
            pos += _put_utf8(out + pos, d4[i])
    return pos


def join_segments(list segments not None):
    """``" ".join(segments).encode("utf-8", "surrogatepass")`` without the temporaries."""
    cdef Py_ssize_t n_seg = len(segments), i, size = 0, pos = 0
    cdef object seg
    for i in range(n_seg):
        seg = segments[i]
        if type(seg) is not str:
            raise TypeError(f"segment {i}: expected str, got {type(seg).__name__}")
        size += 4 * PyUnicode_GET_LENGTH(seg) + 1
    cdef uint8_t* buf = <uint8_t*>malloc(size + 1)
    if buf == NULL:
        raise MemoryError()
    try:
        for i in range(n_seg):
            if i:
                buf[pos] = 0x20
                pos += 1
            pos += _put_str(buf + pos, <str>segments[i])
        return PyBytes_FromStringAndSize(<char*>buf, pos)
    finally:
        free(buf)


# --------------------------------------------------------------------------
# Term weight table: token hash -> quantised IDF (open addressing)
# --------------------------------------------------------------------------

cdef inline uint64_t _slot(uint64_t h) noexcept nogil:
    # Token hashes are already well mixed; fold the high half in for user-made keys.
    return h ^ (h >> 32)


cdef struct WeightSlot:
    uint64_t key
    uint32_t weight  # 0 marks an empty slot


cdef class TermWeights:
    """Immutable map from 64-bit token hash to a quantised weight (IDF x 2**16).

    Parameters
    ----------
    terms : uint64 buffer
        Token hashes, unique.
    weights : uint32 buffer
        Weight of each term, at least 1.
    default_weight : int
        Weight of a term not in the table (at least 1).
    """

    cdef WeightSlot* slots  # key and weight side by side: one cache line a probe
    cdef uint64_t mask
    cdef readonly uint32_t default_weight
    cdef readonly Py_ssize_t size
    cdef object _source  # (terms, weights) as given, for pickling

    def __cinit__(self, const uint64_t[::1] terms not None,
                  const uint32_t[::1] weights not None, uint32_t default_weight):
        cdef Py_ssize_t n = terms.shape[0], i
        cdef uint64_t cap = 16, j
        if weights.shape[0] != n:
            raise ValueError("terms and weights differ in length")
        if default_weight < 1:
            raise ValueError("default_weight must be at least 1")
        self._source = (np.array(terms, dtype=np.uint64), np.array(weights, dtype=np.uint32))
        while 3 * cap < <uint64_t>(4 * n):  # load factor at most 3/4
            cap <<= 1
        self.slots = <WeightSlot*>calloc(cap, sizeof(WeightSlot))
        if self.slots == NULL:
            raise MemoryError()
        self.mask = cap - 1
        self.default_weight = default_weight
        with nogil:
            for i in range(n):
                if weights[i] < 1:
                    with gil:
                        raise ValueError("weights must be at least 1")
                j = _slot(terms[i]) & self.mask
                while self.slots[j].weight != 0 and self.slots[j].key != terms[i]:
                    j = (j + 1) & self.mask
                if self.slots[j].weight == 0:
                    self.size += 1
                self.slots[j].key = terms[i]
                self.slots[j].weight = weights[i]

    def __dealloc__(self):
        free(self.slots)

    def __reduce__(self):
        return TermWeights, (*self._source, self.default_weight)

    def __len__(self):
        return self.size

    def get(self, uint64_t term):
        """Weight of ``term`` (the default weight when absent)."""
        return self._get(term)

    cdef inline void _prefetch(self, uint64_t h) noexcept nogil:
        sd_prefetch(&self.slots[_slot(h) & self.mask])

    cdef inline uint32_t _get(self, uint64_t h) noexcept nogil:
        cdef uint64_t j = _slot(h) & self.mask
        while self.slots[j].weight != 0:
            if self.slots[j].key == h:
                return self.slots[j].weight
            j = (j + 1) & self.mask
        return self.default_weight


# --------------------------------------------------------------------------
# Per-document scratch: token counts and the n-gram window
# --------------------------------------------------------------------------

cdef struct Scratch:
    uint64_t* keys
    uint32_t* counts          # 0 marks an empty slot
    uint64_t* order           # slots in first-seen order, for iteration and reset
    uint64_t cap
    uint64_t used
    uint64_t window[MAX_NGRAM]  # last word hashes, a ring
    uint64_t n_words
    int lo
    int hi
    int failed                 # out of memory


cdef int _scratch_alloc(Scratch* s, uint64_t cap) noexcept nogil:
    s.keys = <uint64_t*>malloc(cap * sizeof(uint64_t))
    s.counts = <uint32_t*>calloc(cap, sizeof(uint32_t))
    s.order = <uint64_t*>malloc((cap // 2 + 1) * sizeof(uint64_t))
    s.cap = cap
    s.used = 0
    if s.keys == NULL or s.counts == NULL or s.order == NULL:
        s.failed = 1
        return -1
    return 0


cdef int _scratch_init(Scratch* s, int lo, int hi) except -1:
    """Validate the n-gram range and allocate a scratch table (MemoryError on failure)."""
    _check_ngram(lo, hi)
    _ensure_word_bits()
    s.failed = 0
    s.lo = lo
    s.hi = hi
    s.n_words = 0
    if _scratch_alloc(s, 1024) != 0:
        _scratch_free(s)
        raise MemoryError()
    return 0


cdef void _scratch_free(Scratch* s) noexcept nogil:
    free(s.keys)
    free(s.counts)
    free(s.order)
    s.keys = NULL
    s.counts = NULL
    s.order = NULL


cdef void _scratch_reset(Scratch* s) noexcept nogil:
    cdef uint64_t k
    for k in range(s.used):
        s.counts[s.order[k]] = 0
    s.used = 0
    s.n_words = 0


cdef int _scratch_grow(Scratch* s) noexcept nogil:
    cdef Scratch bigger
    cdef uint64_t k, j, old
    bigger.failed = 0
    if _scratch_alloc(&bigger, s.cap * 2) != 0:
        _scratch_free(&bigger)
        s.failed = 1
        return -1
    for k in range(s.used):
        old = s.order[k]
        j = _slot(s.keys[old]) & (bigger.cap - 1)
        while bigger.counts[j] != 0:
            j = (j + 1) & (bigger.cap - 1)
        bigger.keys[j] = s.keys[old]
        bigger.counts[j] = s.counts[old]
        bigger.order[k] = j
    _scratch_free(s)
    s.keys = bigger.keys
    s.counts = bigger.counts
    s.order = bigger.order
    s.cap = bigger.cap
    return 0


cdef inline void _count(Scratch* s, uint64_t h) noexcept nogil:
    cdef uint64_t j
    if s.failed:
        return
    if 2 * (s.used + 1) > s.cap and _scratch_grow(s) != 0:
        return
    j = _slot(h) & (s.cap - 1)
    while s.counts[j] != 0:
        if s.keys[j] == h:
            if s.counts[j] < 0xFFFFFFFFU:
                s.counts[j] += 1
            return
        j = (j + 1) & (s.cap - 1)
    s.keys[j] = h
    s.counts[j] = 1
    s.order[s.used] = j
    s.used += 1


cdef void _emit_word(Scratch* s, const uint8_t* p, size_t n) noexcept nogil:
    """Count a word and the n-grams it closes (an n-gram hashes its words' hashes)."""
    cdef uint64_t h = _xxh64(p, n, 0)
    cdef uint8_t buf[8 * MAX_NGRAM]
    cdef int size, k
    s.window[s.n_words % MAX_NGRAM] = h
    s.n_words += 1
    for size in range(s.lo, s.hi + 1):
        if size == 1:
            _count(s, h)
        elif <uint64_t>size <= s.n_words:
            for k in range(size):
                sd_write64(buf + 8 * k, s.window[(s.n_words - size + k) % MAX_NGRAM])
            _count(s, _xxh64(buf, 8 * size, 0))


cdef void _scan(Scratch* s, const uint8_t* t, Py_ssize_t n, bint delimited) noexcept nogil:
    """Split UTF-8 text into tokens and count them.

    Words: maximal runs of word characters (categories L, N, M). Delimited: the
    text is tokens joined by NUL bytes, taken verbatim.
    """
    cdef Py_ssize_t i = 0, start = -1, step
    cdef uint32_t cp
    cdef bint word
    cdef uint8_t c
    if delimited:
        for i in range(n + 1):
            if i == n or t[i] == 0:
                if start >= 0:
                    _emit_word(s, t + start, <size_t>(i - start))
                    start = -1
            elif start < 0:
                start = i
        return
    while i < n:
        c = t[i]
        if c < 0x80:
            word = ASCII_WORD[c]
            step = 1
        else:
            step = _decode_utf8(t, i, n, &cp)
            word = (WORD_BITS[cp >> 3] >> (cp & 7)) & 1
        if word:
            if start < 0:
                start = i
        elif start >= 0:
            _emit_word(s, t + start, <size_t>(i - start))
            start = -1
        i += step
    if start >= 0:
        _emit_word(s, t + start, <size_t>(n - start))


# --------------------------------------------------------------------------
# Weighted SimHash
# --------------------------------------------------------------------------

cdef inline void _accumulate(int64_t* ones, int64_t* total, uint64_t h, int64_t w) noexcept nogil:
    # Sum of +w/-w per bit = 2 * (sum of w where the bit is set) - sum of all w.
    cdef int b
    total[0] += w
    for b in range(64):
        ones[b] += w & -<int64_t>((h >> b) & 1)


cdef inline uint64_t _sign_bits(const int64_t* ones, int64_t total) noexcept nogil:
    # Bit b is 1 where its weighted sum is strictly positive; a tie (0) gives 0.
    cdef uint64_t fp = 0
    cdef int b
    for b in range(64):
        if 2 * ones[b] - total > 0:
            fp |= (<uint64_t>1) << b
    return fp


cdef inline int64_t _term_weight(uint32_t count, uint32_t idf_q, int tf_mode) noexcept nogil:
    if tf_mode == TF_BINARY:
        return idf_q
    if tf_mode == TF_RAW:
        return <int64_t>count * idf_q
    # sublinear: (1 + ln tf) * idf, rounded half up to an integer
    return <int64_t>floor((1.0 + log(<double>count)) * idf_q + 0.5)


cdef uint64_t _fingerprint(Scratch* s, const uint8_t* t, Py_ssize_t n, bint delimited,
                           TermWeights weights, int tf_mode, int64_t* n_tokens) noexcept nogil:
    cdef int64_t ones[64]
    cdef int64_t total = 0, tokens = 0
    cdef uint64_t k, j
    cdef int b
    for b in range(64):
        ones[b] = 0
    _scratch_reset(s)
    _scan(s, t, n, delimited)
    # The weight table is large; ask for every slot first so the cache misses overlap.
    for k in range(s.used):
        weights._prefetch(s.keys[s.order[k]])
    for k in range(s.used):
        j = s.order[k]
        tokens += s.counts[j]
        _accumulate(ones, &total, s.keys[j],
                    _term_weight(s.counts[j], weights._get(s.keys[j]), tf_mode))
    n_tokens[0] = tokens
    return _sign_bits(ones, total)


cdef int _check_ngram(int lo, int hi) except -1:
    if not (1 <= lo <= hi <= MAX_NGRAM):
        raise ValueError(f"ngram range must satisfy 1 <= lo <= hi <= {MAX_NGRAM}, got ({lo}, {hi})")
    return 0


cdef int _check_tf_mode(int tf_mode) except -1:
    if tf_mode not in (TF_RAW, TF_SUBLINEAR, TF_BINARY):
        raise ValueError(f"unknown tf mode {tf_mode}")
    return 0


cdef class _Docs:
    """Pointers into a list of bytes objects, gathered with the GIL held."""

    cdef const uint8_t** ptrs
    cdef Py_ssize_t* lens
    cdef Py_ssize_t n
    cdef tuple keep  # a tuple, not the caller's list: the items cannot change under us

    def __cinit__(self, list docs not None):
        cdef Py_ssize_t i
        self.keep = tuple(docs)
        docs = list(self.keep)
        self.n = len(docs)
        self.ptrs = <const uint8_t**>malloc((self.n + 1) * sizeof(uint8_t*))
        self.lens = <Py_ssize_t*>malloc((self.n + 1) * sizeof(Py_ssize_t))
        if self.ptrs == NULL or self.lens == NULL:
            raise MemoryError()
        for i in range(self.n):
            d = docs[i]
            if type(d) is not bytes:
                raise TypeError(f"document {i}: expected bytes (UTF-8), got {type(d).__name__}")
            self.ptrs[i] = <const uint8_t*>PyBytes_AS_STRING(d)
            self.lens[i] = PyBytes_GET_SIZE(d)

    def __dealloc__(self):
        free(self.ptrs)
        free(self.lens)


def fingerprint_batch(list docs not None, TermWeights weights not None,
                      int ngram_lo, int ngram_hi, int tf_mode, bint delimited,
                      uint64_t[::1] out not None, int64_t[::1] n_tokens not None):
    """Fingerprint UTF-8 documents into ``out``; ``n_tokens`` gets each one's token count."""
    _check_tf_mode(tf_mode)
    cdef _Docs d = _Docs(docs)
    cdef Py_ssize_t i
    cdef Scratch s
    if out.shape[0] != d.n or n_tokens.shape[0] != d.n:
        raise ValueError("output buffers must have one slot per document")
    _scratch_init(&s, ngram_lo, ngram_hi)
    with nogil:
        for i in range(d.n):
            out[i] = _fingerprint(&s, d.ptrs[i], d.lens[i], delimited, weights, tf_mode,
                                  &n_tokens[i])
            if s.failed:
                break
    _scratch_free(&s)
    if s.failed:
        raise MemoryError("out of memory while counting a document's tokens")


def doc_terms(list docs not None, int ngram_lo, int ngram_hi, bint delimited):
    """Distinct token hashes of each document, as CSR parts ``(indptr, terms)``."""
    cdef _Docs d = _Docs(docs)
    cdef Py_ssize_t i
    cdef uint64_t k, total = 0, cap = 1 << 16
    cdef uint64_t* buf = <uint64_t*>malloc(cap * sizeof(uint64_t))
    cdef uint64_t* bigger
    cdef Scratch s
    if buf == NULL:
        raise MemoryError()
    indptr = np.zeros(d.n + 1, dtype=np.int64)
    cdef int64_t[::1] ip = indptr
    try:
        _scratch_init(&s, ngram_lo, ngram_hi)
        with nogil:
            for i in range(d.n):
                _scratch_reset(&s)
                _scan(&s, d.ptrs[i], d.lens[i], delimited)
                if s.failed:
                    break
                if total + s.used > cap:
                    while total + s.used > cap:
                        cap *= 2
                    bigger = <uint64_t*>realloc(buf, cap * sizeof(uint64_t))
                    if bigger == NULL:
                        s.failed = 1
                        break
                    buf = bigger
                for k in range(s.used):
                    buf[total + k] = s.keys[s.order[k]]
                total += s.used
                ip[i + 1] = total
        _scratch_free(&s)
        if s.failed:
            raise MemoryError("out of memory while collecting the documents' tokens")
        terms = np.empty(total, dtype=np.uint64)
        if total:
            _copy_u64(terms, buf, total)
        return indptr, terms
    finally:
        free(buf)


cdef void _copy_u64(uint64_t[::1] out, const uint64_t* src, uint64_t n) noexcept:
    memcpy(&out[0], src, n * sizeof(uint64_t))


def token_hashes(bytes doc not None, int ngram_lo=1, int ngram_hi=1, bint delimited=False):
    """Distinct token hashes of one UTF-8 document and their counts, in first-seen order."""
    cdef Scratch s
    cdef uint64_t k
    _scratch_init(&s, ngram_lo, ngram_hi)
    cdef const uint8_t* t = <const uint8_t*>PyBytes_AS_STRING(doc)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(doc)
    cdef uint64_t[::1] hv
    cdef uint32_t[::1] cv
    try:
        with nogil:
            _scratch_reset(&s)
            _scan(&s, t, n, delimited)
        if s.failed:
            raise MemoryError("out of memory while counting the document's tokens")
        hashes = np.empty(s.used, dtype=np.uint64)
        counts = np.empty(s.used, dtype=np.uint32)
        hv = hashes
        cv = counts
        for k in range(s.used):
            hv[k] = s.keys[s.order[k]]
            cv[k] = s.counts[s.order[k]]
        return hashes, counts
    finally:
        _scratch_free(&s)


def hash_strings(list items not None):
    """XXH64 (seed 0) of each bytes object in ``items``."""
    cdef _Docs d = _Docs(items)
    out = np.empty(d.n, dtype=np.uint64)
    cdef uint64_t[::1] ov = out
    cdef Py_ssize_t i
    with nogil:
        for i in range(d.n):
            ov[i] = _xxh64(d.ptrs[i], <size_t>d.lens[i], 0)
    return out


def simhash_weighted(const uint64_t[::1] hashes not None, const int64_t[::1] weights not None):
    """SimHash of weighted 64-bit features: bit b is 1 where sum(+w if set else -w) > 0."""
    if hashes.shape[0] != weights.shape[0]:
        raise ValueError("hashes and weights differ in length")
    cdef int64_t ones[64]
    cdef int64_t total = 0
    cdef Py_ssize_t i
    cdef int b
    cdef uint64_t fp, magnitude = 0, w
    # The sums must fit in int64 with room for 2 * ones - total: bound sum |w| by 2**61.
    for i in range(weights.shape[0]):
        w = <uint64_t>(weights[i] if weights[i] >= 0 else -(weights[i] + 1)) + (weights[i] < 0)
        if w > (<uint64_t>1 << 61) - magnitude:
            raise ValueError("the sum of |weights| must be below 2**61")
        magnitude += w
    with nogil:
        for b in range(64):
            ones[b] = 0
        for i in range(hashes.shape[0]):
            _accumulate(ones, &total, hashes[i], weights[i])
        fp = _sign_bits(ones, total)
    return fp


include "_dedup.pxi"
include "_index.pxi"
