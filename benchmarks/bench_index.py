"""Side-by-side benchmark of exact k-bit Hamming search over 64-bit fingerprints.

Peers: simdup.SimHashIndex, faiss IndexBinaryMultiHash (nhash=k+1, nflip=0,
exact), faiss IndexBinaryFlat, simhash.SimhashIndex, numpy XOR + popcount.
Missing peers are skipped. Everything runs on one thread. Each peer's answers
are checked against simdup's (match counts per query).

Examples
--------
python benchmarks/bench_index.py                     # 1M uniform, k=3
python benchmarks/bench_index.py --data real         # corpus fingerprints + near-duplicates
python benchmarks/bench_index.py --n 10000000 --peers simdup,faiss-multihash,numpy
python benchmarks/bench_index.py --tiny              # seconds; used by the smoke test
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import os
import re
import sys
import time

import numpy as np

import shared_data  # benchmarks/shared_data.py: the shared corpora's folder (SIMDUP_SHARED_DATA)

PEERS = ["simdup", "faiss-multihash", "faiss-flat", "simhash", "numpy"]
DATA = str(shared_data.data_dir())


def rss() -> int:
    """Resident set size in bytes (Linux), else 0."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def flip_bits(fps: np.ndarray, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each fingerprint with ``counts[i]`` distinct random bits flipped (vectorised)."""
    out = fps.copy()
    keys = rng.random((len(fps), 64)).argsort(axis=1)  # a random bit order per row
    for j in range(int(counts.max(initial=0))):
        sel = counts > j
        out[sel] ^= np.left_shift(np.uint64(1), keys[sel, j].astype(np.uint64))
    return out


def corpus_fingerprints() -> np.ndarray:
    """Stand-in SimHash (count-weighted XXH64 words) of every document in the shared corpora."""
    from simdup._core import simhash_weighted, token_hashes

    out = []
    for name, fields in (("reuters21578.jsonl.gz", ("title", "text")),
                         ("fudan_zh.jsonl.gz", ("text",)),
                         ("web_pages_trafilatura.jsonl.gz", ("html",))):
        path = os.path.join(DATA, name)
        if not os.path.exists(path):
            continue
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                text = " ".join(str(rec.get(k, "")) for k in fields).lower()
                h, c = token_hashes(re.sub(r"\s+", " ", text).encode())
                out.append(simhash_weighted(h, c.astype(np.int64)))
    if not out:
        sys.exit(f"--data real needs the shared corpora: {shared_data.absent_reason() or 'none of them is in ' + DATA}")
    return np.array(out, dtype=np.uint64)


def make_data(kind: str, n: int, nq: int, k: int, seed: int):
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        fps = rng.integers(0, 2**64, n, dtype=np.uint64)
    else:  # real fingerprints, then near-duplicates of them (1..2k bits away) up to n
        real = corpus_fingerprints()[:n]
        base = real[rng.integers(0, len(real), n - len(real))]
        fps = np.concatenate([real, flip_bits(base, rng.integers(1, 2 * k + 1, len(base)), rng)])
    # half the queries are stored items moved 0..k bits (hits), half random (mostly misses)
    half = nq // 2
    near = flip_bits(fps[rng.integers(0, n, half)], rng.integers(0, k + 1, half), rng)
    queries = np.concatenate([near, rng.integers(0, 2**64, nq - half, dtype=np.uint64)])
    return fps, np.arange(n, dtype=np.uint64), rng.permutation(queries)


# ---------------------------------------------------------------------- peers
# Each returns (build seconds, bytes, single(qs) -> counts, batch(qs) -> counts or None).

BUDGET: dict[str, int | None] = {"bytes": None}  # --budget-gb


def peer_simdup(fps, ids, k):
    from simdup.index import SimHashIndex

    t = time.perf_counter()
    ix = SimHashIndex(k, expected_n=len(fps), memory_budget=BUDGET["bytes"])
    ix.add_many(fps, ids)
    build = time.perf_counter() - t
    query = ix.query

    def single(qs):
        return [len(query(q)) for q in qs.tolist()]

    def batch(qs):
        return np.diff(ix.query_many(qs)[0])
    return build, ix.nbytes, single, batch, ix


