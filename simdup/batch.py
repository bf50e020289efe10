"""Batch near-duplicate detection: the links of a corpus, verified, settled into clusters.

:func:`dedup` fingerprints the documents, finds every pair within ``k`` bits
by the self-join of :mod:`simdup.join` (identical fingerprints collapsed
first), checks the candidates' shingle Jaccard (:func:`verify_links`), and
with a reference finds each document's match in it (:mod:`simdup.reference`);
:mod:`simdup.clustering` then makes the clusters, the kept documents and the
evidence of each removal.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from . import _core, hf
from ._sorted import find_sorted
from ._validation import check_k, is_int
from .clustering import REASONS, Evidence, KeepRule, Settled, choose_kept, cluster_winners, clusters, settle
from .hasher import SimHasher
from .index import SimHashIndex
from .join import MAX_K, Pairs, find_duplicates, find_duplicates_between, group_identical, join_masks, threaded_join
from .reference import candidates_between, choose_matches, reference_candidates

__all__ = ["MAX_K", "REASONS", "DedupResult", "Evidence", "Pairs", "choose_kept", "cluster_winners", "clusters",
           "dedup", "find_duplicates", "find_duplicates_between", "group_identical", "join_masks", "shingle_jaccard",
           "shingle_sets", "verify_links"]

ShingleSize = Union[int, tuple[int, int]]
DEFAULT_SHINGLE_SIZE = (3, 5)
"""Verification shingles: word 3-grams, or character 5-grams for text in scripts without spaces."""
ProgressFactory = Callable[..., Any]


@dataclass
class DedupResult:
    """Outcome of :func:`dedup`.

    Attributes
    ----------
    fingerprints : uint64 array
    n_tokens : int64 array
        Tokens per document; token-less documents (0) are never duplicates.
    labels : int64 array
        Cluster of each document: the index of the cluster's first document.
    representative : int64 array
        Index of the document kept for each document's cluster; -1 when
        the cluster is kept in the reference (``against``), whose document
        is ``kept_reference``.
    keep : bool array
        True for the documents to keep (one per cluster, none of a cluster
        kept in the reference).
    distance : int32 array
        Hamming distance of each document's fingerprint to its
        representative's (-1 for a cluster kept in the reference).
    pairs : Pairs
        The near-duplicate links found (after verification): within a group
        of identical fingerprints each document is paired with the group's
        first; between groups, their first documents are paired. With
        verification, a group's documents that fail the pairing with its
        first are paired with the first of them instead, round after round,
        and each such hub is paired with every hub of the groups its group
        was joined with (:func:`verify_links`).
    jaccard : float64 array or None
        Shingle Jaccard similarity of each pair when verification ran.
    timings : dict
        Seconds spent per phase.
    evidence : Evidence
        Why each document was kept or removed: the document (or reference
        document) whose link removed it, their distance and Jaccard, and the
        reason (:class:`simdup.clustering.Evidence`, :data:`REASONS`).
    kept_reference : int64 or uint64 array, or None
        With ``against``: for a document whose cluster is kept in the
        reference (``representative`` -1), that reference document (its
        position among the reference documents, or its index id); 0 elsewhere.
    reference : dict or None
        With ``against``: what the reference was (``kind``: "index" or
        "documents"; ``documents``; ``k``, the distance matched within;
        ``verified``: whether matches were checked on text).
    dataset : datasets.Dataset or None
        When ``docs`` was a Hugging Face Dataset: its kept rows, every
        column, in order (``ds.select`` of the kept rows: an indices
        mapping, no copy); else None.
    """

    fingerprints: npt.NDArray[np.uint64]
    n_tokens: npt.NDArray[np.int64]
    labels: npt.NDArray[np.int64]
    representative: npt.NDArray[np.int64]
    keep: npt.NDArray[np.bool_]
    distance: npt.NDArray[np.int32]
    pairs: Pairs
    jaccard: npt.NDArray[np.float64] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    evidence: Evidence | None = None
    kept_reference: npt.NDArray[Any] | None = None
    reference: dict[str, Any] | None = None
    dataset: Any = None

    @property
    def summary(self) -> dict[str, Any]:
        """Counts and timings: documents, duplicates removed, clusters, sizes, speed (see :func:`summarize`)."""
        return summarize_result(self)


def summarize_result(result: DedupResult, **extra: Any) -> dict[str, Any]:
    """:func:`summarize` of a :class:`DedupResult`; ``extra`` are :func:`summarize`'s optional keys (and ``timings``)."""
    n = len(result.labels)
    sizes = np.bincount(result.labels, minlength=n) if n else np.zeros(0, np.int64)
    reference = None
    if result.reference is not None:
        matched = int((result.evidence.reason == REASONS.index("reference")).sum()) if result.evidence else 0
        reference = {**result.reference, "matched": matched,
                     "removed_in_reference_clusters": int((result.representative < 0).sum())}
    return summarize(**{"timings": result.timings, **extra}, documents=n, kept=int(result.keep.sum()),
                     clusters=int((sizes > 1).sum()), largest_cluster=int(sizes.max()) if n else 0,
                     token_less_documents=int((result.n_tokens == 0).sum()), pairs=len(result.pairs.i),
                     reference=reference)


