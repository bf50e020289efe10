"""Weighted 64-bit SimHash fingerprints: the fingerprint spec and the :class:`SimHasher` estimator.

Fingerprint spec, version 2
---------------------------
0. **HTML** (``input="auto"``, the default, on a document that starts like
   HTML; or ``input="html"``). Bytes are decoded with the charset of a BOM,
   the HTTP ``Content-Type`` given with the page, the ``<meta>`` tag, or
   detection (:mod:`simdup.text.charset`); the page's main content
   (``html_content="main"``) or all its visible text (``"all"``) is extracted
   (:mod:`simdup.text.html`), and that text goes on to step 1. The extracted text
   depends on the extraction library's version as well as on this spec: pin
   it where fingerprints must stay comparable over time.
1. **Text.** ``bytes`` are decoded as UTF-8 (invalid bytes per
   ``encoding_errors``, by default replaced by U+FFFD).
2. **Fold.** Each code point is replaced by its compatibility decomposition
   (NFKD) of Unicode 15.1; with ``lowercase``, the result is lower-cased and
   decomposed again until nothing changes; default-ignorable code points (soft
   hyphen, zero-width characters, variation selectors, ...) vanish. With
   ``fold_traditional`` each Traditional Chinese character then becomes its
   Simplified form (OpenCC's one-character t2s mapping). So full-width and
   half-width forms, ligatures, precomposed and decomposed accents, case, and
   Traditional and Simplified characters fingerprint alike. The tables are
   generated from one Unicode version (``scripts/gen_unicode_tables.py``) and
   compiled in: fingerprints do not depend on the Python that computes them.
3. **Terms.** A character is a *word character* when its general category is
   a letter, number or mark (L*, N*, M*), an *unspaced character* when it is
   such a character of a script written without spaces (Han, kana, Thai,
   Lao, Khmer, Myanmar, Tibetan, ...: the blocks listed in the generator),
   and a separator otherwise. Terms, in text order, are the words (maximal
   runs of word characters) and, for each maximal run of unspaced characters,
   its overlapping character bigrams (a run of one character gives that
   character). ``tokenizer="words"`` counts unspaced characters as word
   characters; ``tokenizer="chinese"`` segments the text with jieba or rjieba
   first and the segment boundaries also separate words; a callable's tokens
   are folded and taken as terms.
4. **Tokens and hashes.** A term hashes to XXH64 (seed 0) of its folded
   UTF-8. For ``ngram_range=(lo, hi)`` the tokens are the n-grams of
   consecutive terms for every n in lo..hi; an n-gram of n >= 2 terms hashes
   to XXH64 (seed 0) of its terms' hashes written as n little-endian 8-byte
   words.
5. **Weights.** A distinct token t with count tf in the document weighs
   ``w = floor(f(tf) * idf_q(t) + 0.5)``, an integer, where f(tf) is tf
   (raw), ``1 + ln(tf)`` (``sublinear_tf``) or 1 (``binary``), and ``idf_q``
   is the IDF scaled by 2**16 and rounded half up (1.0 for every token when
   ``use_idf=False``). The IDF is scikit-learn's, ``ln((1 + n) / (1 + df)) +
   1``, **bounded**: with ``idf_cap_df=p`` no token weighs more than a token
   in a share p of the documents (at least one), and a token unseen at fit
   time weighs that cap. IDF still damps what is common (stop words, site
   templates), but a typo, an OCR error or a changed character, whose new
   tokens are rare, cannot outweigh the document's ordinary content words.
6. **Bits.** Bit b of the fingerprint (the bit of value ``2**b``) is 1 where
   ``sum(w if bit b of hash(t) is 1 else -w)`` over the document's distinct
   tokens is strictly positive; a tie (sum 0) gives 0.

Integer weights make the sums exact and order-free, so the same input and
parameters give the same fingerprint in every process and on every platform.
A document without tokens (empty, only punctuation or emoji) has every sum 0,
so its fingerprint is 0; ``transform(..., return_n_tokens=True)`` tells such
documents apart. Models and indexes record the spec version
(:data:`SPEC_VERSION`); files of another version are refused.

Version 1 (simdup 0.1) differed in steps 2-5: lower-casing by the running
Python's ``str.lower``, no fold, word-character table from the running
Python's ``unicodedata``, Chinese documents segmented by jieba by default,
and an unbounded IDF with unseen tokens at ``ln(1 + n) + 1``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt

from . import _core, _model_file
from ._estimator import Estimator, NotFittedError, not_fitted
from ._validation import check_flag
from .idf import IDF_SCALE, IdfTable, fit_idf_table, uniform_table
from .text.tokenize import (
    TEXT_PARAMETERS,
    TEXT_PARAMETERS_DOC,
    Preparer,
    TokenizerSpec,
    WebDocument,
    doc_block,
)

__all__ = ["SPEC_VERSION", "NotFittedError", "SimHasher"]

SPEC_VERSION: int = _core.SPEC_VERSION
"""Version of the fingerprint spec above; bumped whenever any fingerprint could change.

