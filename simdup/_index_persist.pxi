# --------------------------------------------------------------------------
# Index persistence: a segment's arrays by name, for simdup/_index_file.py
# --------------------------------------------------------------------------
# HammingIndex._export merges the index into one segment and hands the Python
# side its arrays by name, in file order; HammingIndex._attach adopts arrays
# read back (maybe read-only memory maps) as the whole index. The names, their
# order, dtypes and lengths are the saved layout: index_sections states it, and
# changing it changes the file format (FORMAT_VERSION in simdup/_index_file.py).


def index_sections(object count, list dir_bits not None):
    """The arrays of a saved index, in file order.

    Parameters
    ----------
    count : int
        Items in the saved segment.
    dir_bits : list of int
        Directory bits of each table, each in ``[0, INDEX_MAX_DIR_BITS]``
        (the second result of ``HammingIndex._export``).

    Returns
    -------
    dict of str to (numpy.dtype, int)
        ``name: (dtype, length)`` in native byte order: ``fps``, ``ids``
        (uint64), ``id_order`` (uint32), then for each table ``t`` its
        directory ``dir{t}`` (uint32, ``2**dir_bits[t] + 1``) and, for
        ``t >= 1``, its residuals ``res{t}`` and rows ``rows{t}`` (uint32).

    Raises
    ------
    ValueError
        A count outside ``[0, INDEX_MAX_SEGMENT]`` or a directory size
        outside ``[0, INDEX_MAX_DIR_BITS]``.
    """
    cdef int t, d
    # ``object``, not Py_ssize_t: a crafted file header may hold any integer,
    # and it must be refused as a bad count, not an OverflowError.
    if not 0 <= count <= IX_MAX_SEGMENT:
        raise ValueError(f"a segment of {count} items")
    u64, u32 = np.dtype(np.uint64), np.dtype(np.uint32)
    out = {"fps": (u64, count), "ids": (u64, count), "id_order": (u32, count)}
    for t in range(len(dir_bits)):
        d = dir_bits[t]
        if not 0 <= d <= IX_MAX_DIR_BITS:
            raise ValueError(f"bad directory size for table {t}")
        out[f"dir{t}"] = (u32, (1 << d) + 1)
        if t:
            out[f"res{t}"] = (u32, count)
            out[f"rows{t}"] = (u32, count)
    return out


cdef dict _ix_segment_parts(_Segment g):
    """The segment's arrays under their section names, in file order (index_sections)."""
    cdef int t
    cdef dict parts = {"fps": g.fps, "ids": g.ids, "id_order": g.id_order}
    for t in range(g.T):
        parts[f"dir{t}"] = g.dirs[t]
        if t:
            parts[f"res{t}"] = g.res[t]
            parts[f"rows{t}"] = g.rows[t]
    return parts


cdef list _ix_segment_dir_bits(_Segment g):
    cdef int t
    return [g.s.d[t] for t in range(g.T)]


cdef _Segment _ix_adopt_segment(const IxDesign* design, dict parts, list bits):
    """A segment of saved arrays (named as in index_sections), without copying them.

    Checks shapes and the ends of each directory only, so a mapped file is
    not read; queries bound-check every offset and row they follow.
    """
    cdef _Segment g = _Segment(design.T)
    cdef int t, d
    fps, ids, id_order = parts["fps"], parts["ids"], parts["id_order"]
    _ix_check_items(fps, ids, id_order)
    g.set_items(fps, ids, id_order)
    _ix_check_bits_count(bits, design.T)
    for t in range(design.T):
        d = bits[t]
        _ix_check_dir_size(t, d, &design.tabs[t])
        dir_ = parts[f"dir{t}"]
        _ix_check_directory(t, d, dir_, g.s.n)
        g.set_directory(&design.tabs[t], t, d, dir_)
        if t:
            res, rows = parts[f"res{t}"], parts[f"rows{t}"]
            _ix_check_entries(t, res, rows, g.s.n)
            g.set_entries(t, res, rows)
    _ix_init_own(&g.s, design)
    return g
