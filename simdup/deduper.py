"""Crawler-facing near-duplicate filter: documents in, decisions out.

:class:`Deduper` glues any fingerprinting object (``fingerprint(doc) -> int``,
the contract of :class:`simdup.SimHasher`) to a :class:`~simdup.index.SimHashIndex`.
Document ids may be ints in ``[0, 2**64)`` (stored as they are) or strings such
as URLs (stored as their XXH64, with the string kept in memory to report it).
:meth:`Deduper.save` writes the strings beside the index, in the names file
``simdup index`` uses (:mod:`simdup.index._names`), so a crawl can resume.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Hashable
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from simdup._core import hash_strings, xxh64
from simdup._validation import check_uint64, is_int
from simdup.hasher import SimHasher
from simdup.index import SimHashIndex
from simdup.index._names import read_names, save_with_names
from simdup.index._window import Clock

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
    window_size, window_seconds, clock : optional
        A window for the default index: remember only the last
        ``window_size`` documents stored and/or those stored in the last
        ``window_seconds`` (see :class:`~simdup.index.SimHashIndex`). The
        names of evicted documents are forgotten with them. To window a
        given ``index``, create it with the window.

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
    raise ``ValueError``. ``index.save`` alone does not save the id
    strings (:meth:`save` does); an index reloaded without them reports the
    integer keys. Write to a shared ``index`` only through the Deduper, or
    names may be missing for items added behind its back. The Deduper's
    lock is the index's, so evictions (which the index makes under it)
    and the Deduper's updates never interleave.

    Persistence: :meth:`save` writes the index and, beside it, the string
    ids (``PATH.names.json``, the file ``simdup index`` writes);
    :meth:`load` reads both back.

    Examples
    --------
    >>> dedup = Deduper(hasher)                                      # doctest: +SKIP
    >>> dedup.is_duplicate("https://a.example/1", page)              # doctest: +SKIP
    False
    """

    def __init__(self, hasher: Fingerprinter, index: SimHashIndex | None = None, *,
                 k: int = 3, expected_n: int = 1_000_000,
                 window_size: int | None = None, window_seconds: float | None = None,
                 clock: Clock | None = None) -> None:
        if not callable(getattr(hasher, "fingerprint", None)):
            raise TypeError("hasher must have a fingerprint(doc) -> int method")
        if index is not None and not isinstance(index, SimHashIndex):
            raise TypeError(f"index must be a SimHashIndex, got {type(index).__name__}")
        if index is not None and (window_size is not None or window_seconds is not None or clock is not None):
            raise ValueError("window_size, window_seconds and clock configure the default index; "
                             "give them to the SimHashIndex passed as index")
        self.hasher = hasher
        self.index = index if index is not None else SimHashIndex(
            k, expected_n=expected_n, window_size=window_size, window_seconds=window_seconds, clock=clock)
        self._names: dict[int, str] = {}  # key -> string id, exactly for the keys stored
        # One lock over _names and the index updates made with them: the
        # index alone is thread-safe, but "store the item and remember its
        # name" (or "forget both") must be one step, or a racing call with
        # the same id can drop the name of a stored item. It is the index's
        # own lock, under which the index evicts: one lock, so no order of
        # taking two can deadlock, and an eviction's names go with it.
        self._lock = self.index._lock
        forget = _name_forgetter(weakref.ref(self))
        self.index.add_eviction_callback(forget)
        weakref.finalize(self, _unregister, weakref.ref(self.index), forget)

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

    def fingerprint(self, doc: str | bytes, content_type: str | None = None) -> int:
        """The hasher's fingerprint of ``doc``, checked to be a uint64 int (0 when token-less).

        ``content_type`` (an HTTP ``Content-Type``, whose charset decodes an
        HTML page given as bytes) goes to the hasher; every method that
        takes a document takes it too.
        """
        fp = self._fingerprint(doc, content_type)
        return 0 if fp is None else fp

    def _fingerprint(self, doc: str | bytes, content_type: str | None = None) -> int | None:
        """The fingerprint of ``doc``, or None for a token-less document."""
        fp: Any
        if isinstance(self.hasher, SimHasher):
            fp, n_tokens = self.hasher.fingerprint(doc, content_type, return_n_tokens=True)
            return fp if n_tokens else None
        # Another fingerprinter gets content_type only when there is one: the
        # protocol is fingerprint(doc), and one that lacks the argument says so.
        fp = self.hasher.fingerprint(doc) if content_type is None else \
            self.hasher.fingerprint(doc, content_type)  # type: ignore[call-arg]
        if fp is None:
            return None
        try:
            return check_uint64(fp, "hasher's fingerprint")
        except TypeError:
            raise TypeError(f"hasher returned {type(fp).__name__}, not an int") from None

    def duplicates(self, doc: str | bytes, content_type: str | None = None) -> list[tuple[Hashable, int]]:
        """Stored documents within ``k`` bits of ``doc``: ``(doc_id, distance)``, nearest first.

        Empty for a token-less document.
        """
        fp = self._fingerprint(doc, content_type)
        if fp is None:
            return []
        with self._lock:  # names resolved against the same state the query saw
            return self._named(self.index.query(fp))

    def is_duplicate(self, doc_id: Hashable, doc: str | bytes, content_type: str | None = None, *,
                     replace: bool = False) -> bool:
        """True when ``doc`` near-duplicates a stored document; else store it under ``doc_id``.

        The check and the insert are one atomic step. A token-less document
        is not a duplicate and is not stored.

        Raises
        ------
        TypeError
            ``doc_id`` neither int nor str, or the hasher misbehaves.
        ValueError
            ``doc_id`` already stored (unless ``replace``), or an int id outside uint64.
        """
        return bool(self.add_if_new(doc_id, doc, content_type, replace=replace)[1])

    def add_if_new(self, doc_id: Hashable, doc: str | bytes, content_type: str | None = None, *,
                   replace: bool = False) -> tuple[bool, list[tuple[Hashable, int]]]:
        """Store ``doc`` unless a near-duplicate is stored; ``(added, matches)``.

        A token-less document gives ``(False, [])``: not stored, no matches.

        Parameters
        ----------
        doc_id : int or str
        doc : str or bytes
        content_type : str, optional
            HTTP ``Content-Type`` of an HTML page given as bytes.
        replace : bool, default False
            ``doc_id`` may be stored already (the same page fetched again):
            ``doc`` is compared with every stored document, the earlier
            version of ``doc_id`` included, and replaces that version when it
            matches none. A token-less new version leaves the earlier one
            stored. Without ``replace``, a stored ``doc_id`` is a ValueError.

        Returns
        -------
        (bool, list of (id, distance))
            ``(True, [])`` when stored, else ``(False, matches)``, nearest first.
        """
        fp = self._fingerprint(doc, content_type)
        with self._lock:
            key = self._key(doc_id)
            if replace and key in self.index:
                if fp is None:
                    return False, []
                hits = self.index.query(fp)
                if hits:
                    return False, self._named(hits)
                self.index.remove(key)  # one step under the lock: no reader of ours sees it gone
                self.index.add(fp, key)
                return True, []
            if fp is None:
                self._check_new(key)
                return False, []
            added, hits = self.index.add_if_new(fp, key)
            if added and isinstance(doc_id, str):
                self._names[key] = doc_id
            return added, self._named(hits)

    def add(self, doc_id: Hashable, doc: str | bytes, content_type: str | None = None) -> bool:
        """Store ``doc`` under ``doc_id`` even if it near-duplicates another.

        Returns
        -------
        bool
            True when stored; False for a token-less document (never stored).
        """
        fp = self._fingerprint(doc, content_type)
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

    # ---------------------------------------------------------- persistence

    def save(self, path: str | os.PathLike[str], *, model: str | os.PathLike[str] | None = None) -> None:
        """Save the index to ``path`` and the string ids beside it (``PATH.names.json``).

        Each file is written atomically (temp file, fsync, rename), names
        first (see :mod:`simdup.index._names`), from one moment: no document
        is added or evicted while they are written. The files are the ones
        ``simdup index build`` writes, so ``simdup index query PATH ...``
        reads them (when every id is a string).

        Parameters
        ----------
        path : path-like
        model : path-like, optional
            The model file the hasher was loaded from, recorded for whoever
            loads the index (None: the embedded default model).
        """
        with self._lock:
            self.index.expire()  # first, so the names written are the items saved
            hasher = self.hasher
            meta: dict[str, Any] = {
                "model": None if model is None else os.path.abspath(model),
                "names": {f"{key:016x}": name for key, name in self._names.items()},
                "input_type": getattr(hasher, "input", None) if isinstance(hasher, SimHasher) else None,
                "html_content": getattr(hasher, "html_content", None) if isinstance(hasher, SimHasher) else None,
                "unnamed": len(self.index) - len(self._names),
            }
            save_with_names(self.index, meta, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str], hasher: Fingerprinter, *, mmap: bool = False,
             clock: Clock | None = None) -> Deduper:
        """A Deduper over the index saved at ``path`` by :meth:`save`, with its string ids.

        The index keeps its window (limits and times; ``clock`` as in
        :meth:`SimHashIndex.load`). Names the index lacks (a save stopped
        between the two files) are dropped; when every id was a string, so
        are stored items without a name: the state both files agree on.

        Raises
        ------
        FileNotFoundError
            The index or its names file is missing.
        ValueError
            Either file is damaged or not simdup's, or the names do not hash
            to their keys (the names file of another index).
        """
        index = SimHashIndex.load(path, mmap=mmap, clock=clock)
        meta = read_names(path)
        names = {int(h, 16): name for h, name in meta["names"].items()}
        if names:
            keys = np.fromiter(names, np.uint64, len(names))
            hashed = hash_strings([n.encode("utf-8", "surrogatepass") for n in names.values()])
            if not np.array_equal(keys, hashed):
                raise ValueError(f"{path}.names.json: names do not hash to their ids (not this index's names)")
        names = {key: name for key, name in names.items() if key in index}
        if meta.get("unnamed", None) == 0 and len(names) < len(index):
            unnamed = [i for i in index._export()[0]["ids"].tolist() if i not in names]
            for i in unnamed:
                index.remove(i)
        dedup = cls(hasher, index)
        dedup._names = names
        return dedup

    def _check_new(self, key: int) -> None:
        # A token-less document is not stored, but its id is checked as any
        # other's, so a caller's id bug does not depend on the page's content.
        if key in self.index:
            raise ValueError(f"id {key} is already in the index")


def _name_forgetter(ref: weakref.ReferenceType[Deduper]) -> Any:
    """The eviction callback of a Deduper: forget the names of evicted ids.

    Holds the Deduper weakly, so an index outliving it does not keep its names alive.
    """
    def forget(ids: npt.NDArray[np.uint64]) -> None:
        dedup = ref()
        if dedup is not None:
            pop = dedup._names.pop
            for key in ids.tolist():
                pop(key, None)
    return forget


def _unregister(index_ref: weakref.ReferenceType[SimHashIndex], callback: Any) -> None:
    index = index_ref()
    if index is not None:
        try:
            index.remove_eviction_callback(callback)
        except ValueError:
            pass
