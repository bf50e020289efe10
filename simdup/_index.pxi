# --------------------------------------------------------------------------
# Exact Hamming-distance index: permuted tables (Manku, Jain, Das Sarma 2007)
# --------------------------------------------------------------------------
# Included at the end of _core.pyx, so it shares the module but no helpers:
# every name here starts with ``_ix``/``Ix``/``ix_``. The Python layer
# (simdup/index.py) validates input and plans the table design; this file
# only holds typed kernels, and all loops over fingerprints run without the GIL.
#
# Layout of one immutable *segment* of n items (design with T tables):
#   fps[n], ids[n]     uint64  items bucketed by table 0's key (the "rows")
#   id_order[n]        uint32  rows sorted by id (remove / contains / unique ids)
#   dir_t[2^d_t + 1]   uint32  table t: bucket b holds entries dir_t[b]..dir_t[b+1]
#   res_t[n], row_t[n] uint32  table t >= 1: 32 bits of the permuted fingerprint
#                              after its d_t directory bits, and the row it is
# 20 + 8 (T - 1) bytes per item plus the directories: 44 B for T = 4.
#
# A query permutes q for each table, reads its bucket and checks candidates.
# An item within k bits is reported only by the first table whose whole key it
# shares with q (pigeonhole guarantees one), so every item comes out once.
#
# The index is a list of segments (sizes kept geometric, merged like an LSM
# tree) plus a small unsorted insert buffer scanned linearly. Readers hold a
# C read-write lock; one writer at a time (a Python lock) builds new segments
# outside the write lock and swaps them in under it.

from libc.stdlib cimport qsort, realloc
from libc.string cimport memset

cdef extern from *:
    """
    #include <stdint.h>
    #if defined(_WIN32)
    #include <windows.h>
    typedef SRWLOCK ix_rwlock_t;
    static int ix_rw_init(ix_rwlock_t* l) { InitializeSRWLock(l); return 0; }
    static void ix_rw_destroy(ix_rwlock_t* l) { (void)l; }
    static void ix_rw_rdlock(ix_rwlock_t* l) { AcquireSRWLockShared(l); }
    static void ix_rw_rdunlock(ix_rwlock_t* l) { ReleaseSRWLockShared(l); }
    static void ix_rw_wrlock(ix_rwlock_t* l) { AcquireSRWLockExclusive(l); }
    static void ix_rw_wrunlock(ix_rwlock_t* l) { ReleaseSRWLockExclusive(l); }
    #else
    #include <pthread.h>
    typedef pthread_rwlock_t ix_rwlock_t;
    static int ix_rw_init(ix_rwlock_t* l) {
        pthread_rwlockattr_t a;
        int r;
        pthread_rwlockattr_init(&a);
    #if defined(__GLIBC__)
        /* glibc prefers readers by default: a steady query load would starve the writer. */
        pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    #endif
        r = pthread_rwlock_init(l, &a);
        pthread_rwlockattr_destroy(&a);
        return r;
    }
    static void ix_rw_destroy(ix_rwlock_t* l) { pthread_rwlock_destroy(l); }
    static void ix_rw_rdlock(ix_rwlock_t* l) { pthread_rwlock_rdlock(l); }
    static void ix_rw_rdunlock(ix_rwlock_t* l) { pthread_rwlock_unlock(l); }
    static void ix_rw_wrlock(ix_rwlock_t* l) { pthread_rwlock_wrlock(l); }
    static void ix_rw_wrunlock(ix_rwlock_t* l) { pthread_rwlock_unlock(l); }
    #endif

    /* Without -mpopcnt, __builtin_popcountll is a libgcc call; SWAR is faster then. */
    static inline int ix_pop64(uint64_t x) {
    #if defined(__POPCNT__)
        return __builtin_popcountll(x);
    #else
        x = x - ((x >> 1) & 0x5555555555555555ULL);
        x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
        x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
        return (int)((x * 0x0101010101010101ULL) >> 56);
    #endif
    }
    static inline int ix_pop32(uint32_t x) {
    #if defined(__POPCNT__)
        return __builtin_popcount(x);
    #else
        x = x - ((x >> 1) & 0x55555555U);
        x = (x & 0x33333333U) + ((x >> 2) & 0x33333333U);
        x = (x + (x >> 4)) & 0x0F0F0F0FU;
        return (int)((x * 0x01010101U) >> 24);
    #endif
    }

    /* Bucket scans: the only loops that touch every candidate. Compiled twice,
       and the popcnt build is picked at run time where the CPU has it. */
    #define IX_SCAN64(NAME, POP) \\
    static Py_ssize_t NAME(const uint64_t* a, Py_ssize_t lo, Py_ssize_t hi, uint64_t q, \\
                           uint64_t mask, int k, uint32_t* out) { \\
        Py_ssize_t j, m = 0; \\
        for (j = lo; j < hi; j++) { \\
            uint64_t x = a[j] ^ q; \\
            if ((x & mask) == 0 && POP(x) <= k) out[m++] = (uint32_t)j; \\
        } \\
        return m; \\
    }
    #define IX_SCAN32(NAME, POP) \\
    static Py_ssize_t NAME(const uint32_t* a, Py_ssize_t lo, Py_ssize_t hi, uint32_t q, \\
                           uint32_t mask, int k, uint32_t* out) { \\
        Py_ssize_t j, m = 0; \\
        for (j = lo; j < hi; j++) { \\
            uint32_t x = a[j] ^ q; \\
            if ((x & mask) == 0 && POP(x) <= k) out[m++] = (uint32_t)j; \\
        } \\
        return m; \\
    }
    IX_SCAN64(ix_scan64_generic, ix_pop64)
    IX_SCAN32(ix_scan32_generic, ix_pop32)
    #if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__)) \\
        && !defined(__POPCNT__)
    __attribute__((target("popcnt"))) static inline int ix_pop64_hw(uint64_t x) {
        return __builtin_popcountll(x);
    }
    __attribute__((target("popcnt"))) static inline int ix_pop32_hw(uint32_t x) {
        return __builtin_popcount(x);
    }
    __attribute__((target("popcnt"))) IX_SCAN64(ix_scan64_hw, ix_pop64_hw)
    __attribute__((target("popcnt"))) IX_SCAN32(ix_scan32_hw, ix_pop32_hw)
    static int ix_cpu_popcnt(void) { __builtin_cpu_init(); return __builtin_cpu_supports("popcnt"); }
    #else
    #define ix_scan64_hw ix_scan64_generic
    #define ix_scan32_hw ix_scan32_generic
    static int ix_cpu_popcnt(void) { return 0; }
    #endif
    typedef Py_ssize_t (*ix_scan64_fn)(const uint64_t*, Py_ssize_t, Py_ssize_t, uint64_t,
                                       uint64_t, int, uint32_t*);
    typedef Py_ssize_t (*ix_scan32_fn)(const uint32_t*, Py_ssize_t, Py_ssize_t, uint32_t,
                                       uint32_t, int, uint32_t*);
    """
    ctypedef struct ix_rwlock_t:
        pass
    int ix_rw_init(ix_rwlock_t* l) nogil
    void ix_rw_destroy(ix_rwlock_t* l) nogil
    void ix_rw_rdlock(ix_rwlock_t* l) nogil
    void ix_rw_rdunlock(ix_rwlock_t* l) nogil
    void ix_rw_wrlock(ix_rwlock_t* l) nogil
    void ix_rw_wrunlock(ix_rwlock_t* l) nogil
    int ix_pop64(uint64_t x) nogil
    int ix_pop32(uint32_t x) nogil
    ctypedef Py_ssize_t (*ix_scan64_fn)(const uint64_t*, Py_ssize_t, Py_ssize_t, uint64_t,
                                        uint64_t, int, uint32_t*) noexcept nogil
    ctypedef Py_ssize_t (*ix_scan32_fn)(const uint32_t*, Py_ssize_t, Py_ssize_t, uint32_t,
                                        uint32_t, int, uint32_t*) noexcept nogil
    Py_ssize_t ix_scan64_generic(const uint64_t*, Py_ssize_t, Py_ssize_t, uint64_t,
                                 uint64_t, int, uint32_t*) nogil
    Py_ssize_t ix_scan32_generic(const uint32_t*, Py_ssize_t, Py_ssize_t, uint32_t,
                                 uint32_t, int, uint32_t*) nogil
    Py_ssize_t ix_scan64_hw(const uint64_t*, Py_ssize_t, Py_ssize_t, uint64_t,
                            uint64_t, int, uint32_t*) nogil
    Py_ssize_t ix_scan32_hw(const uint32_t*, Py_ssize_t, Py_ssize_t, uint32_t,
                            uint32_t, int, uint32_t*) nogil
    int ix_cpu_popcnt() nogil


