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
from simdup._validation import check_uint64, is_int
from simdup.hasher import SimHasher
from simdup.index import SimHashIndex

__all__ = ["Deduper", "Fingerprinter"]


class Fingerprinter(Protocol):
    def fingerprint(self, doc: str | bytes) -> int | None: ...


class Deduper:
    """Decide whether each new document near-duplicates one already seen.

    Parameters
    ----------
    hasher : object with ``fingerprint(doc) -> int``
        Maps a document to its 64-bit fingerprint, e.g. :class:`simdup.SimHasher`.
        Another fingerprinter may return ``None`` for a document with nothing
        to compare (see Notes).
    index : SimHashIndex, optional
        Where fingerprints live; default a new ``SimHashIndex(k, expected_n=...)``.
        Its ``k`` is the near-duplicate threshold.
    k : int, default 3
        Threshold of the default index (ignored when ``index`` is given).
    expected_n : int, default 1_000_000
        Planned size of the default index.

    Notes
    -----
    Token-less documents (empty, punctuation, emoji or script only: with a
    :class:`simdup.SimHasher`, those with no tokens, whose fingerprint is 0)
    are never near-duplicates, as in batch :func:`simdup.dedup`: they are
    not stored, match nothing and nothing matches them. :meth:`is_duplicate`
    returns False for them and :meth:`add` returns False. A fingerprinter
    other than SimHasher signals such a document by returning ``None``.

    Threads: fingerprinting runs outside any lock; the id bookkeeping and the
    index update (check-and-insert, insert or remove), and the naming of the
    matches of a query, are one atomic step under the Deduper's lock. So two
    threads offering near-duplicate pages keep exactly one, and a stored
    page's string id is never lost to a racing call with the same id. String
    ids are hashed with XXH64; two different strings with the same hash
    raise ``ValueError``. The id strings are not saved with the index
    (``index.save``); after a reload, matches made before it report the
    integer key. Write to a shared ``index`` only through the Deduper, or
    names may be missing for items added behind its back.

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
        self._names: dict[int, str] = {}  # key -> string id, exactly for the keys stored
        # One lock over _names and the index updates made with them: the
        # index alone is thread-safe, but "store the item and remember its
        # name" (or "forget both") must be one step, or a racing call with
        # the same id can drop the name of a stored item.
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ ids

    def _key(self, doc_id: Hashable) -> int:
        """The index key of ``doc_id`` (call with the lock held: reads ``_names``)."""
        if isinstance(doc_id, str):
            key = xxh64(doc_id.encode("utf-8", "surrogatepass"))
            known = self._names.get(key)
            if known is not None and known != doc_id:
                raise ValueError(f"ids {doc_id!r} and {known!r} have the same hash")
            return key
        if not is_int(doc_id):
            raise TypeError(f"doc_id must be an int or a str, got {type(doc_id).__name__}")
        key = check_uint64(doc_id, "int doc_id")
        if key in self._names:
            raise ValueError(f"int doc_id {key} collides with the string id {self._names[key]!r}")
        return key

    def _named(self, hits: list[tuple[int, int]]) -> list[tuple[Hashable, int]]:
        return [(self._names.get(i, i), d) for i, d in hits]

    # ------------------------------------------------------------------ API

    def fingerprint(self, doc: str | bytes) -> int:
        """The hasher's fingerprint of ``doc``, checked to be a uint64 int (0 when token-less)."""
        fp = self._fingerprint(doc)
        return 0 if fp is None else fp

    def _fingerprint(self, doc: str | bytes) -> int | None:
        """The fingerprint of ``doc``, or None for a token-less document."""
        fp: Any
        if isinstance(self.hasher, SimHasher):
            fp, n_tokens = self.hasher.fingerprint(doc, return_n_tokens=True)
            return fp if n_tokens else None
        fp = self.hasher.fingerprint(doc)
        if fp is None:
            return None
        try:
            return check_uint64(fp, "hasher's fingerprint")
        except TypeError:
            raise TypeError(f"hasher returned {type(fp).__name__}, not an int") from None

    def duplicates(self, doc: str | bytes) -> list[tuple[Hashable, int]]:
        """Stored documents within ``k`` bits of ``doc``: ``(doc_id, distance)``, nearest first.

        Empty for a token-less document.
        """
        fp = self._fingerprint(doc)
        if fp is None:
            return []
        with self._lock:  # names resolved against the same state the query saw
            return self._named(self.index.query(fp))

    def is_duplicate(self, doc_id: Hashable, doc: str | bytes) -> bool:
        """True when ``doc`` near-duplicates a stored document; else store it under ``doc_id``.

        The check and the insert are one atomic step. A token-less document
        is not a duplicate and is not stored.

        Raises
        ------
        TypeError
            ``doc_id`` neither int nor str, or the hasher misbehaves.
        ValueError
            ``doc_id`` already stored, or an int id outside uint64.
        """
        return bool(self.add_if_new(doc_id, doc)[1])

    def add_if_new(self, doc_id: Hashable, doc: str | bytes
                   ) -> tuple[bool, list[tuple[Hashable, int]]]:
        """Store ``doc`` unless a near-duplicate is stored; ``(added, matches)``.

        A token-less document gives ``(False, [])``: not stored, no matches.
        """
        fp = self._fingerprint(doc)
        with self._lock:
            key = self._key(doc_id)
            if fp is None:
                self._check_new(key)
                return False, []
            added, hits = self.index.add_if_new(fp, key)
            if added and isinstance(doc_id, str):
                self._names[key] = doc_id
            return added, self._named(hits)

    def add(self, doc_id: Hashable, doc: str | bytes) -> bool:
        """Store ``doc`` under ``doc_id`` even if it near-duplicates another.

        Returns
        -------
        bool
            True when stored; False for a token-less document (never stored).
        """
        fp = self._fingerprint(doc)
        with self._lock:
            key = self._key(doc_id)
            if fp is None:
                self._check_new(key)
                return False
            self.index.add(fp, key)
            if isinstance(doc_id, str):
                self._names[key] = doc_id
            return True

    def remove(self, doc_id: Hashable) -> None:
        """Forget ``doc_id``. Raises ``KeyError`` when it is not stored."""
        with self._lock:
            try:
                key = self._key(doc_id)
            except (TypeError, ValueError):
                raise KeyError(doc_id) from None
            try:
                self.index.remove(key)
            except KeyError:
                raise KeyError(doc_id) from None  # the caller's id, not its hash
            self._names.pop(key, None)

    def __contains__(self, doc_id: object) -> bool:
        with self._lock:
            try:
                return self._key(doc_id) in self.index
            except (TypeError, ValueError):
                return False

    def __len__(self) -> int:
        return len(self.index)

    def _check_new(self, key: int) -> None:
        # A token-less document is not stored, but its id is checked as any
        # other's, so a caller's id bug does not depend on the page's content.
        if key in self.index:
            raise ValueError(f"id {key} is already in the index")
