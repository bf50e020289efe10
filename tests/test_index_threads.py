"""Many readers while one writer: readers always see a consistent, exact index."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from simdup.index import SimHashIndex

K = 3


def test_readers_during_writes():
    rng = np.random.default_rng(0)
    stable = rng.integers(0, 2**64, 20_000, dtype=np.uint64) & ~np.uint64(0xFFFF)
    stable_ids = np.arange(len(stable), dtype=np.uint64)
    ix = SimHashIndex(K, expected_n=100_000)
    ix.add_many(stable, stable_ids)
    errors: list[str] = []
    stop = threading.Event()
    batch = 64
    # Batch j: `batch` copies of one random fingerprint (random ones are far apart):
    # a reader must see none or all of them.
    batch_fp = [int(x) for x in rng.integers(0, 2**64, 3000, dtype=np.uint64)]

    def writer():
        j = 0
        next_id = 10**9
        live_single: list[int] = []
        wrng = np.random.default_rng(1)
        while not stop.is_set() and j < len(batch_fp):
            ids = np.arange(next_id, next_id + batch, dtype=np.uint64)
            next_id += batch
            ix.add_many(np.full(batch, batch_fp[j], dtype=np.uint64), ids)
            j += 1
            for _ in range(20):  # single adds fill the buffer and trigger merges
                ix.add(int(wrng.integers(0, 2**64, dtype=np.uint64)) | 1, next_id)
                live_single.append(next_id)
                next_id += 1
            for _ in range(10):
                ix.remove(live_single.pop(int(wrng.integers(len(live_single)))))
        writer.batches = j

    def reader(seed):
        r = np.random.default_rng(seed)
        n = 0
        while not stop.is_set():
            i = int(r.integers(len(stable)))
            hits = ix.query(int(stable[i]))
            if (int(stable_ids[i]), 0) not in hits:
                errors.append(f"stable item {i} missing: {hits}")
            j = int(r.integers(len(batch_fp)))
            got = len(ix.query(batch_fp[j]))
            if got not in (0, batch):
                errors.append(f"batch {j} half visible: {got}")
            pick = r.integers(0, len(stable), 256)
            off, ids, _ = ix.query_many(stable[pick])
            for q in range(len(pick)):
                seg = ids[off[q]:off[q + 1]]
                if int(stable_ids[pick[q]]) not in seg.tolist():
                    errors.append("query_many lost a stable item")
            n += 1
        counts.append(n)

    counts: list[int] = []
    threads = [threading.Thread(target=reader, args=(s,)) for s in range(3)]
    w = threading.Thread(target=writer)
    for t in threads + [w]:
        t.start()
    time.sleep(2.5)
    stop.set()
    for t in threads + [w]:
        t.join(timeout=60)
        assert not t.is_alive(), "deadlock"
    assert not errors, errors[:5]
    assert min(counts) > 10 and writer.batches > 10
    assert len(ix._stats()["segments"]) >= 2 or ix._stats()["buffered"]

    # afterwards every batch is there, whole, and only its own ids answer
    off, ids, _ = ix.query_many(np.array(batch_fp[:writer.batches], dtype=np.uint64))
    assert np.all(np.diff(off) == batch)
    assert len(set(ids.tolist())) == batch * writer.batches
    assert len(ix) == len(stable) + writer.batches * (batch + 10)


def test_add_if_new_is_atomic_across_writers():
    """Threads racing to insert near-duplicates: exactly one per cluster wins."""
    ix = SimHashIndex(K, expected_n=10_000)
    rng = np.random.default_rng(2)
    centres = [int(x) for x in rng.integers(0, 2**64, 200, dtype=np.uint64)]
    wins: list[int] = []
    lock = threading.Lock()

    def racer(t):
        for c, fp in enumerate(centres):
            added, _ = ix.add_if_new(fp ^ (1 << t), c * 10 + t)  # all within 2 bits
            if added:
                with lock:
                    wins.append(c)

    threads = [threading.Thread(target=racer, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == list(range(200))
    assert len(ix) == 200


def test_query_many_threads_match_one_thread():
    rng = np.random.default_rng(4)
    fps = rng.integers(0, 2**64, 50_000, dtype=np.uint64)
    ix = SimHashIndex(K, expected_n=len(fps))
    ix.add_many(fps, np.arange(len(fps), dtype=np.uint64))
    qs = np.concatenate([fps[:6000] ^ np.uint64(0b1011), rng.integers(0, 2**64, 3001,
                                                                      dtype=np.uint64)])
    one = ix.query_many(qs)
    for n in (2, 3, 8):
        for a, b in zip(one, ix.query_many(qs, n_threads=n)):
            np.testing.assert_array_equal(a, b)
    for bad in (0, -1):
        with pytest.raises(ValueError):
            ix.query_many(qs, n_threads=bad)
    for bad in (1.5, True):  # the shared integer rule: wrong types are TypeErrors, as for k
        with pytest.raises(TypeError):
            ix.query_many(qs, n_threads=bad)