cdef ix_scan64_fn _ix_scan64 = ix_scan64_hw if ix_cpu_popcnt() else ix_scan64_generic
cdef ix_scan32_fn _ix_scan32 = ix_scan32_hw if ix_cpu_popcnt() else ix_scan32_generic

cdef enum:
    IX_MAX_K = 16
    IX_MAX_BLOCKS = 64       # bit ranges in one table's permutation
    IX_MAX_DIR_BITS = 26     # directory of at most 2^26 buckets (256 MiB) per table
    IX_CHUNK = 256           # bucket entries scanned per call to a scan kernel
    IX_BUFFER_CAP = 1024     # unsorted insert buffer; merged into a segment when full
    IX_MERGE_RATIO = 8       # a segment merges into its elder once it is >= 1/8 of it
    IX_RELOCK_EVERY = 1024   # query_many lets a waiting writer in this often


cdef struct IxTable:
    uint64_t mask            # key bits, at their positions in the fingerprint
    int p                    # key width
    int nblk
    uint8_t src_lo[IX_MAX_BLOCKS]
    uint8_t dst_lo[IX_MAX_BLOCKS]
    uint64_t wmask[IX_MAX_BLOCKS]


cdef struct IxSeg:
    Py_ssize_t n
    Py_ssize_t n_deleted
    uint64_t* fps
    uint64_t* ids
    uint32_t* id_order
    int* d                   # directory bits of each table
    uint32_t* resmask        # key bits inside each table's residual
    uint32_t* own            # own[t*T + i]: an earlier table's key inside t's residual
    int* nown                # how many of those each table has
    uint32_t** dirs
    uint32_t** res           # res[0], rows[0] unused (table 0 scans fps directly)
    uint32_t** rows
    uint8_t* deleted         # bitmap, NULL until an item is removed


cdef struct IxHit:
    uint64_t id
    int dist


cdef struct IxOut:
    IxHit* hits
    Py_ssize_t n
    Py_ssize_t cap
    int failed


cdef inline uint64_t _ix_perm(const IxTable* s, uint64_t x) noexcept nogil:
    cdef uint64_t y = 0
    cdef int i
    for i in range(s.nblk):
        y |= ((x >> s.src_lo[i]) & s.wmask[i]) << s.dst_lo[i]
    return y


cdef inline uint64_t _ix_bucket(uint64_t key, int d) noexcept nogil:
    return key >> (64 - d) if d else 0


cdef inline uint32_t _ix_residual(uint64_t key, int d) noexcept nogil:
    return <uint32_t>(key >> (32 - d))


cdef inline bint _ix_is_deleted(const IxSeg* g, Py_ssize_t row) noexcept nogil:
    return g.deleted != NULL and (g.deleted[row >> 3] >> (row & 7)) & 1


cdef inline int _ix_push(IxOut* o, uint64_t id, int dist) noexcept nogil:
    cdef Py_ssize_t cap
    cdef IxHit* grown
    if o.n == o.cap:
        cap = o.cap * 2 if o.cap else 64
        grown = <IxHit*>realloc(o.hits, cap * sizeof(IxHit))
        if grown == NULL:
            o.failed = 1
            return -1
        o.hits = grown
        o.cap = cap
    o.hits[o.n].id = id
    o.hits[o.n].dist = dist
    o.n += 1
    return 0


cdef int _ix_hit_cmp(const void* a, const void* b) noexcept nogil:
    cdef const IxHit* x = <const IxHit*>a
    cdef const IxHit* y = <const IxHit*>b
    if x.dist != y.dist:
        return -1 if x.dist < y.dist else 1
    if x.id != y.id:
        return -1 if x.id < y.id else 1
    return 0


