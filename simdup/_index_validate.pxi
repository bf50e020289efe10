# --------------------------------------------------------------------------
# Index validation: arguments, the table design, arrays adopted from a file
# --------------------------------------------------------------------------
# The kernels trust what they are given; everything coming from Python is
# checked here first, with the GIL held. simdup/index.py checks the rest (the
# design is exact for k, arrays are uint64) before it calls the engine.


cdef uint64_t _ix_as_u64(object x, str what) except? 0xFFFFFFFFFFFFFFFF:
    """An int (or numpy integer) in [0, 2**64), else TypeError / ValueError."""
    if type(x) is not int:
        if isinstance(x, bool) or not hasattr(type(x), "__index__"):
            raise TypeError(f"{what} must be an integer, got {type(x).__name__}")
        x = x.__index__()
    if x < 0 or x > 0xFFFFFFFFFFFFFFFF:
        raise ValueError(f"{what} {x} is outside the uint64 range [0, 2**64)")
    return <uint64_t>x


cdef int _ix_check_k(int k) except -1:
    if not 0 <= k <= IX_MAX_K:
        raise ValueError(f"k must be in [0, {IX_MAX_K}], got {k}")
    return 0


cdef int _ix_parse_table(IxTable* tab, object p, object blocks) except -1:
    """Fill ``tab`` from ``(p, [(src_lo, width), ...])``: ranges from the top of
    the permuted word down, covering 64 bits, the first ``p`` bits the key."""
    cdef int i, top, lo, w
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
        if top >= 64 - tab.p:  # key bits are the first p bits of the permuted word
            tab.mask |= tab.wmask[i] << lo
    if top != 0:
        raise ValueError("a table's bit ranges must cover 64 bits")
    if popcount64(tab.mask) != tab.p:
        raise ValueError("key ranges must end on the key width")
    return 0


cdef IxTable* _ix_parse_design(list tables) except NULL:
    """The tables of ``tables[t] = (p, [(src_lo, width), ...])``, newly allocated.

    Raises ValueError (or the TypeError of a malformed entry) without leaking.
    """
    cdef IxTable* tabs
    cdef int t
    if not tables:
        raise ValueError("a design needs at least one table")
    tabs = <IxTable*>calloc(len(tables), sizeof(IxTable))
    if tabs == NULL:
        raise MemoryError()
    try:
        for t, (p, blocks) in enumerate(tables):
            _ix_parse_table(&tabs[t], p, blocks)
    except BaseException:
        free(tabs)
        raise
    return tabs


# ------------------------------------------------ arrays adopted by _attach

cdef int _ix_check_items(object fps, object ids, object id_order) except -1:
    cdef Py_ssize_t n = fps.shape[0]
    if n > IX_MAX_SEGMENT or ids.shape[0] != n or id_order.shape[0] != n:
        raise ValueError("inconsistent array lengths")
    return 0


cdef int _ix_check_bits_count(list bits, int T) except -1:
    if len(bits) != T:
        raise ValueError("directory bits do not match the design")
    return 0


cdef int _ix_check_dir_size(int t, int d, const IxTable* tab) except -1:
    if not 0 <= d <= min(<int>IX_MAX_DIR_BITS, tab.p):
        raise ValueError(f"bad directory size for table {t}")
    return 0


cdef int _ix_check_directory(int t, int d, object dir_, Py_ssize_t n) except -1:
    """Length and ends only: the probe bound-checks every offset it follows."""
    if dir_.shape[0] != (1 << d) + 1 or dir_[0] != 0 or dir_[dir_.shape[0] - 1] != n:
        raise ValueError(f"directory of table {t} is inconsistent")
    return 0


cdef int _ix_check_entries(int t, object res, object rows, Py_ssize_t n) except -1:
    if res.shape[0] != n or rows.shape[0] != n:
        raise ValueError(f"table {t} has the wrong length")
    return 0
