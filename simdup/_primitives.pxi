# --------------------------------------------------------------------------
# Primitives shared by the self-join (_dedup.pxi) and the index (_index*.pxi)
# --------------------------------------------------------------------------
# popcount, the Hamming scan kernels, a stable radix sort and a growable
# array. Everything here is C-level, runs without the GIL and touches no
# Python object; the kernels that use it are included after this file.

cdef extern from *:
    """
    #include <stdint.h>

    /* Portable popcount, for code off the hot loops. Without -mpopcnt,
       __builtin_popcountll compiles to a call of libgcc's __popcountdi2, a
       table lookup slower than this SWAR; -mpopcnt itself would make the whole
       module die with SIGILL on a CPU without POPCNT, so it is not used. */
    static inline int sd_pop64(uint64_t x) {
    #if defined(__POPCNT__)
        return __builtin_popcountll(x);
    #else
        x = x - ((x >> 1) & 0x5555555555555555ULL);
        x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
        x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
        return (int)((x * 0x0101010101010101ULL) >> 56);
    #endif
    }
    static inline int sd_pop32(uint32_t x) {
    #if defined(__POPCNT__)
        return __builtin_popcount(x);
    #else
        x = x - ((x >> 1) & 0x55555555U);
        x = (x & 0x33333333U) + ((x >> 2) & 0x33333333U);
        x = (x + (x >> 4)) & 0x0F0F0F0FU;
        return (int)((x * 0x01010101U) >> 24);
    #endif
    }

    /* Hamming scans: the only loops that compare a query with every entry of a
       range (a bucket of the index, a run of equal keys in the self-join).
       out[] gets the positions i in [0, n) with (a[i] ^ q) & mask == 0 and
       popcount(a[i] ^ q) <= k. Positions are relative to a, so callers pass
       chunks of at most 2^32 entries whatever the array size. Each kernel is
       compiled twice, and the POPCNT build is picked at run time where the CPU
       has it (sd_cpu_popcnt): one indirect call per chunk, none per entry. */
    #define SD_SCAN64(NAME, POP) \\
    static Py_ssize_t NAME(const uint64_t* a, Py_ssize_t n, uint64_t q, uint64_t mask, \\
                           int k, uint32_t* out) { \\
        Py_ssize_t i, m = 0; \\
        for (i = 0; i < n; i++) { \\
            uint64_t x = a[i] ^ q; \\
            if ((x & mask) == 0 && POP(x) <= k) out[m++] = (uint32_t)i; \\
        } \\
        return m; \\
    }
    #define SD_SCAN32(NAME, POP) \\
    static Py_ssize_t NAME(const uint32_t* a, Py_ssize_t n, uint32_t q, uint32_t mask, \\
                           int k, uint32_t* out) { \\
        Py_ssize_t i, m = 0; \\
        for (i = 0; i < n; i++) { \\
            uint32_t x = a[i] ^ q; \\
            if ((x & mask) == 0 && POP(x) <= k) out[m++] = (uint32_t)i; \\
        } \\
        return m; \\
    }
    SD_SCAN64(sd_scan64_generic, sd_pop64)
    SD_SCAN32(sd_scan32_generic, sd_pop32)
    #if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__)) \\
        && !defined(__POPCNT__)
    __attribute__((target("popcnt"))) static inline int sd_pop64_hw(uint64_t x) {
        return __builtin_popcountll(x);
    }
    __attribute__((target("popcnt"))) static inline int sd_pop32_hw(uint32_t x) {
        return __builtin_popcount(x);
    }
    __attribute__((target("popcnt"))) SD_SCAN64(sd_scan64_hw, sd_pop64_hw)
    __attribute__((target("popcnt"))) SD_SCAN32(sd_scan32_hw, sd_pop32_hw)
    static int sd_cpu_popcnt(void) { __builtin_cpu_init(); return __builtin_cpu_supports("popcnt"); }
    #else
    /* Built with -mpopcnt (sd_pop64 is the instruction already) or not for x86. */
    #define sd_scan64_hw sd_scan64_generic
    #define sd_scan32_hw sd_scan32_generic
    static int sd_cpu_popcnt(void) { return 0; }
    #endif
    """
    int sd_pop64(uint64_t x) nogil
    int sd_pop32(uint32_t x) nogil
    Py_ssize_t sd_scan64_generic(const uint64_t*, Py_ssize_t, uint64_t, uint64_t, int,
                                 uint32_t*) nogil
    Py_ssize_t sd_scan32_generic(const uint32_t*, Py_ssize_t, uint32_t, uint32_t, int,
                                 uint32_t*) nogil
    Py_ssize_t sd_scan64_hw(const uint64_t*, Py_ssize_t, uint64_t, uint64_t, int,
                            uint32_t*) nogil
    Py_ssize_t sd_scan32_hw(const uint32_t*, Py_ssize_t, uint32_t, uint32_t, int,
                            uint32_t*) nogil
    int sd_cpu_popcnt() nogil


ctypedef Py_ssize_t (*scan64_fn)(const uint64_t* a, Py_ssize_t n, uint64_t q, uint64_t mask,
                                 int k, uint32_t* out) noexcept nogil
ctypedef Py_ssize_t (*scan32_fn)(const uint32_t* a, Py_ssize_t n, uint32_t q, uint32_t mask,
                                 int k, uint32_t* out) noexcept nogil

cdef enum:
    SCAN_CHUNK = 256         # entries a caller hands a scan kernel at once (its out[] size)

