"""All-pairs self-join speed: simdup.find_duplicates against the alternatives.

Side by side in one run, one thread, on the same fingerprints:

* simdup ``find_duplicates`` (radix-sorted permuted tables, every pair once);
* simhash-pybind ``find_all`` at 4, 5 and 6 blocks (its module is named
  ``simhash`` like the ``simhash`` package, so it is installed into its own
  folder, ``benchmarks/.peers``, on first use, and loaded under another name);
* faiss ``IndexBinaryMultiHash`` (nhash=k+1, exact) range search of every
  fingerprint against all, batched;
* a numpy XOR + popcount brute force (small N only).

Data: uniform random fingerprints, and "real" ones: simdup fingerprints of
the Reuters and Fudan corpora, each with a near-duplicate (1-3 bits flipped)
mixed in, topped up with uniform ones to N.

    python benchmarks/bench_join.py                  # N = 1M and 10M
    python benchmarks/bench_join.py --n 100000 --tiny-peers
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np

from simdup import SimHasher, find_duplicates

import shared_data  # benchmarks/shared_data.py: the shared corpora's folder (SIMDUP_SHARED_DATA)

ROOT = Path(__file__).resolve().parent
DATA = shared_data.data_dir()
PEERS = ROOT / ".peers"


def load_simhash_pybind(install: bool) -> ModuleType | None:
    folder = PEERS / "simhash_pybind"
    if not (folder / "simhash").exists():
        if not install:
            return None
        print(f"  installing simhash-pybind into {folder} (once)", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(folder), "simhash-pybind"],
                       check=False, capture_output=True)
        if not (folder / "simhash").exists():
            return None
    spec = importlib.util.spec_from_file_location("simhash_pybind", folder / "simhash" / "__init__.py",
                                                  submodule_search_locations=[str(folder / "simhash")])
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["simhash_pybind"] = module
    spec.loader.exec_module(module)
    return module


def real_fingerprints(n: int, rng: np.random.Generator) -> np.ndarray:
    texts = []
    for name in ("reuters21578.jsonl.gz", "fudan_zh.jsonl.gz"):
        with gzip.open(DATA / name, "rt", encoding="utf-8") as f:
            texts += [t for t in (json.loads(line)["text"] for line in f) if t.strip()]
    hasher = SimHasher.default().set_params(segmenter="rjieba") if _has("rjieba") else SimHasher.default()
    fps = hasher.transform(texts)
    flips = np.zeros(len(fps), dtype=np.uint64)
    for _ in range(3):  # 1 to 3 distinct bits (a repeated bit may cancel: 1 or 3 flips)
        flips ^= np.uint64(1) << rng.integers(0, 64, len(fps)).astype(np.uint64)
    mixed = np.concatenate([fps, fps ^ flips])
    fill = rng.integers(0, 2**64, max(n - len(mixed), 0), dtype=np.uint64)
    out = np.concatenate([mixed, fill])[:n]
    rng.shuffle(out)
    return out


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def timed(run: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    pairs = run()
    return time.perf_counter() - start, pairs


def faiss_pairs(fps: np.ndarray, k: int) -> int:
    import faiss

    codes = fps.view(np.uint8).reshape(-1, 8)
    index = faiss.IndexBinaryMultiHash(64, k + 1, 64 // (k + 1))
    index.add(codes)
    lims, _, ids = index.range_search(codes, k + 1)  # radius is exclusive
    rows = np.repeat(np.arange(len(fps)), np.diff(lims.astype(np.int64)))
    return int((ids > rows).sum())


def brute_pairs(fps: np.ndarray, k: int) -> int:
    total = 0
    for start in range(0, len(fps), 2048):
        block = fps[start:start + 2048]
        d = np.bitwise_count(block[:, None] ^ fps[None, :])
        rows = np.arange(start, start + len(block))[:, None]
        total += int(((d <= k) & (np.arange(len(fps))[None, :] > rows)).sum())
    return total


def bench(name: str, fps: np.ndarray, k: int, pybind: ModuleType | None, peer_limit: int) -> list[dict]:
    n = len(fps)
    print(f"\n{name}: N = {n:,}, k = {k}", flush=True)
    rows = []
    seconds, pairs = timed(lambda: len(find_duplicates(fps, k).i))
    base = seconds
    rows.append({"system": "simdup find_duplicates", "n": n, "seconds": seconds, "pairs": pairs})
    print(f"  {'simdup find_duplicates':<34} {seconds:>8.3f} s  {pairs:>10,} pairs", flush=True)

    def peer(label: str, run: Callable[[], int], limit: int) -> None:
        if n > limit:
            print(f"  {label:<34} skipped above N = {limit:,}", flush=True)
            return
        seconds, got = timed(run)
        agree = "" if got == pairs else f"  (pair count differs: {got:,})"
        rows.append({"system": label, "n": n, "seconds": seconds, "pairs": got, "x_slower": seconds / base})
        print(f"  {label:<34} {seconds:>8.3f} s  {got:>10,} pairs  simdup {seconds / base:>6.1f}x faster{agree}",
              flush=True)

    if pybind is not None:
        values = fps.tolist()
        for blocks in (k + 1, k + 2, k + 3):
            peer(f"simhash-pybind find_all, {blocks} blocks", lambda b=blocks: len(pybind.find_all(values, b, k)),
                 peer_limit)
    else:
        print("  (simhash-pybind unavailable; peer skipped)")
    if _has("faiss"):
        peer("faiss IndexBinaryMultiHash batched", lambda: faiss_pairs(fps, k), peer_limit)
    else:
        print("  (faiss-cpu not installed: pip install faiss-cpu; peer skipped)")
    peer("numpy XOR+popcount brute force", lambda: brute_pairs(fps, k), 30_000)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("-k", type=int, default=3)
    parser.add_argument("--peer-limit", type=int, default=1_000_000, help="largest N given to the peers")
    parser.add_argument("--no-install", action="store_true", help="do not pip-install simhash-pybind")
    parser.add_argument("--no-real", action="store_true", help="uniform fingerprints only")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    pybind = load_simhash_pybind(install=not args.no_install)
    rows = []
    for n in args.n:
        rows += bench("uniform", rng.integers(0, 2**64, n, dtype=np.uint64), args.k, pybind, args.peer_limit)
        if not args.no_real and DATA.exists():
            rows += bench("real + near-duplicates", real_fingerprints(n, rng), args.k, pybind, args.peer_limit)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
