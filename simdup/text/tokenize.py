"""The text parameters, and a document turned into the UTF-8 text (and flags) the compiled tokenizer reads.

:class:`Preparer` defines the text parameters that :class:`simdup.SimHasher`
shares (names, defaults, validation and documentation).

The core folds and splits text itself (spec v2: compatibility and case fold,
words, character bigrams in scripts written without spaces). What this module
decides is the text it sees and how the core reads it: bytes are decoded,
HTML pages are reduced to their text (:mod:`simdup.text.html`), and with
``tokenizer="chinese"`` the text is first segmented into words (jieba or
rjieba) whose boundaries become spaces. A user tokenizer's tokens are joined
with NUL bytes and hashed as tokens (folded, not split).
"""

from __future__ import annotations

import codecs
import dataclasses
import logging
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Union

from .. import _core
from .._validation import check_flag
from .html import check_input, html_to_text, looks_like_html

Document = Union[str, bytes]
"""A document: text, or bytes (UTF-8 for text input; any charset for HTML input)."""
WebDocument = Union[str, bytes, tuple[Union[str, bytes], Union[str, None]]]
"""For HTML input also ``(page, content_type)``: the HTTP ``Content-Type`` header value gives the charset."""
TokenizerSpec = Union[str, Callable[[str], Iterable[str]]]

TOKENIZERS = ("auto", "words", "chinese")
SEGMENTERS = ("jieba", "rjieba")

_MODE_AUTO, _MODE_WORDS, _MODE_DELIMITED, _MODE_SHINGLES = (
    _core.FLAGS["auto"], _core.FLAGS["words"], _core.FLAGS["delimited"], _core.FLAGS["shingles"])
_FOLD_CASE, _FOLD_T2S = _core.FLAGS["fold_case"], _core.FLAGS["fold_t2s"]


def to_text(doc: object, encoding_errors: str = "replace") -> str:
    """Return ``doc`` as ``str``, decoding bytes as UTF-8.

    Raises
    ------
    TypeError
        If ``doc`` is neither ``str`` nor a bytes-like object.
    UnicodeDecodeError
        (a ``ValueError``) for invalid UTF-8 when ``encoding_errors="strict"``.
    """
    if isinstance(doc, str):
        return doc
    if isinstance(doc, (bytes, bytearray, memoryview)):
        return bytes(doc).decode("utf-8", encoding_errors)
    raise TypeError(f"a document must be str or bytes, got {type(doc).__name__}")


@lru_cache(maxsize=None)
def get_segmenter(name: str) -> Callable[[str], Iterable[str]]:
    """The word segmenter called ``name`` ("jieba" or "rjieba")."""
    if name == "jieba":
        try:
            import jieba
        except ImportError:
            raise ImportError(
                "tokenizer='chinese' needs the jieba package: pip install 'simdup[chinese]'"
            ) from None
        # jieba logs its dictionary loading ("Building prefix dict ...") at DEBUG
        # to its own stderr handler, through `simdup --quiet` and across progress
        # bars; only its warnings and errors are worth a line.
        jieba.setLogLevel(logging.WARNING)
        return jieba.cut
    if name == "rjieba":
        try:
            import rjieba
        except ImportError:
            raise ImportError(
                "segmenter='rjieba' needs the rjieba package: pip install 'simdup[fast]'"
            ) from None
        return rjieba.cut
    raise ValueError(f"segmenter must be one of {SEGMENTERS}, got {name!r}")


def check_tokenizer(tokenizer: object, segmenter: object) -> None:
    """Raise ``ValueError`` unless the tokenizer settings are valid."""
    if not callable(tokenizer) and tokenizer not in TOKENIZERS:
        raise ValueError(f"tokenizer must be one of {TOKENIZERS} or a callable, got {tokenizer!r}")
    if segmenter not in SEGMENTERS:
        raise ValueError(f"segmenter must be one of {SEGMENTERS}, got {segmenter!r}")


def check_encoding_errors(encoding_errors: object) -> None:
    """Raise ``ValueError`` unless ``encoding_errors`` names a codec error handler."""
    try:
        codecs.lookup_error(encoding_errors)  # type: ignore[arg-type]
    except (LookupError, TypeError):
        raise ValueError(
            f"encoding_errors must name a codec error handler such as 'replace' or 'strict', "
            f"got {encoding_errors!r}"
        ) from None


