"""Corpus formats: documents read as ``(id, document)`` records, and the kept ones written back in the same format.

JSON Lines, one document a line, Parquet, WARC, datasets saved by Hugging Face
``datasets`` and directories of files
(:func:`open_corpus` picks the format by the path), plain or compressed
(gzip, zstd). Reading detects truncated and corrupt files instead of ending
quietly; writing goes through :mod:`simdup._atomic`.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any, Union

import numpy as np
import numpy.typing as npt

from ._atomic import atomic_directory, atomic_output
from ._compress import open_writer

Page = tuple[bytes, Union[str, None]]
"""An HTML page as received: its body and its HTTP ``Content-Type`` header (or None)."""
Record = tuple[str, Union[str, bytes, Page]]
"""``(id, document)`` as a :class:`Corpus` yields it."""

PARQUET_BATCH_ROWS = 8192
"""Rows a Parquet file is read and written by (a batch of web pages is tens of megabytes)."""


class CorpusError(ValueError):
    """A corpus file could not be read; the message names the file and line."""


def open_text(path: Path, mode: str = "rt") -> IO[str]:
    """Open a UTF-8 text file, compressed by its suffix (.gz, .zst) or plain."""
    if "r" in mode:
        return io.TextIOWrapper(open_binary(path), encoding="utf-8", errors="replace")
    suffix = path.suffix.lower()
    if suffix == ".gz":
        return gzip.open(path, mode, encoding="utf-8", errors="replace")  # type: ignore[return-value]
    if suffix == ".zst":
        return _zstandard(path).open(path, mode, encoding="utf-8", errors="replace")
    return open(path, mode, encoding="utf-8", errors="replace")


def _zstandard(path: Path) -> Any:
    try:
        import zstandard
    except ImportError:
        raise CorpusError(f"{path}: .zst files need the zstandard package: pip install 'simdup[zstd]'") from None
    return zstandard


def open_binary(path: Path, mode: str = "rb") -> IO[bytes]:
    """Open a file in binary mode, compressed by its suffix (.gz, .zst) or plain.

    Corpora are read and written as bytes, so kept records pass through
    unchanged (line ends, invalid UTF-8 and all). A compressed file that ends
    early raises when the cut is reached (``EOFError`` for gzip,
    ``zstandard.ZstdError`` for zstd) instead of ending quietly.
    """
    suffix = path.suffix.lower()
    if suffix == ".gz":
        return gzip.open(path, mode)  # type: ignore[return-value]
    if suffix == ".zst":
        zstandard = _zstandard(path)
        if "r" not in mode:
            return zstandard.open(path, mode)
        raw = open(path, "rb")  # noqa: SIM115 - the reader owns and closes it
        return io.BufferedReader(ZstdReader(raw, close_source=True), 1 << 16)
    return open(path, mode)


@contextmanager
def _open_counted(path: Path) -> Iterator[tuple[Any, IO[bytes]]]:
    """``(stream, raw)``: the file decompressed by its suffix as :func:`open_binary` reads it, and the file
    itself, whose ``tell()`` counts the bytes read (for progress by bytes)."""
    suffix = path.suffix.lower()
    with open(path, "rb") as raw:
        if suffix == ".gz":
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                yield unzipped, raw
        elif suffix == ".zst":
            _zstandard(path)
            with io.BufferedReader(ZstdReader(raw), 1 << 16) as unzstd:
                yield unzstd, raw
        else:
            yield raw, raw


class ZstdReader(io.RawIOBase):
    """Decompress a zstd stream of one or more frames; raise if it ends inside a frame.

    ``zstandard``'s own readers end quietly where a truncated file ends, so
    a cut-off corpus would read as a shorter, complete one. This reader
    decompresses frame by frame and raises ``zstandard.ZstdError`` when the
    input ends before the current frame does. It can seek forward only (by
    reading), which is what FastWARC needs.
    """

    def __init__(self, source: IO[bytes], close_source: bool = False) -> None:
        import zstandard

        self._zstd = zstandard
        self._source, self._close_source = source, close_source
        self._dctx = zstandard.ZstdDecompressor()
        self._frame: Any = None  # decompressobj of the frame being read, None between frames
        self._pending = memoryview(b"")
        self._pos = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = offset if whence == io.SEEK_SET else self._pos + offset if whence == io.SEEK_CUR else -1
        if target < self._pos:
            raise io.UnsupportedOperation("a zstd stream seeks forward only")
        while self._pos < target and self.read(min(target - self._pos, 1 << 20)):
            pass
        return self._pos

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            if self._done:
                return 0
            chunk = self._source.read(1 << 17)
            if not chunk:
                self._done = True
                if self._frame is not None:
                    raise self._zstd.ZstdError("the file ends inside a zstd frame")
                return 0
            self._pending = memoryview(self._decompress(chunk))
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        self._pos += n
        return n

    def _decompress(self, data: bytes) -> bytes:
        out = []
        while data:
            if self._frame is None:
                self._frame = self._dctx.decompressobj()
            out.append(self._frame.decompress(data))
            if self._frame.eof:
                data, self._frame = self._frame.unused_data, None
            else:
                data = b""
        return b"".join(out)

    def close(self) -> None:
        if not self.closed and self._close_source:
            self._source.close()
        super().close()


def _damage_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean a compressed corpus file is truncated or corrupt."""
    errors: tuple[type[BaseException], ...] = (EOFError, zlib.error, gzip.BadGzipFile)
    try:
        import zstandard
    except ImportError:
        return errors
    return (*errors, zstandard.ZstdError)