def summarize(*, documents: int, kept: int, clusters: int, largest_cluster: int, token_less_documents: int,
              pairs: int, timings: dict[str, float], candidate_pairs: int | None = None,
              peak_rss: int | None = None, peak_rss_workers: int | None = None,
              cpu_seconds: float | None = None, reference: dict[str, Any] | None = None) -> dict[str, Any]:
    """The summary of a dedup run, on one machine or on Dask: the one definition of its keys and rounding.

    Parameters
    ----------
    documents, kept : int
        Documents in, and documents kept (one per cluster).
    clusters : int
        Clusters of two or more documents.
    largest_cluster : int
        Documents in the largest cluster (1 when none has two; 0 without documents).
    token_less_documents : int
        Documents without tokens (never duplicates).
    pairs : int
        Near-duplicate links after verification.
    timings : dict
        Seconds per phase, in the order the phases ran.
    candidate_pairs : int, optional
        Links before verification (identical fingerprints linked as a star).
    peak_rss, peak_rss_workers : int, optional
        Peak resident memory, in bytes, of the process and of its largest worker process.
    cpu_seconds : float, optional
        CPU time of the process and its worker processes together.
    reference : dict, optional
        With a reference (``against``): its kind, size, the ``k`` matched
        within, whether matches were verified on text, the documents that
        matched it directly (``matched``) and all those removed with them
        (``removed_in_reference_clusters``).

    Returns
    -------
    dict
        The keys in a fixed order (the CLI prints them as JSON); ``seconds`` is
        the sum of the phases, ``documents_per_second`` None when there is
        nothing to divide.
    """
    seconds = sum(timings.values())
    summary: dict[str, Any] = {
        "documents": documents,
        "kept": kept,
        "duplicates_removed": documents - kept,
        "clusters": clusters,
        "largest_cluster": largest_cluster,
        "token_less_documents": token_less_documents,
        "pairs": pairs,
    }
    if candidate_pairs is not None:
        summary["candidate_pairs"] = candidate_pairs
    if reference is not None:
        summary["reference"] = reference
    if peak_rss is not None:
        summary["peak_rss_mb"] = round(peak_rss / 2**20, 1)
    if peak_rss_workers is not None:
        summary["peak_rss_workers_mb"] = round(peak_rss_workers / 2**20, 1)
    if cpu_seconds is not None:
        summary["cpu_seconds"] = round(cpu_seconds, 2)
    summary["seconds"] = round(seconds, 4)
    summary["documents_per_second"] = round(documents / seconds, 1) if documents and seconds > 0 else None
    summary["timings"] = {phase: round(s, 4) for phase, s in timings.items()}
    return summary


DEFAULT_K = 8
DEFAULT_VERIFY = 0.8


