"""Writers for corpus outputs, compressed by the file's suffix on several threads.

:func:`open_writer` opens ``.gz`` as gzip, ``.zst`` as zstd and any other
name as a plain file. Gzip output is cut into fixed-size blocks, each
compressed as an independent gzip member (on a thread pool when
``jobs > 1``: zlib releases the GIL while it deflates) and written in
order: a sequence of gzip members is one valid gzip file (RFC 1952, section
2.2), which ``gzip -d``, ``gzip.open`` and every other reader decompress
whole. Zstd output uses zstandard's own worker threads.
"""

from __future__ import annotations

import io
import zlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

GZIP_LEVEL = 6
"""Default gzip level: within 1 % of level 9's size on JSON Lines corpora (news, web pages, Chinese
text: 0.3 to 0.7 % larger), and 1.2 to 1.7 times as fast; level 9 mostly searches longer for little."""

ZSTD_LEVEL = 3
"""Default zstd level (zstd's own default)."""

BLOCK_SIZE = 2 << 20
"""Uncompressed bytes in one gzip member. Each member starts with an empty 32 KiB window: on JSON
Lines that costs 0.4 % of the size at 1 MiB, 0.2 % at 2 MiB, 0.1 % at 4 MiB; and up to 2 * jobs
blocks are held in memory."""


def open_writer(path: Path, *, jobs: int = 1, level: int | None = None) -> BinaryIO:
    """Open ``path`` for writing bytes, compressed by its suffix.

    Parameters
    ----------
    path : Path
        The file to create (or truncate). ``.gz`` (any case) is written as
        gzip, ``.zst`` as zstd, anything else as is. Pass the temporary
        path from :func:`simdup._atomic.atomic_output` for an atomic output:
        its name keeps the target's suffix.
    jobs : int, default 1
        Threads that compress. The output is the same bytes for every
        ``jobs``: gzip blocks do not depend on it (see
        :class:`GzipBlockWriter`), and zstd runs its streaming
        multi-threaded mode, whose output does not depend on the number of
        workers, for ``jobs=1`` too.
    level : int, optional
        Compression level: gzip 0-9, default 6; zstd 1-22 (or negative for
        faster), default 3. Ignored for a plain file.

    Returns
    -------
    BinaryIO
        A writable binary file and context manager; closing it writes the
        end of the stream and closes the file.

    Raises
    ------
    ValueError
        ``jobs < 1`` or a gzip ``level`` outside -1 to 9.
    ImportError
        A ``.zst`` path without the ``zstandard`` package.
    OSError
        The file cannot be created.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    suffix = path.suffix.lower()
    if suffix == ".gz":
        level = GZIP_LEVEL if level is None else level
        _check_gzip_level(level)
        raw = open(path, "wb")  # noqa: SIM115 - the writer owns and closes it
        return GzipBlockWriter(raw, level=level, jobs=jobs, block_size=BLOCK_SIZE, close_fileobj=True)
    if suffix == ".zst":
        # threads=1 too, not 0 (zstd's single-threaded mode, whose output differs): then the output is
        # the same bytes for every jobs, and the one worker thread overlaps compression with the
        # caller's writes when a core is free.
        compressor = _zstandard(path).ZstdCompressor(level=ZSTD_LEVEL if level is None else level, threads=jobs)
        raw = open(path, "wb")  # noqa: SIM115 - closefd: the writer owns and closes it
        try:
            writer: BinaryIO = compressor.stream_writer(raw, closefd=True)
        except BaseException:
            raw.close()
            raise
        return writer
    return open(path, "wb")


def input_gzip_level(paths: list[Path]) -> int | None:
    """1 when every input is gzip marked as compressed for speed (header XFL 4, what level 1 writes), else None.

    An output follows its inputs' choice of speed over size (a corpus
    written with ``gzip -1`` is deduplicated to ``-1`` too); otherwise the
    default level applies. (A gzip header records only "fastest" or
    "best", not the level itself.)
    """
    if not paths:
        return None
    for path in paths:
        try:
            with open(path, "rb") as f:
                header = f.read(10)
        except OSError:
            return None
        if len(header) < 10 or header[:2] != b"\x1f\x8b" or header[8] != 4:
            return None
    return 1


def _zstandard(path: Path) -> Any:
    # The message of simdup.corpus._zstandard; that module imports this one, and the package's
    # import graph has no cycles (tests/test_import_graph.py), so the check is not shared.
    try:
        import zstandard
    except ImportError:
        raise ImportError(f"{path}: .zst files need the zstandard package: pip install 'simdup[zstd]'") from None
    return zstandard


def _check_gzip_level(level: int) -> None:
    # zlib would only refuse a bad level in the first compressobj(), after the file was created.
    if not -1 <= level <= 9:
        raise ValueError(f"gzip level must be 0 to 9 (or -1 for zlib's default), not {level}")


def _compress_block(block: ReadableBuffer, level: int) -> bytes:
    """``block`` as one complete gzip member (wbits 31: gzip header and trailer, no name, mtime 0)."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    return compressor.compress(block) + compressor.flush()