def _read_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean a corpus file is unreadable (truncated, corrupt, ...)."""
    return (OSError, *_damage_errors())


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn a truncated or corrupt corpus file's errors into a CorpusError naming it."""
    try:
        yield
    except _read_errors() as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise CorpusError(f"{path}: cannot read ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, gzip.BadGzipFile) and exc.strerror:
        return exc.strerror
    if isinstance(exc, _damage_errors()):
        return f"truncated or corrupt: {exc}"
    return str(exc)


def plain_name(path: str | os.PathLike[str]) -> str:
    """The file name, lower-cased, without a compression suffix (.gz, .zst)."""
    name = Path(path).name.lower()
    for suffix in (".gz", ".zst"):
        name = name.removesuffix(suffix)
    return name


def is_jsonl(path: str | os.PathLike[str]) -> bool:
    """True for ``.jsonl`` / ``.ndjson`` files, plain, gzip or zstd-compressed."""
    return plain_name(path).endswith((".jsonl", ".ndjson"))


def read_jsonl(
    path: str | os.PathLike[str], text_field: str = "text", id_field: str | None = "id"
) -> Iterator[tuple[str, str]]:
    """Yield ``(id, text)`` for each record of a JSON Lines file.

    Records without ``id_field`` are named by their line number. Blank lines
    are skipped.

    Raises
    ------
    CorpusError
        On a line that is not a JSON object or lacks ``text_field``.
    """
    corpus = JsonlCorpus(Path(path), text_field, id_field)
    for doc_id, text in corpus.records():
        yield doc_id, text  # type: ignore[misc]


def _unicode_id(doc_id: str) -> str:
    """``doc_id`` with lone surrogates (a JSON ``"\\ud800"``, an undecodable file name) as U+FFFD.

    Such a string cannot be encoded as UTF-8: printed, hashed into an index
    id or written to a names file, it would stop the run with an error naming
    no file.
    """
    if doc_id.isascii():
        return doc_id
    try:
        doc_id.encode("utf-8")
    except UnicodeEncodeError:
        return doc_id.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return doc_id


class Corpus:
    """A corpus file (or directory) read as ``(id, document)`` records.

    Subclasses know one format; :meth:`write_kept` writes the records whose
    ``keep`` flag is set, in the same format, atomically.

    With ``skip_bad``, a malformed record is skipped and counted in
    :attr:`skipped`; a file that is truncated or corrupt part-way is read up
    to the damage, which counts as one skipped record and adds a line to
    :attr:`warnings` (the records before it are kept, nothing cut off is
    ever written). Without it, both raise :class:`CorpusError` naming the file.
    """

    format = "?"

    def __init__(self, path: Path, skip_bad: bool = False) -> None:
        self.path = path
        self.skip_bad = skip_bad
        self.skipped = 0  # malformed records skipped (with skip_bad)
        self.warnings: list[str] = []  # what skip_bad let pass, one line each

    def records(self) -> Iterator[Record]:
        raise NotImplementedError

    def write_kept(self, keep: Sequence[bool], output: Path) -> None:
        """Write the records whose ``keep`` flag is set, after :meth:`records` was read."""
        raise NotImplementedError

    def _check_keep(self, keep: Sequence[bool], n_records: int | None) -> None:
        if n_records is None:
            raise ValueError("read the corpus with records() before write_kept()")
        if len(keep) != n_records:
            raise ValueError(f"keep has {len(keep)} flags for {n_records} records")

    def _damaged(self, message: str, count: bool) -> None:
        """A truncated or corrupt file: an error, or with skip_bad the end of reading (counted once)."""
        if not self.skip_bad:
            raise CorpusError(f"{self.path}: {message}")
        if count:
            self.skipped += 1
            self.warnings.append(f"{self.path}: {message}; the rest of the file is skipped")

    def _raw_lines(self, count: bool) -> Iterator[bytes]:
        """The file's lines as bytes, up to a truncation or damage (see :meth:`_damaged`).

        Only reading happens in this generator, so an error writing the
        output (in the caller) is never mistaken for damage in the input.
        """
        for _, block in self.raw_blocks(count=count):
            lines = block.split(b"\n")
            last = lines.pop()
            for line in lines:
                yield line + b"\n"
            if last:
                yield last

    def copy_lines(self, lines: npt.NDArray[np.int64], out: IO[bytes],
                   on_read: Callable[[int], object] | None = None) -> None:
        """Copy the lines numbered ``lines`` (from 1, ascending) of this file to ``out``, byte for byte.

        A last line without a newline gets one. Reads the file once, block
        by block (:meth:`raw_blocks`), whatever its size; each run of
        consecutive kept lines is one write, so the work per line is in C.
        """
        lines = np.asarray(lines, dtype=np.int64)
        for first, block in self.raw_blocks(count=False, on_read=on_read):
            ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10) + 1  # each line's end, after its b"\n"
            if not block.endswith(b"\n"):
                ends = np.append(ends, len(block))
            lo, hi = np.searchsorted(lines, [first, first + len(ends)])
            if hi == lo:
                continue
            kept = lines[lo:hi] - first
            starts = np.concatenate([[0], ends[:-1]])
            # Runs of consecutive kept lines: one slice of the block each.
            breaks = np.flatnonzero(np.diff(kept) != 1) + 1
            run_first = kept[np.concatenate([[0], breaks])]
            run_last = kept[np.concatenate([breaks - 1, [len(kept) - 1]])]
            view = memoryview(block)
            for a, b in zip(starts[run_first].tolist(), ends[run_last].tolist()):
                out.write(view[a:b])
            if ends[-1] == len(block) and not block.endswith(b"\n") and run_last[-1] == len(ends) - 1:
                out.write(b"\n")  # the file's last line had no newline

    def raw_blocks(self, size: int = 1 << 22, count: bool = True,
                   on_read: Callable[[int], object] | None = None) -> Iterator[tuple[int, bytes]]:
        """The file (decompressed) as blocks of whole lines: ``(number of the block's first line, bytes)``.

        Every block but the last ends with ``b"\\n"``; a line longer than
        ``size`` makes a longer block. The streaming dedup
        (:mod:`simdup.stream`) hands blocks to worker processes, which parse
        their lines; :meth:`_raw_lines` reads the same blocks, so both see
        the same lines, up to the same damage. ``on_read`` is called with the
        number of bytes of the file (compressed) read so far, for a progress
        bar.
        """
        lineno, tail = 1, b""
        try:
            with _open_counted(self.path) as (stream, raw):
                while chunk := stream.read1(size):
                    if on_read is not None:
                        on_read(raw.tell())
                    chunk = tail + chunk if tail else chunk
                    cut = chunk.rfind(b"\n") + 1
                    if cut == 0:
                        tail = chunk
                        continue
                    block, tail = (chunk[:cut], chunk[cut:]) if cut < len(chunk) else (chunk, b"")
                    yield lineno, block
                    lineno += block.count(b"\n")
        except _read_errors() as exc:
            if isinstance(exc, FileNotFoundError) or not isinstance(exc, _damage_errors()):
                raise CorpusError(f"{self.path}: cannot read ({_reason(exc)})") from None
            self._damaged(f"cannot read ({_reason(exc)})", count)
            return
        if tail:
            yield lineno, tail