def dedup(
    docs: Iterable[str | bytes],
    k: int = DEFAULT_K,
    *,
    hasher: SimHasher | None = None,
    keep: KeepRule = "first",
    verify: float | None = DEFAULT_VERIFY,
    shingle_size: ShingleSize = DEFAULT_SHINGLE_SIZE,
    against: SimHashIndex | Iterable[str | bytes] | None = None,
    progress: ProgressFactory | None = None,
    text_column: str | None = None,
) -> DedupResult:
    """Find near-duplicate documents and choose one document to keep per cluster.

    Parameters
    ----------
    docs : iterable of str or bytes, or datasets.Dataset
        The documents; or a Hugging Face ``datasets.Dataset`` whose column
        ``text_column`` holds them (read in Arrow batches). The result's
        ``dataset`` is then the Dataset's kept rows (every column).
    k : int, default=8
        Documents whose fingerprints differ in at most ``k`` bits are
        candidate near-duplicates.
    hasher : SimHasher, optional
        The hasher; fitted on ``docs`` (and the reference documents) first
        unless it is already fitted. By default a ``SimHasher()`` fitted on
        them; with an index as ``against``, ``SimHasher.default()`` (what
        ``simdup index build`` and :class:`~simdup.Deduper` use).
    keep : "first", "longest" or callable, default="first"
        Which document of a cluster is kept (see :func:`choose_kept`).
    verify : float or None, default=0.8
        Keep only candidate links whose documents' shingle sets
        (:func:`shingle_sets`: word 3-grams, or character 5-grams for text
        mostly in scripts written without spaces) have Jaccard similarity of
        at least ``verify``; None links every candidate.
    shingle_size : int or (int, int), default=(3, 5)
        Verification shingle sizes: words, and characters of scripts without
        spaces. An int sets the word size only.
    against : SimHashIndex or iterable of str or bytes, optional
        A reference, such as everything kept by earlier runs: every document
        of ``docs`` that is a near-duplicate of a reference document is
        removed too, with its whole cluster (the reference keeps it). A list
        of reference documents is fingerprinted with the same hasher and
        matches are verified like any other link; an index holds
        fingerprints only, so its matches are not verified, and are within
        ``min(k, index.k)`` bits. Fingerprints in an index must come from
        the same hasher (pass it fitted).
    progress : callable, optional
        A tqdm-like factory: ``progress(iterable, total=, desc=, unit=)``
        wraps an iterable, ``progress(total=, desc=, unit=)`` returns an
        object with ``update(n)`` and ``close()``. Called once a phase.
    text_column : str, optional
        For a Dataset ``docs``: the column of text (str) or bytes (HTML
        pages). Default ``"text"``. Named as in ``simdup.dask.dedup``, the
        other dedup of a table, and as ``datasets`` names columns (the
        command line's ``--text-field`` names a column of a saved Dataset).

    Returns
    -------
    DedupResult
        Its ``evidence`` says why each document was removed.

    Examples
    --------
    >>> import datasets  # doctest: +SKIP
    >>> ds = datasets.load_from_disk("corpus")  # doctest: +SKIP
    >>> result = simdup.dedup(ds, text_column="content")  # doctest: +SKIP
    >>> result.dataset.save_to_disk("corpus-dedup")  # doctest: +SKIP

    Raises
    ------
    TypeError
        ``docs`` (or ``against``) is one document (a ``str`` or ``bytes``,
        whose characters would otherwise be taken as documents) or not
        iterable, or ``k`` is not an int; a ``DatasetDict`` (pick a split)
        or a streaming ``IterableDataset``; ``text_column`` given with
        documents that are not a Dataset.
    ValueError
        ``k``, ``verify`` or ``shingle_size`` out of range; an index as
        ``against`` with a hasher that is not fitted; a Dataset without the
        column ``text_column``, or whose column is not text or has a null.
    """
    if text_column is not None or hf.is_dataset(docs):
        if not hf.is_dataset(docs):
            raise TypeError(f"text_column names a column of a datasets.Dataset; docs is a {type(docs).__name__}")
        dataset, texts = docs, hf.dataset_texts(docs, text_column)
        result = dedup(texts, k, hasher=hasher, keep=keep, verify=verify, shingle_size=shingle_size,
                       against=against, progress=progress)
        result.dataset = hf.select_kept(dataset, result.keep)
        return result
    for name, value in (("docs", docs), ("against", against)):
        if isinstance(value, (str, bytes, bytearray, memoryview)):
            raise TypeError(f"{name} must be an iterable of documents, got a single document "
                            f"({type(value).__name__}); wrap it in a list")
    k = check_k(k, MAX_K)
    check_verify(verify)
    check_shingle_size(shingle_size)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    docs = docs if isinstance(docs, list) else list(docs)
    index, reference_docs = None, None
    if isinstance(against, SimHashIndex):
        index = against
    elif against is not None:
        reference_docs = list(against)
    if index is not None:
        hasher = SimHasher.default() if hasher is None else hasher
        if not hasher.__sklearn_is_fitted__():
            raise ValueError("an index as `against` holds fingerprints of a fitted hasher: pass that hasher, fitted")
    hasher = SimHasher() if hasher is None else hasher
    n = len(docs)
    if not docs:
        return empty_result(timings)
    # A reference of documents is fitted on and fingerprinted with the new ones: one hasher for both.
    everything = docs + reference_docs if reference_docs else docs
    if not hasher.__sklearn_is_fitted__():
        # Tokenize (and segment) once for both fitting and fingerprinting.
        prepared = hasher._prepare(_progress_iter(everything, progress, "tokenizing"))
        hasher._fit_prepared(prepared)
        timings["fit"] = time.perf_counter() - start
        start = time.perf_counter()
        all_fps, all_tokens = hasher._transform_prepared(prepared)
        del prepared
    else:
        all_fps, all_tokens = fingerprint_with_progress(hasher, everything, progress)
    fps, n_tokens = all_fps[:n], all_tokens[:n]
    timings["fingerprint"] = time.perf_counter() - start

    start = time.perf_counter()
    pairs = _links(fps, n_tokens, k, progress)
    timings["join"] = time.perf_counter() - start

    jaccard = None
    if verify is not None and len(pairs.i):
        start = time.perf_counter()
        pairs, jaccard = _verified(hasher, docs, pairs, verify, shingle_size)
        timings["verify"] = time.perf_counter() - start

    matches, described = None, None
    if against is not None:
        start = time.perf_counter()
        if index is None:
            assert reference_docs is not None
            candidates = candidates_between(fps, n_tokens, all_fps[n:], all_tokens[n:], k)
            check = None if verify is None else (
                lambda a, b: shingle_jaccard(hasher, everything, a, n + b, shingle_size))
            kind, size, within = "documents", len(reference_docs), k
        else:
            check, kind, size, within = None, "index", len(index), min(k, index.k)
            candidates = reference_candidates(fps, n_tokens, index, within)
        matches = choose_matches(*candidates, n, check, verify)
        described = {"kind": kind, "documents": size, "k": within, "verified": check is not None}
        timings["reference"] = time.perf_counter() - start

    start = time.perf_counter()
    lengths = [document_length(d) for d in docs] if keep == "longest" else None
    settled = settle(fps, pairs.i, pairs.j, pairs.distance, jaccard, keep, lengths, matches)
    timings["cluster"] = time.perf_counter() - start
    return settled_result(fps, n_tokens, settled, pairs, jaccard, timings, described)


