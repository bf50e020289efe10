# Batch dedup kernels: all-pairs self-join, connected components, Jaccard.
# Included from _core.pyx (one compiled module); uses its imports.

cdef extern from *:
    """
    static inline int sd_popcount64(uint64_t x) { return __builtin_popcountll(x); }
    """
    int sd_popcount64(uint64_t x) nogil


cdef struct PairBuffer:
    int64_t* i
    int64_t* j
    uint8_t* d
    Py_ssize_t size
    Py_ssize_t cap
    int failed


cdef void _pairs_push(PairBuffer* p, int64_t i, int64_t j, uint8_t d) noexcept nogil:
    cdef Py_ssize_t cap
    cdef int64_t* ni
    cdef int64_t* nj
    cdef uint8_t* nd
    if p.failed:
        return
    if p.size == p.cap:
        cap = p.cap * 2 if p.cap else 1024
        ni = <int64_t*>realloc(p.i, cap * sizeof(int64_t))
        if ni != NULL:
            p.i = ni
        nj = <int64_t*>realloc(p.j, cap * sizeof(int64_t))
        if nj != NULL:
            p.j = nj
        nd = <uint8_t*>realloc(p.d, cap * sizeof(uint8_t))
        if nd != NULL:
            p.d = nd
        if ni == NULL or nj == NULL or nd == NULL:
            p.failed = 1
            return
        p.cap = cap
    p.i[p.size] = i
    p.j[p.size] = j
    p.d[p.size] = d
    p.size += 1


cdef int _mask_runs(uint64_t mask, int* starts, int* widths) noexcept nogil:
    """Split ``mask`` into runs of consecutive set bits; returns how many."""
    cdef int n = 0, b = 0
    while b < 64:
        if (mask >> b) & 1:
            starts[n] = b
            while b < 64 and (mask >> b) & 1:
                b += 1
            widths[n] = b - starts[n]
            n += 1
        else:
            b += 1
    return n


cdef inline uint64_t _pack(uint64_t fp, int n_runs, const int* starts, const int* widths) noexcept nogil:
    # The masked bits, packed into the low popcount(mask) bits: a dense sort key.
    cdef uint64_t key = 0
    cdef int r, offset = 0
    for r in range(n_runs):
        if widths[r] == 64:
            return fp
        key |= ((fp >> starts[r]) & ((<uint64_t>1 << widths[r]) - 1)) << offset
        offset += widths[r]
    return key


cdef int _radix_sort(uint64_t* keys, int64_t* idx, uint64_t* keys_tmp, int64_t* idx_tmp,
                     Py_ssize_t n, int bits) noexcept nogil:
    """Stable LSD radix sort of (keys, idx) by the low ``bits`` of keys; -1 if out of memory."""
    cdef Py_ssize_t* count = <Py_ssize_t*>malloc(2048 * sizeof(Py_ssize_t))
    cdef Py_ssize_t i, total, c
    cdef int shift = 0, digit, swapped = 0
    cdef uint64_t* ks
    cdef int64_t* ix
    if count == NULL:
        return -1
    while shift < bits:
        for digit in range(2048):
            count[digit] = 0
        for i in range(n):
            count[(keys[i] >> shift) & 2047] += 1
        total = 0
        for digit in range(2048):
            c = count[digit]
            count[digit] = total
            total += c
        for i in range(n):
            digit = (keys[i] >> shift) & 2047
            keys_tmp[count[digit]] = keys[i]
            idx_tmp[count[digit]] = idx[i]
            count[digit] += 1
        ks = keys
        keys = keys_tmp
        keys_tmp = ks
        ix = idx
        idx = idx_tmp
        idx_tmp = ix
        swapped ^= 1
        shift += 11
    if swapped:  # the sorted data sits in the scratch arrays: copy it home
        memcpy(keys_tmp, keys, n * sizeof(uint64_t))
        memcpy(idx_tmp, idx, n * sizeof(int64_t))
    free(count)
    return 0