The one spec version of simdup: saved models and indexes record it, and
refuse files of another version.
"""

_TF_RAW, _TF_SUBLINEAR, _TF_BINARY = (_core.TF_MODES["raw"], _core.TF_MODES["sublinear"], _core.TF_MODES["binary"])
_CHUNK = 4096  # documents prepared per core call: bounds memory on long streams


class SimHasher(Estimator):
    __doc__ = f"""Weighted 64-bit SimHash of documents, with TF-IDF token weights.

    A scikit-learn estimator (without depending on scikit-learn:
    :mod:`simdup._estimator`): parameters in ``__init__``, ``get_params`` /
    ``set_params``, ``sklearn.base.clone`` and ``check_is_fitted`` work;
    :meth:`fit` learns the IDF table, :meth:`transform` returns a ``uint64``
    array. For a ready-made model use :meth:`SimHasher.default`.

    Parameters
    ----------
    {doc_block(TEXT_PARAMETERS_DOC)}
    ngram_range : tuple (lo, hi), default=(1, 1)
        Term n-grams used as tokens, as in scikit-learn: (1, 2) means terms
        and term pairs. ``1 <= lo <= hi <= 16``.
    use_idf : bool, default=True
        Weight tokens by inverse document frequency learnt by :meth:`fit`.
        Without it the hasher needs no fitting.
    smooth_idf : bool, default=True
        ``idf = ln((1 + n) / (1 + df)) + 1`` as in scikit-learn; else
        ``ln(n / df) + 1``.
    sublinear_tf : bool, default=False
        Term frequency ``1 + ln(tf)`` instead of raw ``tf``. Raw counts keep
        a document's weight on the terms it repeats, which scattered edits
        rarely touch: on edited copies raw TF lands far more copies within 3
        bits (``benchmarks/README.md``, fingerprint spec v2).
    binary : bool, default=False
        Term frequency 1 for every token present (overrides ``sublinear_tf``).
    min_df : int, default=1
        Tokens in fewer documents than this are left out of the IDF table
        (they then weigh as unseen tokens).
    idf_cap_df : float or None, default=0.1
        Bound on the IDF (spec step 5): tokens in fewer than this share of
        the fitted documents, and unseen tokens, all weigh the IDF of a token
        in exactly this share (at least one document). None: scikit-learn's
        unbounded IDF, with unseen tokens at ``ln(1 + n_docs) + 1``.

    The text parameters (``tokenizer`` to ``html_content``) are
    :class:`simdup.text.tokenize.Preparer`'s: defined, checked and
    documented there.

    Attributes
    ----------
    vocabulary_ : ndarray of uint64
        Hashes of the tokens in the IDF table (sorted): the tokens that weigh
        less than an unseen token (the rest weigh as unseen tokens do).
    idf_ : ndarray of float64
        Their IDF, as quantised into the fingerprint (multiples of 2**-16).
    unseen_idf_ : float
        IDF of a token not in the table.
    n_docs_ : int
        Number of documents the IDF was learnt from.

    Raises
    ------
    ValueError
        From :meth:`fit`, :meth:`transform` and the other methods that use
        them, for a parameter outside its documented values (not from
        ``__init__`` or ``set_params``, as scikit-learn wants).
    NotFittedError
        Fingerprinting with ``use_idf=True`` before :meth:`fit`.
    """

    # Text parameters default to Preparer's (one definition); the others are the hasher's own.
    def __init__(
        self,
        *,
        tokenizer: TokenizerSpec = Preparer.tokenizer,
        segmenter: str = Preparer.segmenter,
        ngram_range: tuple[int, int] = (1, 1),
        lowercase: bool = Preparer.lowercase,
        fold_traditional: bool = Preparer.fold_traditional,
        use_idf: bool = True,
        smooth_idf: bool = True,
        sublinear_tf: bool = False,
        binary: bool = False,
        min_df: int = 1,
        idf_cap_df: float | None = 0.1,
        encoding_errors: str = Preparer.encoding_errors,
        input: str = Preparer.input,
        html_content: str = Preparer.html_content,
    ) -> None:
        self.tokenizer = tokenizer
        self.segmenter = segmenter
        self.ngram_range = ngram_range
        self.lowercase = lowercase
        self.fold_traditional = fold_traditional
        self.use_idf = use_idf
        self.smooth_idf = smooth_idf
        self.sublinear_tf = sublinear_tf
        self.binary = binary
        self.min_df = min_df
        self.idf_cap_df = idf_cap_df
        self.encoding_errors = encoding_errors
        self.input = input
        self.html_content = html_content

    # -- parameters -------------------------------------------------------------------

    def _preparer(self) -> Preparer:
        """The text parameters as a :class:`Preparer`, after checking every parameter."""
        # Every path from parameters to the core passes here (shingle_sets too,
        # which never calls transform): a string such as "no" must not reach
        # the core as a truthy flag.
        self._check_params()
        return self._text_parameters()

    def _text_parameters(self) -> Preparer:
        return Preparer(**{name: getattr(self, name) for name in TEXT_PARAMETERS})  # Preparer checks them

    def _check_params(self) -> tuple[int, int]:
        """Check every parameter (``ValueError`` naming the first bad one); the n-gram range ``(lo, hi)``."""
        self._text_parameters()
        ngram = self.ngram_range
        if (
            not isinstance(ngram, (tuple, list))
            or len(ngram) != 2
            # Python ints only: parameters are saved as JSON, which has no numpy integers.
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in ngram)
            or not 1 <= ngram[0] <= ngram[1] <= _core.MAX_NGRAM
        ):
            raise ValueError(f"ngram_range must be (lo, hi) with 1 <= lo <= hi <= {_core.MAX_NGRAM}, got {ngram!r}")
        if not isinstance(self.min_df, int) or isinstance(self.min_df, bool) or self.min_df < 1:
            raise ValueError(f"min_df must be an int >= 1, got {self.min_df!r}")
        cap = self.idf_cap_df
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, (int, float)) or not 0 < cap <= 1):
            raise ValueError(f"idf_cap_df must be a fraction in (0, 1] or None, got {cap!r}")
        for name in ("use_idf", "smooth_idf", "sublinear_tf", "binary"):
            check_flag(getattr(self, name), name)
        return int(ngram[0]), int(ngram[1])

    def _tf_mode(self) -> int:
        if self.binary:
            return _TF_BINARY
        return _TF_SUBLINEAR if self.sublinear_tf else _TF_RAW

    # -- scikit-learn protocol --------------------------------------------------------

    def __sklearn_is_fitted__(self) -> bool:
        """True once the hasher can fingerprint (fitted, or ``use_idf=False``)."""
        return not self.use_idf or "_weights" in self.__dict__

    def __sklearn_tags__(self) -> Any:
        """A transformer of strings (documents), as scikit-learn's text vectorizers."""
        from sklearn.utils import TransformerTags  # only scikit-learn calls this

        tags = super().__sklearn_tags__()
        tags.transformer_tags = TransformerTags()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags

    # -- fitting -------------------------------------------------------------------

    def fit(self, docs: Iterable[WebDocument], y: object = None) -> SimHasher:
        """Learn the IDF table from ``docs`` (scikit-learn's smooth IDF, then capped).

        Parameters
        ----------
        docs : iterable of str or bytes (or ``(page, content_type)`` pairs for HTML input)
        y : ignored

        Returns
        -------
        self
        """
        self._check_params()
        return self._fit_prepared(self._prepare(docs))

    def _prepare(self, docs: Iterable[object]) -> list[bytes]:
        """The UTF-8 text the core tokenizes, for each document."""
        prepare = self._preparer()
        return [prepare(doc) for doc in _documents(docs)]

    def _fit_prepared(self, prepared: list[bytes]) -> SimHasher:
        lo, hi = self._check_params()
        if not self.use_idf:
            return self._fit_frequencies(np.empty(0, np.uint64), np.empty(0, np.int64), len(prepared))
        if not prepared:
            raise ValueError("fit needs at least one document")
        # Each document's distinct tokens once: the counts of the sorted hashes are the
        # document frequencies (a sort with counts, ~20x faster than building the
        # documents-by-terms matrix scikit-learn's TfidfTransformer would count them from).
        _, terms = _core.doc_terms(prepared, lo, hi, self._preparer().flags)
        vocabulary, df = np.unique(terms, return_counts=True)
        return self._fit_frequencies(vocabulary, df, len(prepared))

    def _fit_frequencies(self, vocabulary: npt.NDArray[np.uint64], df: npt.NDArray[np.int64],
                         n_docs: int) -> SimHasher:
        """Fit from token document frequencies counted elsewhere (per partition, by :mod:`simdup.distributed`).

        ``vocabulary`` holds distinct token hashes, ``df`` how many of the
        ``n_docs`` documents hold each. Gives the same model as :meth:`fit`
        on those documents.
        """
        self._check_params()
        if not self.use_idf:
            self._set_idf(*uniform_table(n_docs))
            return self
        if n_docs < 1:
            raise ValueError("fit needs at least one document")
        self._set_idf(*fit_idf_table(vocabulary, df, n_docs, smooth_idf=self.smooth_idf, min_df=self.min_df,
                                     idf_cap_df=self.idf_cap_df))
        return self

    def _set_idf(self, vocabulary: np.ndarray, idf_q: np.ndarray, unseen_q: int, n_docs: int) -> None:
        """Install a fitted IDF table (the fields of an :class:`~simdup.idf.IdfTable`)."""
        vocabulary = np.ascontiguousarray(vocabulary, dtype=np.uint64)
        idf_q = np.ascontiguousarray(idf_q, dtype=np.uint32)
        self._weights = _core.TermWeights(vocabulary, idf_q, unseen_q)
        self._vocabulary, self._idf_q, self._unseen_q = vocabulary, idf_q, int(unseen_q)
        self.n_docs_ = int(n_docs)

    @property
    def vocabulary_(self) -> npt.NDArray[np.uint64]:
        return self._fitted()._vocabulary

    @property
    def idf_(self) -> npt.NDArray[np.float64]:
        return self._fitted()._idf_q / IDF_SCALE

    @property
    def unseen_idf_(self) -> float:
        return self._fitted()._unseen_q / IDF_SCALE

    def _fitted(self) -> SimHasher:
        if "_weights" not in self.__dict__:
            raise not_fitted(
                "this SimHasher is not fitted: call fit(docs) first, use SimHasher.default(), "
                "or pass use_idf=False"
            )
        return self

    def _term_weights(self) -> _core.TermWeights:
        if not self.use_idf:
            return _UNIFORM_WEIGHTS
        return self._fitted()._weights

    # -- fingerprints ----------------------------------------------------------------

    def transform(
        self, docs: Iterable[WebDocument], return_n_tokens: bool = False
    ) -> npt.NDArray[np.uint64] | tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
        """Fingerprint each document.

        Parameters
        ----------
        docs : iterable of str or bytes (or ``(page, content_type)`` pairs for HTML input)
            Any iterable, consumed once; a generator is read in chunks.
        return_n_tokens : bool, default=False
            Also return each document's token count (0 for a document whose
            fingerprint is 0 because it has no tokens).

        Returns
        -------
        fingerprints : ndarray of uint64, shape (n_docs,)
        n_tokens : ndarray of int64, shape (n_docs,)
            Only with ``return_n_tokens=True``.
        """
        self._check_params()
        self._term_weights()  # fail early when not fitted
        parts = [self._transform_prepared(self._prepare(chunk)) for chunk in _chunks(_documents(docs), _CHUNK)]
        fps = np.concatenate([p[0] for p in parts]) if parts else np.empty(0, np.uint64)
        if return_n_tokens:
            return fps, (np.concatenate([p[1] for p in parts]) if parts else np.empty(0, np.int64))
        return fps

    def _transform_prepared(self, prepared: list[bytes]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
        lo, hi = self._check_params()
        fps = np.empty(len(prepared), dtype=np.uint64)
        n_tokens = np.empty(len(prepared), dtype=np.int64)
        _core.fingerprint_batch(prepared, self._term_weights(), lo, hi, self._tf_mode(),
                                self._preparer().flags, fps, n_tokens)
        return fps, n_tokens

    def fit_transform(self, docs: Iterable[WebDocument], y: object = None) -> npt.NDArray[np.uint64]:
        """Fit on ``docs`` and fingerprint them, tokenizing each document once."""
        self._check_params()
        prepared = self._prepare(docs)
        return self._fit_prepared(prepared)._transform_prepared(prepared)[0]

    @overload
    def fingerprint(self, doc: str | bytes, content_type: str | None = None, *,
                    return_n_tokens: Literal[False] = False) -> int: ...
    @overload
    def fingerprint(self, doc: str | bytes, content_type: str | None = None, *,
                    return_n_tokens: Literal[True]) -> tuple[int, int]: ...
    def fingerprint(self, doc: str | bytes, content_type: str | None = None, *,
                    return_n_tokens: bool = False) -> int | tuple[int, int]:
        """Fingerprint of one document, as a Python int in ``[0, 2**64)``.

        Parameters
        ----------
        doc : str or bytes
        content_type : str, optional
            For HTML input: the HTTP ``Content-Type`` header value, whose
            ``charset`` decodes a bytes page (ignored for text input).
        return_n_tokens : bool, default=False
            Return ``(fingerprint, n_tokens)``: 0 tokens marks a token-less
            document (fingerprint 0), which is never a near-duplicate.
        """
        if not isinstance(doc, (str, bytes, bytearray, memoryview)):
            raise TypeError(f"a document must be str or bytes, got {type(doc).__name__}")
        item: WebDocument = (doc, content_type) if content_type is not None and self.input != "text" else doc
        if return_n_tokens:
            fps, n_tokens = self.transform([item], return_n_tokens=True)
            return int(fps[0]), int(n_tokens[0])
        return int(self.transform([item])[0])

    # -- persistence -------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fitted model to ``path`` (an ``.npz`` archive, written atomically).

        The file holds plain arrays and JSON, never pickled objects (format:
        :mod:`simdup._model_file`). A hasher with a callable tokenizer saves
        its name only; pass the callable again to :meth:`load`.
        """
        self._check_params()
        if self.use_idf:
            self._fitted()
        fitted = "_weights" in self.__dict__
        table = IdfTable(self._vocabulary, self._idf_q, self._unseen_q, self.n_docs_) if fitted else uniform_table()
        _model_file.write(path, self.get_params(deep=False), table)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, tokenizer: TokenizerSpec | None = None) -> SimHasher:
        """Read a model written by :meth:`save`.

        Parameters
        ----------
        path : path-like
        tokenizer : callable, optional
            Required when the model was saved with a callable tokenizer, and
            refused otherwise.

        Raises
        ------
        ValueError
            If the file is not a simdup model, is corrupted, or uses another
            fingerprint spec than this simdup implements.
        """
        params, table = _model_file.read(path, tokenizer=tokenizer)
        try:
            hasher = cls(**params)
            hasher._check_params()
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{os.fspath(path)}: corrupted simdup model ({exc})") from None
        hasher._set_idf(*table)
        return hasher

    # -- the embedded default ------------------------------------------------------------

    @classmethod
    def default(cls) -> SimHasher:
        """A ready-fitted hasher: the default parameters, IDF from real corpora.

        The IDF table was fitted on English newswire (Reuters-21578) and
        Chinese articles (the Fudan corpus) together (``simdup/data/README.md``);
        with the IDF cap it holds only the tokens common to many documents
        (stop words, common characters and bigrams), which it damps, and
        every other token weighs the cap. Each call returns a new hasher
        sharing the same read-only table.
        """
        params, table = _model_file.default_model()
        hasher = cls(**params)
        hasher._set_idf(*table)
        return hasher


# -- helpers ------------------------------------------------------------------------------

_UNIFORM_WEIGHTS = _core.TermWeights(*uniform_table()[:3])


def _documents(docs: object) -> Iterator[object]:
    if isinstance(docs, (str, bytes, bytearray, memoryview)):
        raise TypeError(
            "expected an iterable of documents, got a single document; "
            "use fingerprint(doc) or wrap it in a list"
        )
    try:
        return iter(docs)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(f"expected an iterable of documents, got {type(docs).__name__}") from None


def _chunks(items: Iterator[object], size: int) -> Iterator[list[object]]:
    while chunk := list(islice(items, size)):
        yield chunk