def settled_result(fps: npt.NDArray[np.uint64], n_tokens: npt.NDArray[np.int64], settled: Settled, pairs: Pairs,
                   jaccard: npt.NDArray[np.float64] | None, timings: dict[str, float],
                   reference: dict[str, Any] | None = None) -> DedupResult:
    """The :class:`DedupResult` of documents whose links are settled (:func:`simdup.clustering.settle`)."""
    return DedupResult(fps, n_tokens, settled.labels, settled.representative,
                       settled.representative == np.arange(len(fps)), settled.distance, pairs, jaccard, timings,
                       settled.evidence, settled.kept_reference, reference)


def empty_result(timings: dict[str, float] | None = None) -> DedupResult:
    """The result of no documents."""
    empty = np.empty(0, np.int64)
    fps = np.empty(0, np.uint64)
    return settled_result(fps, empty, settle(fps, empty, empty, np.empty(0, np.uint8), None),
                          Pairs(empty, empty, np.empty(0, np.uint8)), None, timings or {})


def document_length(doc: object) -> int:
    # A (page, content_type) pair (HTML input) is as long as its page.
    return len(doc[0] if isinstance(doc, tuple) else doc)  # type: ignore[arg-type]


def check_verify(verify: object) -> float | None:
    """Return ``verify`` if it is None or a Jaccard threshold in [0, 1], else raise."""
    if verify is not None and (isinstance(verify, bool) or not isinstance(verify, (int, float))
                               or not 0.0 <= verify <= 1.0):
        raise ValueError(f"verify must be a Jaccard threshold in [0, 1] or None, got {verify!r}")
    return verify


def _progress_iter(docs: Sequence[str | bytes], progress: ProgressFactory | None, desc: str) -> Iterable:
    if progress is None:
        return docs
    return progress(docs, total=len(docs), desc=desc, unit="doc")