cdef int _ix_radix_hits(IxHit* h, Py_ssize_t n) noexcept nogil:
    """Sort by (distance, id) in O(n): LSD radix on the id bytes that vary, then on distance."""
    cdef IxHit* tmp = <IxHit*>malloc(n * sizeof(IxHit))
    cdef IxHit* a = h
    cdef IxHit* b = tmp
    cdef IxHit* sw
    cdef Py_ssize_t cnt[257]
    cdef Py_ssize_t i
    cdef uint64_t lo_or = 0, hi_and = 0xFFFFFFFFFFFFFFFFULL
    cdef int digit, key
    if tmp == NULL:
        return -1
    for i in range(n):
        lo_or |= h[i].id
        hi_and &= h[i].id
    for digit in range(9):  # 8 id bytes, then the distance
        if digit < 8 and (((lo_or ^ hi_and) >> (8 * digit)) & 0xFF) == 0:
            continue  # this byte is the same in every id
        memset(cnt, 0, sizeof(cnt))
        for i in range(n):
            key = <int>((a[i].id >> (8 * digit)) & 0xFF) if digit < 8 else a[i].dist
            cnt[key + 1] += 1
        for i in range(1, 257):
            cnt[i] += cnt[i - 1]  # cnt[key]: where the first item with this key goes
        for i in range(n):
            key = <int>((a[i].id >> (8 * digit)) & 0xFF) if digit < 8 else a[i].dist
            b[cnt[key]] = a[i]
            cnt[key] += 1
        sw = a
        a = b
        b = sw
    if a != h:
        memcpy(h, a, n * sizeof(IxHit))
    free(tmp)
    return 0


cdef void _ix_sort_hits(IxHit* h, Py_ssize_t n) noexcept nogil:
    """Order results by (distance, id) so answers do not depend on the layout."""
    cdef Py_ssize_t i, j
    cdef IxHit v
    if n > 48:
        if _ix_radix_hits(h, n) == 0:
            return
        qsort(h, n, sizeof(IxHit), _ix_hit_cmp)  # out of memory for the radix buffer
        return
    for i in range(1, n):
        v = h[i]
        j = i - 1
        while j >= 0 and _ix_hit_cmp(&h[j], &v) > 0:
            h[j + 1] = h[j]
            j -= 1
        h[j + 1] = v


cdef void _ix_probe(const IxSeg* g, const IxTable* tabs, int T, uint64_t q, int k,
                    IxOut* o) noexcept nogil:
    """Append to ``o`` every live item of segment ``g`` within ``k`` bits of ``q``."""
    cdef uint32_t cand[IX_CHUNK]
    cdef Py_ssize_t n = g.n, lo, hi, c, m, i
    cdef uint64_t key, diff
    cdef uint32_t row
    cdef int t, u, d, dist
    cdef bint owned
    for t in range(T):
        key = _ix_perm(&tabs[t], q)
        d = g.d[t]
        lo = g.dirs[t][_ix_bucket(key, d)]
        hi = g.dirs[t][_ix_bucket(key, d) + 1]
        if hi > n or lo > hi:
            continue  # only a corrupted mapped file gets here: never read out of bounds
        c = lo
        while c < hi:
            if t == 0:
                m = _ix_scan64(g.fps, c, min(c + IX_CHUNK, hi), q, tabs[0].mask, k, cand)
                for i in range(m):
                    if not _ix_is_deleted(g, cand[i]):
                        _ix_push(o, g.ids[cand[i]], ix_pop64(g.fps[cand[i]] ^ q))
            else:
                m = _ix_scan32(g.res[t], c, min(c + IX_CHUNK, hi), _ix_residual(key, d),
                               g.resmask[t], k, cand)
                for i in range(m):
                    if _ix_owned_elsewhere(g, T, t, g.res[t][cand[i]] ^ _ix_residual(key, d)):
                        continue  # an earlier table reports it: skip the fetch
                    row = g.rows[t][cand[i]]
                    if row >= n:
                        continue
                    diff = g.fps[row] ^ q
                    if (diff & tabs[t].mask) != 0:
                        continue
                    dist = ix_pop64(diff)
                    if dist > k:
                        continue
                    owned = True
                    for u in range(t):
                        if (diff & tabs[u].mask) == 0:
                            owned = False  # an earlier table reports it
                            break
                    if owned and not _ix_is_deleted(g, row):
                        _ix_push(o, g.ids[row], dist)
            c += IX_CHUNK


cdef inline bint _ix_owned_elsewhere(const IxSeg* g, int T, int t, uint32_t r) noexcept nogil:
    """Does an earlier table whose key lies in t's residual window match too?

    Saves fetching rows that clusters of near-duplicates meet in every table.
    """
    cdef int i
    for i in range(g.nown[t]):
        if (r & g.own[t * T + i]) == 0:
            return True
    return False


cdef void _ix_init_own(IxSeg* g, const IxTable* tabs, int T) noexcept nogil:
    """Fill ``own``/``nown`` for the segment's directory sizes (see _ix_owned_elsewhere)."""
    cdef int t, u, d
    cdef uint64_t pm, window
    for t in range(T):
        g.nown[t] = 0
        d = g.d[t]
        window = 0xFFFFFFFFFFFFFFFFULL << (32 - d)  # directory + residual bits, d <= 26
        for u in range(t):
            pm = _ix_perm(&tabs[t], tabs[u].mask)  # u's key, moved as t moves bits
            if pm and (pm & ~window) == 0 and <uint32_t>(pm >> (32 - d)):
                g.own[t * T + g.nown[t]] = <uint32_t>(pm >> (32 - d))
                g.nown[t] += 1


cdef Py_ssize_t _ix_find_id(const IxSeg* g, uint64_t id) noexcept nogil:
    """Row of live item ``id`` in ``g``, or -1."""
    cdef Py_ssize_t lo = 0, hi = g.n, mid
    cdef uint32_t row
    while lo < hi:
        mid = (lo + hi) >> 1
        row = g.id_order[mid]
        if row >= g.n:
            return -1  # corrupted mapped file
        if g.ids[row] < id:
            lo = mid + 1
        else:
            hi = mid
    if lo < g.n:
        row = g.id_order[lo]
        if row < g.n and g.ids[row] == id and not _ix_is_deleted(g, row):
            return row
    return -1