def _faiss_codes(a: np.ndarray) -> np.ndarray:
    # faiss binary vectors are bytes; any fixed byte order keeps Hamming distances
    return np.ascontiguousarray(a).view(np.uint8).reshape(-1, 8)


def _faiss_counts(index, codes, k):
    lims, _, _ = index.range_search(codes, k + 1)  # strict: distance < k + 1
    return np.diff(lims)


def peer_faiss_multihash(fps, ids, k):
    import faiss

    faiss.omp_set_num_threads(1)
    t = time.perf_counter()
    index = faiss.IndexBinaryMultiHash(64, k + 1, 64 // (k + 1))
    index.nflip = 0
    index.add(_faiss_codes(fps))
    build = time.perf_counter() - t

    def single(qs):
        codes = _faiss_codes(qs)
        return [int(_faiss_counts(index, codes[i:i + 1], k)[0]) for i in range(len(qs))]
    return build, None, single, lambda qs: _faiss_counts(index, _faiss_codes(qs), k), index


def peer_faiss_flat(fps, ids, k):
    import faiss

    faiss.omp_set_num_threads(1)
    t = time.perf_counter()
    index = faiss.IndexBinaryFlat(64)
    index.add(_faiss_codes(fps))
    build = time.perf_counter() - t

    def single(qs):
        codes = _faiss_codes(qs)
        return [int(_faiss_counts(index, codes[i:i + 1], k)[0]) for i in range(len(qs))]
    return build, fps.nbytes, single, lambda qs: _faiss_counts(index, _faiss_codes(qs), k), index


def peer_simhash(fps, ids, k):
    import logging

    from simhash import Simhash, SimhashIndex

    logging.getLogger("simhash").setLevel(logging.ERROR)  # it warns on big buckets
    t = time.perf_counter()
    index = SimhashIndex([(str(i), Simhash(int(f))) for i, f in zip(ids.tolist(), fps.tolist())],
                         f=64, k=k)
    build = time.perf_counter() - t

    def single(qs):
        return [len(index.get_near_dups(Simhash(q))) for q in qs.tolist()]
    return build, None, single, None, index


def peer_numpy(fps, ids, k):
    def single(qs):
        return [int(np.count_nonzero(np.bitwise_count(fps ^ q) <= k)) for q in qs]
    return 0.0, fps.nbytes + ids.nbytes, single, None, None


RUNNERS = {"simdup": peer_simdup, "faiss-multihash": peer_faiss_multihash,
           "faiss-flat": peer_faiss_flat, "simhash": peer_simhash, "numpy": peer_numpy}
# Slow peers get fewer queries (their rate is still per query).
QUERY_SHARE = {"simdup": 1.0, "faiss-multihash": 1.0, "faiss-flat": 0.01, "simhash": 0.1,
               "numpy": 0.01}


def online(fps, ids, k, ops: int, seed: int) -> None:
    """A crawler's pattern: add_if_new (query + insert) per new page, on top of ``fps``."""
    from simdup.index import SimHashIndex

    ix = SimHashIndex(k, expected_n=len(fps) + ops, memory_budget=BUDGET["bytes"])
    ix.add_many(fps, ids)
    rng = np.random.default_rng(seed + 1)
    new = rng.integers(0, 2**64, ops, dtype=np.uint64).tolist()
    add_if_new = ix.add_if_new
    base = int(ids[-1]) + 1 if len(ids) else 0
    lat = np.empty(ops)
    clock = time.perf_counter
    for i, fp in enumerate(new):
        t = clock()
        add_if_new(fp, base + i)
        lat[i] = clock() - t
    st = ix._stats()
    print(f"# online: {ops:,} add_if_new on top of {len(fps):,}: {ops / lat.sum():,.0f} ops/s "
          f"(each a query and an insert); latency p50 {np.median(lat) * 1e6:.1f} us, "
          f"p99.9 {np.percentile(lat, 99.9) * 1e6:.0f} us, max {lat.max() * 1e3:.0f} ms "
          f"(merges); then segments {st['segments']}, {st['buffered']} buffered")


def rate(fn, qs):
    t = time.perf_counter()
    counts = fn(qs)
    return len(qs) / (time.perf_counter() - t), np.asarray(counts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="stored fingerprints")
    ap.add_argument("--queries", type=int, default=20_000)
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--data", choices=["uniform", "real"], default="uniform")
    ap.add_argument("--peers", default=",".join(PEERS),
                    help=f"comma-separated subset of {PEERS}")
    ap.add_argument("--tiny", action="store_true", help="n=5000, 400 queries (smoke test)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--online", type=int, default=0, metavar="OPS",
                    help="also time OPS interleaved add_if_new calls (query + insert)")
    ap.add_argument("--budget-gb", type=float, default=None,
                    help="memory budget handed to simdup's planner (default 48 B/fingerprint)")
    args = ap.parse_args(argv)
    if args.budget_gb is not None:
        BUDGET["bytes"] = int(args.budget_gb * 2**30)
    if args.tiny:
        args.n, args.queries = 5000, 400
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = set(peers) - set(RUNNERS)
    if unknown:
        ap.error(f"unknown peers {sorted(unknown)}")

    fps, ids, queries = make_data(args.data, args.n, args.queries, args.k, args.seed)
    print(f"# n={args.n:,} {args.data} fingerprints, k={args.k}, {len(queries):,} queries "
          f"(half near stored items), one thread; python {sys.version.split()[0]}")
    rows = {}
    reference = None
    for name in peers:
        gc.collect()
        before = rss()
        try:
            build, nbytes, single, batch, keep = RUNNERS[name](fps, ids, args.k)
        except ImportError as e:
            print(f"{name:16s} skipped: {e}")
            continue
        gc.collect()
        mem = nbytes if nbytes is not None else max(rss() - before, 0)
        m = max(1, int(len(queries) * QUERY_SHARE[name]))
        if args.tiny:
            m = min(m, 100) if QUERY_SHARE[name] < 1 else m
        qs = queries[:m]
        single_rate, counts = rate(single, qs)
        batch_rate = None
        if batch is not None:
            batch_rate, bcounts = rate(batch, queries)
            assert np.array_equal(bcounts[:m], counts), f"{name}: batch and single disagree"
        if reference is None and name == "simdup":
            reference = np.asarray(batch(queries))
        agree = "-" if reference is None else (
            "yes" if np.array_equal(reference[:m], counts) else "NO")
        rows[name] = (build, mem, single_rate, batch_rate, agree, m)
        del keep, single, batch
    base = rows.get("faiss-multihash")
    print(f"{'peer':16s} {'build s':>8s} {'MB':>8s} {'B/fp':>6s} {'single q/s':>11s} "
          f"{'batch q/s':>11s} {'x MH single':>11s} {'x MH batch':>10s} {'exact':>5s}")
    for name, (build, mem, sr, br, agree, m) in rows.items():
        xs = f"{sr / base[2]:.2f}" if base else "-"
        xb = f"{br / base[3]:.2f}" if base and br else "-"
        print(f"{name:16s} {build:8.3f} {mem / 2**20:8.1f} {mem / args.n:6.1f} "
              f"{sr:11,.0f} {(f'{br:,.0f}' if br else '-'):>11s} {xs:>11s} {xb:>10s} "
              f"{agree:>5s}" + (f"  ({m:,} single queries)" if m < len(queries) else ""))
    if "simdup" in rows:
        from simdup.index import SimHashIndex
        plan = SimHashIndex(args.k, expected_n=args.n, memory_budget=BUDGET["bytes"]).plan
        print(f"# simdup design: {plan.describe()}")
    if args.online and "simdup" in rows:
        online(fps, ids, args.k, args.online, args.seed)
    print("# MB: simdup = its arrays (index.nbytes), numpy = the raw arrays, faiss-flat = its "
          "codes, others = RSS growth while building; x MH = ratio to faiss IndexBinaryMultiHash")
    return 0 if all(r[4] != "NO" for r in rows.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