def self_join(const uint64_t[::1] fps not None, const uint64_t[::1] masks not None, int k,
              Py_ssize_t start=0):
    """Every pair (i < j) of rows with ``popcount(fps[i] ^ fps[j]) <= k``, each once.

    ``masks`` are the tables' key bits: rows equal under a mask form a prefix
    run that is compared all-pairs. The caller guarantees that every pair
    within ``k`` bits agrees on at least one mask (pigeonhole); a pair is
    emitted only by the first table in which it agrees, so none repeats.

    Only tables ``start`` onwards are scanned (earlier masks still decide
    which table owns a pair): a caller may run one table a call.

    Returns ``(i, j, d)``: int64, int64 and uint8 arrays, ordered by table
    then key.
    """
    cdef Py_ssize_t n = fps.shape[0], n_tables = masks.shape[0], t, a, b, x, y, s
    cdef int starts[64]
    cdef int widths[64]
    cdef int n_runs, bits, dist
    cdef int64_t i, j
    cdef uint64_t diff, key
    cdef bint seen
    cdef PairBuffer pairs
    if not 0 <= k <= 64:
        raise ValueError(f"k must be in [0, 64], got {k}")
    if not 0 <= start <= n_tables:
        raise ValueError(f"start must be in [0, {n_tables}], got {start}")
    for t in range(n_tables):
        if masks[t] == 0:
            raise ValueError("a table mask must have at least one bit")
    pairs.i = NULL
    pairs.j = NULL
    pairs.d = NULL
    pairs.size = 0
    pairs.cap = 0
    pairs.failed = 0
    cdef uint64_t* keys = <uint64_t*>malloc((n + 1) * sizeof(uint64_t))
    cdef uint64_t* keys_tmp = <uint64_t*>malloc((n + 1) * sizeof(uint64_t))
    cdef int64_t* idx = <int64_t*>malloc((n + 1) * sizeof(int64_t))
    cdef int64_t* idx_tmp = <int64_t*>malloc((n + 1) * sizeof(int64_t))
    try:
        if keys == NULL or keys_tmp == NULL or idx == NULL or idx_tmp == NULL:
            raise MemoryError()
        with nogil:
            for t in range(start, n_tables):
                n_runs = _mask_runs(masks[t], starts, widths)
                bits = sd_popcount64(masks[t])
                for a in range(n):
                    keys[a] = _pack(fps[a], n_runs, starts, widths)
                    idx[a] = a
                if _radix_sort(keys, idx, keys_tmp, idx_tmp, n, bits) != 0:
                    pairs.failed = 1
                    break
                a = 0
                while a < n:
                    b = a + 1
                    key = keys[a]
                    while b < n and keys[b] == key:
                        b += 1
                    for x in range(a, b):
                        for y in range(x + 1, b):
                            diff = fps[idx[x]] ^ fps[idx[y]]
                            dist = sd_popcount64(diff)
                            if dist > k:
                                continue
                            seen = False
                            for s in range(t):
                                if (diff & masks[s]) == 0:
                                    seen = True
                                    break
                            if not seen:
                                i, j = idx[x], idx[y]
                                if i > j:
                                    i, j = j, i
                                _pairs_push(&pairs, i, j, <uint8_t>dist)
                    a = b
                if pairs.failed:
                    break
        if pairs.failed:
            raise MemoryError("out of memory collecting duplicate pairs")
        out_i = np.empty(pairs.size, dtype=np.int64)
        out_j = np.empty(pairs.size, dtype=np.int64)
        out_d = np.empty(pairs.size, dtype=np.uint8)
        if pairs.size:
            _copy_pairs(&pairs, out_i, out_j, out_d)
        return out_i, out_j, out_d
    finally:
        free(keys)
        free(keys_tmp)
        free(idx)
        free(idx_tmp)
        free(pairs.i)
        free(pairs.j)
        free(pairs.d)


