# --------------------------------------------------------------------------
# The index's locks: many readers without the GIL, one writer at a time
# --------------------------------------------------------------------------
# Readers (query, query_many, __contains__) hold the C read lock for a whole
# query, without the GIL. Writers are serialised by a Python lock (``writer``)
# held for the whole write, including the slow part, building new segments,
# which happens beside the readers. A writer takes the C write lock only to
# change what readers see (swap the segment list, touch the insert buffer,
# set a tombstone): readers wait microseconds, never for a build.

cdef extern from *:
    """
    #if defined(_WIN32)
    #include <windows.h>
    typedef SRWLOCK sd_rwlock_t;
    static int sd_rw_init(sd_rwlock_t* l) { InitializeSRWLock(l); return 0; }
    static void sd_rw_destroy(sd_rwlock_t* l) { (void)l; }
    static void sd_rw_rdlock(sd_rwlock_t* l) { AcquireSRWLockShared(l); }
    static void sd_rw_rdunlock(sd_rwlock_t* l) { ReleaseSRWLockShared(l); }
    static void sd_rw_wrlock(sd_rwlock_t* l) { AcquireSRWLockExclusive(l); }
    static void sd_rw_wrunlock(sd_rwlock_t* l) { ReleaseSRWLockExclusive(l); }
    #else
    #include <pthread.h>
    typedef pthread_rwlock_t sd_rwlock_t;
    static int sd_rw_init(sd_rwlock_t* l) {
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
    static void sd_rw_destroy(sd_rwlock_t* l) { pthread_rwlock_destroy(l); }
    static void sd_rw_rdlock(sd_rwlock_t* l) { pthread_rwlock_rdlock(l); }
    static void sd_rw_rdunlock(sd_rwlock_t* l) { pthread_rwlock_unlock(l); }
    static void sd_rw_wrlock(sd_rwlock_t* l) { pthread_rwlock_wrlock(l); }
    static void sd_rw_wrunlock(sd_rwlock_t* l) { pthread_rwlock_unlock(l); }
    #endif
    """
    ctypedef struct sd_rwlock_t:
        pass
    int sd_rw_init(sd_rwlock_t* l) nogil
    void sd_rw_destroy(sd_rwlock_t* l) nogil
    void sd_rw_rdlock(sd_rwlock_t* l) nogil
    void sd_rw_rdunlock(sd_rwlock_t* l) nogil
    void sd_rw_wrlock(sd_rwlock_t* l) nogil
    void sd_rw_wrunlock(sd_rwlock_t* l) nogil


@cython.final
cdef class _IndexLock:
    """The C reader-writer lock of an index and the Python lock that serialises its writers.

    Call the C-lock methods without the GIL: a thread that waits for the
    write lock holding the GIL would stall every other Python thread.
    """

    cdef sd_rwlock_t rw
    cdef bint ready
    cdef object writer       # threading.Lock: ``with lock.writer:`` around a whole write

    def __cinit__(self):
        if sd_rw_init(&self.rw) != 0:
            raise MemoryError("cannot create the index lock")
        self.ready = True
        self.writer = threading.Lock()

    def __dealloc__(self):
        if self.ready:
            sd_rw_destroy(&self.rw)

    cdef inline void read_lock(self) noexcept nogil:
        sd_rw_rdlock(&self.rw)

    cdef inline void read_unlock(self) noexcept nogil:
        sd_rw_rdunlock(&self.rw)

    cdef inline void write_lock(self) noexcept nogil:
        """Exclusive: only while changing what readers see (never while building)."""
        sd_rw_wrlock(&self.rw)

    cdef inline void write_unlock(self) noexcept nogil:
        sd_rw_wrunlock(&self.rw)
