"""Weighted 64-bit SimHash fingerprints: the :class:`SimHasher` estimator.

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
documents apart. Models and indexes record the spec version; files of
another version are refused.

Version 1 (simdup 0.1) differed in steps 2-5: lower-casing by the running
Python's ``str.lower``, no fold, word-character table from the running
Python's ``unicodedata``, Chinese documents segmented by jieba by default,
and an unbounded IDF with unseen tokens at ``ln(1 + n) + 1``.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import threading
from collections.abc import Iterable, Iterator
from importlib import resources
from itertools import islice
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt

from . import _core
from .text.html import check_input
from .io import atomic_write_bytes
from .text.tokenize import (
    Preparer,
    TokenizerSpec,
    WebDocument,
    check_encoding_errors,
    check_tokenizer,
)

SPEC_VERSION: int = _core.SPEC_VERSION
"""Version of the fingerprint spec above; bumped whenever any fingerprint could change."""

IDF_SCALE = 1 << 16
MODEL_FORMAT = "simdup.SimHasher"
_TF_RAW, _TF_SUBLINEAR, _TF_BINARY = 0, 1, 2
_CHUNK = 4096  # documents prepared per core call: bounds memory on long streams


class NotFittedError(ValueError, AttributeError):
    """The hasher needs ``fit`` (or :meth:`SimHasher.default`) before use."""


class SimHasher:
    """Weighted 64-bit SimHash of documents, with TF-IDF token weights.

    Follows scikit-learn's estimator conventions: parameters in ``__init__``,
    :meth:`fit` learns the IDF table, :meth:`transform` returns a ``uint64``
    array. For a ready-made model use :meth:`SimHasher.default`.

    Parameters
    ----------
    tokenizer : {"auto", "words", "chinese"} or callable, default="auto"
        How text splits into terms (spec step 3). "auto": words (runs of
        Unicode letters, numbers and marks), and overlapping character
        bigrams in scripts written without spaces (Chinese, Japanese, Thai,
        ...), which survive changed characters better than segmented words
        and need no segmenter. "words": words only. "chinese": segment with
        ``segmenter`` first, then words. A callable ``f(text) -> iterable of
        str`` gives the terms itself (they are folded, then hashed; a NUL
        character inside a token splits it).
    segmenter : {"jieba", "rjieba"}, default="jieba"
        Word segmenter of ``tokenizer="chinese"``. "rjieba" (``pip install
        'simdup[fast]'``) segments jieba's dictionary about 15 times faster
        with nearly the same words; fingerprints differ slightly from jieba's.
    ngram_range : tuple (lo, hi), default=(1, 1)
        Term n-grams used as tokens, as in scikit-learn: (1, 2) means terms
        and term pairs. ``1 <= lo <= hi <= 16``.
    lowercase : bool, default=True
        Fold case (spec step 2; the compatibility fold is always applied).
    fold_traditional : bool, default=True
        Fold Traditional Chinese characters to Simplified ones (spec step 2),
        so a copy converted to Traditional characters stays a near-duplicate.
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
    encoding_errors : str, default="replace"
        How invalid UTF-8 in ``bytes`` documents is handled: "replace" (each
        bad byte becomes U+FFFD, a word separator), "ignore", or "strict"
        (raise ``UnicodeDecodeError``, a ``ValueError``). For HTML input the
        same handler applies to the page's own charset.
    input : {"text", "html", "auto"}, default="auto"
        What the documents are. "text": plain text. "html": HTML pages,
        fingerprinted on their extracted main content (:mod:`simdup.text.html`);
        a document may then also be a ``(page,
        content_type)`` pair carrying the HTTP ``Content-Type`` header, whose
        charset decodes the bytes. "auto": HTML for documents that start with
        an HTML tag or doctype (:func:`simdup.text.html.looks_like_html`), text
        otherwise.
    html_content : {"main", "all"}, default="main"
        For HTML: fingerprint the main content (drops navigation, headers,
        footers and other boilerplate, so pages sharing only a site template
        are not near-duplicates) or all visible text.

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
    """

    def __init__(
        self,
        *,
        tokenizer: TokenizerSpec = "auto",
        segmenter: str = "jieba",
        ngram_range: tuple[int, int] = (1, 1),
        lowercase: bool = True,
        fold_traditional: bool = True,
        use_idf: bool = True,
        smooth_idf: bool = True,
        sublinear_tf: bool = False,
        binary: bool = False,
        min_df: int = 1,
        idf_cap_df: float | None = 0.1,
        encoding_errors: str = "replace",
        input: str = "auto",
        html_content: str = "main",
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

    # -- scikit-learn estimator protocol ------------------------------------------

    @classmethod
    def _param_names(cls) -> list[str]:
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters of this hasher, as scikit-learn's ``get_params``."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> SimHasher:
        """Set parameters, as scikit-learn's ``set_params``. Refit after changing them."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for SimHasher; valid: {valid}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults.get(k)]
        return f"SimHasher({', '.join(changed)})"

    def _check_params(self) -> tuple[int, int]:
        check_tokenizer(self.tokenizer, self.segmenter)
        check_encoding_errors(self.encoding_errors)
        check_input(self.input, self.html_content)
        ngram = self.ngram_range
        if (
            not isinstance(ngram, (tuple, list))
            or len(ngram) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in ngram)
            or not 1 <= ngram[0] <= ngram[1] <= 16
        ):
            raise ValueError(f"ngram_range must be (lo, hi) with 1 <= lo <= hi <= 16, got {ngram!r}")
        if not isinstance(self.min_df, int) or isinstance(self.min_df, bool) or self.min_df < 1:
            raise ValueError(f"min_df must be an int >= 1, got {self.min_df!r}")
        cap = self.idf_cap_df
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, (int, float)) or not 0 < cap <= 1):
            raise ValueError(f"idf_cap_df must be a fraction in (0, 1] or None, got {cap!r}")
        for name in ("lowercase", "fold_traditional", "use_idf", "smooth_idf", "sublinear_tf", "binary"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        return int(ngram[0]), int(ngram[1])

    def _preparer(self) -> Preparer:
        # Every path from parameters to the core passes here (shingle_sets too,
        # which never calls transform): a string such as "no" must not reach
        # the core as a truthy flag.
        self._check_params()
        return Preparer(self.tokenizer, self.segmenter, self.lowercase, self.encoding_errors,
                        self.input, self.html_content, self.fold_traditional)

    def _tf_mode(self) -> int:
        if self.binary:
            return _TF_BINARY
        return _TF_SUBLINEAR if self.sublinear_tf else _TF_RAW

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
        """Fit from token document frequencies counted elsewhere (by :mod:`simdup.dask`, per partition).

        ``vocabulary`` holds distinct token hashes, ``df`` how many of the
        ``n_docs`` documents hold each. Gives the same model as :meth:`fit`
        on those documents.
        """
        self._check_params()
        if not self.use_idf:
            self._set_idf(np.empty(0, np.uint64), np.empty(0, np.uint32), IDF_SCALE, n_docs)
            return self
        if n_docs < 1:
            raise ValueError("fit needs at least one document")
        return self._set_fitted(vocabulary, idf_from_df(df, n_docs, self.smooth_idf), df, n_docs)

    def _set_fitted(self, vocabulary: np.ndarray, idf: np.ndarray, df: np.ndarray, n_docs: int) -> SimHasher:
        keep = np.asarray(df) >= self.min_df
        # An unseen token weighs as a token in no document would: the largest IDF,
        # unless the cap bounds it (then every token rarer than the cap weighs the cap).
        unseen = float(idf_from_df([0], n_docs, self.smooth_idf)[0]) if self.smooth_idf else np.log(n_docs) + 1
        idf = np.asarray(idf, dtype=np.float64)[keep]
        vocabulary = vocabulary[keep]
        if self.idf_cap_df is not None:
            cap = float(idf_from_df([max(1.0, self.idf_cap_df * n_docs)], n_docs, self.smooth_idf)[0])
            idf = np.minimum(idf, cap)
            unseen = min(unseen, cap)
        idf_q, unseen_q = _quantize(idf), int(_quantize(np.array([unseen]))[0])
        # Tokens at the cap weigh what an unseen token weighs: the table leaves them out
        # (with the default cap, most of a corpus's vocabulary).
        below = idf_q < unseen_q
        self._set_idf(vocabulary[below], idf_q[below], unseen_q, n_docs)
        return self

    def __sklearn_is_fitted__(self) -> bool:
        """True once the hasher can fingerprint (fitted, or ``use_idf=False``)."""
        return not self.use_idf or "_weights" in self.__dict__

    def _set_idf(self, vocabulary: np.ndarray, idf_q: np.ndarray, unseen_q: int, n_docs: int) -> None:
        vocabulary = np.ascontiguousarray(vocabulary, dtype=np.uint64)
        idf_q = np.ascontiguousarray(idf_q, dtype=np.uint32)
        self._weights = _core.TermWeights(vocabulary, idf_q, unseen_q)
        self._vocabulary, self._idf_q, self._unseen_q = vocabulary, idf_q, unseen_q
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
            raise NotFittedError(
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

        The file holds plain arrays and JSON, never pickled objects: ``format``,
        ``spec_version``, ``simdup_version``, ``params`` (JSON), ``vocabulary``
        (uint64), ``idf_q`` (uint32, IDF x 2**16), ``unseen_idf_q`` and
        ``n_docs``. A hasher with a callable tokenizer saves its name only;
        pass the callable again to :meth:`load`.
        """
        from . import __version__

        self._check_params()
        if self.use_idf:
            self._fitted()
        params = self.get_params()
        if callable(params["tokenizer"]):
            params["tokenizer"] = {"callable": getattr(self.tokenizer, "__qualname__", repr(self.tokenizer))}
        params["ngram_range"] = list(params["ngram_range"])
        fitted = "_weights" in self.__dict__
        arrays = {
            "format": np.array(MODEL_FORMAT),
            "spec_version": np.array(SPEC_VERSION, dtype=np.int64),
            "simdup_version": np.array(__version__),
            "params": np.array(json.dumps(params, sort_keys=True)),
            "vocabulary": self._vocabulary if fitted else np.empty(0, np.uint64),
            "idf_q": self._idf_q if fitted else np.empty(0, np.uint32),
            "unseen_idf_q": np.array(self._unseen_q if fitted else IDF_SCALE, dtype=np.uint32),
            "n_docs": np.array(self.n_docs_ if fitted else 0, dtype=np.int64),
        }
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
        atomic_write_bytes(path, buffer.getvalue())

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
            If the file is not a simdup model, is corrupted, or uses a newer
            fingerprint spec than this simdup implements.
        """
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
        except FileNotFoundError:
            raise
        except Exception as exc:  # zipfile, zlib and numpy each raise their own kinds
            raise ValueError(f"{os.fspath(path)}: not a readable simdup model ({exc})") from None
        try:
            return cls._from_arrays(arrays, source=os.fspath(path), tokenizer=tokenizer)
        except (TypeError, KeyError, IndexError, OverflowError, AttributeError, RecursionError) as exc:
            # Arrays of the wrong shape or kind (int() of a 2-D array, a params
            # object of the wrong shape, JSON nested past the parser's stack):
            # a damaged or foreign file, which the docs promise is a ValueError.
            raise ValueError(f"{os.fspath(path)}: corrupted simdup model "
                             f"({type(exc).__name__}: {exc})") from None

    @classmethod
    def _from_arrays(cls, arrays: dict[str, np.ndarray], source: str, tokenizer: TokenizerSpec | None) -> SimHasher:
        required = ("format", "spec_version", "params", "vocabulary", "idf_q", "unseen_idf_q", "n_docs")
        missing = [key for key in required if key not in arrays]
        if missing or str(arrays["format"]) != MODEL_FORMAT:
            raise ValueError(f"{source}: not a simdup model file (missing {missing or 'format tag'})")
        spec = int(arrays["spec_version"])
        if spec != SPEC_VERSION:
            raise ValueError(
                f"{source}: model uses fingerprint spec v{spec}; this simdup implements v{SPEC_VERSION}"
            )
        vocabulary, idf_q = arrays["vocabulary"], arrays["idf_q"]
        if (
            vocabulary.dtype != np.uint64
            or idf_q.dtype != np.uint32
            or vocabulary.shape != idf_q.shape
            or vocabulary.ndim != 1
            or (len(idf_q) and int(idf_q.min()) < 1)
            or int(arrays["unseen_idf_q"]) < 1
        ):
            raise ValueError(f"{source}: corrupted simdup model (bad vocabulary or idf arrays)")
        try:
            params = json.loads(str(arrays["params"]))
            params["ngram_range"] = tuple(params["ngram_range"])
        except (ValueError, KeyError, TypeError, RecursionError):
            raise ValueError(f"{source}: corrupted simdup model (bad params)") from None
        if isinstance(params.get("tokenizer"), dict):
            if tokenizer is None or not callable(tokenizer):
                raise ValueError(
                    f"{source}: model was saved with tokenizer {params['tokenizer']['callable']!r}; "
                    "pass it again: SimHasher.load(path, tokenizer=...)"
                )
            params["tokenizer"] = tokenizer
        elif tokenizer is not None:
            raise ValueError(
                f"{source}: model was saved with tokenizer={params.get('tokenizer')!r}; its IDF table only fits "
                "that tokenizer, so tokenizer= is only for models saved with a callable"
            )
        try:
            hasher = cls(**params)
            hasher._check_params()
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{source}: corrupted simdup model ({exc})") from None
        hasher._set_idf(vocabulary, idf_q, int(arrays["unseen_idf_q"]), int(arrays["n_docs"]))
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
        template = _default_template()
        hasher = cls(**template.get_params())
        hasher.__dict__.update(
            {k: template.__dict__[k] for k in ("_weights", "_vocabulary", "_idf_q", "_unseen_q", "n_docs_")}
        )
        return hasher


# -- helpers ------------------------------------------------------------------------------

_UNIFORM_WEIGHTS = _core.TermWeights(np.empty(0, np.uint64), np.empty(0, np.uint32), IDF_SCALE)
_default_lock = threading.Lock()
_default_cache: list[SimHasher] = []


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


def _quantize(idf: np.ndarray) -> np.ndarray:
    # Round half up to multiples of 2**-16; at least 1 so no token weighs zero.
    return np.maximum(np.floor(np.asarray(idf, dtype=np.float64) * IDF_SCALE + 0.5), 1).astype(np.uint32)


def idf_from_df(df: npt.ArrayLike, n_docs: int, smooth_idf: bool = True) -> npt.NDArray[np.float64]:
    """scikit-learn's IDF from document frequencies, operation for operation.

    ``TfidfTransformer`` computes ``ln((n + s) / (df + s)) + 1`` (``s = 1``
    with ``smooth_idf``) in float64; this does the same steps in the same
    order, so the IDF is bit for bit ``TfidfTransformer().fit(counts).idf_``
    (tested against scikit-learn), without building the documents-by-terms
    matrix: :meth:`SimHasher.fit` counts document frequencies with one sort,
    and a distributed corpus never has that matrix in one place.
    """
    idf = np.asarray(df, dtype=np.float64) + float(smooth_idf)
    idf = np.full_like(idf, n_docs + int(smooth_idf)) / idf
    np.log(idf, out=idf)
    idf += 1.0
    return idf


def _default_template() -> SimHasher:
    with _default_lock:
        if not _default_cache:
            with resources.as_file(resources.files("simdup") / "data" / "default.npz") as path:
                hasher = SimHasher.load(path)
            _default_cache.append(hasher)
        return _default_cache[0]
