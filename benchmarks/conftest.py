import sys
from pathlib import Path

import pytest
import shared_data  # benchmarks/shared_data.py: where the shared corpora are (SIMDUP_SHARED_DATA)

# The micro-benchmarks check their results against the tests' pure-Python reference (tests/reference.py).
sys.path.append(str(Path(__file__).resolve().parents[1] / "tests"))


def _texts(name: str, limit: int) -> list[str]:
    shared_data.require(name)  # skips with the reason when the corpus is absent
    return shared_data.texts(name, limit)


@pytest.fixture(scope="session")
def english() -> list[str]:
    return _texts("reuters21578.jsonl.gz", 2000)


@pytest.fixture(scope="session")
def chinese() -> list[str]:
    return _texts("fudan_zh.jsonl.gz", 200)
