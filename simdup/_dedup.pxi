# Batch dedup kernels: all-pairs self-join, connected components, Jaccard.
# Included from _core.pyx (one compiled module) after _primitives.pxi, whose
# popcount, Hamming scan, radix sort and growable arrays the self-join uses.

JOIN_MAX_K = 10
"""Largest ``k`` of the batch dedup (``simdup.dedup``, the CLI, ``simdup.dask``).

:func:`self_join` itself is exact for any ``k`` in ``[0, 64]`` given masks
that cover it; the limit is where join designs stop paying. A design trades
tables (each a radix sort of all n fingerprints) against key bits (runs of
equal keys are compared all-pairs), and both costs grow fast with k: for a
million fingerprints the planner's best at ``k = 10`` is already 1001 tables
of 18-bit keys (``simdup.dedup.join_masks``).
"""


JOIN_RADIX_BITS = RADIX_BITS
"""Key bits the self-join sorts per radix pass: a table with ``b``-bit keys costs
``ceil(b / JOIN_RADIX_BITS)`` scatter passes over the fingerprints (for a cost model)."""


cdef struct JoinPairs:
    GrowArray i              # int64: the smaller row of each pair
    GrowArray j              # int64: the larger row
    GrowArray d              # uint8: its Hamming distance


cdef inline int _join_push(JoinPairs* p, int64_t i, int64_t j, uint8_t d) noexcept nogil:
    if grow_push(&p.i, i) != 0 or grow_push(&p.j, j) != 0 or grow_push(&p.d, d) != 0:
        return -1
    return 0


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


cdef inline bint _agrees_earlier(uint64_t diff, const uint64_t* masks, Py_ssize_t t) noexcept nogil:
    """Does the pair also agree on the key of a table before ``t``? (That table owns it.)"""
    cdef Py_ssize_t s
    for s in range(t):
        if (diff & masks[s]) == 0:
            return True
    return False


cdef int _join_run(const uint64_t* fp, const uint64_t* row, Py_ssize_t n, int k,
                   const uint64_t* masks, Py_ssize_t t, JoinPairs* out, Py_ssize_t n_left) noexcept nogil:
    """Pairs within ``k`` bits among the ``n`` fingerprints of one run of equal keys.

    ``fp`` holds the run's fingerprints contiguously (gathered, so the scan
    reads memory in order) and ``row`` their rows. A pair that also agrees on
    an earlier table's key is left to that table. With ``n_left >= 0`` only
    pairs of a row below ``n_left`` and one at or above it are compared: the
    rows of a run ascend (the sort is stable), so those are the run's head
    against its tail. -1 when out of memory.
    """
    cdef uint32_t hit[SCAN_CHUNK]
    cdef Py_ssize_t x, c, m, h, y, split = 0, first
    cdef uint64_t diff
    cdef int64_t i, j
    if n_left >= 0:
        while split < n and <Py_ssize_t>row[split] < n_left:
            split += 1
        if split == 0 or split == n:
            return 0
    for x in range(split if n_left >= 0 else n - 1):
        first = split if n_left >= 0 else x + 1
        c = first
        while c < n:
            m = hamming_scan64(fp + c, min(n - c, <Py_ssize_t>SCAN_CHUNK), fp[x], 0, k, hit)
            for h in range(m):
                y = c + hit[h]
                diff = fp[x] ^ fp[y]
                if _agrees_earlier(diff, masks, t):
                    continue
                i = <int64_t>row[x]
                j = <int64_t>row[y]
                if i > j:
                    i, j = j, i
                if _join_push(out, i, j, <uint8_t>popcount64(diff)) != 0:
                    return -1
            c += SCAN_CHUNK
    return 0


