# --------------------------------------------------------------------------
# Index storage: immutable segments (sorted permuted tables) and the insert buffer
# --------------------------------------------------------------------------
# Layout of one segment of n items (design with T tables):
#   fps[n], ids[n]     uint64  items bucketed by table 0's key (the "rows")
#   id_order[n]        uint32  rows sorted by id (remove / contains / unique ids)
#   dirs[t][2^d_t + 1] uint32  table t: bucket b holds entries dir[b]..dir[b+1]
#   res[t][n], rows[t][n]
#                      uint32  table t >= 1: 32 bits of the permuted fingerprint
#                              after its d_t directory bits, and the row it is
# 20 + 8 (T - 1) bytes per item plus the directories: 44 B for T = 4.
# Table 0 needs no residual: its bucket order *is* the row order, and its
# scan reads the fingerprints themselves.
#
# New items go to a small unsorted buffer, scanned linearly by queries, until
# it fills and is built into a segment (_index_compact.pxi decides merges).

cdef enum:
    IX_BUFFER_CAP = 1024     # unsorted insert buffer; built into a segment when full

# Rows are uint32 (id_order, rows[t], the directories' offsets), and
# 0xFFFFFFFF is kept free as a sentinel: a segment holds fewer items.
cdef Py_ssize_t IX_MAX_SEGMENT = 0xFFFFFFFE

INDEX_BUFFER_CAP = IX_BUFFER_CAP
"""Items the insert buffer of a :class:`HammingIndex` holds before they become a segment."""

INDEX_MAX_SEGMENT = IX_MAX_SEGMENT
"""Most items one segment (and so one saved index file) holds: row numbers are uint32."""


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


cdef struct IxBuffer:
    uint64_t* fps            # IX_BUFFER_CAP slots each
    uint64_t* ids
    Py_ssize_t n


cdef struct IxView:
    # What readers see, read under the read lock and changed under the write lock.
    IxSeg** segs             # the published segments, largest first
    Py_ssize_t nseg
    IxBuffer buf


cdef inline bint _ix_is_deleted(const IxSeg* g, Py_ssize_t row) noexcept nogil:
    return g.deleted != NULL and (g.deleted[row >> 3] >> (row & 7)) & 1


cdef uint64_t* _ix_u64ptr(object a):
    cdef const uint64_t[::1] v = a
    return <uint64_t*>&v[0] if v.shape[0] else NULL


cdef uint32_t* _ix_u32ptr(object a):
    cdef const uint32_t[::1] v = a
    return <uint32_t*>&v[0] if v.shape[0] else NULL


cdef uint8_t* _ix_u8ptr(object a):
    cdef const uint8_t[::1] v = a
    return <uint8_t*>&v[0] if v.shape[0] else NULL