cdef int _ix_sort_ids(const uint64_t* ids, Py_ssize_t n, uint32_t* order) noexcept nogil:
    """Stable LSD radix sort: ``order`` gets 0..n-1 sorted by ``ids``. -1 when out of memory."""
    cdef uint64_t* keys = <uint64_t*>malloc(n * sizeof(uint64_t) + 1)
    cdef uint64_t* keys2 = <uint64_t*>malloc(n * sizeof(uint64_t) + 1)
    cdef uint32_t* ord2 = <uint32_t*>malloc(n * sizeof(uint32_t) + 1)
    cdef Py_ssize_t* hist = <Py_ssize_t*>calloc(8 * 256, sizeof(Py_ssize_t))
    cdef uint64_t* ka
    cdef uint64_t* kb
    cdef uint32_t* oa
    cdef uint32_t* ob
    cdef uint64_t* kt
    cdef uint32_t* ot
    cdef Py_ssize_t i, s, c
    cdef Py_ssize_t* h
    cdef int digit
    cdef uint32_t b
    if n == 0:
        free(keys); free(keys2); free(ord2); free(hist)
        return 0
    if keys == NULL or keys2 == NULL or ord2 == NULL or hist == NULL:
        free(keys); free(keys2); free(ord2); free(hist)
        return -1
    for i in range(n):
        keys[i] = ids[i]
        order[i] = <uint32_t>i
        for digit in range(8):
            hist[digit * 256 + ((ids[i] >> (8 * digit)) & 0xFF)] += 1
    ka, kb, oa, ob = keys, keys2, order, ord2
    for digit in range(8):
        h = hist + digit * 256
        if h[(ids[0] >> (8 * digit)) & 0xFF] == n:
            continue  # every key has the same byte here (small ids): skip the pass
        s = 0
        for b in range(256):
            c = h[b]
            h[b] = s
            s += c
        for i in range(n):
            b = (ka[i] >> (8 * digit)) & 0xFF
            kb[h[b]] = ka[i]
            ob[h[b]] = oa[i]
            h[b] += 1
        kt = ka; ka = kb; kb = kt
        ot = oa; oa = ob; ob = ot
    if oa != order:
        memcpy(order, oa, n * sizeof(uint32_t))
    free(keys); free(keys2); free(ord2); free(hist)
    return 0


cdef int _ix_dir_bits(Py_ssize_t n, int p) noexcept nogil:
    """Directory bits for a table of n items with a p-bit key: about n/4..n/8 buckets.

    Mirrored by ``simdup.index.dir_bits``; the planner's memory estimate uses it.
    """
    cdef int lg = 0
    while (<Py_ssize_t>1 << (lg + 1)) <= n:
        lg += 1
    return max(0, min(p, lg - 2, IX_MAX_DIR_BITS))


cdef int _ix_fill_table(const uint64_t* fps, Py_ssize_t n, const IxTable* tab, int d,
                        uint32_t* dir_, uint32_t* res, uint32_t* rows,
                        uint32_t* cursor) noexcept nogil:
    """Bucket rows 0..n-1 by the top d bits of their permuted fingerprint (counting sort)."""
    cdef Py_ssize_t nb = <Py_ssize_t>1 << d, i
    cdef uint64_t key, b
    cdef uint32_t pos
    memset(dir_, 0, (nb + 1) * sizeof(uint32_t))
    for i in range(n):
        dir_[_ix_bucket(_ix_perm(tab, fps[i]), d) + 1] += 1
    for i in range(nb):
        dir_[i + 1] += dir_[i]
    memcpy(cursor, dir_, nb * sizeof(uint32_t))
    for i in range(n):
        key = _ix_perm(tab, fps[i])
        b = _ix_bucket(key, d)
        pos = cursor[b]
        cursor[b] = pos + 1
        res[pos] = _ix_residual(key, d)
        rows[pos] = <uint32_t>i
    return 0


cdef uint32_t _ix_resmask(int p, int d) noexcept nogil:
    """Key bits that fall inside the 32-bit residual (key bits below the directory)."""
    cdef int extra = p - d
    if extra <= 0:
        return 0
    if extra >= 32:
        return 0xFFFFFFFFU
    return <uint32_t>(0xFFFFFFFFU << (32 - extra))