def parse_jsonl_line(raw: bytes, lineno: int, text_field: str, id_field: str | None) -> tuple[str, str] | str | None:
    """One JSON Lines line as ``(id, text)``; None for a blank line; else why it is not a record (a str).

    The one reading of a line, shared by :meth:`JsonlCorpus.records` and the
    streaming workers (:mod:`simdup.stream`), which parse blocks of lines in
    other processes. A record without ``id_field`` is named by ``lineno``.
    """
    line = raw.decode("utf-8", "replace")
    if lineno == 1:
        line = line.removeprefix("\ufeff")  # a UTF-8 byte order mark (Windows editors) is not JSON
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg})"
    except RecursionError:
        # The C scanner recurses once per nesting level.
        return "JSON nested too deeply"
    except ValueError as exc:  # an integer longer than Python converts (sys.get_int_max_str_digits())
        return f"not valid JSON (a number too long: {str(exc).split(':')[0]})"
    if not isinstance(record, dict):
        return "expected a JSON object"
    if text_field not in record:
        return f"no field {text_field!r}"
    text = record[text_field]
    if text is None:
        return f"field {text_field!r} is null"
    if not isinstance(text, str):
        return f"field {text_field!r} is not a string"
    doc_id = record.get(id_field, lineno) if id_field else lineno
    return _unicode_id(str(doc_id)), text


class JsonlCorpus(Corpus):
    """JSON Lines: one object a line; ``text_field`` holds the document."""

    format = "jsonl"

    def __init__(self, path: Path, text_field: str = "text", id_field: str | None = "id",
                 skip_bad: bool = False) -> None:
        super().__init__(path, skip_bad)
        self.text_field, self.id_field = text_field, id_field
        self._lines: list[int] | None = None  # line number of each record, for write_kept

    def _bad(self, lineno: int, why: str) -> None:
        if not self.skip_bad:
            raise CorpusError(f"{self.path}:{lineno}: {why}")
        self.skipped += 1

    def records(self) -> Iterator[Record]:
        lines: list[int] = []
        self._lines = None
        self.skipped = 0
        self.warnings = []
        for lineno, raw in enumerate(self._raw_lines(count=True), 1):
            parsed = parse_jsonl_line(raw, lineno, self.text_field, self.id_field)
            if parsed is None:
                continue
            if isinstance(parsed, str):
                self._bad(lineno, parsed)
                continue
            lines.append(lineno)
            yield parsed
        self._lines = lines

    def write_kept(self, keep: Sequence[bool], output: Path, *, jobs: int = 1) -> None:
        self._check_keep(keep, None if self._lines is None else len(self._lines))
        lines = np.array(self._lines, dtype=np.int64)
        write_lines([(self, lines[np.asarray(keep, dtype=bool)])], output, jobs=jobs)