cdef void _copy_pairs(PairBuffer* p, int64_t[::1] i, int64_t[::1] j, uint8_t[::1] d) noexcept:
    memcpy(&i[0], p.i, p.size * sizeof(int64_t))
    memcpy(&j[0], p.j, p.size * sizeof(int64_t))
    memcpy(&d[0], p.d, p.size * sizeof(uint8_t))


cdef inline int64_t _find(int64_t* parent, int64_t x) noexcept nogil:
    while parent[x] != x:
        parent[x] = parent[parent[x]]  # path halving
        x = parent[x]
    return x


def connected_components(Py_ssize_t n, const int64_t[::1] i not None, const int64_t[::1] j not None):
    """Component of each of ``n`` nodes joined by edges ``(i, j)``.

    Returns an int64 array: the smallest node index of each node's component,
    so labels are deterministic and name each component's first member.
    """
    cdef Py_ssize_t e, m = i.shape[0], x
    cdef int64_t a, b
    if j.shape[0] != m:
        raise ValueError("i and j differ in length")
    labels = np.arange(n, dtype=np.int64)
    cdef int64_t[::1] parent = labels
    with nogil:
        for e in range(m):
            if not (0 <= i[e] < n and 0 <= j[e] < n):
                with gil:
                    raise ValueError(f"edge {e} ({i[e]}, {j[e]}) is outside [0, {n})")
            a = _find(&parent[0], i[e])
            b = _find(&parent[0], j[e])
            if a < b:
                parent[b] = a
            elif b < a:
                parent[a] = b
        for x in range(n):
            parent[x] = _find(&parent[0], x)
    return labels


def jaccard_pairs(const int64_t[::1] indptr not None, const uint64_t[::1] terms not None,
                  const int64_t[::1] i not None, const int64_t[::1] j not None):
    """Jaccard similarity of the term sets of rows ``i[e]`` and ``j[e]``.

    ``indptr``/``terms`` hold each row's distinct terms in ascending order
    (CSR). Two empty sets have similarity 1.

    Raises ``ValueError`` on inconsistent CSR parts (``indptr`` not starting
    at 0, decreasing, or ending past ``terms``) or a pair outside the rows:
    the loop below trusts them, so they are checked here, in one pass.
    """
    cdef Py_ssize_t e, m = i.shape[0], n_rows = indptr.shape[0] - 1, r
    cdef int64_t p, q, p_end, q_end, inter, union_
    cdef bint bad = False
    if j.shape[0] != m:
        raise ValueError("i and j differ in length")
    if n_rows < 0 or indptr[0] != 0 or indptr[n_rows] > terms.shape[0]:
        raise ValueError(f"indptr must run from 0 to at most len(terms) = {terms.shape[0]}")
    with nogil:
        for r in range(n_rows):
            if indptr[r + 1] < indptr[r]:
                bad = True
                break
    if bad:
        raise ValueError(f"indptr decreases at row {r}")
    out = np.empty(m, dtype=np.float64)
    cdef double[::1] sim = out
    with nogil:
        for e in range(m):
            if not (0 <= i[e] < n_rows and 0 <= j[e] < n_rows):
                with gil:
                    raise ValueError(f"pair {e} ({i[e]}, {j[e]}) is outside [0, {n_rows})")
            p, p_end = indptr[i[e]], indptr[i[e] + 1]
            q, q_end = indptr[j[e]], indptr[j[e] + 1]
            union_ = (p_end - p) + (q_end - q)
            inter = 0
            while p < p_end and q < q_end:
                if terms[p] == terms[q]:
                    inter += 1
                    p += 1
                    q += 1
                elif terms[p] < terms[q]:
                    p += 1
                else:
                    q += 1
            union_ -= inter
            sim[e] = 1.0 if union_ == 0 else <double>inter / <double>union_
    return out