def fingerprint_with_progress(hasher: SimHasher, docs: Sequence[str | bytes], progress: ProgressFactory | None,
                              chunk: int = 8192) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """``hasher.transform(docs, return_n_tokens=True)``, reporting progress by chunk."""
    if progress is None:
        return hasher.transform(docs, return_n_tokens=True)  # type: ignore[return-value]
    bar = progress(total=len(docs), desc="fingerprinting", unit="doc")
    fps, tokens = [], []
    try:
        for start in range(0, len(docs), chunk):
            f, t = hasher.transform(docs[start:start + chunk], return_n_tokens=True)
            fps.append(f)
            tokens.append(t)
            bar.update(len(f))
    finally:
        bar.close()
    if not fps:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    return np.concatenate(fps), np.concatenate(tokens)


def _links(fps: npt.NDArray[np.uint64], n_tokens: npt.NDArray[np.int64], k: int,
           progress: ProgressFactory | None = None, threads: int = 1) -> Pairs:
    """Near-duplicate links, joining each distinct fingerprint once.

    Identical fingerprints are linked to their group's first document (a star,
    not all m*(m-1)/2 pairs); distinct fingerprints within ``k`` are linked
    through their groups' first documents (:func:`verify_links` adds the
    links a group's other texts need). Token-less documents are left out.
    """
    candidates = np.flatnonzero(n_tokens > 0)
    unique, first_doc, star_i, star_j = group_identical(fps[candidates], candidates)
    ui, uj, ud = threaded_join(unique, k, progress, threads)
    gi, gj = first_doc[ui], first_doc[uj]
    i = np.concatenate([star_i, np.minimum(gi, gj)])
    j = np.concatenate([star_j, np.maximum(gi, gj)])
    d = np.concatenate([np.zeros(len(star_i), np.uint8), ud])
    order = np.lexsort((j, i))
    return Pairs(i[order], j[order], d[order])


JaccardFunction = Callable[[npt.NDArray[np.int64], npt.NDArray[np.int64]], npt.NDArray[np.float64]]


def _verified(hasher: SimHasher, docs: Sequence[str | bytes], pairs: Pairs, threshold: float,
              shingle_size: ShingleSize) -> tuple[Pairs, npt.NDArray[np.float64]]:
    """The links whose shingle Jaccard reaches ``threshold``, and their Jaccard."""
    return verify_links(pairs, threshold, lambda i, j: shingle_jaccard(hasher, docs, i, j, shingle_size))


def verify_links(pairs: Pairs, threshold: float, jaccard: JaccardFunction
                 ) -> tuple[Pairs, npt.NDArray[np.float64]]:
    """The links whose Jaccard (``jaccard(i, j)``) reaches ``threshold``, sorted, with their Jaccard.

    Parameters
    ----------
    pairs : Pairs
        Links from :func:`_links`: star links (distance 0) from each group of
        identical fingerprints' first document, its head, to the group's other
        documents; and links (distance > 0) between the heads of groups whose
        fingerprints are within ``k``.
    threshold : float
    jaccard : callable
        ``jaccard(i, j)``: the Jaccard of each pair of documents.

    Returns
    -------
    (Pairs, ndarray of float64)
        The links that pass, sorted by ``(i, j)``, each once, and their Jaccard.

    Notes
    -----
    Checking only the join's links would trust a fingerprint to stand for
    one text, and it need not (the same words in another order). So:

    1. Stars. A member that fails its star link is not the head's text; the
       failed members of a group are linked to the first of them, a new hub,
       and checked again, round after round (:func:`relink_rounds`). A group
       ends up split into subgroups, each linked to its hub: the head, then
       each document that failed every earlier hub. Which documents are hubs
       depends only on the texts within the group.
    2. Across groups. The join compared two groups through their heads only,
       yet each hub stands for a text of its own: every other pair of hubs
       of two joined groups (:func:`hub_links`, with the join's distance) is
       checked in one more call. Hubs are final after step 1, so no round
       can make new ones and one call is enough.

    Each link is (hub, member) within a group or (hub, hub) across two, so
    no two steps issue the same pair. Without text shared under one
    fingerprint there are no later hubs and this is the join's links checked.
    """
    i, j, d = pairs.i, pairs.j, pairs.distance
    jac = jaccard(i, j) if len(i) else np.empty(0, np.float64)
    ok = jac >= threshold
    failed_star = ~ok & (d == 0)
    stars, star_jaccard, heads, hubs = relink_rounds(i[failed_star], j[failed_star], threshold, jaccard)
    kept_i, kept_j, kept_d, kept_jac = [i[ok], stars.i], [j[ok], stars.j], [d[ok], stars.distance], \
        [jac[ok], star_jaccard]
    cross = hub_links(pairs, heads, hubs)
    if len(cross.i):
        jac = jaccard(cross.i, cross.j)
        ok = jac >= threshold
        kept_i.append(cross.i[ok])
        kept_j.append(cross.j[ok])
        kept_d.append(cross.distance[ok])
        kept_jac.append(jac[ok])
    i, j = np.concatenate(kept_i).astype(np.int64), np.concatenate(kept_j).astype(np.int64)
    d, jac = np.concatenate(kept_d).astype(np.uint8), np.concatenate(kept_jac).astype(np.float64)
    order = np.lexsort((j, i))
    return Pairs(i[order], j[order], d[order]), jac[order]


