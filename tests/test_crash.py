"""SIGKILL while writing: a dedup output and an index save are always the old or the new complete file.

A child process imports simdup once and then writes, in a loop, the two
targets a crawler's run writes: a deduplicated corpus (``write_kept``, what
`simdup dedup` calls) and a saved index, alternating between two versions of
each. The parent kills it at random moments, then checks each target is
absent (the first write never finished) or byte-for-byte one of the two
versions, and that the next write removes every temp file the killed child
left. The default run kills a few times (a few seconds); ``--run-slow``
kills 200 times.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from simdup import SimHashIndex
from simdup._atomic import TEMP_MARK
from simdup.corpus import JsonlCorpus

CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    from pathlib import Path
    from simdup import SimHashIndex
    from simdup.corpus import JsonlCorpus

    folder = Path(sys.argv[1])
    corpus = JsonlCorpus(folder / "in.jsonl")
    n = len(list(corpus.records()))
    masks = [[i % 2 == 0 for i in range(n)], [i % 3 != 0 for i in range(n)]]
    rng = np.random.default_rng(0)
    indexes = []
    for size in (3_000, 5_000):
        index = SimHashIndex(3, expected_n=size)
        index.add_many(rng.integers(0, 2**63, size, dtype=np.uint64), np.arange(size, dtype=np.uint64))
        indexes.append(index)
    print("ready", flush=True)
    i = 0
    while True:
        corpus.write_kept(masks[i % 2], folder / "out.jsonl")
        indexes[i % 2].save(folder / "crawl.idx")
        i += 1
""")


def _versions(folder: Path) -> tuple[set[bytes], set[int]]:
    """The two complete outputs the child alternates between, and its two index sizes."""
    corpus = JsonlCorpus(folder / "in.jsonl")
    n = len(list(corpus.records()))
    outputs = set()
    for mask in ([i % 2 == 0 for i in range(n)], [i % 3 != 0 for i in range(n)]):
        corpus.write_kept(mask, folder / "expected.jsonl")
        outputs.add((folder / "expected.jsonl").read_bytes())
    (folder / "expected.jsonl").unlink()
    return outputs, {3_000, 5_000}


def _kill_rounds(folder: Path, rounds: int, seed: int) -> None:
    records = [{"id": f"d{i}", "text": f"document {i} " + "words " * (i % 50)} for i in range(4_000)]
    (folder / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    outputs, sizes = _versions(folder)
    rng = random.Random(seed)
    for _ in range(rounds):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(folder)], stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout is not None and child.stdout.readline() == "ready\n"
            # Each round kills after a random share of a few writes: inside the write, the fsync, the rename.
            child_wait = rng.uniform(0.0, 0.4)
            try:
                child.wait(timeout=child_wait)
            except subprocess.TimeoutExpired:
                pass
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.wait()
            if child.stdout is not None:
                child.stdout.close()
        out = folder / "out.jsonl"
        assert not out.exists() or out.read_bytes() in outputs
        index = folder / "crawl.idx"
        if index.exists():
            assert len(SimHashIndex.load(index, verify=True)) in sizes
    # The next run writes both targets: every temp file a killed child left is gone.
    corpus = JsonlCorpus(folder / "in.jsonl")
    n = len(list(corpus.records()))
    corpus.write_kept([True] * n, folder / "out.jsonl")
    SimHashIndex.load(folder / "crawl.idx").save(folder / "crawl.idx")
    assert [p.name for p in folder.iterdir() if TEMP_MARK in p.name] == []
    assert sorted(p.name for p in folder.iterdir()) == ["crawl.idx", "in.jsonl", "out.jsonl"]


def test_sigkill_while_writing_leaves_old_or_new_file_and_no_temp(tmp_path: Path) -> None:
    _kill_rounds(tmp_path, rounds=6, seed=13)


@pytest.mark.slow
def test_sigkill_while_writing_many_times(tmp_path: Path) -> None:
    _kill_rounds(tmp_path, rounds=200, seed=1313)


def test_sigkill_leaves_temp_files_that_only_the_next_write_removes(tmp_path: Path) -> None:
    """The premise of the test above: a kill mid-write does leave a temp file behind."""
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys, time
        from simdup._atomic import atomic_output
        with atomic_output(sys.argv[1]) as tmp:
            tmp.write_bytes(b"half")
            print("writing", flush=True)
            time.sleep(60)
    """), str(tmp_path / "out.txt")], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline() == "writing\n"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdout.close()
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(f".out.txt{TEMP_MARK}{child.pid}-")
    index = SimHashIndex(3, expected_n=10)
    index.add_many(np.array([1, 2], np.uint64), np.array([1, 2], np.uint64))
    index.save(tmp_path / "crawl.idx")  # another target's write leaves it alone
    assert left[0] in [p.name for p in tmp_path.iterdir()]
    (tmp_path / "out.txt").write_bytes(b"")  # not through simdup: nothing is cleaned
    from simdup._atomic import atomic_write_bytes

    atomic_write_bytes(tmp_path / "out.txt", b"whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crawl.idx", "out.txt"]
