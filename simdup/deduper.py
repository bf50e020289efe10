"""Crawler-facing near-duplicate filter: documents in, decisions out.

:class:`Deduper` glues any fingerprinting object (``fingerprint(doc) -> int``,
the contract of :class:`simdup.SimHasher`) to a :class:`~simdup.index.SimHashIndex`.
Document ids may be ints in ``[0, 2**64)`` (stored as they are) or strings such
as URLs (stored as their XXH64, with the string kept in memory to report it).
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any, Protocol

from simdup._core import xxh64
from simdup.index import SimHashIndex

__all__ = ["Deduper", "Fingerprinter"]

_U64_MAX = (1 << 64) - 1


class Fingerprinter(Protocol):
    def fingerprint(self, doc: str | bytes) -> int: ...


class Deduper:
    """Decide whether each new document near-duplicates one already seen.

    Parameters
    ----------
    hasher : object with ``fingerprint(doc) -> int``
        Maps a document to its 64-bit fingerprint, e.g. :class:`simdup.SimHasher`.
    index : SimHashIndex, optional
        Where fingerprints live; default a new ``SimHashIndex(k, expected_n=...)``.
        Its ``k`` is the near-duplicate threshold.
    k : int, default 3
        Threshold of the default index (ignored when ``index`` is given).
    expected_n : int, default 1_000_000
        Planned size of the default index.

    Notes
    -----
    Thread-safe as the index is: fingerprinting runs outside any lock, and
    :meth:`is_duplicate` is one atomic check-and-insert, so two threads
    offering near-duplicate pages keep exactly one. String ids are hashed with
    XXH64; two different strings with the same hash raise ``ValueError``.
    The id strings are not saved with the index (``index.save``); after a
    reload, matches made before it report the integer key.

    Examples
    --------
    >>> dedup = Deduper(hasher)                                      # doctest: +SKIP
    >>> dedup.is_duplicate("https://a.example/1", page)              # doctest: +SKIP
    False
    """

    def __init__(self, hasher: Fingerprinter, index: SimHashIndex | None = None, *,
                 k: int = 3, expected_n: int = 1_000_000) -> None:
        if not callable(getattr(hasher, "fingerprint", None)):
            raise TypeError("hasher must have a fingerprint(doc) -> int method")
        if index is not None and not isinstance(index, SimHashIndex):
            raise TypeError(f"index must be a SimHashIndex, got {type(index).__name__}")
        self.hasher = hasher
        self.index = index if index is not None else SimHashIndex(k, expected_n=expected_n)
        self._names: dict[int, str] = {}  # key -> string id
        self._lock = threading.Lock()     # guards _names against racing writers

    # ------------------------------------------------------------------ ids

    def _key(self, doc_id: Hashable, claim: bool = False) -> int:
        if isinstance(doc_id, bool):
            raise TypeError("doc_id must be an int or a str, got bool")
        if isinstance(doc_id, int):
            if not 0 <= doc_id <= _U64_MAX:
                raise ValueError(f"int doc_id {doc_id} is outside [0, 2**64)")
            if doc_id in self._names:
                raise ValueError(f"int doc_id {doc_id} collides with the string id "
                                 f"{self._names[doc_id]!r}")
            return doc_id
        if isinstance(doc_id, str):
            key = xxh64(doc_id.encode("utf-8", "surrogatepass"))
            with self._lock:
                known = self._names.get(key)
                if known is not None and known != doc_id:
                    raise ValueError(f"ids {doc_id!r} and {known!r} have the same hash")
                if claim and known is None:
                    self._names[key] = doc_id
            return key
        raise TypeError(f"doc_id must be an int or a str, got {type(doc_id).__name__}")

    def _name(self, key: int) -> Hashable:
        return self._names.get(key, key)

    def _named(self, hits: list[tuple[int, int]]) -> list[tuple[Hashable, int]]:
        return [(self._name(i), d) for i, d in hits]

    # ------------------------------------------------------------------ API

    def fingerprint(self, doc: str | bytes) -> int:
        """The hasher's fingerprint of ``doc``, checked to be a uint64 int."""
        fp: Any = self.hasher.fingerprint(doc)
        if isinstance(fp, bool) or not hasattr(type(fp), "__index__"):
            raise TypeError(f"hasher returned {type(fp).__name__}, not an int")
        fp = fp.__index__()
        if not 0 <= fp <= _U64_MAX:
            raise ValueError(f"hasher returned {fp}, outside [0, 2**64)")
        return fp

    def duplicates(self, doc: str | bytes) -> list[tuple[Hashable, int]]:
        """Stored documents within ``k`` bits of ``doc``: ``(doc_id, distance)``, nearest first."""
        return self._named(self.index.query(self.fingerprint(doc)))

    def is_duplicate(self, doc_id: Hashable, doc: str | bytes) -> bool:
        """True when ``doc`` near-duplicates a stored document; else store it under ``doc_id``.

        The check and the insert are one atomic step.

        Raises
        ------
        TypeError
            ``doc_id`` neither int nor str, or the hasher misbehaves.
        ValueError
            ``doc_id`` already stored, or an int id outside uint64.
        """
        return not self.add_if_new(doc_id, doc)[0]

    def add_if_new(self, doc_id: Hashable, doc: str | bytes
                   ) -> tuple[bool, list[tuple[Hashable, int]]]:
        """Store ``doc`` unless a near-duplicate is stored; ``(added, matches)``."""
        fp = self.fingerprint(doc)
        key, claimed = self._claim(doc_id)
        try:
            added, hits = self.index.add_if_new(fp, key)
        except BaseException:
            self._release(key, claimed)
            raise
        if not added:
            self._release(key, claimed)
        return added, self._named(hits)

    def add(self, doc_id: Hashable, doc: str | bytes) -> None:
        """Store ``doc`` under ``doc_id`` even if it near-duplicates another."""
        fp = self.fingerprint(doc)
        key, claimed = self._claim(doc_id)
        try:
            self.index.add(fp, key)
        except BaseException:
            self._release(key, claimed)
            raise

    def remove(self, doc_id: Hashable) -> None:
        """Forget ``doc_id``. Raises ``KeyError`` when it is not stored."""
        try:
            key = self._key(doc_id)
        except (TypeError, ValueError):
            raise KeyError(doc_id) from None
        self.index.remove(key)
        with self._lock:
            self._names.pop(key, None)

    def __contains__(self, doc_id: object) -> bool:
        try:
            return self._key(doc_id) in self.index
        except (TypeError, ValueError):
            return False

    def __len__(self) -> int:
        return len(self.index)

    def _claim(self, doc_id: Hashable) -> tuple[int, bool]:
        had = isinstance(doc_id, str) and xxh64(doc_id.encode("utf-8", "surrogatepass")) \
            in self._names
        return self._key(doc_id, claim=True), isinstance(doc_id, str) and not had

    def _release(self, key: int, claimed: bool) -> None:
        if claimed and key not in self.index:
            with self._lock:
                self._names.pop(key, None)
