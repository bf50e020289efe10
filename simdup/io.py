"""Reading documents from corpus files and writing files safely."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Union

Page = tuple[bytes, Union[str, None]]
"""An HTML page as received: its body and its HTTP ``Content-Type`` header (or None)."""
Record = tuple[str, Union[str, bytes, Page]]
"""``(id, document)`` as a :class:`Corpus` yields it."""


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync and rename.

    A crash at any point leaves either the old file or the complete new one,
    never a partial file under ``path``.
    """
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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


class CorpusError(ValueError):
    """A corpus file could not be read; the message names the file and line."""


def open_text(path: Path, mode: str = "rt") -> IO[str]:
    """Open a UTF-8 text file, compressed by its suffix (.gz, .zst) or plain."""
    suffix = path.suffix.lower()
    if suffix == ".gz":
        return gzip.open(path, mode, encoding="utf-8", errors="replace")  # type: ignore[return-value]
    if suffix == ".zst":
        try:
            import zstandard
        except ImportError:
            raise CorpusError(f"{path}: .zst files need the zstandard package: pip install 'simdup[zstd]'") from None
        return zstandard.open(path, mode, encoding="utf-8", errors="replace")
    return open(path, mode, encoding="utf-8", errors="replace")


def open_binary(path: Path, mode: str = "rb") -> IO[bytes]:
    """Open a file in binary mode, compressed by its suffix (.gz, .zst) or plain.

    Corpora are read and written as bytes, so kept records pass through
    unchanged (line ends, invalid UTF-8 and all).
    """
    suffix = path.suffix.lower()
    if suffix == ".gz":
        return gzip.open(path, mode)  # type: ignore[return-value]
    if suffix == ".zst":
        try:
            import zstandard
        except ImportError:
            raise CorpusError(f"{path}: .zst files need the zstandard package: pip install 'simdup[zstd]'") from None
        stream = zstandard.open(path, mode)
        # its reader has no readline; a buffer adds line iteration
        return io.BufferedReader(stream) if "r" in mode else stream
    return open(path, mode)


def _read_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean a corpus file is unreadable (truncated, corrupt, ...)."""
    errors: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error, gzip.BadGzipFile)
    try:
        import zstandard
    except ImportError:
        return errors
    return (*errors, zstandard.ZstdError)


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn a truncated or corrupt corpus file's errors into a CorpusError naming it."""
    try:
        yield
    except _read_errors() as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise CorpusError(f"{path}: cannot read ({exc})") from None


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


class Corpus:
    """A corpus file (or directory) read as ``(id, document)`` records.

    Subclasses know one format; :meth:`write_kept` writes the records whose
    ``keep`` flag is set, in the same format, atomically.
    """

    format = "?"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.skipped = 0  # malformed records skipped (with skip_bad)

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


class JsonlCorpus(Corpus):
    """JSON Lines: one object a line; ``text_field`` holds the document."""

    format = "jsonl"

    def __init__(self, path: Path, text_field: str = "text", id_field: str | None = "id",
                 skip_bad: bool = False) -> None:
        super().__init__(path)
        self.text_field, self.id_field, self.skip_bad = text_field, id_field, skip_bad
        self._lines: list[int] | None = None  # line number of each record, for write_kept

    def _bad(self, lineno: int, why: str) -> None:
        if not self.skip_bad:
            raise CorpusError(f"{self.path}:{lineno}: {why}")
        self.skipped += 1

    def records(self) -> Iterator[Record]:
        lines: list[int] = []
        self._lines = None
        self.skipped = 0
        with _reading(self.path), open_binary(self.path) as f:
            for lineno, raw in enumerate(f, 1):
                line = raw.decode("utf-8", "replace")
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    self._bad(lineno, f"not valid JSON ({exc.msg})")
                    continue
                if not isinstance(record, dict):
                    self._bad(lineno, "expected a JSON object")
                    continue
                text = record.get(self.text_field)
                if text is None:
                    self._bad(lineno, f"no field {self.text_field!r}")
                    continue
                if not isinstance(text, str):
                    self._bad(lineno, f"field {self.text_field!r} is not a string")
                    continue
                doc_id = record.get(self.id_field, lineno) if self.id_field else lineno
                lines.append(lineno)
                yield str(doc_id), text
        self._lines = lines

    def write_kept(self, keep: Sequence[bool], output: Path) -> None:
        self._check_keep(keep, None if self._lines is None else len(self._lines))
        assert self._lines is not None
        wanted = {line for line, kept in zip(self._lines, keep) if kept}
        with atomic_output(output) as tmp, open_binary(self.path) as src, open_binary(tmp, "wb") as dst:
            for lineno, raw in enumerate(src, 1):
                if lineno in wanted:
                    dst.write(raw if raw.endswith(b"\n") else raw + b"\n")


