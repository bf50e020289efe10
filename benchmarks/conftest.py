import gzip
import json
from itertools import islice
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _texts(name: str, limit: int) -> list[str]:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"shared corpus {path} is absent")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [t for t in (json.loads(line)["text"] for line in islice(f, limit)) if t.strip()]


@pytest.fixture(scope="session")
def english() -> list[str]:
    return _texts("reuters21578.jsonl.gz", 2000)


@pytest.fixture(scope="session")
def chinese() -> list[str]:
    return _texts("fudan_zh.jsonl.gz", 200)
