"""Token weights (fingerprint spec step 5): scikit-learn's IDF from document frequencies, bounded and quantised.

:func:`idf_from_df` is scikit-learn's IDF without its documents-by-terms
matrix; :func:`fit_idf_table` bounds it (``idf_cap_df``), drops rare tokens
(``min_df``) and quantises it into the :class:`IdfTable` a fingerprint reads.
A saved model holds that table (:mod:`simdup._model_file`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

IDF_SCALE = 1 << 16
"""IDF values are stored and used as integer multiples of ``1 / IDF_SCALE``."""


class IdfTable(NamedTuple):
    """A fitted IDF table as fingerprints use it: quantised, and the weight of every other token.

    Attributes
    ----------
    vocabulary : ndarray of uint64
        Token hashes, sorted and distinct: the tokens that weigh less than
        an unseen token (the rest weigh as unseen tokens do).
    idf_q : ndarray of uint32
        Their IDF times :data:`IDF_SCALE`, rounded half up, at least 1.
    unseen_q : int
        The quantised IDF of a token not in ``vocabulary``.
    n_docs : int
        Number of documents the IDF was learnt from.
    """

    vocabulary: npt.NDArray[np.uint64]
    idf_q: npt.NDArray[np.uint32]
    unseen_q: int
    n_docs: int


def uniform_table(n_docs: int = 0) -> IdfTable:
    """The table of ``use_idf=False``: every token weighs 1."""
    return IdfTable(np.empty(0, np.uint64), np.empty(0, np.uint32), IDF_SCALE, int(n_docs))


def idf_from_df(df: npt.ArrayLike, n_docs: int, smooth_idf: bool = True) -> npt.NDArray[np.float64]:
    """scikit-learn's IDF from document frequencies, operation for operation.

    ``TfidfTransformer`` computes ``ln((n + s) / (df + s)) + 1`` (``s = 1``
    with ``smooth_idf``) in float64; this does the same steps in the same
    order, so the IDF is bit for bit ``TfidfTransformer().fit(counts).idf_``
    (tested against scikit-learn), without building the documents-by-terms
    matrix: :meth:`simdup.SimHasher.fit` counts document frequencies with one
    sort, and a distributed corpus never has that matrix in one place.
    """
    idf = np.asarray(df, dtype=np.float64) + float(smooth_idf)
    idf = np.full_like(idf, n_docs + int(smooth_idf)) / idf
    np.log(idf, out=idf)
    idf += 1.0
    return idf


def quantize(idf: npt.ArrayLike) -> npt.NDArray[np.uint32]:
    """IDF values as integer multiples of ``1 / IDF_SCALE``, rounded half up; at least 1, so no token weighs zero."""
    return np.maximum(np.floor(np.asarray(idf, dtype=np.float64) * IDF_SCALE + 0.5), 1).astype(np.uint32)


def fit_idf_table(vocabulary: npt.NDArray[np.uint64], df: npt.ArrayLike, n_docs: int, *, smooth_idf: bool,
                  min_df: int, idf_cap_df: float | None) -> IdfTable:
    """The table for tokens ``vocabulary`` found in ``df`` of ``n_docs`` documents each.

    Tokens in fewer than ``min_df`` documents are left out. With
    ``idf_cap_df=p`` no token weighs more than a token in a share ``p`` of
    the documents (at least one), and an unseen token weighs that cap;
    without it, an unseen token weighs as a token in no document would.
    """
    keep = np.asarray(df) >= min_df
    idf = idf_from_df(df, n_docs, smooth_idf)[keep]
    vocabulary = np.asarray(vocabulary)[keep]
    # An unseen token weighs as a token in no document would: the largest IDF,
    # unless the cap bounds it (then every token rarer than the cap weighs the cap).
    unseen = float(idf_from_df([0], n_docs, smooth_idf)[0]) if smooth_idf else float(np.log(n_docs) + 1)
    if idf_cap_df is not None:
        cap = float(idf_from_df([max(1.0, idf_cap_df * n_docs)], n_docs, smooth_idf)[0])
        idf = np.minimum(idf, cap)
        unseen = min(unseen, cap)
    idf_q, unseen_q = quantize(idf), int(quantize([unseen])[0])
    # Tokens at the cap weigh what an unseen token weighs: the table leaves them out
    # (with the default cap, most of a corpus's vocabulary).
    below = idf_q < unseen_q
    return IdfTable(np.ascontiguousarray(vocabulary[below], dtype=np.uint64), idf_q[below], unseen_q, int(n_docs))
