"""The memory budget of a streaming run: ``--memory-limit`` parsed, its default, and the peak actually used."""

from __future__ import annotations

import ctypes
import os
import re
import resource
import sys
from typing import Any

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
MIN_LIMIT = 64 << 20
"""Below this a run spends its time spilling; smaller limits are refused."""


def parse_size(text: str) -> int:
    """Bytes from a size such as ``"512M"``, ``"4G"``, ``"1.5GiB"`` or ``"2000000000"`` (units of 1024).

    Raises
    ------
    ValueError
        Not a size, or below :data:`MIN_LIMIT`.
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*", str(text), re.IGNORECASE)
    if not match:
        raise ValueError(f"not a size: {text!r} (use a number of bytes, or e.g. 512M, 4G)")
    size = int(float(match.group(1)) * _UNITS[match.group(2).upper()])
    if size < MIN_LIMIT:
        raise ValueError(f"memory limit {text!r} is below the minimum of {MIN_LIMIT >> 20} MiB")
    return size


def default_limit() -> int:
    """Half the memory available now (at least :data:`MIN_LIMIT`): room for the page cache and other programs."""
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not every platform names these
        available = 8 << 30
    try:  # MemAvailable counts reclaimable page cache, which SC_AVPHYS_PAGES leaves out
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    return max(MIN_LIMIT, available // 2)


def peak_rss(children: bool = False) -> int:
    """Peak resident memory in bytes of this process (or of its largest finished child process)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF).ru_maxrss
    return int(usage) * (1 if sys.platform == "darwin" else 1024)  # macOS reports bytes, Linux KiB


def format_size(n: int) -> str:
    """``n`` bytes for people: ``"1.2 GiB"``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def cpu_seconds() -> float:
    """CPU time (user and system) this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def release_free_memory() -> None:
    """Give the C heap's free pages back to the system (glibc ``malloc_trim``; elsewhere nothing).

    Between phases the freed per-block arrays of the last phase are holes
    in the heap that the allocator keeps; the next phase's large arrays are
    mapped afresh, so without this the process's resident size adds both.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _malloc_trim() -> Any:
    global _TRIM
    if _TRIM is False:
        _TRIM = None
        if sys.platform.startswith("linux"):
            try:
                _TRIM = ctypes.CDLL(None).malloc_trim
            except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
                pass
    return _TRIM


_TRIM: Any = False