# Picked once at import: the CPU cannot change under a running process.
cdef scan64_fn hamming_scan64 = sd_scan64_hw if sd_cpu_popcnt() else sd_scan64_generic
cdef scan32_fn hamming_scan32 = sd_scan32_hw if sd_cpu_popcnt() else sd_scan32_generic


cdef inline int popcount64(uint64_t x) noexcept nogil:
    """Set bits of ``x`` (SWAR unless built with -mpopcnt: for code off the scan loops)."""
    return sd_pop64(x)


# --------------------------------------------------------------------------
# Stable LSD radix sort of uint64 keys carrying a value
# --------------------------------------------------------------------------

ctypedef fused radix_val_t:
    uint32_t
    uint64_t

cdef enum:
    RADIX_BITS = 8                   # key bits sorted per pass (a digit)
    RADIX_BUCKETS = 1 << RADIX_BITS
    RADIX_DIGITS = 64 // RADIX_BITS  # digits of a 64-bit key


cdef void radix_sort(uint64_t* keys, radix_val_t* vals, Py_ssize_t n, int bits,
                     uint64_t* keys_tmp, radix_val_t* vals_tmp) noexcept nogil:
    """Sort ``keys[:n]`` ascending, moving ``vals`` along; equal keys keep their order.

    Parameters
    ----------
    keys, vals : pointers to n items
        Sorted in place.
    n : Py_ssize_t
    bits : int
        Every key is below ``2**bits`` (64 when nothing is known).
    keys_tmp, vals_tmp : pointers to n items
        Scratch, overwritten.

    Notes
    -----
    One read of the keys counts all their byte digits at once; a byte on
    which every key agrees (say the high bytes of small ids) is then
    skipped, so each remaining pass is a single scatter. Byte digits beat
    11-bit ones here: 256 write streams stay in the write-combining buffers
    and L1, 2048 do not (measured on the index build and the self-join).
    """
    cdef Py_ssize_t count[RADIX_DIGITS * RADIX_BUCKETS]  # 16 KiB: fine on any thread's stack
    cdef Py_ssize_t* h
    cdef Py_ssize_t i, total, c, b
    cdef uint64_t x
    cdef uint64_t* home_keys = keys
    cdef radix_val_t* home_vals = vals
    cdef uint64_t* kt
    cdef radix_val_t* vt
    cdef int digit, shift, ndigits = min(max((bits + RADIX_BITS - 1) // RADIX_BITS, 1), RADIX_DIGITS)
    if n < 2:
        return
    memset(count, 0, ndigits * RADIX_BUCKETS * sizeof(Py_ssize_t))
    for i in range(n):
        x = keys[i]
        for digit in range(ndigits):
            count[digit * RADIX_BUCKETS + ((x >> (RADIX_BITS * digit)) & (RADIX_BUCKETS - 1))] += 1
    for digit in range(ndigits):
        shift = RADIX_BITS * digit
        h = count + digit * RADIX_BUCKETS
        if h[(keys[0] >> shift) & (RADIX_BUCKETS - 1)] == n:
            continue  # every key has this byte: the pass would change nothing
        total = 0
        for b in range(RADIX_BUCKETS):  # h[b]: where the first key with digit b goes
            c = h[b]
            h[b] = total
            total += c
        for i in range(n):
            b = (keys[i] >> shift) & (RADIX_BUCKETS - 1)
            keys_tmp[h[b]] = keys[i]
            vals_tmp[h[b]] = vals[i]
            h[b] += 1
        kt = keys
        keys = keys_tmp
        keys_tmp = kt
        vt = vals
        vals = vals_tmp
        vals_tmp = vt
    if keys != home_keys:  # an odd number of passes left the result in the scratch
        memcpy(home_keys, keys, n * sizeof(uint64_t))
        memcpy(home_vals, vals, n * sizeof(radix_val_t))


# --------------------------------------------------------------------------
# Growable array (results whose count is known only at the end)
# --------------------------------------------------------------------------

cdef struct GrowArray:
    char* data               # items of one type, of the size given to grow_reserve
    Py_ssize_t n             # items held
    Py_ssize_t cap           # items there is room for
    int failed               # a realloc failed: stays set, the array stops growing

ctypedef fused grow_item_t:
    uint8_t
    int64_t
    uint64_t


cdef inline void grow_init(GrowArray* a) noexcept nogil:
    a.data = NULL
    a.n = 0
    a.cap = 0
    a.failed = 0


cdef inline void grow_free(GrowArray* a) noexcept nogil:
    free(a.data)
    grow_init(a)


cdef int grow_reserve(GrowArray* a, Py_ssize_t more, size_t itemsize) noexcept nogil:
    """Room for ``more`` items after the ``n`` held; -1 (and ``failed`` set) if out of memory.

    Capacity doubles, so n pushes cost O(n) copying in all.
    """
    cdef Py_ssize_t cap
    cdef char* grown
    if a.failed:
        return -1
    if a.n + more <= a.cap:
        return 0
    cap = a.cap * 2 if a.cap else 64
    if cap < a.n + more:
        cap = a.n + more
    grown = <char*>realloc(a.data, cap * itemsize)
    if grown == NULL:
        a.failed = 1
        return -1
    a.data = grown
    a.cap = cap
    return 0


cdef inline int grow_push(GrowArray* a, grow_item_t x) noexcept nogil:
    """Append ``x`` (the array holds items of x's type); -1 if out of memory."""
    if a.n == a.cap and grow_reserve(a, 1, sizeof(grow_item_t)) != 0:
        return -1
    (<grow_item_t*>a.data)[a.n] = x
    a.n += 1
    return 0
