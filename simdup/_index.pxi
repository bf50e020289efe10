# --------------------------------------------------------------------------
# Exact Hamming-distance index: permuted tables (Manku, Jain, Das Sarma 2007)
# --------------------------------------------------------------------------
# HammingIndex composes parts that each live in their own file, included
# before this one:
#   _index_tables.pxi    how a table permutes a fingerprint: key, bucket, residual
#   _index_segment.pxi   storage: immutable segments, the insert buffer, id lookups
#   _index_probe.pxi     queries: every item within k bits, each once, sorted
#   _index_compact.pxi   LSM policy: which segments to rebuild or merge, when
#   _index_persist.pxi   the saved layout: a segment's arrays by name
#   _index_validate.pxi  checks of arguments, designs and adopted arrays
#   _rwlock.pxi          readers without the GIL, one writer at a time
# The Python layer (simdup/index.py) validates input and plans the table
# design; every loop over fingerprints runs without the GIL.

cdef enum:
    IX_RELOCK_EVERY = 1024   # query_many lets a waiting writer in this often


cdef class HammingIndex:
    """Exact k-bit Hamming search over uint64 fingerprints (the compiled engine).

    Use :class:`simdup.SimHashIndex`, which plans the design and validates input.
    """

    cdef readonly int k
    cdef IxDesign design      # the tables; design.T == 0 until _configure
    cdef IxView view          # what readers see: published segments, insert buffer
    cdef list _segobjs        # the _Segment objects view.segs points into, largest first
    cdef Py_ssize_t n_live
    cdef _IndexLock lock

    def __cinit__(self, *args, **kwargs):
        self._segobjs = []
        self.view.buf.fps = <uint64_t*>malloc(IX_BUFFER_CAP * sizeof(uint64_t))
        self.view.buf.ids = <uint64_t*>malloc(IX_BUFFER_CAP * sizeof(uint64_t))
        if self.view.buf.fps == NULL or self.view.buf.ids == NULL:
            raise MemoryError()
        self.lock = _IndexLock()

    def __dealloc__(self):
        free(self.design.tabs)
        free(self.view.segs)
        free(self.view.buf.fps)
        free(self.view.buf.ids)

    def _configure(self, int k, list tables not None):
        """Set k and the table design: ``tables[t] = (p, [(src_lo, width), ...])``.

        Each table's permutation lists bit ranges of the fingerprint from the
        top of the permuted word down; the first ``p`` bits are the key.
        """
        if self.design.T:
            raise RuntimeError("index already configured")
        _ix_check_k(k)
        self.design.tabs = _ix_parse_design(tables)
        self.design.T = len(tables)
        self.k = k

    cdef int _check_ready(self) except -1:
        if self.design.T == 0:
            raise RuntimeError("index not configured")
        return 0

    # ------------------------------------------------------------------ reads

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
        cdef GrowArray hits
        self._check_ready()
        grow_init(&hits)
        with nogil:
            self.lock.read_lock()
            _ix_query(&self.view, &self.design, q, self.k, &hits)
            self.lock.read_unlock()
            _ix_sort_hits(<IxHit*>hits.data, hits.n)
        try:
            if hits.failed:
                raise MemoryError()
            return _ix_hits_to_list(<IxHit*>hits.data, hits.n)
        finally:
            grow_free(&hits)

    def _query_many(self, const uint64_t[::1] fps not None):
        """Batch query: ``(offsets int64[n+1], ids uint64[m], distances uint8[m])``."""
        cdef Py_ssize_t n = fps.shape[0], i, j
        cdef GrowArray hits
        cdef const IxHit* h
        self._check_ready()
        offsets = np.empty(n + 1, dtype=np.int64)
        cdef int64_t[::1] off = offsets
        grow_init(&hits)
        off[0] = 0
        with nogil:
            self.lock.read_lock()
            for i in range(n):
                if i and i % IX_RELOCK_EVERY == 0:
                    self.lock.read_unlock()  # lets a waiting writer through
                    self.lock.read_lock()
                j = hits.n
                _ix_query(&self.view, &self.design, fps[i], self.k, &hits)
                if hits.failed:
                    break
                _ix_sort_hits(<IxHit*>hits.data + j, hits.n - j)
                off[i + 1] = hits.n
            self.lock.read_unlock()
        if hits.failed:
            grow_free(&hits)
            raise MemoryError()
        ids = np.empty(hits.n, dtype=np.uint64)
        dist = np.empty(hits.n, dtype=np.uint8)
        cdef uint64_t[::1] iv = ids
        cdef uint8_t[::1] dv = dist
        h = <const IxHit*>hits.data
        with nogil:
            for j in range(hits.n):
                iv[j] = h[j].id
                dv[j] = <uint8_t>h[j].dist
        grow_free(&hits)
        return offsets, ids, dist

    def __contains__(self, id):
        cdef uint64_t key
        cdef Py_ssize_t s, r
        cdef bint found
        try:
            key = _ix_as_u64(id, "id")
        except (TypeError, ValueError):
            return False
        with nogil:
            self.lock.read_lock()
            found = _ix_locate(&self.view, key, &s, &r)
            self.lock.read_unlock()
        return bool(found)

    # ----------------------------------------------------------------- writes

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
        with self.lock.writer:
            if _ix_locate(&self.view, key, &s, &r):
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
        cdef GrowArray hits
        self._check_ready()
        grow_init(&hits)
        with self.lock.writer:
            if _ix_locate(&self.view, key, &s, &r):
                raise ValueError(f"id {key} is already in the index")
            # Only the writer changes the index and we hold the writer lock:
            # nothing can slip in between this query and the insert.
            with nogil:
                _ix_query(&self.view, &self.design, fp, self.k, &hits)
                _ix_sort_hits(<IxHit*>hits.data, hits.n)
            try:
                if hits.failed:
                    raise MemoryError()
                if hits.n:
                    return False, _ix_hits_to_list(<IxHit*>hits.data, hits.n)
            finally:
                grow_free(&hits)
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
        with self.lock.writer:
            if not _ix_locate(&self.view, key, &s, &r):
                raise KeyError(id)
            if s >= 0:
                g = self._segobjs[s]
                bitmap = g.tombstones()
            with nogil:
                self.lock.write_lock()
                if s >= 0:
                    g.s.deleted = bitmap
                    g.s.deleted[r >> 3] |= <uint8_t>(1 << (r & 7))
                    g.s.n_deleted += 1
                else:
                    _ix_buffer_remove(&self.view.buf, r)
                self.n_live -= 1
                self.lock.write_unlock()
            if g is not None and _ix_mostly_removed(&g.s):
                self._compact(False)

    def _add_many(self, const uint64_t[::1] fps not None, const uint64_t[::1] ids not None):
        """Bulk insert of validated uint64 arrays (ids unique and new, else ValueError)."""
        cdef Py_ssize_t m = fps.shape[0], i
        cdef uint32_t* order
        cdef Py_ssize_t dup = -1, clash = -1
        cdef int rc
        self._check_ready()
        if ids.shape[0] != m:
            raise ValueError("fingerprints and ids differ in length")
        if m == 0:
            return
        order = <uint32_t*>malloc(m * sizeof(uint32_t))
        if order == NULL:
            raise MemoryError()
        try:
            with self.lock.writer:
                with nogil:
                    rc = _ix_sort_ids(&ids[0], m, order)
                    if rc == 0:
                        dup = _ix_first_repeat(&ids[0], order, m)
                        if dup < 0:
                            clash = _ix_first_stored(&self.view, &ids[0], order, m)
                if rc != 0:
                    raise MemoryError()
                if dup >= 0:
                    raise ValueError(f"id {ids[dup]} appears twice in the batch")
                if clash >= 0:
                    raise ValueError(f"id {ids[clash]} is already in the index")
                if self.view.buf.n + m <= IX_BUFFER_CAP:
                    with nogil:
                        self.lock.write_lock()
                        for i in range(m):
                            _ix_buffer_append(&self.view.buf, fps[i], ids[i])
                        self.n_live += m
                        self.lock.write_unlock()
                    return
                if self.view.buf.n == 0:  # build straight from the caller's arrays (no copy)
                    new_fps, new_ids = np.asarray(fps), np.asarray(ids)
                else:
                    new_fps, new_ids = _ix_batch_and_buffer(fps, ids, &self.view.buf)
                seg = _ix_build_segment(&self.design, new_fps, new_ids)
                self._publish(_ix_by_size(self._segobjs + [seg]), True, m)
                self._compact(False)
        finally:
            free(order)

    def _flush(self):
        """Move buffered items into a segment now (normally done when the buffer fills)."""
        self._check_ready()
        with self.lock.writer:
            self._compact(True)

    cdef int _insert_one(self, uint64_t fp, uint64_t id) except -1:
        """Append to the buffer (caller holds the writer lock and checked the id)."""
        if self.view.buf.n == IX_BUFFER_CAP:
            self._compact(True)
        with nogil:
            self.lock.write_lock()
            _ix_buffer_append(&self.view.buf, fp, id)
            self.n_live += 1
            self.lock.write_unlock()
        return 0

    # -------------------------------------------- segments: build, merge, publish
    # The caller holds the writer lock; only _publish takes the C write lock.

    cdef _Segment _rebuild(self, list segs, bint with_buffer):
        """One segment of the live items of ``segs`` and, if asked, of the buffer."""
        cdef const IxBuffer* buf = &self.view.buf if with_buffer else <IxBuffer*>NULL
        fps, ids = _ix_live_items(segs, buf)
        return _ix_build_segment(&self.design, fps, ids)

    cdef int _publish(self, list segobjs, bint clear_buffer, Py_ssize_t added=0) except -1:
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
            self.lock.write_lock()
            old = self.view.segs
            self.view.segs = arr
            self.view.nseg = n
            if clear_buffer:
                self.view.buf.n = 0
            self.n_live += added
            self.lock.write_unlock()
        free(old)
        self._segobjs = segobjs  # old segments die once no reader can hold them
        return 0

    cdef int _compact(self, bint flush) except -1:
        """Flush the buffer into a segment (if ``flush``), then rebuild or merge
        segments one step at a time as _ix_next_compaction decides."""
        cdef Py_ssize_t lo = 0, hi = 0
        cdef list segs
        if flush and self.view.buf.n:
            self._publish(_ix_by_size(self._segobjs + [self._rebuild([], True)]), True)
        while _ix_next_compaction(self._segobjs, &lo, &hi):
            segs = self._segobjs
            segs = segs[:lo] + [self._rebuild(segs[lo:hi], False)] + segs[hi:]
            self._publish(_ix_by_size([g for g in segs if (<_Segment>g).s.n]), False)
        return 0

    cdef int _merge_all(self) except -1:
        """Everything in one segment, removed items dropped (before save)."""
        cdef list segs = list(self._segobjs)
        if len(segs) == 1 and self.view.buf.n == 0 and (<_Segment>segs[0]).s.n_deleted == 0:
            return 0
        self._publish([self._rebuild(segs, True)], True)
        return 0

    # ------------------------------------------------------------ persistence

    def _export(self):
        """Merge into one segment and return its arrays (used by ``save``).

        Returns
        -------
        parts : dict of str to numpy array
            The segment's arrays by name, in file order (see :func:`index_sections`).
        bits : list of int
            Directory bits of each table.
        """
        cdef _Segment g
        self._check_ready()
        with self.lock.writer:
            self._merge_all()
            if not self._segobjs:
                self._publish([_ix_build_segment(&self.design, np.empty(0, np.uint64),
                                                 np.empty(0, np.uint64))], True)
            g = self._segobjs[0]
            return _ix_segment_parts(g), _ix_segment_dir_bits(g)

    def _attach(self, dict parts not None, list bits not None):
        """Adopt one segment's arrays (maybe read-only memory maps) as the whole index.

        Checks shapes and the ends of each directory only, so a mapped file is
        not read; queries bound-check every offset and row they follow.
        """
        cdef _Segment g
        self._check_ready()
        if self.n_live or self.view.nseg:
            raise RuntimeError("attach needs an empty index")
        g = _ix_adopt_segment(&self.design, parts, bits)
        with self.lock.writer:
            self._publish([g] if g.s.n else [], True)
            self.n_live = g.s.n

    # ----------------------------------------------------------- introspection

    @property
    def nbytes(self):
        """Bytes held by the index arrays (segments, directories, insert buffer)."""
        cdef _Segment g
        cdef Py_ssize_t total = 2 * IX_BUFFER_CAP * sizeof(uint64_t)
        for g in self._segobjs:
            total += g.nbytes()
        return total

    def _stats(self):
        """Internal shape: segment sizes, buffered items, directory bits per segment."""
        cdef _Segment g
        return {
            "segments": [int(g.s.n) for g in self._segobjs],
            "deleted": [int(g.s.n_deleted) for g in self._segobjs],
            "buffered": int(self.view.buf.n),
            "dir_bits": [_ix_segment_dir_bits(g) for g in self._segobjs],
        }