class LinesCorpus(Corpus):
    """Plain text, one document a line; ids are line numbers."""

    format = "lines"

    def __init__(self, path: Path, skip_bad: bool = False) -> None:
        super().__init__(path, skip_bad)
        self._count: int | None = None

    def records(self) -> Iterator[Record]:
        self._count = None
        self.skipped = 0
        self.warnings = []
        count = 0
        for count, raw in enumerate(self._raw_lines(count=True), 1):  # lines end at b"\n" only
            yield str(count), raw.rstrip(b"\r\n").decode("utf-8", "replace")
        self._count = count

    def write_kept(self, keep: Sequence[bool], output: Path, *, jobs: int = 1) -> None:
        self._check_keep(keep, self._count)
        write_lines([(self, np.flatnonzero(np.asarray(keep, dtype=bool)) + 1)], output, jobs=jobs)


class DirectoryCorpus(Corpus):
    """A directory of ``.txt`` / ``.html`` files (searched recursively); ids are relative paths."""

    format = "directory"
    suffixes = (".txt", ".html", ".htm")

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in self.suffixes)

    def records(self) -> Iterator[Record]:
        for file in self.files:
            try:
                yield _unicode_id(str(file.relative_to(self.path))), file.read_bytes()
            except OSError as exc:
                raise CorpusError(f"{file}: cannot read ({exc.strerror or exc})") from None

    def write_kept(self, keep: Sequence[bool], output: Path) -> None:
        self._check_keep(keep, len(self.files))
        with atomic_directory(output) as tmp:
            for file, kept in zip(self.files, keep):
                if kept:
                    target = tmp / file.relative_to(self.path)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(file, target)


