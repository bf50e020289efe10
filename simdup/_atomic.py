"""Atomic outputs: a file or directory appears whole under its name, or not at all.

Every output simdup writes (corpora, models, indexes, reports) goes through
a temporary file or directory beside the target, fsynced and renamed over
it, so a crash, a full disk or a kill never leaves a partial file under the
target's name. This module also names those temporaries, removes the ones
dead processes left (:func:`remove_stale_temps`), and checks an output
target before the work starts (:func:`check_writable`).
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync and rename.

    A crash at any point leaves either the old file or the complete new one,
    never a partial file under ``path``.
    """
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)


def _read_umask_at_import() -> int:
    # os.umask() can only read the mask by setting it. Done once, at import,
    # with 0o777 in the window (a file another thread creates meanwhile gets
    # no permissions: safe, where a window at 0 would make it world-writable).
    mask = os.umask(0o777)
    os.umask(mask)
    return mask


_IMPORT_UMASK = _read_umask_at_import()


def _umask() -> int:
    """The process umask, read without changing it.

    Setting and restoring it (the only portable way) is racy: another thread
    creating a file in between gets the temporary mask. Linux (4.7+) reports
    the current mask in ``/proc/self/status``, which is exact even after the
    program changed it; elsewhere the mask read once at import is used.
    """
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return _IMPORT_UMASK


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not every platform lets a directory be opened.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# Temporary files and directories beside a target are named
# ``.NAME.simdup-tmp-PID-RANDOM[.SUFFIXES]``: recognisable as ours, and tied to
# the process writing them. A run killed by SIGKILL (or a power cut) cannot
# remove its own; the next write to the same target removes those whose
# process is gone. A live process's are never touched, so two writers of one
# target do not delete each other's work. (Process ids are only meaningful on
# one machine: on a file system shared by several hosts, another host's live
# writer could look dead here; each then still writes its own temp name and
# renames atomically, and the loser's temp is lost, never the target.)
TEMP_MARK = ".simdup-tmp-"


_NAME_MAX = 255
"""Bytes in a file name on the common file systems (ext4, XFS, btrfs, APFS, NTFS in characters)."""


def _temp_suffix(target: Path) -> str:
    """The target's last suffixes, kept on its temp name for writers that choose a compression by suffix."""
    return "".join(target.suffixes[-2:])


def _temp_prefix(target: Path) -> str:
    # The target's name, shortened if need be so that the whole temp name (prefix, pid, "-", 8 random
    # characters, suffix) fits in a file name: a valid long output name must not be refused.
    room = _NAME_MAX - len(os.fsencode(f".{TEMP_MARK}{_temp_suffix(target)}")) - 20
    name = target.name
    while name and len(os.fsencode(name)) > room:
        name = name[:-1]
    return f".{name}{TEMP_MARK}"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, another user's
        return True
    return True


def remove_stale_temps(path: str | os.PathLike[str]) -> list[Path]:
    """Remove the temp files and directories left beside ``path`` by dead writers.

    Returns
    -------
    list of Path
        What was removed.
    """
    target = Path(path)
    prefix = _temp_prefix(target)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        pid_text = entry.name[len(prefix):].split("-", 1)[0]
        if not pid_text.isdigit() or _pid_alive(int(pid_text)):
            continue
        stale = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(stale)
            else:
                stale.unlink()
        except OSError:
            continue  # removed by another writer meanwhile, or not ours to remove
        removed.append(stale)
    return removed


def scratch_directory(parent: str | os.PathLike[str], name: str) -> Path:
    """A new private directory in ``parent`` for a run's temporary files, named like this module's temps.

    The caller removes it when done; one a killed run left behind (its
    process gone) is removed by the next call with the same ``name``
    (:func:`remove_stale_temps`), so a SIGKILL does not leave spill files
    accumulating.
    """
    target = Path(parent) / name
    remove_stale_temps(target)
    return Path(tempfile.mkdtemp(prefix=f"{_temp_prefix(target)}{os.getpid()}-", dir=parent))


def _name_target(exc: BaseException, target: Path, tmp: str) -> None:
    """Make an OSError about the hidden temp (or about no file: ENOSPC on write) name the user's path."""
    # Only a system error (with an errno) prints its file name; another OSError keeps its message.
    if isinstance(exc, OSError) and exc.errno is not None and (exc.filename is None
                                                               or os.fspath(exc.filename) == tmp):
        exc.filename = str(target)


def _check_replaceable(target: Path) -> None:
    """Refuse a target that exists and is not a regular file: the rename would replace a device
    (``/dev/null``, run as root), a pipe or a socket (or the link to one) with a plain file."""
    try:
        mode = target.stat().st_mode
    except OSError:
        return  # missing (or a dangling link): a new file
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise OSError(errno.EINVAL, "not a regular file (a device, pipe or socket); outputs are written to a "
                      "temp file renamed over the target: give a file name", str(target))


def _output_target(path: str | os.PathLike[str]) -> Path:
    """``path`` as an output: its directory exists, and it is not a directory or a special file."""
    target = Path(path)
    if not target.parent.is_dir():
        raise FileNotFoundError(2, "No such directory", str(target.parent))
    if target.is_dir():
        raise IsADirectoryError(21, "Is a directory", str(target))
    _check_replaceable(target)
    return target


def check_writable(path: str | os.PathLike[str]) -> None:
    """Fail now, not after the work, if ``path`` cannot be written through a temp file beside it.

    Creates and removes one temp file in ``path``'s directory: the only test
    that answers for read-only mounts, ACLs and root alike.

    Raises
    ------
    OSError
        Naming ``path`` (or its directory): missing directory, not a
        directory, ``path`` is a directory, no permission, read-only.
    """
    target = _output_target(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{_temp_prefix(target)}{os.getpid()}-", dir=target.parent)
    except OSError as exc:
        exc.filename = str(target)
        raise
    os.close(fd)
    os.unlink(tmp)


@contextmanager
def atomic_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a new temporary directory beside ``path``; rename it to ``path`` only on success.

    ``path`` must not exist: a directory output is never overwritten or merged into.
    Temp directories that dead runs left for ``path`` are removed first.
    """
    target = Path(path)
    if target.exists():
        raise FileExistsError(errno.EEXIST, "already exists (a directory output is never overwritten)", str(target))
    remove_stale_temps(target)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f"{_temp_prefix(target)}{os.getpid()}-", dir=target.parent))
    except OSError as exc:
        exc.filename = str(target)
        raise
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private
        yield tmp
        os.replace(tmp, target)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        _name_target(exc, target, str(tmp))
        raise


@contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only on success.

    The temporary name keeps ``path``'s suffixes, so writers that pick a
    compression by suffix (``.gz``, ``.zst``) see the right one. Nothing is
    left under ``path`` if the block fails (an exception, SIGINT, or SIGTERM
    in the command line); a temp file that a killed process left is removed
    by the next write to ``path`` (see :func:`remove_stale_temps`). An
    ``OSError`` without a file name (ENOSPC on write) or about the temp file
    is re-labelled with ``path``.
    """
    target = _output_target(path)
    remove_stale_temps(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{_temp_prefix(target)}{os.getpid()}-",
                                   suffix=_temp_suffix(target), dir=target.parent)
    except OSError as exc:
        exc.filename = str(target)
        raise
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        # mkstemp makes the file private; give it the mode a plain open() would have
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        _name_target(exc, target, tmp)
        raise
    _fsync_directory(target.parent)