class LinesCorpus(Corpus):
    """Plain text, one document a line; ids are line numbers."""

    format = "lines"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._count: int | None = None

    def records(self) -> Iterator[Record]:
        self._count = None
        count = 0
        with _reading(self.path), open_binary(self.path) as f:
            for count, raw in enumerate(f, 1):  # lines end at b"\n" only
                yield str(count), raw.rstrip(b"\r\n").decode("utf-8", "replace")
        self._count = count

    def write_kept(self, keep: Sequence[bool], output: Path) -> None:
        self._check_keep(keep, self._count)
        with atomic_output(output) as tmp, open_binary(self.path) as src, open_binary(tmp, "wb") as dst:
            for raw, kept in zip(src, keep):
                if kept:
                    dst.write(raw if raw.endswith(b"\n") else raw + b"\n")


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
                yield str(file.relative_to(self.path)), file.read_bytes()
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
    """A Parquet file; ``text_field`` names the text column (needs pyarrow)."""

    format = "parquet"

    def __init__(self, path: Path, text_field: str = "text", id_field: str | None = "id") -> None:
        super().__init__(path)
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise CorpusError(f"{path}: Parquet needs pyarrow: pip install 'simdup[parquet]'") from None
        try:
            self.table = pq.read_table(path)
        except (OSError, ValueError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise CorpusError(f"{path}: cannot read Parquet ({exc})") from None
        if text_field not in self.table.column_names:
            raise CorpusError(f"{path}: no column {text_field!r} (columns: {', '.join(self.table.column_names)})")
        self.text_field = text_field
        self.id_field = id_field if id_field in self.table.column_names else None

    def records(self) -> Iterator[Record]:
        texts = self.table.column(self.text_field).to_pylist()
        ids = self.table.column(self.id_field).to_pylist() if self.id_field else range(len(texts))
        for row, (doc_id, text) in enumerate(zip(ids, texts)):
            if not isinstance(text, (str, bytes)):
                raise CorpusError(f"{self.path}: row {row}: column {self.text_field!r} is not text")
            yield str(doc_id), text

    def write_kept(self, keep: Sequence[bool], output: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._check_keep(keep, self.table.num_rows)
        with atomic_output(output) as tmp:
            pq.write_table(self.table.filter(pa.array(list(map(bool, keep)))), tmp)


class WarcCorpus(Corpus):
    """A WARC file (plain, gzip, zstd or lz4): its HTML responses, read with FastWARC.

    A document is a ``response`` record with HTTP status 2xx and an HTML
    ``Content-Type`` (``text/html``, ``application/xhtml+xml``); its id is the
    record's ``WARC-Target-URI`` and its document the pair ``(body,
    content_type)`` (the body with any HTTP content or transfer encoding
    undone), for ``SimHasher(input="html")``. :meth:`write_kept` copies every
    record of the input unchanged, in order, except the responses of dropped
    documents. Needs ``pip install 'simdup[html]'``.
    """

    format = "warc"
    html_types = ("text/html", "application/xhtml+xml")

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._positions: list[int] = []  # index among all records of each document, for write_kept

    @staticmethod
    def _fastwarc() -> Any:
        try:
            from fastwarc import warc
        except ImportError:
            raise CorpusError("WARC files need fastwarc: pip install 'simdup[html]'") from None
        return warc

    def _iterate(self, parse_http: bool) -> Iterator[Any]:
        warc = self._fastwarc()
        kwargs = {"auto_decode": "all"} if parse_http else {}
        with open(self.path, "rb") as stream:
            yield from warc.ArchiveIterator(stream, parse_http=parse_http, fsspec_args=False, **kwargs)

    def records(self) -> Iterator[Record]:
        warc = self._fastwarc()
        self._positions = []
        try:
            for position, record in enumerate(self._iterate(parse_http=True)):
                if record.record_type != warc.WarcRecordType.response or not record.is_http:
                    continue
                status = record.http_headers.status_code if record.http_headers is not None else None
                content_type = record.http_content_type or ""
                if not (status and 200 <= status < 300) or content_type.lower() not in self.html_types:
                    continue
                uri = record.headers.get("WARC-Target-URI") or f"record {position}"
                body = record.reader.read()
                self._positions.append(position)
                yield uri, (body, record.http_headers.get("Content-Type"))
        except OSError as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise CorpusError(f"{self.path}: cannot read WARC ({exc})") from None

    def write_kept(self, keep: Sequence[bool], output: Path) -> None:
        name = output.name.lower()
        if not name.endswith((".warc", ".warc.gz")):
            raise CorpusError(f"{output}: a WARC is written as .warc or .warc.gz")
        dropped = {position for position, kept in zip(self._positions, keep) if not kept}
        compress = name.endswith(".gz")
        with atomic_output(output) as tmp, open(tmp, "wb") as out:
            for position, record in enumerate(self._iterate(parse_http=False)):
                if position in dropped:
                    continue
                buffer = io.BytesIO()
                record.write(buffer)
                # One gzip member per record, as WARC tools expect (random access by offset).
                out.write(gzip.compress(buffer.getvalue(), 6) if compress else buffer.getvalue())


def open_corpus(path: str | os.PathLike[str], text_field: str = "text", id_field: str | None = "id",
                skip_bad: bool = False) -> Corpus:
    """The :class:`Corpus` for ``path``, chosen by its suffix (or a directory).

    ``.jsonl``/``.ndjson`` (plain, ``.gz``, ``.zst``): JSON Lines. ``.txt``
    (plain, ``.gz``, ``.zst``): one document a line. ``.parquet``: Parquet.
    ``.warc`` (plain, ``.gz``, ``.zst``): its HTML responses (:class:`WarcCorpus`).
    A directory: its ``.txt`` and ``.html`` files, one document each.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "No such file or directory", str(path))
    kind = format_of(path)
    if kind == "directory":
        return DirectoryCorpus(path)
    if kind == "jsonl":
        return JsonlCorpus(path, text_field, id_field, skip_bad)
    if kind == "lines":
        return LinesCorpus(path)
    if kind == "warc":
        return WarcCorpus(path)
    return ParquetCorpus(path, text_field, id_field)


def format_of(path: str | os.PathLike[str]) -> str:
    """Corpus format named by ``path``: "jsonl", "lines", "parquet", "warc" or "directory"."""
    path = Path(path)
    if path.is_dir():
        return "directory"
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


@contextmanager
def atomic_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a new temporary directory beside ``path``; rename it to ``path`` only on success.

    ``path`` must not exist: a directory output is never overwritten or merged into.
    """
    target = Path(path)
    if target.exists():
        raise CorpusError(f"{target}: already exists (a directory output is never overwritten)")
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only on success.

    The temporary name keeps ``path``'s suffixes, so writers that pick a
    compression by suffix (``.gz``, ``.zst``) see the right one. Nothing is
    left under ``path`` if the block fails.
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise FileNotFoundError(2, "No such directory", str(target.parent))
    if target.is_dir():
        raise IsADirectoryError(21, "Is a directory", str(target))
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix="".join(target.suffixes[-2:]), dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        # mkstemp makes the file private; give it the mode a plain open() would have
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(target.parent)