class ParquetCorpus(Corpus):
    """A Parquet file; ``text_field`` names the text column (needs pyarrow).

    Streamed: :meth:`records` decodes the id and text columns a batch of
    rows at a time (:data:`PARQUET_BATCH_ROWS`), and :meth:`write_kept`
    copies every column of the kept rows batch by batch, so what stays
    resident is a batch and a row group's pages, whatever the file's size.

    A row whose text is null or not text is an error, or with ``skip_bad``
    skipped (counted, and not written by :meth:`write_kept`). A damaged file
    is an error naming it, when opened, read or written (a damaged column
    that :meth:`records` does not read is found by :meth:`write_kept`).
    """

    format = "parquet"

    def __init__(self, path: Path, text_field: str = "text", id_field: str | None = "id",
                 skip_bad: bool = False) -> None:
        super().__init__(path, skip_bad)
        try:
            import pyarrow.parquet  # noqa: F401
        except ImportError:
            raise CorpusError(f"{path}: Parquet needs pyarrow: pip install 'simdup[parquet]'") from None
        with self._reading():
            with self._open() as file:
                # Decoded here: a damaged schema's field name that is not UTF-8 raises
                # UnicodeDecodeError (a ValueError) only when read.
                columns = list(file.schema_arrow.names)
        if text_field not in columns:
            raise CorpusError(f"{path}: no column {text_field!r} (columns: {', '.join(columns)})")
        self.text_field = text_field
        self.id_field = id_field if id_field in columns else None
        self._skipped_rows: list[int] | None = None  # rows not read as records, for write_kept
        self._n_rows = 0  # rows read by records() (a damaged footer's row count is not trusted)

    def _open(self) -> Any:
        import pyarrow.parquet as pq

        # Column chunks read through a 1 MiB buffer, not whole: a row group (the unit a writer
        # chooses; pyarrow's default is a million rows) would otherwise be resident at once
        # (measured on 300,000 documents in one row group: 208 MB peak against 388 MB). Batches
        # are decoded on this thread (use_threads=False): pyarrow's allocator keeps what its
        # threads freed (165 MB against 217 MB), and a string column gains nothing from threads.
        return pq.ParquetFile(self.path, pre_buffer=False, buffer_size=1 << 20)

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Turn pyarrow's errors on a damaged file into a CorpusError naming it (a missing file stays itself)."""
        try:
            yield
        except FileNotFoundError:
            raise
        except (OSError, ValueError, ArithmeticError, TypeError, RecursionError) as exc:
            # ArrowInvalid is a ValueError, ArrowIOError an OSError; invalid UTF-8 in a string
            # column is a UnicodeDecodeError, a ValueError.
            raise CorpusError(f"{self.path}: cannot read Parquet ({exc})") from None

    def records(self) -> Iterator[Record]:
        self._skipped_rows, skipped = None, []
        self.skipped = 0
        columns = list(dict.fromkeys([self.text_field] + ([self.id_field] if self.id_field else [])))
        row = 0
        with self._reading(), self._open() as file:
            for batch in file.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=columns, use_threads=False):
                texts = batch.column(self.text_field).to_pylist()
                ids = (batch.column(self.id_field).to_pylist() if self.id_field
                       else range(row, row + len(texts)))
                for doc_id, text in zip(ids, texts):
                    if isinstance(text, (str, bytes)):
                        yield str(doc_id), text
                    else:
                        why = "is null" if text is None else "is not text"
                        if not self.skip_bad:
                            raise CorpusError(f"{self.path}: row {row}: column {self.text_field!r} {why}")
                        self.skipped += 1
                        skipped.append(row)
                    row += 1
        self._skipped_rows, self._n_rows = skipped, row

    def write_kept(self, keep: Sequence[bool], output: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        n_records = None if self._skipped_rows is None else self._n_rows - len(self._skipped_rows)
        self._check_keep(keep, n_records)
        assert self._skipped_rows is not None
        mask = np.ones(self._n_rows, dtype=bool)
        mask[np.asarray(self._skipped_rows, dtype=np.intp)] = False
        mask[mask] = np.asarray(keep, dtype=bool)
        with atomic_output(output) as tmp, self._reading(), self._open() as file:
            with pq.ParquetWriter(tmp, file.schema_arrow) as writer:
                row = end = 0
                for batch in file.iter_batches(batch_size=PARQUET_BATCH_ROWS, use_threads=False):
                    end = row + batch.num_rows
                    if end > len(mask):
                        break
                    # A typed mask: pa.array([]) would be of type null, which filter() refuses.
                    writer.write_batch(_filter_batch(batch, pa.array(mask[row:end], type=pa.bool_())))
                    row = end
                if row != len(mask) or end != row:  # damaged (all columns against the text's), or changed
                    raise CorpusError(f"{self.path}: cannot read Parquet (its rows differ from those read "
                                      f"before: {self._n_rows})")


def _filter_batch(batch: Any, mask: Any) -> Any:
    """``batch.filter(mask)``, also for string and binary view columns, which pyarrow cannot filter.

    (pyarrow 26 has no take kernel for them; Polars writes its strings as
    views.) Such columns are filtered as their large counterparts and cast
    back, so the output keeps the input's schema.
    """
    import pyarrow as pa

    try:
        return batch.filter(mask)
    except pa.ArrowNotImplementedError:
        views = {getattr(pa, view)(): large() for view, large in (("string_view", pa.large_string),
                                                                  ("binary_view", pa.large_binary))
                 if hasattr(pa, view)}  # (pyarrow 16 and later)
        plain = pa.schema([f.with_type(views.get(f.type, f.type)) for f in batch.schema],
                          metadata=batch.schema.metadata)
        if plain == batch.schema:
            raise TypeError(f"cannot select rows of these Parquet columns ({batch.schema.types})") from None
        return batch.cast(plain).filter(mask).cast(batch.schema)


class HfCorpus(Corpus):
    """A Hugging Face dataset saved with ``Dataset.save_to_disk``: a directory of ``state.json``,
    ``dataset_info.json`` and Arrow files; ``text_field`` names the text column, ``id_field`` the id column
    (row numbers from 0 without it).

    Read with pyarrow straight from the Arrow files that ``state.json``
    lists, one record batch at a time (plain reads rather than a memory
    map, so what stays resident is a batch, whatever the dataset's size; no
    ``datasets`` import, which takes longer than reading 100,000 rows). Written with
    ``datasets`` (:meth:`write_kept`: ``load_from_disk``, ``select``,
    ``save_to_disk``), so the output is a saved Dataset with every column
    and the input's features. Needs ``pip install 'simdup[hf]'``.

    A null text is an error, or with ``skip_bad`` skipped (counted, and not
    written). A damaged Arrow file is an error even with ``skip_bad``: the
    writer loads the dataset whole.
    """

    format = "hf"

    def __init__(self, path: Path, text_field: str = "text", id_field: str | None = "id",
                 skip_bad: bool = False) -> None:
        super().__init__(path, skip_bad)
        if not (path / "state.json").is_file():
            splits = sorted(p.name for p in path.iterdir() if (p / "state.json").is_file())
            raise CorpusError(f"{path}: a saved DatasetDict (splits: {', '.join(splits) or 'none'}); "
                              f"give one split's directory, e.g. {path / (splits[0] if splits else 'train')}")
        try:
            import pyarrow as pa
        except ImportError:
            raise CorpusError(f"{path}: a saved Hugging Face dataset needs datasets: "
                              "pip install 'simdup[hf]'") from None
        self._pa = pa
        try:
            state = json.loads((path / "state.json").read_text(encoding="utf-8"))
            self.files = [path / entry["filename"] for entry in state["_data_files"]]
        except OSError as exc:
            raise CorpusError(f"{path / 'state.json'}: cannot read ({exc.strerror or exc})") from None
        except (ValueError, KeyError, TypeError) as exc:  # not JSON, or not the state datasets writes
            raise CorpusError(f"{path / 'state.json'}: not a saved dataset's state ({exc!r})") from None
        if not self.files:
            raise CorpusError(f"{path / 'state.json'}: lists no data files")
        with self._open(self.files[0]) as reader:
            self.schema = reader.schema
        columns = self.schema.names
        if text_field not in columns:
            raise CorpusError(f"{path}: no column {text_field!r} (columns: {', '.join(columns)}); "
                              "name it with --text-field")
        kind = self.schema.field(text_field).type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind)
                or pa.types.is_large_binary(kind)):
            raise CorpusError(f"{path}: column {text_field!r} is not text ({kind}; columns: {', '.join(columns)})")
        self.text_field = text_field
        self.id_field = id_field if id_field in columns else None
        self._rows: npt.NDArray[np.int64] | None = None  # row number of each record, for write_kept
        self._n_rows = 0

    @contextmanager
    def _open(self, file: Path) -> Iterator[Any]:
        """An Arrow stream reader of ``file``; its errors as a CorpusError naming it."""
        pa = self._pa
        try:
            with pa.OSFile(str(file)) as source:
                yield pa.ipc.open_stream(source)
        except CorpusError:
            raise  # the caller's, about a record (a ValueError too)
        except FileNotFoundError:
            raise CorpusError(f"{file}: no such file (listed in {self.path / 'state.json'})") from None
        except (OSError, ValueError, pa.ArrowException) as exc:  # ArrowInvalid: ValueError, ArrowIOError: OSError
            raise CorpusError(f"{file}: cannot read Arrow (truncated or corrupt: {exc})") from None

    def records(self) -> Iterator[Record]:
        self._rows = None
        self.skipped = 0
        rows: list[npt.NDArray[np.int64]] = []
        row = 0
        for file in self.files:
            with self._open(file) as reader:
                if not reader.schema.equals(self.schema):
                    raise CorpusError(f"{file}: its columns differ from {self.files[0].name}'s")
                for batch in reader:
                    column = batch.column(self.text_field)
                    texts = column.to_pylist()
                    ids = (batch.column(self.id_field).to_pylist() if self.id_field
                           else range(row, row + len(texts)))
                    numbers = np.arange(row, row + len(texts), dtype=np.int64)
                    if column.null_count:
                        nulls = column.is_null().to_numpy(zero_copy_only=False)
                        if not self.skip_bad:
                            raise CorpusError(f"{self.path}: row {row + int(np.argmax(nulls))}: "
                                              f"column {self.text_field!r} is null")
                        self.skipped += int(nulls.sum())
                        numbers = numbers[~nulls]
                    rows.append(numbers)
                    for doc_id, text in zip(ids, texts):
                        if text is not None:
                            yield _unicode_id(str(doc_id)), text
                    row += len(texts)
        self._n_rows = row
        self._rows = np.concatenate(rows) if rows else np.empty(0, np.int64)

    def write_kept(self, keep: Sequence[bool], output: Path) -> None:
        self._check_keep(keep, None if self._rows is None else len(self._rows))
        assert self._rows is not None
        datasets = require_datasets(output)
        try:
            ds = datasets.load_from_disk(str(self.path))
        except (OSError, ValueError, KeyError, self._pa.ArrowException) as exc:
            raise CorpusError(f"{self.path}: cannot load the dataset ({exc})") from None
        if len(ds) != self._n_rows:
            raise CorpusError(f"{self.path}: {len(ds)} rows, {self._n_rows} when read: it changed since")
        bars = not datasets.is_progress_bar_enabled()
        datasets.disable_progress_bars()  # simdup reports its own progress, on a terminal only
        try:
            with atomic_directory(output) as tmp:
                ds.select(self._rows[np.asarray(keep, dtype=bool)]).save_to_disk(str(tmp))
        finally:
            if not bars:
                datasets.enable_progress_bars()