def relink_rounds(head: npt.NDArray[np.int64], member: npt.NDArray[np.int64], threshold: float,
                  jaccard: JaccardFunction) -> tuple[Pairs, npt.NDArray[np.float64], npt.NDArray[np.int64],
                                                     npt.NDArray[np.int64]]:
    """The later rounds of the star links that failed, ``(head, member)``, for whole groups.

    Each round, the failed members of a star are linked to the first
    (smallest-numbered) of them, their new hub, and checked; those that fail
    again go to the next round. A lone failed member is a hub with no star.

    Returns
    -------
    (Pairs, ndarray of float64, ndarray of int64, ndarray of int64)
        The star links that pass (distance 0) and their Jaccard, unsorted;
        and the later hubs: each new hub (``hubs``) with its group's head
        (``heads``), for :func:`hub_links`.
    """
    kept_i, kept_j, kept_jac = [np.empty(0, np.int64)], [np.empty(0, np.int64)], [np.empty(0, np.float64)]
    new_heads, new_hubs = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
    hub = head = np.asarray(head, dtype=np.int64)
    member = np.asarray(member, dtype=np.int64)
    while len(member):
        order = np.lexsort((member, hub))
        hub, member, head = hub[order], member[order], head[order]
        first = np.r_[True, hub[1:] != hub[:-1]]
        new_heads.append(head[first])
        new_hubs.append(member[first])
        # (hub < member: the new hub is its star's smallest member)
        hub, member, head = member[first][np.cumsum(first) - 1][~first], member[~first], head[~first]
        if not len(member):
            break
        jac = jaccard(hub, member)
        ok = jac >= threshold
        kept_i.append(hub[ok])
        kept_j.append(member[ok])
        kept_jac.append(jac[ok])
        hub, member, head = hub[~ok], member[~ok], head[~ok]
    i, j = np.concatenate(kept_i), np.concatenate(kept_j)
    return (Pairs(i, j, np.zeros(len(i), np.uint8)), np.concatenate(kept_jac).astype(np.float64),
            np.concatenate(new_heads), np.concatenate(new_hubs))