@cython.final
cdef class _Segment:
    """One immutable segment: its items and their tables, as named numpy arrays.

    The arrays may be read-only memory maps of a saved file. ``s`` holds raw
    pointers into them for the nogil kernels; the attributes keep them alive
    and name them (``_index_persist.pxi`` saves and adopts them by name).
    """

    cdef IxSeg s
    cdef int T
    cdef object fps           # uint64[n]: fingerprints, bucketed by table 0's key
    cdef object ids           # uint64[n]: the id of each row
    cdef object id_order      # uint32[n]: rows in ascending id order
    cdef list dirs            # per table: uint32[2**d + 1] bucket offsets
    cdef list res             # per table: uint32[n] residuals (None for table 0)
    cdef list rows            # per table: uint32[n] row of each entry (None for table 0)
    cdef object deleted       # uint8 tombstone bitmap, None until an item is removed

    def __cinit__(self, int T):
        self.T = T
        self.dirs = [None] * T
        self.res = [None] * T
        self.rows = [None] * T
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

    cdef int set_items(self, object fps, object ids, object id_order) except -1:
        """Adopt the item arrays (lengths checked by the caller)."""
        self.fps = fps
        self.ids = ids
        self.id_order = id_order
        self.s.n = fps.shape[0]
        self.s.fps = _ix_u64ptr(fps)
        self.s.ids = _ix_u64ptr(ids)
        self.s.id_order = _ix_u32ptr(id_order)
        return 0

    cdef int set_directory(self, const IxTable* tab, int t, int d, object dir_) except -1:
        """Adopt table ``t``'s directory of ``2**d + 1`` offsets."""
        self.s.d[t] = d
        self.s.resmask[t] = _ix_resmask(tab.p, d)
        self.s.dirs[t] = _ix_u32ptr(dir_)
        self.dirs[t] = dir_
        return 0

    cdef int set_entries(self, int t, object res, object rows) except -1:
        """Adopt table ``t``'s residuals and rows (t >= 1)."""
        self.s.res[t] = _ix_u32ptr(res)
        self.s.rows[t] = _ix_u32ptr(rows)
        self.res[t] = res
        self.rows[t] = rows
        return 0

    cdef uint8_t* tombstones(self) except NULL:
        """The tombstone bitmap, allocated on first use (the caller publishes it under
        the write lock, so no reader meets a half-initialised one)."""
        if self.deleted is None:
            self.deleted = np.zeros((self.s.n + 7) // 8 + 1, dtype=np.uint8)
        return <uint8_t*>_ix_u8ptr(self.deleted)

    cdef Py_ssize_t nbytes(self):
        """Bytes of every array, tombstones included."""
        cdef Py_ssize_t total = self.fps.nbytes + self.ids.nbytes + self.id_order.nbytes
        cdef int t
        for t in range(self.T):
            total += self.dirs[t].nbytes
            if t:
                total += self.res[t].nbytes + self.rows[t].nbytes
        if self.deleted is not None:
            total += self.deleted.nbytes
        return total


# ---------------------------------------------------------------- building

cdef void _ix_directory(const uint64_t* fps, Py_ssize_t n, const IxTable* tab, int d,
                        uint32_t* dir_) noexcept nogil:
    """Bucket offsets of rows 0..n-1 under the top ``d`` bits of their permuted fingerprint."""
    cdef Py_ssize_t nb = <Py_ssize_t>1 << d, i
    memset(dir_, 0, (nb + 1) * sizeof(uint32_t))
    for i in range(n):
        dir_[_ix_bucket(_ix_perm(tab, fps[i]), d) + 1] += 1
    for i in range(nb):
        dir_[i + 1] += dir_[i]


cdef void _ix_place_rows(const uint64_t* src_f, const uint64_t* src_i, Py_ssize_t n,
                         const IxTable* tab, int d, const uint32_t* dir_, uint32_t* cursor,
                         uint64_t* fps, uint64_t* ids) noexcept nogil:
    """Table 0: the items themselves, in bucket order (counting sort, second half)."""
    cdef Py_ssize_t i
    cdef uint64_t b
    cdef uint32_t pos
    memcpy(cursor, dir_, (<Py_ssize_t>1 << d) * sizeof(uint32_t))
    for i in range(n):
        b = _ix_bucket(_ix_perm(tab, src_f[i]), d)
        pos = cursor[b]
        cursor[b] = pos + 1
        fps[pos] = src_f[i]
        ids[pos] = src_i[i]


cdef void _ix_place_entries(const uint64_t* fps, Py_ssize_t n, const IxTable* tab, int d,
                            const uint32_t* dir_, uint32_t* cursor,
                            uint32_t* res, uint32_t* rows) noexcept nogil:
    """Tables >= 1: each row's residual and row number, in bucket order."""
    cdef Py_ssize_t i
    cdef uint64_t key, b
    cdef uint32_t pos
    memcpy(cursor, dir_, (<Py_ssize_t>1 << d) * sizeof(uint32_t))
    for i in range(n):
        key = _ix_perm(tab, fps[i])
        b = _ix_bucket(key, d)
        pos = cursor[b]
        cursor[b] = pos + 1
        res[pos] = _ix_residual(key, d)
        rows[pos] = <uint32_t>i


cdef int _ix_sort_ids(const uint64_t* ids, Py_ssize_t n, uint32_t* order) noexcept nogil:
    """``order`` gets 0..n-1 sorted by ``ids``; -1 when out of memory."""
    cdef uint64_t* keys = <uint64_t*>malloc(n * sizeof(uint64_t) + 1)
    cdef uint64_t* keys_tmp = <uint64_t*>malloc(n * sizeof(uint64_t) + 1)
    cdef uint32_t* order_tmp = <uint32_t*>malloc(n * sizeof(uint32_t) + 1)
    cdef Py_ssize_t i
    cdef int rc = -1
    if keys != NULL and keys_tmp != NULL and order_tmp != NULL:
        for i in range(n):
            keys[i] = ids[i]
            order[i] = <uint32_t>i
        radix_sort(keys, order, n, 64, keys_tmp, order_tmp)
        rc = 0
    free(keys)
    free(keys_tmp)
    free(order_tmp)
    return rc


cdef _Segment _ix_build_segment(const IxDesign* design, object fps_arr, object ids_arr):
    """A new segment of the items ``(fps_arr[i], ids_arr[i])`` (uint64, any order, ids unique)."""
    cdef Py_ssize_t n = fps_arr.shape[0]
    cdef int T = design.T, t, d, rc = 0
    cdef _Segment seg = _Segment(T)
    cdef const uint64_t* src_f = _ix_u64ptr(fps_arr)
    cdef const uint64_t* src_i = _ix_u64ptr(ids_arr)
    cdef Py_ssize_t maxnb = 1
    cdef uint32_t* cursor
    if n > IX_MAX_SEGMENT:
        raise ValueError("a segment holds fewer than 2**32 - 1 fingerprints")
    seg.set_items(np.empty(n, dtype=np.uint64), np.empty(n, dtype=np.uint64),
                  np.empty(n, dtype=np.uint32))
    for t in range(T):
        d = _ix_dir_bits(n, design.tabs[t].p)
        maxnb = max(maxnb, <Py_ssize_t>1 << d)
        seg.set_directory(&design.tabs[t], t, d, np.empty((1 << d) + 1, dtype=np.uint32))
        if t:
            seg.set_entries(t, np.empty(n, dtype=np.uint32), np.empty(n, dtype=np.uint32))
    _ix_init_own(&seg.s, design)
    cursor = <uint32_t*>malloc(maxnb * sizeof(uint32_t))
    if cursor == NULL:
        raise MemoryError()
    with nogil:
        _ix_directory(src_f, n, &design.tabs[0], seg.s.d[0], seg.s.dirs[0])
        _ix_place_rows(src_f, src_i, n, &design.tabs[0], seg.s.d[0], seg.s.dirs[0], cursor,
                       seg.s.fps, seg.s.ids)
        for t in range(1, T):  # later tables point at rows, so they are filed after table 0
            _ix_directory(seg.s.fps, n, &design.tabs[t], seg.s.d[t], seg.s.dirs[t])
            _ix_place_entries(seg.s.fps, n, &design.tabs[t], seg.s.d[t], seg.s.dirs[t], cursor,
                              seg.s.res[t], seg.s.rows[t])
        if n:
            rc = _ix_sort_ids(seg.s.ids, n, seg.s.id_order)
    free(cursor)
    if rc != 0:
        raise MemoryError()
    return seg


cdef tuple _ix_live_items(list segs, const IxBuffer* buf):
    """``(fps, ids)`` arrays of the live items of ``segs`` and, unless NULL, of ``buf``."""
    cdef Py_ssize_t total = buf.n if buf != NULL else 0, j, w = 0
    cdef _Segment g
    for g in segs:
        total += g.s.n - g.s.n_deleted
    fps = np.empty(total, dtype=np.uint64)
    ids = np.empty(total, dtype=np.uint64)
    cdef uint64_t* f = _ix_u64ptr(fps)
    cdef uint64_t* d = _ix_u64ptr(ids)
    for g in segs:
        with nogil:
            for j in range(g.s.n):
                if not _ix_is_deleted(&g.s, j):
                    f[w] = g.s.fps[j]
                    d[w] = g.s.ids[j]
                    w += 1
    if buf != NULL:
        for j in range(buf.n):
            f[w] = buf.fps[j]
            d[w] = buf.ids[j]
            w += 1
    return fps, ids


cdef tuple _ix_batch_and_buffer(const uint64_t[::1] fps, const uint64_t[::1] ids,
                                const IxBuffer* buf):
    """``(fps, ids)``: a batch followed by the buffered items, as new uint64 arrays."""
    cdef Py_ssize_t m = fps.shape[0], j
    f2 = np.empty(m + buf.n, dtype=np.uint64)
    i2 = np.empty(m + buf.n, dtype=np.uint64)
    cdef uint64_t* pf = _ix_u64ptr(f2)
    cdef uint64_t* pi = _ix_u64ptr(i2)
    with nogil:
        for j in range(m):
            pf[j] = fps[j]
            pi[j] = ids[j]
        for j in range(buf.n):
            pf[m + j] = buf.fps[j]
            pi[m + j] = buf.ids[j]
    return f2, i2


# ---------------------------------------------------------------- the insert buffer
# Changed only under the write lock (the caller holds it).

cdef inline void _ix_buffer_append(IxBuffer* buf, uint64_t fp, uint64_t id) noexcept nogil:
    buf.fps[buf.n] = fp
    buf.ids[buf.n] = id
    buf.n += 1


cdef inline void _ix_buffer_remove(IxBuffer* buf, Py_ssize_t r) noexcept nogil:
    """Drop entry ``r``: the last entry takes its place (the buffer is unordered)."""
    buf.n -= 1
    buf.fps[r] = buf.fps[buf.n]
    buf.ids[r] = buf.ids[buf.n]


# ---------------------------------------------------------------- id lookups

cdef Py_ssize_t _ix_first_repeat(const uint64_t* ids, const uint32_t* order,
                                 Py_ssize_t m) noexcept nogil:
    """Index of an id that appears twice in ``ids`` (sorted through ``order``), or -1."""
    cdef Py_ssize_t i
    for i in range(m - 1):
        if ids[order[i]] == ids[order[i + 1]]:
            return order[i]
    return -1


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


cdef bint _ix_locate(const IxView* v, uint64_t id, Py_ssize_t* seg, Py_ssize_t* row) noexcept nogil:
    """Where live item ``id`` is: segment index (or -1 for the buffer) and row."""
    cdef Py_ssize_t i, r
    for i in range(v.nseg):
        r = _ix_find_id(v.segs[i], id)
        if r >= 0:
            seg[0] = i
            row[0] = r
            return True
    for r in range(v.buf.n):
        if v.buf.ids[r] == id:
            seg[0] = -1
            row[0] = r
            return True
    return False


cdef Py_ssize_t _ix_first_stored(const IxView* v, const uint64_t* ids, const uint32_t* order,
                                 Py_ssize_t m) noexcept nogil:
    """Index of a batch id already stored, or -1 (``ids`` sorted through ``order``)."""
    cdef Py_ssize_t i, a, b, r, lg
    cdef const IxSeg* g
    cdef uint32_t row
    for r in range(v.buf.n):  # the buffer is small: binary search each of its ids
        a = 0
        b = m
        while a < b:
            i = (a + b) >> 1
            if ids[order[i]] < v.buf.ids[r]:
                a = i + 1
            else:
                b = i
        if a < m and ids[order[a]] == v.buf.ids[r]:
            return order[a]
    for i in range(v.nseg):
        g = v.segs[i]
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