def require_datasets(path: Path, load: bool = True) -> Any:
    """The ``datasets`` package (None when not ``load``: only checked to be installed), or a CorpusError
    telling how to install it (to write ``path``).

    A check before a run need not load it: its import takes a second and
    about 150 MB, which the run would hold from its start.
    """
    import importlib.util

    if importlib.util.find_spec("datasets") is None:
        raise CorpusError(f"{path}: writing a Hugging Face dataset needs datasets: pip install 'simdup[hf]'")
    if not load:
        return None
    import datasets

    return datasets


class WarcCorpus(Corpus):
    """A WARC file (plain, gzip, zstd or lz4): its HTML responses, read with FastWARC.

    A document is a ``response`` record with HTTP status 2xx and an HTML
    ``Content-Type`` (``text/html``, ``application/xhtml+xml``); its id is the
    record's ``WARC-Target-URI`` and its document the pair ``(body,
    content_type)`` (the body with any HTTP content or transfer encoding
    undone), for ``SimHasher(input="html")``. :meth:`write_kept` copies every
    record of the input unchanged, in order, except the responses of dropped
    documents. Needs ``pip install 'simdup[html]'``.

    A truncated file is an error (or, with ``skip_bad``, read up to the cut;
    see :class:`Corpus`): gzip and zstd are decompressed here, not by
    FastWARC, whose decoders end quietly at a cut, and every record's block
    must have its ``Content-Length``. (lz4 is left to FastWARC: a cut inside
    an lz4 frame is found only where it shortens a record.) The file must be
    seekable (not a pipe): FastWARC seeks.
    """

    format = "warc"
    html_types = ("text/html", "application/xhtml+xml")

    def __init__(self, path: Path, skip_bad: bool = False) -> None:
        super().__init__(path, skip_bad)
        self._positions: list[int] = []  # index among all records of each document, for write_kept
        self._complete: int | None = None  # number of whole records before any damage

    @staticmethod
    def _fastwarc() -> Any:
        try:
            from fastwarc import warc
        except ImportError:
            raise CorpusError("WARC files need fastwarc: pip install 'simdup[html]'") from None
        return warc

    @contextmanager
    def _stream(self) -> Iterator[IO[bytes] | _CutGuard]:
        with ExitStack() as stack:
            raw = stack.enter_context(open(self.path, "rb"))
            if not raw.seekable():
                raise CorpusError(f"{self.path}: a WARC must be a regular file, not a pipe (it is read with seeks)")
            magic = raw.read(4)
            raw.seek(0)
            if magic[:2] == b"\x1f\x8b":
                unzipped = gzip.GzipFile(fileobj=raw, mode="rb")
                stack.callback(unzipped.close)
                yield _CutGuard(unzipped)
            elif magic == b"\x28\xb5\x2f\xfd":
                _zstandard(self.path)
                yield _CutGuard(stack.enter_context(io.BufferedReader(ZstdReader(raw), 1 << 16)))
            else:
                yield raw

    def _blocks(self, count: bool) -> Iterator[tuple[int, Any]]:
        """``(position, record)`` for each whole record, its content read and checked against Content-Length.

        The record's content is set to the bytes read (so it writes and
        re-parses without its reader); a record cut short is the damage that
        ends the file (see :meth:`Corpus._damaged`), never yielded.
        """
        warc = self._fastwarc()
        try:
            with self._stream() as stream:
                try:
                    for position, record in enumerate(warc.ArchiveIterator(stream, parse_http=False,
                                                                           fsspec_args=False)):
                        if record.headers.get("Content-Length") is None:
                            # FastWARC yields a record whose header was cut off as an empty one
                            self._damaged(f"cannot read WARC (record {position} is cut short: its header "
                                          "ends before its Content-Length)", count)
                            return
                        block = record.reader.read()
                        if len(block) != record.content_length:
                            self._damaged(f"cannot read WARC (record {position} is cut short: {len(block)} of its "
                                          f"{record.content_length} bytes)", count)
                            return
                        record.set_bytes_content(block)
                        yield position, record
                except OSError:
                    if not isinstance(stream, _CutGuard) or stream.error is None:
                        raise
                    # FastWARC choked on the partial data before the cut: the cut is the error
                if isinstance(stream, _CutGuard) and stream.error is not None:
                    raise stream.error
        except _read_errors() as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            # FastWARC's parse errors ("Invalid WARC header") are OSErrors without an errno: damage
            # (skip_bad may skip the rest); an errno (EACCES, EIO) is the system's: always an error.
            if not (isinstance(exc, _damage_errors()) or getattr(exc, "errno", None) is None):
                raise CorpusError(f"{self.path}: cannot read WARC ({_reason(exc)})") from None
            self._damaged(f"cannot read WARC ({_reason(exc)})", count)

    def records(self) -> Iterator[Record]:
        warc = self._fastwarc()
        self._positions = []
        self.skipped = 0
        self.warnings = []
        self._complete = None
        n = 0
        for position, record in self._blocks(count=True):
            n = position + 1
            if record.record_type != warc.WarcRecordType.response or not record.is_http:
                continue
            # The block is whole; parse its HTTP part from a copy (FastWARC parses HTTP only from a stream).
            buffer = io.BytesIO()
            record.write(buffer)
            page = warc.WarcRecord.from_bytes(buffer.getvalue())
            try:
                page.parse_http(auto_decode="all")
            except OSError:
                continue  # not a parseable HTTP response: not a page (kept in the output as it is)
            status = page.http_headers.status_code if page.http_headers is not None else None
            content_type = page.http_content_type or ""
            if not (status and 200 <= status < 300) or content_type.lower() not in self.html_types:
                continue
            uri = record.headers.get("WARC-Target-URI") or f"record {position}"
            body = page.reader.read()
            self._positions.append(position)
            yield uri, (body, page.http_headers.get("Content-Type"))
        self._complete = n

    def write_kept(self, keep: Sequence[bool], output: Path) -> None:
        name = output.name.lower()
        if not name.endswith(WARC_OUTPUT_SUFFIXES):
            raise CorpusError(f"{output}: a WARC is written as .warc or .warc.gz")
        if self._complete is None:
            raise ValueError("read the corpus with records() before write_kept()")
        self._check_keep(keep, len(self._positions))
        dropped = {position for position, kept in zip(self._positions, keep) if not kept}
        compress = name.endswith(".gz")
        with atomic_output(output) as tmp, open(tmp, "wb") as out:
            for position, record in self._blocks(count=False):
                if position >= self._complete:
                    break  # the file changed since records(): write only what was read
                if position in dropped:
                    continue
                buffer = io.BytesIO()
                record.write(buffer)
                # One gzip member per record, as WARC tools expect (random access by offset).
                out.write(gzip.compress(buffer.getvalue(), 6) if compress else buffer.getvalue())