TEXT_PARAMETERS_DOC = """\
tokenizer : {"auto", "words", "chinese"} or callable, default="auto"
    How text splits into terms (spec step 3). "auto": words (runs of
    Unicode letters, numbers and marks), and overlapping character
    bigrams in scripts written without spaces (Chinese, Japanese, Thai,
    ...), which survive changed characters better than segmented words
    and need no segmenter. "words": words only (a run of unspaced-script
    characters is one word). "chinese": segment with ``segmenter`` first,
    then words. A callable ``f(text) -> iterable of str`` gives the terms
    itself (they are folded, then hashed; a NUL character inside a token
    splits it).
segmenter : {"jieba", "rjieba"}, default="jieba"
    Word segmenter of ``tokenizer="chinese"``. "rjieba" (``pip install
    'simdup[fast]'``) segments jieba's dictionary about 16 times faster
    (``benchmarks/README.md``) with nearly the same words; fingerprints
    differ slightly from jieba's.
lowercase : bool, default=True
    Fold case (spec step 2; the compatibility fold is always applied).
fold_traditional : bool, default=True
    Fold Traditional Chinese characters to Simplified ones (spec step 2),
    so a copy converted to Traditional characters stays a near-duplicate.
encoding_errors : str, default="replace"
    How invalid UTF-8 in ``bytes`` documents is handled: "replace" (each
    bad byte becomes U+FFFD, a word separator), "ignore", or "strict"
    (raise ``UnicodeDecodeError``, a ``ValueError``). For HTML input the
    same handler applies to the page's own charset.
input : {"text", "html", "auto"}, default="auto"
    What the documents are. "text": plain text. "html": HTML pages,
    fingerprinted on their extracted main content (:mod:`simdup.text.html`);
    a document may then also be a ``(page, content_type)`` pair carrying
    the HTTP ``Content-Type`` header, whose charset decodes the bytes.
    "auto": HTML for documents that start with an HTML tag or doctype
    (:func:`simdup.text.html.looks_like_html`), text otherwise.
html_content : {"main", "all"}, default="main"
    For HTML: fingerprint the main content (drops navigation, headers,
    footers and other boilerplate, so pages sharing only a site template
    are not near-duplicates) or all visible text.
"""
"""The numpydoc of the text parameters: :class:`Preparer`'s and :class:`simdup.SimHasher`'s (see :func:`doc_block`)."""


def doc_block(text: str, indent: int = 4) -> str:
    """``text`` indented for a docstring whose lines are indented by ``indent`` (its first line is not)."""
    return textwrap.indent(text, " " * indent).lstrip(" ").rstrip("\n")


@dataclass(frozen=True, kw_only=True)
class Preparer:
    __doc__ = f"""Callable turning one document into the UTF-8 bytes the core tokenizes.

    Its fields are the *text parameters* of :class:`simdup.SimHasher`
    (fingerprint spec steps 0-3), defined, validated and documented here
    only: the hasher takes their names and defaults from this class
    (:data:`TEXT_PARAMETERS`) and builds its preparer from them.

    Parameters
    ----------
    {doc_block(TEXT_PARAMETERS_DOC)}

    Raises
    ------
    ValueError
        A parameter outside its documented values.
    """

    tokenizer: TokenizerSpec = "auto"
    segmenter: str = "jieba"
    lowercase: bool = True
    fold_traditional: bool = True
    encoding_errors: str = "replace"
    input: str = "auto"
    html_content: str = "main"

    def __post_init__(self) -> None:
        check_tokenizer(self.tokenizer, self.segmenter)
        # A string such as "no" must not reach the core as a truthy fold flag.
        check_flag(self.lowercase, "lowercase")
        check_flag(self.fold_traditional, "fold_traditional")
        check_encoding_errors(self.encoding_errors)
        check_input(self.input, self.html_content)

    @property
    def fold_flags(self) -> int:
        """The core's fold options (case, Traditional to Simplified) for these settings."""
        return (_FOLD_CASE if self.lowercase else 0) | (_FOLD_T2S if self.fold_traditional else 0)

    @property
    def flags(self) -> int:
        """The core's tokenizer flags for the text this preparer gives: a mode and the fold options."""
        if callable(self.tokenizer):
            mode = _MODE_DELIMITED
        elif self.tokenizer == "auto":
            mode = _MODE_AUTO
        else:
            mode = _MODE_WORDS
        return mode | self.fold_flags

    @property
    def shingle_flags(self) -> int:
        """Flags for verification shingles of :meth:`text`: independent of the tokenizer."""
        return _MODE_SHINGLES | self.fold_flags

    def text(self, doc: object) -> str:
        """The document's text: decoded, and extracted if it is HTML."""
        if self.input == "text":
            return to_text(doc, self.encoding_errors)
        content_type = None
        if isinstance(doc, tuple):
            if len(doc) != 2 or not isinstance(doc[1], (str, type(None))):
                raise TypeError("a (page, content_type) pair needs a str or None content type")
            doc, content_type = doc
        if not isinstance(doc, (str, bytes, bytearray, memoryview)):
            raise TypeError(f"a document must be str or bytes, got {type(doc).__name__}")
        if self.input == "auto" and not looks_like_html(doc):  # type: ignore[arg-type]
            return to_text(doc, self.encoding_errors)
        return html_to_text(doc, self.html_content, content_type, self.encoding_errors)  # type: ignore[arg-type]

    def text_bytes(self, doc: object) -> bytes:
        """:meth:`text` as the UTF-8 the core reads (for verification shingles)."""
        # surrogatepass: a lone surrogate (possible in a Python str) becomes bytes
        # the core reads as a separator instead of an encoding error.
        return self.text(doc).encode("utf-8", "surrogatepass")

    def __call__(self, doc: object) -> bytes:
        tokenizer = self.tokenizer
        if callable(tokenizer):
            return _join_tokens(tokenizer(self.text(doc)))
        if tokenizer == "chinese":
            # Segment boundaries become spaces: = " ".join(...).encode(), done in C.
            segments = get_segmenter(self.segmenter)(self.text(doc))
            return _core.join_segments(segments if type(segments) is list else list(segments))
        return self.text_bytes(doc)


TEXT_PARAMETERS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Preparer))
"""Names of the text parameters, in :class:`Preparer`'s order."""


def _join_tokens(tokens: Iterable[str]) -> bytes:
    try:
        return "\x00".join(tokens).encode("utf-8", "surrogatepass")
    except TypeError:
        raise TypeError("a tokenizer callable must return an iterable of str") from None