def self_join(const uint64_t[::1] fps not None, const uint64_t[::1] masks not None, int k,
              Py_ssize_t start=0, Py_ssize_t n_left=-1):
    """Every pair (i < j) of rows with ``popcount(fps[i] ^ fps[j]) <= k``, each once.

    Parameters
    ----------
    fps : uint64 buffer
        The fingerprints; a pair is reported by their row numbers.
    masks : uint64 buffer
        The tables' key bits: rows equal under a mask form a run that is
        compared all-pairs. The caller guarantees that every pair within
        ``k`` bits agrees on at least one mask (pigeonhole); a pair is
        emitted only by the first table in which it agrees, so none repeats.
    k : int
        Largest distance reported, in ``[0, 64]``.
    start : int, default 0
        Only tables ``start`` onwards are scanned (earlier masks still decide
        which table owns a pair): a caller may run one table a call.
    n_left : int, default -1
        When given, only the pairs with ``i < n_left <= j`` (a join of
        ``fps[:n_left]`` with ``fps[n_left:]``): each run compares its rows
        below ``n_left`` with those above only, which costs their product,
        not the run's square.

    Returns
    -------
    i, j : int64 arrays
        The rows of each pair, ``i < j``.
    d : uint8 array
        Their distances. Pairs are ordered by table, then key.

    Raises
    ------
    ValueError
        ``k`` or ``start`` out of range, or a mask without bits.
    MemoryError
        Out of memory for the sort or the pairs.
    """
    cdef Py_ssize_t n = fps.shape[0], n_tables = masks.shape[0], t, a, b
    cdef int starts[64]
    cdef int widths[64]
    cdef int n_runs
    cdef uint64_t key
    cdef JoinPairs pairs
    cdef bint failed = False
    if not 0 <= k <= 64:
        raise ValueError(f"k must be in [0, 64], got {k}")
    if not 0 <= start <= n_tables:
        raise ValueError(f"start must be in [0, {n_tables}], got {start}")
    for t in range(n_tables):
        if masks[t] == 0:
            raise ValueError("a table mask must have at least one bit")
    grow_init(&pairs.i)
    grow_init(&pairs.j)
    grow_init(&pairs.d)
    # keys/rows: sort keys and rows sorted by them; the *_tmp arrays are the
    # sort's scratch, and after the sort fps_run gathers fps in key order.
    cdef uint64_t* keys = <uint64_t*>malloc((n + 1) * sizeof(uint64_t))
    cdef uint64_t* keys_tmp = <uint64_t*>malloc((n + 1) * sizeof(uint64_t))
    cdef uint64_t* rows = <uint64_t*>malloc((n + 1) * sizeof(uint64_t))
    cdef uint64_t* rows_tmp = <uint64_t*>malloc((n + 1) * sizeof(uint64_t))
    cdef uint64_t* fps_run = keys_tmp
    try:
        if keys == NULL or keys_tmp == NULL or rows == NULL or rows_tmp == NULL:
            raise MemoryError()
        with nogil:
            for t in range(start, n_tables):
                n_runs = _mask_runs(masks[t], starts, widths)
                for a in range(n):
                    keys[a] = _pack(fps[a], n_runs, starts, widths)
                    rows[a] = <uint64_t>a
                radix_sort(keys, rows, n, popcount64(masks[t]), keys_tmp, rows_tmp)
                for a in range(n):
                    fps_run[a] = fps[rows[a]]
                a = 0
                while a < n:
                    b = a + 1
                    key = keys[a]
                    while b < n and keys[b] == key:
                        b += 1
                    if b - a > 1 and _join_run(fps_run + a, rows + a, b - a, k, &masks[0], t,
                                               &pairs, n_left) != 0:
                        failed = True
                        break
                    a = b
                if failed:
                    break
        if failed:
            raise MemoryError("out of memory collecting duplicate pairs")
        out_i = np.empty(pairs.i.n, dtype=np.int64)
        out_j = np.empty(pairs.i.n, dtype=np.int64)
        out_d = np.empty(pairs.i.n, dtype=np.uint8)
        if pairs.i.n:
            _copy_pairs(&pairs, out_i, out_j, out_d)
        return out_i, out_j, out_d
    finally:
        free(keys)
        free(keys_tmp)
        free(rows)
        free(rows_tmp)
        grow_free(&pairs.i)
        grow_free(&pairs.j)
        grow_free(&pairs.d)


cdef void _copy_pairs(JoinPairs* p, int64_t[::1] i, int64_t[::1] j, uint8_t[::1] d) noexcept:
    memcpy(&i[0], p.i.data, p.i.n * sizeof(int64_t))
    memcpy(&j[0], p.j.data, p.j.n * sizeof(int64_t))
    memcpy(&d[0], p.d.data, p.d.n * sizeof(uint8_t))


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


def spanning_parents(Py_ssize_t n, const int64_t[::1] i not None, const int64_t[::1] j not None,
                     const uint8_t[::1] is_root not None):
    """Each node's parent in the breadth-first forest grown from the roots over edges ``(i, j)``.

    Every node reached from a root gets as parent, among its neighbours one
    level nearer the roots, the smallest-numbered; the choice depends on the
    graph alone, not on the order of the edges (the Dask run sees them in
    another order). Used to say why a document was removed: the link to its
    parent is its evidence, and a document linked to its kept document gets
    that link.

    Returns ``(parent, edge)``, int64 arrays of ``n``: the parent and the
    index of the edge to it, -1 for roots and for nodes no root reaches.
    """
    cdef Py_ssize_t e, m = i.shape[0], x, head = 0, tail = 0
    cdef int64_t u, v, a, b
    if j.shape[0] != m:
        raise ValueError("i and j differ in length")
    if is_root.shape[0] != n:
        raise ValueError(f"is_root has {is_root.shape[0]} entries for {n} nodes")
    parent_arr = np.full(n, -1, dtype=np.int64)
    edge_arr = np.full(n, -1, dtype=np.int64)
    cdef int64_t[::1] parent = parent_arr, edge = edge_arr
    cdef int64_t[::1] start = np.zeros(n + 1, dtype=np.int64)
    cdef int64_t[::1] adj = np.empty(2 * m, dtype=np.int64)
    cdef int64_t[::1] depth = np.full(n, -1, dtype=np.int64)
    cdef int64_t[::1] queue = np.empty(n, dtype=np.int64)
    with nogil:
        for e in range(m):
            if not (0 <= i[e] < n and 0 <= j[e] < n):
                with gil:
                    raise ValueError(f"edge {e} ({i[e]}, {j[e]}) is outside [0, {n})")
            start[i[e] + 1] += 1
            start[j[e] + 1] += 1
        for x in range(n):
            start[x + 1] += start[x]
        # Adjacency as edge numbers (CSR): the neighbour is the edge's other end.
        for e in range(m):
            adj[start[i[e]]] = e
            start[i[e]] += 1
            adj[start[j[e]]] = e
            start[j[e]] += 1
        # The fill moved each start to its end, the next node's start: shift them back.
        for x in range(n - 1, -1, -1):
            start[x + 1] = start[x]
        start[0] = 0
        for x in range(n):
            if is_root[x]:
                depth[x] = 0
                queue[tail] = x
                tail += 1
        while head < tail:
            u = queue[head]
            head += 1
            for x in range(start[u], start[u + 1]):
                e = adj[x]
                v = j[e] if i[e] == u else i[e]
                if depth[v] < 0:
                    depth[v] = depth[u] + 1
                    parent[v] = u
                    edge[v] = e
                    queue[tail] = v
                    tail += 1
                elif depth[v] == depth[u] + 1 and u < parent[v]:
                    parent[v] = u
                    edge[v] = e
    return parent_arr, edge_arr


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
