"""Dedup against a reference index (issue 17): ``simdup dedup NEW --against REF.idx`` with a large reference.

    python benchmarks/bench_against.py --reference /work/scale-data/corpus-en-10000000-s0-r0.3.jsonl \\
        --new /work/scale-tmp/week-1m.jsonl --workdir /work/scale-tmp
    python benchmarks/bench_against.py --tiny --workdir /tmp/against   # smoke run: 3,000 and 1,000 records

The reference is indexed once (``simdup index build -k 8``, timed; reused
while the reference file is unchanged). Then, in one run, for ratios on this
shared machine: the new corpus deduplicated on its own; against the index
(fingerprints alone); against the index with the reference's text
(``--against REF.idx --against REF``: the matches verified); and against
the index with ``--update`` to a new file (the reference plus the kept).
Each command runs under ``/usr/bin/time -v`` (wall, CPU, peak RSS; the
process tree's PSS sampled); its JSON summary gives the phases and the
matches. Corpora come from ``bench_scale.py generate`` (``--seed`` 1 for a
new week against seed 0's reference: they share only the real Reuters
stories their spliced bases are made from; the new corpus's ids renamed
``w...``, as ``sed 's/^{"id": "d/{"id": "w/'`` does, since every generated
corpus numbers its records ``d0000000000`` on).

Writes ``benchmarks/results/against-<reference size>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_scale  # noqa: E402  (the generator and the measured runs)

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "results"


def simdup_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "simdup", *args]


def build_index(reference: Path, workdir: Path, k: int) -> dict[str, Any]:
    """``simdup index build`` of the reference (reused when its source and size are unchanged)."""
    index = workdir / "reference.idx"
    stamp = workdir / "reference.idx.source.json"
    want = {"reference": str(reference.resolve()), "bytes": reference.stat().st_size, "k": k}
    if index.exists() and stamp.exists():
        built = json.loads(stamp.read_text())
        if built["source"] == want:
            return {**built, "reused": True}
    for path in (index, Path(f"{index}.names.json")):
        path.unlink(missing_ok=True)
    m = bench_scale.measure(simdup_cmd("index", "build", str(reference), "-o", str(index), "-k", str(k), "-q"),
                            workdir, "index-build")
    if m.returncode:
        raise SystemExit(f"simdup index build failed:\n{m.stderr}")
    built = {"source": want, "wall_seconds": m.wall_seconds, "cpu_seconds": m.cpu_seconds,
             "peak_rss_mb": m.peak_rss_mb, "index_bytes": index.stat().st_size,
             "names_bytes": Path(f"{index}.names.json").stat().st_size}
    stamp.write_text(json.dumps(built, indent=2))
    return {**built, "reused": False}


def run(name: str, args: list[str], workdir: Path) -> dict[str, Any]:
    m = bench_scale.measure(simdup_cmd("dedup", *args, "--json", "-q"), workdir, name)
    if m.returncode:
        raise SystemExit(f"{name} failed:\n{m.stderr}")
    summary = json.loads(m.stdout)
    return {"name": name, "args": args, "wall_seconds": m.wall_seconds, "cpu_seconds": m.cpu_seconds,
            "peak_rss_mb": m.peak_rss_mb, "tree_peak_pss_mb": m.tree_peak_pss_mb, "summary": summary}


def markdown(report: dict[str, Any]) -> str:
    build = report["index"]
    sizes = f"index {build['index_bytes'] / 2**20:,.0f} MB, names file {build['names_bytes'] / 2**20:,.0f} MB"
    if "wall_seconds" in build:
        built = (f"Index build (`simdup index build -k {report['k']}`): {build['wall_seconds']:,.1f} s, peak RSS "
                 f"{build['peak_rss_mb']:,.0f} MB; {sizes}" + (" (built by an earlier run)" if build["reused"] else ""))
    else:
        built = f"Index given (built before, not measured here): {sizes}"
    lines = [f"Reference: {report['reference_documents']:,} documents ({report['reference']}); new: "
             f"{report['new_documents']:,} documents ({report['new']}). Commit {report['commit']}.",
             "", built, "",
             "| run | wall s | vs alone | peak RSS MB | removed | matched the reference | verified | phases (s) |",
             "|---|---:|---:|---:|---:|---:|---|---|"]
    alone = report["runs"][0]["wall_seconds"]
    for r in report["runs"]:
        s = r["summary"]
        ref = s.get("reference")
        phases = ", ".join(f"{k} {v:.1f}" for k, v in s["timings"].items())
        matched, verified = (f"{ref['matched']:,}", str(ref["verified"])) if ref else ("-", "-")
        lines.append(f"| {r['name']} | {r['wall_seconds']:,.1f} | {r['wall_seconds'] / alone:.2f}x | "
                     f"{r['peak_rss_mb']:,.0f} | {s['duplicates_removed']:,} | {matched} | {verified} | {phases} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--reference", type=Path, help="reference corpus (JSON Lines)")
    parser.add_argument("--new", type=Path, help="new corpus (JSON Lines)")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("-k", type=int, default=8)
    parser.add_argument("--index", type=Path, help="an index of --reference built already (`simdup index build`), "
                        "used as it is: its build is not measured by this run")
    parser.add_argument("--tiny", action="store_true", help="generate 3,000 + 1,000 records and run on them")
    parser.add_argument("--out", type=Path, help="results prefix (default benchmarks/results/against-<size>)")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.tiny:
        sources = bench_scale.load_sources("en")
        args.reference, args.new = args.workdir / "reference.jsonl", args.workdir / "new.jsonl"
        for path, n, seed in ((args.reference, 3000, 0), (args.new, 1000, 1)):
            if not path.exists():
                params = bench_scale.Params(lang="en", seed=seed, real_bases=300)
                bench_scale.generate(path, n, params, sources)
        # Another week's ids: the generator numbers every corpus's records from d0000000000.
        lines = args.new.read_text(encoding="utf-8").splitlines(keepends=True)
        args.new.write_text("".join(line.replace('{"id": "d', '{"id": "w', 1) for line in lines), encoding="utf-8")
    if args.reference is None or args.new is None:
        parser.error("give --reference and --new, or --tiny")
    if args.index is not None:
        index: dict[str, Any] = {"reused": True, "path": str(args.index), "index_bytes": args.index.stat().st_size,
                                 "names_bytes": Path(f"{args.index}.names.json").stat().st_size}
        idx = str(args.index)
    else:
        index = build_index(args.reference, args.workdir, args.k)
        idx = str(args.workdir / "reference.idx")
    updated = args.workdir / "updated.idx"
    for path in (updated, Path(f"{updated}.names.json")):
        path.unlink(missing_ok=True)
    out = args.workdir / "out.jsonl"
    runs = []
    for name, extra in (("alone", []), ("against the index", ["--against", idx]),
                        ("against the index and its text", ["--against", idx, "--against", str(args.reference)]),
                        ("against the index, --update to a new index", ["--against", idx, "--update", str(updated)])):
        out.unlink(missing_ok=True)
        runs.append(run(name, [str(args.new), "-o", str(out), "-k", str(args.k), *extra], args.workdir))
        print(f"{name}: {runs[-1]['wall_seconds']:.1f} s", file=sys.stderr)
    out.unlink(missing_ok=True)
    report = {"reference": str(args.reference), "new": str(args.new), "k": args.k, "commit": bench_scale.git_commit(),
              "reference_documents": runs[1]["summary"]["reference"]["documents"],
              "new_documents": runs[0]["summary"]["documents"], "index": index, "runs": runs}
    prefix = args.out or (OUT / f"against-{report['reference_documents']}")
    if args.tiny and args.out is None:
        prefix = args.workdir / "against"
    prefix.parent.mkdir(parents=True, exist_ok=True)
    prefix.with_suffix(".json").write_text(json.dumps(report, indent=2))
    text = markdown(report)
    prefix.with_suffix(".md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
