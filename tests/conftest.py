import sys
from pathlib import Path

import pytest

# The one loader of the shared corpora (benchmarks/shared_data.py), for the tests as for the benchmarks.
sys.path.append(str(Path(__file__).resolve().parents[1] / "benchmarks"))
import shared_data  # noqa: E402


def shared_records(name: str, limit: int) -> list[dict]:
    """The first ``limit`` records of a shared corpus; skips the test when it is absent."""
    shared_data.require(name)
    return shared_data.records(name, limit)


@pytest.fixture(scope="session")
def reuters_texts() -> list[str]:
    return [r["text"] for r in shared_records("reuters21578.jsonl.gz", 1500) if r["text"].strip()]


@pytest.fixture(scope="session")
def fudan_texts() -> list[str]:
    return [r["text"] for r in shared_records("fudan_zh.jsonl.gz", 60) if r["text"].strip()]


@pytest.fixture(scope="session")
def web_pages() -> list[dict]:
    """The 922 real pages of trafilatura's evaluation set: ``id`` and ``html``."""
    return shared_records("web_pages_trafilatura.jsonl.gz", 10_000)


@pytest.fixture(scope="session")
def readability_pages() -> list[dict]:
    """Mozilla Readability's 94 real test pages: ``id``, ``html``, ``text`` (its accepted output), ``lang``."""
    return shared_records("mozilla_readability_testpages.jsonl.gz", 10_000)


@pytest.fixture(scope="session")
def dragnet_pages() -> list[dict]:
    """Dragnet's 415 test pages: ``id``, ``html``, ``text`` (hand-made article text). AGPLv3: read by path only."""
    return shared_records("dragnet_test.jsonl.gz", 10_000)


# -- opt-in long runs ------------------------------------------------------------------------
# `slow` (registered in setup.cfg) marks the long versions of the fuzz and crash tests: a few
# minutes each, too long for every run; `pytest --run-slow` runs them too.


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run the tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="long run: opt in with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