def write_lines(parts: Sequence[tuple[Corpus, npt.NDArray[np.int64]]], output: Path,
                on_read: Callable[[int], object] | None = None, *, jobs: int = 1, level: int | None = None) -> None:
    """Write the given lines of each line corpus (JSON Lines or text), in order, to one ``output``, atomically.

    Each part is ``(corpus, line numbers)`` (:meth:`Corpus.copy_lines`);
    ``on_read`` is passed on, for a progress bar of the bytes read. A
    compressed output is compressed on ``jobs`` threads at ``level`` (default: the format's,
    :func:`simdup._compress.open_writer`).
    """
    with atomic_output(output) as tmp, open_writer(tmp, jobs=jobs, level=level) as out:
        for corpus, lines in parts:
            corpus.copy_lines(lines, out, on_read)


class _CutGuard(io.RawIOBase):
    """A decompressed stream for FastWARC that ends quietly where the compressed file is cut, noting why.

    FastWARC reads ahead, so an error raised at the cut would also discard
    the whole records decompressed before it. Ending the stream there
    instead lets every whole record through (and the cut-off one fail its
    Content-Length check); :attr:`error` then reports the cut.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._inner.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._inner.seek(offset, whence)

    def readinto(self, buffer: Any) -> int:
        if self.error is not None:
            return 0
        try:
            # read1: one underlying read at most, so the data before the cut is returned, not dropped
            data = self._inner.read1(len(buffer))
        except _damage_errors() as exc:
            self.error = exc
            return 0
        buffer[:len(data)] = data
        return len(data)


WARC_OUTPUT_SUFFIXES = (".warc", ".warc.gz")
"""What :meth:`WarcCorpus.write_kept` writes: plain or gzip (one member per record)."""


def open_corpus(path: str | os.PathLike[str], text_field: str = "text", id_field: str | None = "id",
                skip_bad: bool = False) -> Corpus:
    """The :class:`Corpus` for ``path``, chosen by its suffix (or a directory).

    ``.jsonl``/``.ndjson`` (plain, ``.gz``, ``.zst``): JSON Lines. ``.txt``
    (plain, ``.gz``, ``.zst``): one document a line. ``.parquet``: Parquet.
    ``.warc`` (plain, ``.gz``, ``.zst``): its HTML responses (:class:`WarcCorpus`).
    A directory written by ``datasets``' ``save_to_disk`` (:class:`HfCorpus`);
    any other directory: its ``.txt`` and ``.html`` files, one document each.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "No such file or directory", str(path))
    kind = format_of(path)
    if kind == "directory":
        return DirectoryCorpus(path)
    if kind == "hf":
        return HfCorpus(path, text_field, id_field, skip_bad)
    if kind == "jsonl":
        return JsonlCorpus(path, text_field, id_field, skip_bad)
    if kind == "lines":
        return LinesCorpus(path, skip_bad)
    if kind == "warc":
        return WarcCorpus(path, skip_bad)
    return ParquetCorpus(path, text_field, id_field, skip_bad)


def is_saved_dataset(path: Path) -> bool:
    """True for a directory that ``datasets`` wrote with ``save_to_disk``: a Dataset, or a DatasetDict
    (which :class:`HfCorpus` refuses, naming its splits)."""
    return ((path / "state.json").is_file() and (path / "dataset_info.json").is_file()) \
        or (path / "dataset_dict.json").is_file()


def format_of(path: str | os.PathLike[str]) -> str:
    """Corpus format named by ``path``: "jsonl", "lines", "parquet", "warc", "hf" or "directory"."""
    path = Path(path)
    if path.is_dir():
        return "hf" if is_saved_dataset(path) else "directory"
    stem = plain_name(path)
    if stem.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if stem.endswith(".txt"):
        return "lines"
    if stem.endswith(".parquet"):
        return "parquet"
    if stem.endswith(".warc"):
        return "warc"
    raise CorpusError(f"{path}: unknown format; use .jsonl[.gz|.zst], .txt[.gz|.zst], .parquet, "
                      ".warc[.gz|.zst] or a directory")