class GzipBlockWriter(io.BufferedIOBase, BinaryIO):
    """A gzip writer that compresses blocks of its input as independent members on threads.

    Written bytes are cut every ``block_size`` bytes of the stream,
    whatever the sizes of the writes; each block is compressed to a gzip
    member on one of ``jobs`` threads and members are written in order,
    with at most ``2 * jobs`` blocks compressed or waiting at a time (the
    memory bound). The cut points and each member's bytes depend only on the
    data, ``level`` and ``block_size``, so the output is byte-identical for
    every ``jobs``; only :meth:`flush`, which ends the current member, adds
    a cut. With ``jobs=1`` blocks are compressed on the calling thread.

    Parameters
    ----------
    fileobj : BinaryIO
        Where the members are written.
    level : int, default 6
        zlib level, 0 to 9.
    jobs : int, default 1
        Compressing threads.
    block_size : int, default 2 MiB
        Uncompressed bytes in a member.
    close_fileobj : bool, default False
        Close ``fileobj`` on :meth:`close`; a file object the caller
        opened stays open by default.

    Notes
    -----
    An error compressing or writing a block is raised by the :meth:`write`,
    :meth:`flush` or :meth:`close` that waits for it; the writer then
    refuses further writes (the output would miss a block), and
    :meth:`close` only releases the threads and the file. An empty stream
    is written as one empty member: ``gzip -t`` refuses an empty file.
    """

    def __init__(self, fileobj: BinaryIO, *, level: int = GZIP_LEVEL, jobs: int = 1,
                 block_size: int = BLOCK_SIZE, close_fileobj: bool = False) -> None:
        super().__init__()
        _check_gzip_level(level)
        if jobs < 1:
            raise ValueError(f"jobs must be at least 1, not {jobs}")
        if block_size < 1:
            raise ValueError(f"block_size must be at least 1, not {block_size}")
        self._fileobj = fileobj
        self._level = level
        self._block_size = block_size
        self._close_fileobj = close_fileobj
        self._pending: list[bytes] = []  # written bytes not yet in a block, fewer than block_size
        self._pending_size = 0
        self._pool = ThreadPoolExecutor(jobs, thread_name_prefix="simdup-gzip") if jobs > 1 else None
        self._in_flight: deque[Future[bytes]] = deque()  # in stream order
        self._max_in_flight = 2 * jobs  # jobs compressing and as many queued, so no thread waits for the writer
        self._members = 0
        self._error: BaseException | None = None
        self._closing = False

    @property
    def name(self) -> Any:
        return getattr(self._fileobj, "name", None)

    @property
    def mode(self) -> str:
        return "wb"

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer, /) -> int:
        """Add ``data`` to the stream; compress each block it completes.

        Returns
        -------
        int
            The number of bytes taken: all of ``data``.
        """
        self._check_usable()
        # A copy of anything but bytes: the caller may change a bytearray once write returns,
        # while a thread still compresses it.
        chunk = data if type(data) is bytes else memoryview(data).tobytes()
        if chunk:
            self._pending.append(chunk)
            self._pending_size += len(chunk)
            if self._pending_size >= self._block_size:
                self._guarded(self._submit_full_blocks)
        return len(chunk)

    def flush(self) -> None:
        """End the current member and write every member compressed so far to the file.

        What was written is then readable from the file, at the cost of one
        more member (a cut that depends on when flush is called).
        """
        if self._closing:
            return  # io.IOBase.close() flushes; close() already did, and the file may be closed
        self._check_usable()
        self._guarded(self._flush_all)

    def close(self) -> None:
        """Write the rest of the stream, then close the file if this writer opened it.

        After an error was raised (see Notes of the class), only releases the
        threads and the file.
        """
        if self.closed or self._closing:
            return
        try:
            if self._error is None:
                self._guarded(self._finish)
        finally:
            self._closing = True
            try:
                if self._pool is not None:
                    # On an error, the queued blocks are dropped and the running ones waited for.
                    self._pool.shutdown(wait=True, cancel_futures=True)
                self._in_flight.clear()
                self._pending.clear()
                if self._close_fileobj:
                    self._fileobj.close()
            finally:
                super().close()

    def _check_usable(self) -> None:
        if self.closed or self._closing:
            raise ValueError("I/O operation on closed file")
        if self._error is not None:
            raise ValueError("the gzip writer failed earlier; its output is incomplete") from self._error

    def _guarded(self, step: Callable[[], None]) -> None:
        # Any failure (a compress thread's, the file's, an interrupt while waiting) leaves the stream
        # with a gap; remember it, so that nothing more is written.
        try:
            step()
        except BaseException as exc:
            self._error = exc
            raise

    def _submit_full_blocks(self) -> None:
        data = b"".join(self._pending)  # the very object, if there is one piece
        full = len(data) - len(data) % self._block_size
        view = memoryview(data)  # blocks are views: no copy of a large write
        for start in range(0, full, self._block_size):
            self._submit(view[start:start + self._block_size])
        rest = data[full:]
        self._pending = [rest] if rest else []
        self._pending_size = len(rest)

    def _submit(self, block: ReadableBuffer) -> None:
        if self._pool is None:
            self._write_member(_compress_block(block, self._level))
            return
        while len(self._in_flight) >= self._max_in_flight:
            self._write_member(self._in_flight.popleft().result())
        self._in_flight.append(self._pool.submit(_compress_block, block, self._level))

    def _flush_all(self) -> None:
        if self._pending:
            self._submit(b"".join(self._pending))
            self._pending, self._pending_size = [], 0
        while self._in_flight:
            self._write_member(self._in_flight.popleft().result())
        self._fileobj.flush()

    def _finish(self) -> None:
        self._flush_all()
        if self._members == 0:
            self._write_member(_compress_block(b"", self._level))
            self._fileobj.flush()

    def _write_member(self, member: bytes) -> None:
        self._fileobj.write(member)
        self._members += 1
