"""Corpus dedup on Dask: one worker against two, per-core rates, and a plan for a billion pages.

Runs ``simdup.dask.dedup`` on a ``LocalCluster`` of one worker, then of two
(one thread each, this machine's two cores), on the same corpus read by the
workers from JSON Lines shards: Reuters-21578 (real) and ``--copies - 1``
edited copies of it (each document with ``--edits`` random words deleted), so
that most stories have near-duplicates, as a crawl does. Also runs
``simdup.dedup`` on the same documents in this process, for reference, and
checks that every run removes the same documents.

From the two-worker run it prints the rates per core of each phase and the
cost of one row through a Dask shuffle (against one comparison in the
join kernel), then the cluster time and shuffle volume for ``--plan`` pages.

    python benchmarks/bench_dask.py                  # ~3 min
    python benchmarks/bench_dask.py --copies 2 --limit 300 --workers 1 --shuffle-rows 100000   # smoke
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

import dask
import dask.bag as db
import dask.dataframe as dd
import numpy as np
import pandas as pd
from distributed import Client, LocalCluster

import simdup
from simdup import _core
from simdup.dask import SHUFFLE_ROW_COST, dedup
from simdup.batch import join_masks

import shared_data  # benchmarks/shared_data.py: the shared corpora's folder (SIMDUP_SHARED_DATA)

DATA = shared_data.data_dir()
ROW_BYTES = {"identical": 16, "join": 28}  # (fp, doc) and (table, key, fp, doc) rows, before serialisation


def build_corpus(folder: Path, copies: int, edits: int, limit: int | None) -> list[str]:
    with gzip.open(DATA / "reuters21578.jsonl.gz", "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in islice(f, limit)]
    rng = np.random.default_rng(0)
    texts = []
    for copy in range(copies):
        lines = []
        for r in records:
            words = r["text"].split(" ")
            if copy and len(words) > edits:
                for _ in range(edits):
                    del words[int(rng.integers(len(words)))]
            text = " ".join(words)
            texts.append(text)
            lines.append(json.dumps({"id": f"{copy}/{r['id']}", "text": text}) + "\n")
        (folder / f"copy-{copy:03d}.jsonl").write_text("".join(lines), encoding="utf-8")
    return texts


def run_cluster(workers: int, shards: Path, npartitions: int, k: int, shuffle_rows: int) -> tuple[dict, np.ndarray]:
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    with Client(cluster):
        # Warm-up: start the workers' interpreters, import scikit-learn and jieba outside the timing.
        dedup(db.from_sequence(["warm up words", "warm up words"], npartitions=workers), k, text_column=None)
        bag = db.read_text(str(shards / "*.jsonl"), blocksize=None).map(json.loads).repartition(npartitions)
        start = time.perf_counter()
        result = dedup(bag, k, id_column="id")
        seconds = time.perf_counter() - start
        keep = np.concatenate(dask.compute(*result.keep_flags()))
        row_cost = shuffle_row_cost(workers, shuffle_rows)
    cluster.close()
    return {**result.summary, "wall_seconds": seconds, "shuffle_row_core_seconds": row_cost}, keep


def shuffle_row_cost(workers: int, rows: int = 4_000_000, partitions: int = 8) -> float:
    """Core-seconds per row of a plain Dask shuffle of (uint64 key, int64 doc) rows on the running cluster."""
    def part(seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        return pd.DataFrame({"key": rng.integers(0, 2**63, rows // partitions, dtype=np.int64).astype(np.uint64),
                             "doc": np.arange(rows // partitions, dtype=np.int64)})

    from dask import delayed

    frame = dd.from_delayed([delayed(part)(s) for s in range(partitions)], meta=part(0).iloc[:0]).persist()
    frame.map_partitions(len).compute()
    start = time.perf_counter()
    n = int(frame.shuffle(on="key", npartitions=partitions).map_partitions(len).sum().compute())
    return (time.perf_counter() - start) * workers / n


def comparison_seconds(n: int = 2_000_000) -> float:
    """Seconds per candidate comparison in the join kernel: one table with an 11-bit key (runs of ~1,000)."""
    fps = np.random.default_rng(1).integers(0, 2**64, n, dtype=np.uint64)
    mask = np.array([(1 << 11) - 1], dtype=np.uint64)
    runs = np.bincount((fps & mask[0]).astype(np.int64))
    comparisons = float((runs * (runs - 1) // 2).sum())
    start = time.perf_counter()
    _core.self_join(fps, mask, 3)
    return (time.perf_counter() - start) / comparisons


def plan(pages: float, k: int, rates: dict[str, float], row_seconds: float, compare_seconds: float,
         candidate_share: float, link_share: float, cores: list[int]) -> None:
    """Cluster time and shuffle volume for ``pages`` from the measured per-core rates."""
    record_cost = row_seconds / compare_seconds
    masks = join_masks(k, int(pages), record_cost)
    tables = len(masks)
    key_bits = int(masks[0]).bit_count()
    per_run = max(pages / 2**key_bits, 1.0)
    join_rows = tables * pages
    candidates, links = candidate_share * pages, link_share * pages
    print(f"\nPlan for {pages:,.0f} pages at k={k}, a fitted model, {candidate_share:.2f} candidate pairs and "
          f"{link_share:.2f} links a page as measured (a shuffled row = {record_cost:,.0f} comparisons):")
    print(f"  tables: {tables} (key {key_bits} bits, {per_run:,.1f} fingerprints a run)")
    print(f"  shuffle volume: identical fingerprints {pages * ROW_BYTES['identical'] / 1e9:,.0f} GB; self-join "
          f"{join_rows:,.0f} rows = {join_rows * ROW_BYTES['join'] / 1e12:,.2f} TB; verification: "
          f"{candidates:,.0f} candidate pairs, each with a shingle set")
    core_seconds = {"fingerprint": pages / rates["fingerprint"], "identical shuffle": pages * row_seconds,
                    "join shuffle": join_rows * row_seconds,
                    "join comparisons": tables * pages * per_run / 2 * compare_seconds,
                    "verify": candidates / rates["verify"], "cluster": links / rates["cluster"]}
    total = sum(core_seconds.values())
    print("  core-hours: " + ", ".join(f"{name} {s / 3600:,.0f}" for name, s in core_seconds.items())
          + f"; total {total / 3600:,.0f}")
    for c in cores:
        print(f"  {c:>5} cores: {total / c / 3600:,.1f} h")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=8, help="Reuters plus this many minus one edited copies")
    parser.add_argument("--edits", type=int, default=3, help="words deleted from each document of a copy")
    parser.add_argument("--limit", type=int, help="first N Reuters records")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("-k", type=int, default=6)
    parser.add_argument("--plan", type=float, default=1e9, help="pages to plan for")
    parser.add_argument("--shuffle-rows", type=int, default=4_000_000, help="rows of the plain shuffle timed")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if not DATA.exists():
        print(shared_data.absent_reason(), file=sys.stderr)
        return 2
    logging.getLogger("distributed").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        shards = Path(tmp)
        texts = build_corpus(shards, args.copies, args.edits, args.limit)
        mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
        print(f"corpus: {len(texts):,} documents ({mb:.1f} MB) in {args.copies} shards, "
              f"{args.partitions} partitions, k={args.k}", flush=True)
        start = time.perf_counter()
        local = simdup.dedup(texts, args.k)
        local_seconds = time.perf_counter() - start
        print(f"simdup.dedup, this process: {local_seconds:.2f} s = {len(texts) / local_seconds:,.0f} documents/s, "
              f"{local.summary['duplicates_removed']:,} removed", flush=True)
        rows = []
        for workers in args.workers:
            summary, keep = run_cluster(workers, shards, args.partitions, args.k, args.shuffle_rows)
            assert np.array_equal(keep, local.keep), "the cluster removed other documents than simdup.dedup"
            rows.append({"workers": workers, **summary})
            phases = ", ".join(f"{p} {s:.2f} s" for p, s in summary["timings"].items())
            print(f"{workers} worker{'s' if workers > 1 else ''}: {summary['wall_seconds']:.2f} s = "
                  f"{len(texts) / summary['wall_seconds']:,.0f} documents/s "
                  f"(same documents removed as simdup.dedup); {phases}", flush=True)
    base = rows[0]
    for row in rows[1:]:
        print(f"speed-up {row['workers']} workers / {base['workers']}: "
              f"{base['wall_seconds'] / row['wall_seconds']:.2f}x")
    last = rows[-1]
    cores = last["workers"]
    timings = last["timings"]
    rates = {"fingerprint": len(texts) / (timings["fingerprint"] * cores),  # the plan's model is fitted: no fit pass
             "verify": last["candidate_pairs"] / (timings.get("verify", 0.0) * cores or 1.0),
             "cluster": max(last["pairs"], 1) / (timings["cluster"] * cores)}
    compare = comparison_seconds()
    print(f"\nPer core ({cores} worker{'s' if cores > 1 else ''}): reading + fingerprinting "
          f"{rates['fingerprint']:,.0f} documents/s; verifying {rates['verify']:,.0f} candidate pairs/s; "
          f"clustering {rates['cluster']:,.0f} links/s; a shuffled row {last['shuffle_row_core_seconds'] * 1e6:.2f} "
          f"core-us; a join comparison {compare * 1e9:.2f} ns (SHUFFLE_ROW_COST = {SHUFFLE_ROW_COST:.0f})")
    plan(args.plan, args.k, rates, last["shuffle_row_core_seconds"], compare,
         last["candidate_pairs"] / last["documents"], last["pairs"] / last["documents"], [64, 256, 1024])
    if args.json:
        args.json.write_text(json.dumps({"local_seconds": local_seconds, "runs": rows}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
