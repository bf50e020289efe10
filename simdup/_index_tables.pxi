# --------------------------------------------------------------------------
# Index tables: how one table permutes a fingerprint into key, bucket, residual
# --------------------------------------------------------------------------
# A table reorders the 64 bits (whole bit ranges, top of the permuted word
# first); the top p bits are its key. A segment files an item under the top d
# bits of the permuted word (its directory bucket, d <= p) and keeps the 32
# bits after them (its residual), so most candidates are rejected without
# fetching the fingerprint.

cdef enum:
    IX_MAX_K = 16
    IX_MAX_BLOCKS = 64       # bit ranges in one table's permutation
    IX_MAX_DIR_BITS = 26     # directory of at most 2^26 buckets (256 MiB) per table

INDEX_MAX_K = IX_MAX_K
"""Largest ``k`` a :class:`HammingIndex` answers (its ``_configure`` refuses more)."""

INDEX_MAX_DIR_BITS = IX_MAX_DIR_BITS
"""Largest directory of one table of a segment: ``2**INDEX_MAX_DIR_BITS`` buckets."""


cdef struct IxTable:
    uint64_t mask            # key bits, at their positions in the fingerprint
    int p                    # key width
    int nblk
    uint8_t src_lo[IX_MAX_BLOCKS]
    uint8_t dst_lo[IX_MAX_BLOCKS]
    uint64_t wmask[IX_MAX_BLOCKS]


cdef struct IxDesign:
    int T                    # number of tables; 0 until configured
    IxTable* tabs


cdef inline uint64_t _ix_perm(const IxTable* s, uint64_t x) noexcept nogil:
    """``x`` with its bits moved as the table orders them (key at the top)."""
    cdef uint64_t y = 0
    cdef int i
    for i in range(s.nblk):
        y |= ((x >> s.src_lo[i]) & s.wmask[i]) << s.dst_lo[i]
    return y


cdef inline uint64_t _ix_bucket(uint64_t key, int d) noexcept nogil:
    return key >> (64 - d) if d else 0


cdef inline uint32_t _ix_residual(uint64_t key, int d) noexcept nogil:
    return <uint32_t>(key >> (32 - d))


cdef uint32_t _ix_resmask(int p, int d) noexcept nogil:
    """Key bits that fall inside the 32-bit residual (key bits below the directory)."""
    cdef int extra = p - d
    if extra <= 0:
        return 0
    if extra >= 32:
        return 0xFFFFFFFFU
    return <uint32_t>(0xFFFFFFFFU << (32 - extra))


cdef int _ix_dir_bits(Py_ssize_t n, int p) noexcept nogil:
    """Directory bits for a table of n items with a p-bit key: about n/4..n/8 buckets."""
    cdef int lg = 0
    while (<Py_ssize_t>1 << (lg + 1)) <= n:
        lg += 1
    return max(0, min(p, lg - 2, IX_MAX_DIR_BITS))


def index_dir_bits(n, int p):
    """Directory bits the index gives a table with a ``p``-bit key in a segment of ``n`` items.

    Parameters
    ----------
    n : int
        Items in the segment, any size (below 1 is taken as 1).
    p : int
        Key width of the table, in bits.

    Returns
    -------
    int
        ``max(0, min(p, floor(log2(n)) - 2, INDEX_MAX_DIR_BITS))``: about n/4
        to n/8 buckets, for a planner's memory and cost estimates.
    """
    # Past 2**(INDEX_MAX_DIR_BITS + 2) items the answer stops growing: clamp, so
    # a planner may ask about any size without overflowing Py_ssize_t.
    cdef Py_ssize_t m = <Py_ssize_t>1 << 40 if n > (1 << 40) else n
    return _ix_dir_bits(m, p)
