# --------------------------------------------------------------------------
# Index probing: every stored item within k bits of a query, each once
# --------------------------------------------------------------------------
# A query permutes q for each table, reads its bucket and checks candidates.
# An item within k bits is reported only by the first table whose whole key it
# shares with q (pigeonhole guarantees one), so every item comes out once.
# All of it runs without the GIL, under the read lock, and calls no Python.

cdef enum:
    IX_INSERTION_SORT_MAX = 48   # fewer hits than this: insertion sort beats the radix passes


cdef struct IxHit:
    uint64_t id
    int dist


cdef inline int _ix_push(GrowArray* hits, uint64_t id, int dist) noexcept nogil:
    """Append a hit to ``hits`` (a GrowArray of IxHit); -1 when out of memory."""
    cdef IxHit* h
    if hits.n == hits.cap and grow_reserve(hits, 1, sizeof(IxHit)) != 0:
        return -1
    h = <IxHit*>hits.data + hits.n
    h.id = id
    h.dist = dist
    hits.n += 1
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
    """Sort by (distance, id) in O(n): by id, then stably by distance. -1 if out of memory."""
    cdef uint64_t* a = <uint64_t*>malloc(4 * n * sizeof(uint64_t))
    cdef uint64_t* b
    cdef uint64_t* c
    cdef uint64_t* e
    cdef Py_ssize_t i
    if a == NULL:
        return -1
    b = a + n
    c = b + n
    e = c + n
    for i in range(n):
        a[i] = h[i].id
        b[i] = <uint64_t>h[i].dist
    radix_sort(a, b, n, 64, c, e)   # keys: ids, values: distances
    memcpy(c, b, n * sizeof(uint64_t))
    radix_sort(c, a, n, 8, b, e)    # keys: distances (<= 64), values: ids
    for i in range(n):
        h[i].id = a[i]
        h[i].dist = <int>c[i]
    free(a)
    return 0


cdef void _ix_sort_hits(IxHit* h, Py_ssize_t n) noexcept nogil:
    """Order results by (distance, id) so answers do not depend on the layout."""
    cdef Py_ssize_t i, j
    cdef IxHit v
    if n > IX_INSERTION_SORT_MAX:
        if _ix_radix_hits(h, n) == 0:
            return
        qsort(h, n, sizeof(IxHit), _ix_hit_cmp)  # out of memory for the radix buffers
        return
    for i in range(1, n):
        v = h[i]
        j = i - 1
        while j >= 0 and _ix_hit_cmp(&h[j], &v) > 0:
            h[j + 1] = h[j]
            j -= 1
        h[j + 1] = v


cdef list _ix_hits_to_list(const IxHit* h, Py_ssize_t n):
    """``[(id, distance), ...]`` for the Python API."""
    cdef Py_ssize_t i
    cdef list out = []
    for i in range(n):
        out.append((h[i].id, h[i].dist))
    return out


# ------------------------------------------------- tables another table owns

cdef void _ix_init_own(IxSeg* g, const IxDesign* design) noexcept nogil:
    """Fill ``own``/``nown`` for the segment's directory sizes (see _ix_owned_elsewhere)."""
    cdef int T = design.T, t, u, d
    cdef uint64_t pm, window
    for t in range(T):
        g.nown[t] = 0
        d = g.d[t]
        window = 0xFFFFFFFFFFFFFFFFULL << (32 - d)  # directory + residual bits, d <= 26
        for u in range(t):
            pm = _ix_perm(&design.tabs[t], design.tabs[u].mask)  # u's key, moved as t moves bits
            if pm and (pm & ~window) == 0 and <uint32_t>(pm >> (32 - d)):
                g.own[t * T + g.nown[t]] = <uint32_t>(pm >> (32 - d))
                g.nown[t] += 1


cdef inline bint _ix_owned_elsewhere(const IxSeg* g, int T, int t, uint32_t r) noexcept nogil:
    """Does an earlier table whose key lies in t's residual window match too?

    Saves fetching rows that clusters of near-duplicates meet in every table.
    """
    cdef int i
    for i in range(g.nown[t]):
        if (r & g.own[t * T + i]) == 0:
            return True
    return False


# ---------------------------------------------------------------- probing

cdef void _ix_probe(const IxSeg* g, const IxDesign* design, uint64_t q, int k,
                    GrowArray* out) noexcept nogil:
    """Append to ``out`` every live item of segment ``g`` within ``k`` bits of ``q``."""
    cdef const IxTable* tabs = design.tabs
    cdef int T = design.T
    cdef uint32_t cand[SCAN_CHUNK]
    cdef Py_ssize_t n = g.n, lo, hi, c, m, i, r
    cdef uint64_t key, diff
    cdef uint32_t row, qres
    cdef int t, u, d, dist
    cdef bint owned
    for t in range(T):
        key = _ix_perm(&tabs[t], q)
        d = g.d[t]
        lo = g.dirs[t][_ix_bucket(key, d)]
        hi = g.dirs[t][_ix_bucket(key, d) + 1]
        if hi > n or lo > hi:
            continue  # only a corrupted mapped file gets here: never read out of bounds
        qres = _ix_residual(key, d)
        c = lo
        while c < hi:
            if t == 0:  # table 0's entries are the rows: scan the fingerprints
                m = hamming_scan64(g.fps + c, min(<Py_ssize_t>SCAN_CHUNK, hi - c), q,
                                   tabs[0].mask, k, cand)
                for i in range(m):
                    r = c + cand[i]
                    if not _ix_is_deleted(g, r):
                        _ix_push(out, g.ids[r], popcount64(g.fps[r] ^ q))
            else:  # scan residuals, then fetch the fingerprint of each survivor
                m = hamming_scan32(g.res[t] + c, min(<Py_ssize_t>SCAN_CHUNK, hi - c), qres,
                                   g.resmask[t], k, cand)
                for i in range(m):
                    r = c + cand[i]
                    if _ix_owned_elsewhere(g, T, t, g.res[t][r] ^ qres):
                        continue  # an earlier table reports it: skip the fetch
                    row = g.rows[t][r]
                    if row >= n:
                        continue
                    diff = g.fps[row] ^ q
                    if (diff & tabs[t].mask) != 0:
                        continue
                    dist = popcount64(diff)
                    if dist > k:
                        continue
                    owned = True
                    for u in range(t):
                        if (diff & tabs[u].mask) == 0:
                            owned = False  # an earlier table reports it
                            break
                    if owned and not _ix_is_deleted(g, row):
                        _ix_push(out, g.ids[row], dist)
            c += SCAN_CHUNK


cdef void _ix_query(const IxView* v, const IxDesign* design, uint64_t q, int k,
                    GrowArray* out) noexcept nogil:
    """Append to ``out`` every item of the view within ``k`` bits of ``q`` (unsorted)."""
    cdef uint32_t cand[SCAN_CHUNK]
    cdef Py_ssize_t i, c, m, r
    for i in range(v.nseg):
        _ix_probe(v.segs[i], design, q, k, out)
    c = 0
    while c < v.buf.n:  # the unsorted buffer: every item is a candidate
        m = hamming_scan64(v.buf.fps + c, min(<Py_ssize_t>SCAN_CHUNK, v.buf.n - c), q, 0, k, cand)
        for i in range(m):
            r = c + cand[i]
            _ix_push(out, v.buf.ids[r], popcount64(v.buf.fps[r] ^ q))
        c += SCAN_CHUNK
