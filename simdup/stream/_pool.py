"""Tasks run in order on ``jobs`` worker processes, or inline with one job.

Processes, not threads: reading JSON, decoding and preparing text (and
jieba's segmentation, HTML extraction) hold the GIL, and they are most of a
block's work (measured in ``benchmarks/README.md``). Workers start by
forkserver (spawn where there is none): forking a process that already runs
threads (progress bars, compression) is unsafe. Results come back in task
order with a bounded number of tasks in flight, so memory does not grow with
the corpus.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

from . import _worker

T = TypeVar("T")
R = TypeVar("R")


class Pool:
    """Run :mod:`simdup.stream._worker` functions on ``jobs`` processes, results in order."""

    def __init__(self, jobs: int, init_args: tuple[Any, ...]) -> None:
        self.jobs = jobs
        self._executor: ProcessPoolExecutor | None = None
        if jobs > 1:
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
            self._executor = ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker.init,
                                                 initargs=init_args)
        else:
            _worker.init(*init_args)

    def map(self, fn: Callable[[T], R], tasks: Iterable[T], in_flight: int | None = None) -> Iterator[R]:
        """``fn(task)`` for each task, in order; at most ``in_flight`` (default ``2 * jobs``) tasks pending."""
        if self._executor is None:
            for task in tasks:
                yield fn(task)
            return
        limit = in_flight or 2 * self.jobs
        pending: deque[Future[R]] = deque()
        try:
            for task in tasks:
                pending.append(self._executor.submit(fn, task))
                if len(pending) >= limit:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