def hub_links(pairs: Pairs, heads: npt.NDArray[np.int64], hubs: npt.NDArray[np.int64]) -> Pairs:
    """The links between the hubs of joined groups that the join did not give.

    ``pairs`` holds the join's links between two groups' heads (distance > 0;
    star links, distance 0, are skipped); ``hubs`` the later hubs of the
    groups, each with its group's ``head`` (:func:`relink_rounds`). Each link
    ``(a, b, d)`` between heads gives ``(x, y, d)`` for every hub ``x`` of
    ``a``'s group (``a`` first) and ``y`` of ``b``'s, except ``(a, b)``
    itself; ``x`` and ``y`` have the fingerprints of ``a`` and ``b``, so the
    distance is ``d``. Each pair once (a document is a hub of one group),
    ``i < j``, sorted by ``(i, j)``.
    """
    empty = Pairs(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.uint8))
    if not len(hubs):  # (the usual case: no fingerprint shared by different texts)
        return empty
    cross = pairs.distance > 0
    i, j, d = pairs.i[cross].astype(np.int64), pairs.j[cross].astype(np.int64), pairs.distance[cross]
    order = np.lexsort((hubs, heads))
    heads, hubs = np.asarray(heads, np.int64)[order], np.asarray(hubs, np.int64)[order]
    groups, start, count = np.unique(heads, return_index=True, return_counts=True)

    def later_hubs(x: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        # Where x's later hubs start in `hubs`, and how many hubs x's group has (x included).
        at, found = find_sorted(groups, x)
        return np.where(found, start[at], 0), np.where(found, count[at] + 1, 1)

    start_i, n_i = later_hubs(i)
    start_j, n_j = later_hubs(j)
    row = np.flatnonzero(n_i * n_j > 1)
    if not len(row):
        return empty
    # Each such link expands to its n_i * n_j pairs of hubs: offset t = a * n_j + b, hub a of i and b of j.
    total = n_i[row] * n_j[row]
    row = np.repeat(row, total)
    t = np.arange(len(row)) - np.repeat(np.cumsum(total) - total, total)
    row, t = row[t > 0], t[t > 0]  # t = 0 is the heads' link itself
    a, b = t // n_j[row], t % n_j[row]
    x = np.where(a == 0, i[row], hubs[start_i[row] + a - 1])
    y = np.where(b == 0, j[row], hubs[start_j[row] + b - 1])
    lo, hi = np.minimum(x, y), np.maximum(x, y)
    order = np.lexsort((hi, lo))
    return Pairs(lo[order], hi[order], d[row][order])


def shingle_jaccard(hasher: SimHasher, docs: Sequence[str | bytes], i: npt.ArrayLike, j: npt.ArrayLike,
                    shingle_size: ShingleSize = DEFAULT_SHINGLE_SIZE) -> npt.NDArray[np.float64]:
    """Exact Jaccard similarity of the shingle sets of pairs ``(i, j)`` (see :func:`shingle_sets`).

    Only the documents named in a pair are shingled.
    """
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    check_shingle_size(shingle_size)
    needed = np.unique(np.concatenate([i, j]))
    row = np.full(len(docs), -1, dtype=np.int64)
    row[needed] = np.arange(len(needed))
    indptr, terms = shingle_sets(hasher, [docs[x] for x in needed.tolist()], shingle_size)
    return _core.jaccard_pairs(indptr, terms, row[i], row[j])


def check_shingle_size(shingle_size: object) -> tuple[int, int]:
    """``(words, characters)`` from ``shingle_size``: an int (word size) or such a pair; else raise."""
    sizes = (shingle_size, DEFAULT_SHINGLE_SIZE[1]) if isinstance(shingle_size, (int, np.integer)) else shingle_size
    if (not isinstance(sizes, (tuple, list)) or len(sizes) != 2
            or not all(is_int(x) and 1 <= x <= _core.MAX_NGRAM for x in sizes)):
        raise ValueError(f"shingle_size must be an int in [1, {_core.MAX_NGRAM}] or a pair of them (words, characters), "
                         f"got {shingle_size!r}")
    return int(sizes[0]), int(sizes[1])


def shingle_sets(hasher: SimHasher, docs: Sequence[object], shingle_size: ShingleSize = DEFAULT_SHINGLE_SIZE
                 ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64]]:
    """Each document's distinct shingle hashes, ascending, as CSR ``(indptr, terms)``.

    With ``shingle_size = (words, characters)``, default (3, 5): a text whose
    non-space characters are at least 20 % characters of scripts written
    without spaces (Chinese, Japanese, Thai, ...) gives the character
    n-grams of its non-space characters (punctuation included, white space
    skipped); any other text the word n-grams of its words (runs of letters,
    numbers and marks). A text shorter than its size is represented by its
    characters or words. The text is the hasher's (decoded, HTML extracted,
    folded as the hasher folds) but not its tokenizer's: verification does
    not depend on a word segmenter.
    """
    words, chars = check_shingle_size(shingle_size)
    prepare = hasher._preparer()
    return text_shingle_sets([prepare.text_bytes(doc) for doc in docs], words, chars, prepare.shingle_flags)


def text_shingle_sets(texts: list[bytes], words: int, chars: int, flags: int
                      ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64]]:
    """:func:`shingle_sets` of texts already prepared (``Preparer.text_bytes``), with the preparer's shingle flags."""
    indptr, terms = _core.doc_terms(texts, words, words, flags, chars)
    terms = np.array(terms, dtype=np.uint64)
    # One sort a document: ten times faster than a lexsort on (row, term) over all of them.
    for start, stop in zip(indptr[:-1].tolist(), indptr[1:].tolist()):
        terms[start:stop].sort()
    return indptr, terms
