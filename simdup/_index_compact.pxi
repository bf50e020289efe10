# --------------------------------------------------------------------------
# Index compaction policy: when segments are rebuilt or merged (an LSM tree)
# --------------------------------------------------------------------------
# Segments are kept largest first with geometric sizes: a segment merges into
# its elder once it holds at least 1/IX_MERGE_RATIO of the elder's live items.
# So a query meets O(log n) segments and an item is rebuilt O(log n) times.
# A segment with more removed than live items is rebuilt on its own (removal
# only sets a tombstone). This file decides; HammingIndex._compact builds and
# publishes what it decides.

cdef enum:
    IX_MERGE_RATIO = 8       # a segment merges into its elder once it is >= 1/8 of it


cdef inline bint _ix_mostly_removed(const IxSeg* g) noexcept nogil:
    """More tombstones than live items: worth rebuilding alone."""
    return 2 * g.n_deleted > g.n


cdef inline Py_ssize_t _ix_live(const IxSeg* g) noexcept nogil:
    return g.n - g.n_deleted


cdef bint _ix_next_compaction(list segs, Py_ssize_t* lo, Py_ssize_t* hi) except -1:
    """The run ``segs[lo:hi]`` to rebuild into one segment next; False when none is due.

    ``segs`` is ordered largest first. A mostly-removed segment goes first
    (it makes queries scan dead entries); then the youngest pair that breaks
    the size ratio, so merges cascade from the small end.
    """
    cdef Py_ssize_t i
    cdef _Segment a, b
    for i in range(len(segs)):
        a = segs[i]
        if _ix_mostly_removed(&a.s):
            lo[0] = i
            hi[0] = i + 1
            return True
    for i in range(len(segs) - 1, 0, -1):
        a = segs[i - 1]
        b = segs[i]
        if _ix_live(&b.s) * IX_MERGE_RATIO >= _ix_live(&a.s):
            lo[0] = i - 1
            hi[0] = i + 1
            return True
    return False


def _ix_size_key(_Segment g):
    return -g.s.n


cdef list _ix_by_size(list segs):
    """``segs`` largest first (stable: equal sizes keep their order)."""
    return sorted(segs, key=_ix_size_key)