cdef class _Segment:
    """One immutable sorted run of the index (arrays owned by numpy, maybe memory-mapped)."""

    cdef IxSeg s
    cdef int T
    cdef list arrays          # keep-alive for everything ``s`` points into
    cdef object deleted_arr

    def __cinit__(self, int T):
        self.T = T
        self.arrays = []
        self.deleted_arr = None
        memset(&self.s, 0, sizeof(IxSeg))
        self.s.d = <int*>calloc(T, sizeof(int))
        self.s.resmask = <uint32_t*>calloc(T, sizeof(uint32_t))
        self.s.own = <uint32_t*>calloc(T * T, sizeof(uint32_t))
        self.s.nown = <int*>calloc(T, sizeof(int))
        self.s.dirs = <uint32_t**>calloc(T, sizeof(uint32_t*))
        self.s.res = <uint32_t**>calloc(T, sizeof(uint32_t*))
        self.s.rows = <uint32_t**>calloc(T, sizeof(uint32_t*))
        if (self.s.d == NULL or self.s.resmask == NULL or self.s.own == NULL
                or self.s.nown == NULL or self.s.dirs == NULL
                or self.s.res == NULL or self.s.rows == NULL):
            raise MemoryError()

    def __dealloc__(self):
        free(self.s.d)
        free(self.s.resmask)
        free(self.s.own)
        free(self.s.nown)
        free(self.s.dirs)
        free(self.s.res)
        free(self.s.rows)

    cdef uint8_t* _deleted_bitmap(self) except NULL:
        """The tombstone bitmap, allocated on first use (the caller publishes it under
        the write lock, so no reader meets a half-initialised one)."""
        if self.deleted_arr is None:
            self.deleted_arr = np.zeros((self.s.n + 7) // 8 + 1, dtype=np.uint8)
        return <uint8_t*>_ix_u8ptr(self.deleted_arr)

    def nbytes(self):
        return sum(a.nbytes for a in self.arrays) + (
            0 if self.deleted_arr is None else self.deleted_arr.nbytes)


def _ix_seg_order(_Segment g):
    return -g.s.n


cdef uint64_t* _ix_u64ptr(object a):
    cdef const uint64_t[::1] v = a
    return <uint64_t*>&v[0] if v.shape[0] else NULL


cdef uint32_t* _ix_u32ptr(object a):
    cdef const uint32_t[::1] v = a
    return <uint32_t*>&v[0] if v.shape[0] else NULL


cdef uint8_t* _ix_u8ptr(object a):
    cdef const uint8_t[::1] v = a
    return <uint8_t*>&v[0] if v.shape[0] else NULL


cdef class HammingIndex:
    """Exact k-bit Hamming search over uint64 fingerprints (the compiled engine).

    Use :class:`simdup.SimHashIndex`, which plans the design and validates input.
    """

    cdef readonly int k
    cdef int T
    cdef IxTable* tabs
    cdef IxSeg** segs
    cdef Py_ssize_t nseg
    cdef list _segobjs
    cdef uint64_t* buf_fps
    cdef uint64_t* buf_ids
    cdef Py_ssize_t nbuf
    cdef Py_ssize_t n_live
    cdef ix_rwlock_t rw
    cdef bint rw_ok
    cdef object _wlock
    cdef object _tables_spec

    def __cinit__(self, *args, **kwargs):
        self.T = 0
        self.tabs = NULL
        self.segs = NULL
        self.nseg = 0
        self._segobjs = []
        self.buf_fps = <uint64_t*>malloc(IX_BUFFER_CAP * sizeof(uint64_t))
        self.buf_ids = <uint64_t*>malloc(IX_BUFFER_CAP * sizeof(uint64_t))
        if self.buf_fps == NULL or self.buf_ids == NULL:
            raise MemoryError()
        if ix_rw_init(&self.rw) != 0:
            raise MemoryError("cannot create the index lock")
        self.rw_ok = True
        self._wlock = threading.Lock()

    def __dealloc__(self):
        if self.rw_ok:
            ix_rw_destroy(&self.rw)
        free(self.tabs)
        free(self.segs)
        free(self.buf_fps)
        free(self.buf_ids)

    def _configure(self, int k, list tables not None):
        """Set k and the table design: ``tables[t] = (p, [(src_lo, width), ...])``.

        Each table's permutation lists bit ranges of the fingerprint from the
        top of the permuted word down; the first ``p`` bits are the key.
        """
        cdef int t, i, top, lo, w
        cdef IxTable* tab
        if self.T:
            raise RuntimeError("index already configured")
        if not 0 <= k <= IX_MAX_K:
            raise ValueError(f"k must be in [0, {IX_MAX_K}], got {k}")
        if not tables:
            raise ValueError("a design needs at least one table")
        free(self.tabs)  # a previous attempt that raised
        self.tabs = <IxTable*>calloc(len(tables), sizeof(IxTable))
        if self.tabs == NULL:
            raise MemoryError()
        for t, (p, blocks) in enumerate(tables):
            tab = &self.tabs[t]
            if len(blocks) > IX_MAX_BLOCKS:
                raise ValueError("too many bit ranges in one table")
            tab.p = p
            tab.nblk = len(blocks)
            top = 64
            for i, (lo, w) in enumerate(blocks):
                if not (0 <= lo and 1 <= w and lo + w <= 64):
                    raise ValueError(f"bad bit range ({lo}, {w})")
                top -= w
                tab.src_lo[i] = lo
                tab.dst_lo[i] = top
                tab.wmask[i] = 0xFFFFFFFFFFFFFFFFULL if w == 64 else ((<uint64_t>1 << w) - 1)
                # key bits are the first p bits of the permuted word
                if top >= 64 - p:
                    tab.mask |= tab.wmask[i] << lo
            if top != 0:
                raise ValueError("a table's bit ranges must cover 64 bits")
            if ix_pop64(tab.mask) != p:
                raise ValueError("key ranges must end on the key width")
        self.T = len(tables)
        self.k = k
        self._tables_spec = tables

    cdef int _check_ready(self) except -1:
        if self.T == 0:
            raise RuntimeError("index not configured")
        return 0

    # ---------------------------------------------------------------- building

    cdef _Segment _build(self, object fps_arr, object ids_arr):
        """A new segment from uint64 arrays (any order, ids unique)."""
        cdef Py_ssize_t n = fps_arr.shape[0]
        cdef int T = self.T, t, rc = 0
        cdef _Segment seg = _Segment(T)
        cdef uint64_t* src_f = _ix_u64ptr(fps_arr)
        cdef uint64_t* src_i = _ix_u64ptr(ids_arr)
        cdef Py_ssize_t nb, i, b, maxnb = 1
        cdef uint32_t pos
        cdef uint32_t* cursor
        cdef uint64_t x
        if n >= 0xFFFFFFFF:
            raise ValueError("a segment holds fewer than 2**32 - 1 fingerprints")
        fps = np.empty(n, dtype=np.uint64)
        ids = np.empty(n, dtype=np.uint64)
        id_order = np.empty(n, dtype=np.uint32)
        seg.arrays += [fps, ids, id_order]
        seg.s.n = n
        seg.s.fps = _ix_u64ptr(fps)
        seg.s.ids = _ix_u64ptr(ids)
        seg.s.id_order = _ix_u32ptr(id_order)
        for t in range(T):
            seg.s.d[t] = _ix_dir_bits(n, self.tabs[t].p)
            seg.s.resmask[t] = _ix_resmask(self.tabs[t].p, seg.s.d[t])
            nb = <Py_ssize_t>1 << seg.s.d[t]
            maxnb = max(maxnb, nb)
            dir_ = np.empty(nb + 1, dtype=np.uint32)
            seg.arrays.append(dir_)
            seg.s.dirs[t] = _ix_u32ptr(dir_)
            if t:
                res = np.empty(n, dtype=np.uint32)
                rows = np.empty(n, dtype=np.uint32)
                seg.arrays += [res, rows]
                seg.s.res[t] = _ix_u32ptr(res)
                seg.s.rows[t] = _ix_u32ptr(rows)
        _ix_init_own(&seg.s, self.tabs, T)
        cursor = <uint32_t*>malloc(maxnb * sizeof(uint32_t))
        if cursor == NULL:
            raise MemoryError()
        with nogil:
            # table 0 orders the rows themselves
            nb = <Py_ssize_t>1 << seg.s.d[0]
            memset(seg.s.dirs[0], 0, (nb + 1) * sizeof(uint32_t))
            for i in range(n):
                seg.s.dirs[0][_ix_bucket(_ix_perm(&self.tabs[0], src_f[i]), seg.s.d[0]) + 1] += 1
            for i in range(nb):
                seg.s.dirs[0][i + 1] += seg.s.dirs[0][i]
            memcpy(cursor, seg.s.dirs[0], nb * sizeof(uint32_t))
            for i in range(n):
                x = src_f[i]
                b = _ix_bucket(_ix_perm(&self.tabs[0], x), seg.s.d[0])
                pos = cursor[b]
                cursor[b] = pos + 1
                seg.s.fps[pos] = x
                seg.s.ids[pos] = src_i[i]
            for t in range(1, T):
                _ix_fill_table(seg.s.fps, n, &self.tabs[t], seg.s.d[t], seg.s.dirs[t],
                               seg.s.res[t], seg.s.rows[t], cursor)
            if n:
                rc = _ix_sort_ids(seg.s.ids, n, seg.s.id_order)
        free(cursor)
        if rc != 0:
            raise MemoryError()
        return seg

    cdef _Segment _build_from_live(self, list parts, bint with_buffer):
        """A segment of the live items of ``parts`` (segments) and maybe the buffer."""
        cdef Py_ssize_t total = self.nbuf if with_buffer else 0, j, w = 0
        cdef _Segment g
        for g in parts:
            total += g.s.n - g.s.n_deleted
        fps = np.empty(total, dtype=np.uint64)
        ids = np.empty(total, dtype=np.uint64)
        cdef uint64_t* f = _ix_u64ptr(fps)
        cdef uint64_t* d = _ix_u64ptr(ids)
        for g in parts:
            with nogil:
                for j in range(g.s.n):
                    if not _ix_is_deleted(&g.s, j):
                        f[w] = g.s.fps[j]
                        d[w] = g.s.ids[j]
                        w += 1
        if with_buffer:
            for j in range(self.nbuf):
                f[w] = self.buf_fps[j]
                d[w] = self.buf_ids[j]
                w += 1
        return self._build(fps, ids)

    cdef void _publish(self, list segobjs, bint clear_buffer, Py_ssize_t added=0) except *:
        """Swap in a new segment list under the write lock (readers wait only here)."""
        cdef Py_ssize_t i, n = len(segobjs)
        cdef IxSeg** arr = <IxSeg**>malloc((n + 1) * sizeof(IxSeg*))
        cdef IxSeg** old
        cdef _Segment g
        if arr == NULL:
            raise MemoryError()
        for i in range(n):
            g = segobjs[i]
            arr[i] = &g.s
        with nogil:
            ix_rw_wrlock(&self.rw)
        old = self.segs
        self.segs = arr
        self.nseg = n
        if clear_buffer:
            self.nbuf = 0
        self.n_live += added
        ix_rw_wrunlock(&self.rw)
        free(old)
        self._segobjs = segobjs  # old segments die once no reader can hold them

    cdef void _compact(self, bint flush) except *:
        """Flush the buffer into a segment, then rebuild mostly-removed segments and
        merge neighbours until each segment is under 1/IX_MERGE_RATIO of its elder
        (so a query meets O(log n) segments and an item is rebuilt O(log n) times)."""
        cdef list segs, new
        cdef _Segment a, b
        cdef Py_ssize_t i
        if flush and self.nbuf:
            self._publish(self._order(self._segobjs + [self._build_from_live([], True)]), True)
        while True:
            segs = list(self._segobjs)
            new = None
            for i in range(len(segs)):
                a = segs[i]
                if 2 * a.s.n_deleted > a.s.n:
                    new = segs[:i] + [self._build_from_live([a], False)] + segs[i + 1:]
                    break
            if new is None:
                for i in range(len(segs) - 1, 0, -1):
                    a = segs[i - 1]
                    b = segs[i]
                    if (b.s.n - b.s.n_deleted) * IX_MERGE_RATIO >= a.s.n - a.s.n_deleted:
                        new = segs[:i - 1] + [self._build_from_live([a, b], False)] + segs[i + 1:]
                        break
            if new is None:
                return
            self._publish(self._order([g for g in new if (<_Segment>g).s.n]), False)

    cdef list _order(self, list segs):
        return sorted(segs, key=_ix_seg_order)

    cdef void _merge_all(self) except *:
        """Everything in one segment, removed items dropped (before save)."""
        cdef list segs = list(self._segobjs)
        if len(segs) == 1 and self.nbuf == 0 and (<_Segment>segs[0]).s.n_deleted == 0:
            return
        self._publish([self._build_from_live(segs, True)], True)

    # ----------------------------------------------------------------- lookups

    cdef int _locate(self, uint64_t id, Py_ssize_t* seg, Py_ssize_t* row) noexcept nogil:
        """Where live item ``id`` is: segment index (or -1 for the buffer) and row."""
        cdef Py_ssize_t i, r
        for i in range(self.nseg):
            r = _ix_find_id(self.segs[i], id)
            if r >= 0:
                seg[0] = i
                row[0] = r
                return 1
        for r in range(self.nbuf):
            if self.buf_ids[r] == id:
                seg[0] = -1
                row[0] = r
                return 1
        return 0

    cdef void _query_locked(self, uint64_t q, int k, IxOut* o) noexcept nogil:
        cdef Py_ssize_t i
        cdef int dist
        for i in range(self.nseg):
            _ix_probe(self.segs[i], self.tabs, self.T, q, k, o)
        for i in range(self.nbuf):
            dist = ix_pop64(self.buf_fps[i] ^ q)
            if dist <= k:
                _ix_push(o, self.buf_ids[i], dist)

    cdef list _hits_to_list(self, IxOut* o):
        cdef Py_ssize_t i
        cdef list out = []
        for i in range(o.n):
            out.append((o.hits[i].id, o.hits[i].dist))
        return out

    # -------------------------------------------------------------- public API

    def __len__(self):
        return self.n_live

    def query(self, fingerprint):
        """Items within k bits of ``fingerprint``.

        Parameters
        ----------
        fingerprint : int
            A 64-bit fingerprint in ``[0, 2**64)``.

        Returns
        -------
        list of (int, int)
            ``(id, distance)`` pairs ordered by distance, then id; empty when
            nothing (or nothing yet) is stored within k bits.

        Raises
        ------
        TypeError
            ``fingerprint`` is not an integer.
        ValueError
            ``fingerprint`` is outside ``[0, 2**64)``.
        """
        cdef uint64_t q = _ix_as_u64(fingerprint, "fingerprint")
        cdef IxOut o
        self._check_ready()
        o.hits = NULL
        o.n = o.cap = o.failed = 0
        with nogil:
            ix_rw_rdlock(&self.rw)
            self._query_locked(q, self.k, &o)
            ix_rw_rdunlock(&self.rw)
            _ix_sort_hits(o.hits, o.n)
        try:
            if o.failed:
                raise MemoryError()
            return self._hits_to_list(&o)
        finally:
            free(o.hits)

    def _query_many(self, const uint64_t[::1] fps not None):
        """Batch query: ``(offsets int64[n+1], ids uint64[m], distances uint8[m])``."""
        cdef Py_ssize_t n = fps.shape[0], i, j
        cdef IxOut o
        self._check_ready()
        offsets = np.empty(n + 1, dtype=np.int64)
        cdef int64_t[::1] off = offsets
        o.hits = NULL
        o.n = o.cap = o.failed = 0
        off[0] = 0
        with nogil:
            ix_rw_rdlock(&self.rw)
            for i in range(n):
                if i and i % IX_RELOCK_EVERY == 0:
                    ix_rw_rdunlock(&self.rw)  # lets a waiting writer through
                    ix_rw_rdlock(&self.rw)
                j = o.n
                self._query_locked(fps[i], self.k, &o)
                if o.failed:
                    break
                _ix_sort_hits(o.hits + j, o.n - j)
                off[i + 1] = o.n
            ix_rw_rdunlock(&self.rw)
        if o.failed:
            free(o.hits)
            raise MemoryError()
        ids = np.empty(o.n, dtype=np.uint64)
        dist = np.empty(o.n, dtype=np.uint8)
        cdef uint64_t[::1] iv = ids
        cdef uint8_t[::1] dv = dist
        with nogil:
            for j in range(o.n):
                iv[j] = o.hits[j].id
                dv[j] = <uint8_t>o.hits[j].dist
        free(o.hits)
        return offsets, ids, dist

    def __contains__(self, id):
        cdef uint64_t key
        cdef Py_ssize_t s, r
        cdef int found
        try:
            key = _ix_as_u64(id, "id")
        except (TypeError, ValueError):
            return False
        with nogil:
            ix_rw_rdlock(&self.rw)
            found = self._locate(key, &s, &r)
            ix_rw_rdunlock(&self.rw)
        return bool(found)

    cdef int _insert_one(self, uint64_t fp, uint64_t id) except -1:
        """Append to the buffer (caller holds the writer lock and checked the id)."""
        if self.nbuf == IX_BUFFER_CAP:
            self._compact(True)
        with nogil:
            ix_rw_wrlock(&self.rw)
            self.buf_fps[self.nbuf] = fp
            self.buf_ids[self.nbuf] = id
            self.nbuf += 1
            self.n_live += 1
            ix_rw_wrunlock(&self.rw)
        return 0

    def add(self, fingerprint, id):
        """Store ``fingerprint`` under ``id``.

        Parameters
        ----------
        fingerprint : int
            In ``[0, 2**64)``.
        id : int
            In ``[0, 2**64)``, not already stored.

        Raises
        ------
        TypeError
            A non-integer argument.
        ValueError
            An argument outside ``[0, 2**64)``, or ``id`` already stored.
        """
        cdef uint64_t fp = _ix_as_u64(fingerprint, "fingerprint")
        cdef uint64_t key = _ix_as_u64(id, "id")
        cdef Py_ssize_t s, r
        self._check_ready()
        with self._wlock:
            if self._locate(key, &s, &r):
                raise ValueError(f"id {key} is already in the index")
            self._insert_one(fp, key)

    def add_if_new(self, fingerprint, id):
        """Store ``fingerprint`` unless a stored item is within k bits (atomically).

        Returns
        -------
        (bool, list of (int, int))
            ``(True, [])`` when stored; ``(False, matches)`` otherwise, with
            the near-duplicates as :meth:`query` returns them.

        Raises
        ------
        TypeError, ValueError
            As for :meth:`add` (an id already stored raises even if a
            near-duplicate exists).
        """
        cdef uint64_t fp = _ix_as_u64(fingerprint, "fingerprint")
        cdef uint64_t key = _ix_as_u64(id, "id")
        cdef Py_ssize_t s, r
        cdef IxOut o
        self._check_ready()
        o.hits = NULL
        o.n = o.cap = o.failed = 0
        with self._wlock:
            if self._locate(key, &s, &r):
                raise ValueError(f"id {key} is already in the index")
            # Only the writer changes the index and we hold the writer lock:
            # nothing can slip in between this query and the insert.
            with nogil:
                self._query_locked(fp, self.k, &o)
                _ix_sort_hits(o.hits, o.n)
            try:
                if o.failed:
                    raise MemoryError()
                if o.n:
                    return False, self._hits_to_list(&o)
            finally:
                free(o.hits)
            self._insert_one(fp, key)
            return True, []

    def remove(self, id):
        """Remove the item stored under ``id``.

        Raises
        ------
        KeyError
            ``id`` is not stored (including a non-integer or out-of-range id).
        """
        cdef uint64_t key
        cdef Py_ssize_t s, r
        cdef _Segment g = None
        cdef uint8_t* bitmap = NULL
        self._check_ready()
        try:
            key = _ix_as_u64(id, "id")
        except (TypeError, ValueError):
            raise KeyError(id) from None
        with self._wlock:
            if not self._locate(key, &s, &r):
                raise KeyError(id)
            if s >= 0:
                g = self._segobjs[s]
                bitmap = g._deleted_bitmap()
            with nogil:
                ix_rw_wrlock(&self.rw)
                if s >= 0:
                    g.s.deleted = bitmap
                    g.s.deleted[r >> 3] |= <uint8_t>(1 << (r & 7))
                    g.s.n_deleted += 1
                else:
                    self.nbuf -= 1
                    self.buf_fps[r] = self.buf_fps[self.nbuf]
                    self.buf_ids[r] = self.buf_ids[self.nbuf]
                self.n_live -= 1
                ix_rw_wrunlock(&self.rw)
            if g is not None and 2 * g.s.n_deleted > g.s.n:
                self._compact(False)

    def _add_many(self, const uint64_t[::1] fps not None, const uint64_t[::1] ids not None):
        """Bulk insert of validated uint64 arrays (ids unique and new, else ValueError)."""
        cdef Py_ssize_t m = fps.shape[0], i, j, s, r
        cdef uint32_t* order
        cdef Py_ssize_t dup = -1, clash = -1
        cdef int rc
        cdef uint64_t* pf
        cdef uint64_t* pi
        self._check_ready()
        if ids.shape[0] != m:
            raise ValueError("fingerprints and ids differ in length")
        if m == 0:
            return
        order = <uint32_t*>malloc(m * sizeof(uint32_t))
        if order == NULL:
            raise MemoryError()
        try:
            with self._wlock:
                with nogil:
                    rc = _ix_sort_ids(&ids[0], m, order)
                    if rc == 0:
                        for i in range(m - 1):
                            if ids[order[i]] == ids[order[i + 1]]:
                                dup = order[i]
                                break
                        if dup < 0:
                            clash = self._first_clash(&ids[0], order, m)
                if rc != 0:
                    raise MemoryError()
                if dup >= 0:
                    raise ValueError(f"id {ids[dup]} appears twice in the batch")
                if clash >= 0:
                    raise ValueError(f"id {ids[clash]} is already in the index")
                if self.nbuf + m <= IX_BUFFER_CAP:
                    with nogil:
                        ix_rw_wrlock(&self.rw)
                        for i in range(m):
                            self.buf_fps[self.nbuf + i] = fps[i]
                            self.buf_ids[self.nbuf + i] = ids[i]
                        self.nbuf += m
                        self.n_live += m
                        ix_rw_wrunlock(&self.rw)
                    return
                if self.nbuf == 0:  # build straight from the caller's arrays (no copy)
                    f2 = np.asarray(fps)
                    i2 = np.asarray(ids)
                else:
                    f2 = np.empty(m + self.nbuf, dtype=np.uint64)
                    i2 = np.empty(m + self.nbuf, dtype=np.uint64)
                    pf = _ix_u64ptr(f2)
                    pi = _ix_u64ptr(i2)
                    with nogil:
                        for j in range(m):
                            pf[j] = fps[j]
                            pi[j] = ids[j]
                        for j in range(self.nbuf):
                            pf[m + j] = self.buf_fps[j]
                            pi[m + j] = self.buf_ids[j]
                segs = self._order(self._segobjs + [self._build(f2, i2)])
                self._publish(segs, True, m)
                self._compact(False)
        finally:
            free(order)

    cdef Py_ssize_t _first_clash(self, const uint64_t* ids, const uint32_t* order,
                                 Py_ssize_t m) noexcept nogil:
        """Index of a batch id already stored, or -1 (ids sorted through ``order``)."""
        cdef Py_ssize_t i, a, b, r, lg
        cdef IxSeg* g
        cdef uint32_t row
        for r in range(self.nbuf):
            a = 0
            b = m
            while a < b:
                i = (a + b) >> 1
                if ids[order[i]] < self.buf_ids[r]:
                    a = i + 1
                else:
                    b = i
            if a < m and ids[order[a]] == self.buf_ids[r]:
                return order[a]
        for i in range(self.nseg):
            g = self.segs[i]
            lg = 1
            while (<Py_ssize_t>1 << lg) < g.n:
                lg += 1
            if m * lg < g.n:  # few ids: binary search each
                for a in range(m):
                    if _ix_find_id(g, ids[a]) >= 0:
                        return a
            else:  # walk both sorted sequences
                a = 0
                b = 0
                while a < m and b < g.n:
                    row = g.id_order[b]
                    if row >= g.n:
                        b += 1
                        continue
                    if ids[order[a]] < g.ids[row]:
                        a += 1
                    elif ids[order[a]] > g.ids[row]:
                        b += 1
                    else:
                        if not _ix_is_deleted(g, row):
                            return order[a]
                        b += 1
        return -1

    def _flush(self):
        """Move buffered items into a segment now (normally done when the buffer fills)."""
        self._check_ready()
        with self._wlock:
            self._compact(True)

    # --------------------------------------------------------- persistence API

    def _export(self):
        """Merge into one segment and return its parts (used by ``save``)."""
        cdef _Segment g
        cdef int t
        with self._wlock:
            self._merge_all()
            if not self._segobjs:
                self._publish([self._build(np.empty(0, np.uint64), np.empty(0, np.uint64))],
                              True)
            g = self._segobjs[0]
            parts = {"fps": g.arrays[0], "ids": g.arrays[1], "id_order": g.arrays[2]}
            bits = []
            i = 3
            for t in range(self.T):
                parts[f"dir{t}"] = g.arrays[i]
                i += 1
                if t:
                    parts[f"res{t}"] = g.arrays[i]
                    parts[f"rows{t}"] = g.arrays[i + 1]
                    i += 2
                bits.append(g.s.d[t])
            return parts, bits

    def _attach(self, dict parts not None, list bits not None):
        """Adopt one segment's arrays (maybe read-only memory maps) as the whole index.

        Checks shapes and the ends of each directory only, so a mapped file is
        not read; queries bound-check every offset and row they follow.
        """
        cdef _Segment g = _Segment(self.T)
        cdef int t, d
        cdef Py_ssize_t n
        self._check_ready()
        if self.n_live or self.nseg:
            raise RuntimeError("attach needs an empty index")
        fps, ids, id_order = parts["fps"], parts["ids"], parts["id_order"]
        n = fps.shape[0]
        if n >= 0xFFFFFFFF or ids.shape[0] != n or id_order.shape[0] != n:
            raise ValueError("inconsistent array lengths")
        g.arrays += [fps, ids, id_order]
        g.s.n = n
        g.s.fps = _ix_u64ptr(fps)
        g.s.ids = _ix_u64ptr(ids)
        g.s.id_order = _ix_u32ptr(id_order)
        if len(bits) != self.T:
            raise ValueError("directory bits do not match the design")
        for t in range(self.T):
            d = bits[t]
            if not 0 <= d <= min(IX_MAX_DIR_BITS, self.tabs[t].p):
                raise ValueError(f"bad directory size for table {t}")
            dir_ = parts[f"dir{t}"]
            if dir_.shape[0] != (1 << d) + 1 or dir_[0] != 0 or dir_[dir_.shape[0] - 1] != n:
                raise ValueError(f"directory of table {t} is inconsistent")
            g.s.d[t] = d
            g.s.resmask[t] = _ix_resmask(self.tabs[t].p, d)
            g.s.dirs[t] = _ix_u32ptr(dir_)
            g.arrays.append(dir_)
            if t:
                res, rows = parts[f"res{t}"], parts[f"rows{t}"]
                if res.shape[0] != n or rows.shape[0] != n:
                    raise ValueError(f"table {t} has the wrong length")
                g.s.res[t] = _ix_u32ptr(res)
                g.s.rows[t] = _ix_u32ptr(rows)
                g.arrays += [res, rows]
        _ix_init_own(&g.s, self.tabs, self.T)
        with self._wlock:
            self._publish([g] if n else [], True)
            self.n_live = n

    @property
    def nbytes(self):
        """Bytes held by the index arrays (segments, directories, insert buffer)."""
        return (sum(g.nbytes() for g in self._segobjs)
                + 2 * IX_BUFFER_CAP * sizeof(uint64_t))

    def _stats(self):
        """Internal shape: segment sizes, buffered items, directory bits per segment."""
        cdef _Segment g
        return {
            "segments": [int(g.s.n) for g in self._segobjs],
            "deleted": [int(g.s.n_deleted) for g in self._segobjs],
            "buffered": int(self.nbuf),
            "dir_bits": [[g.s.d[t] for t in range(self.T)] for g in self._segobjs],
        }


cdef uint64_t _ix_as_u64(object x, str what) except? 0xFFFFFFFFFFFFFFFF:
    """An int (or numpy integer) in [0, 2**64), else TypeError / ValueError."""
    if type(x) is not int:
        if isinstance(x, bool) or not hasattr(type(x), "__index__"):
            raise TypeError(f"{what} must be an integer, got {type(x).__name__}")
        x = x.__index__()
    if x < 0 or x > 0xFFFFFFFFFFFFFFFF:
        raise ValueError(f"{what} {x} is outside the uint64 range [0, 2**64)")
    return <uint64_t>x
