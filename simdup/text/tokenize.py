"""Turn a document into the UTF-8 text the compiled tokenizer reads, and its flags.

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
import logging
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Union

from .. import _core
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


class Preparer:
    """Callable turning one document into the UTF-8 bytes the core tokenizes.

    Parameters
    ----------
    tokenizer : {"auto", "words", "chinese"} or callable
        "auto": words, and overlapping character bigrams in scripts written
        without spaces (Chinese, Japanese, Thai, ...). "words": words only
        (a run of unspaced-script characters is one word). "chinese": segment
        the text into words with ``segmenter`` first, then words. A callable
        maps the text to its tokens, which are folded and hashed as tokens.
    segmenter : {"jieba", "rjieba"}
    lowercase : bool
        Fold case (part of the core's fold).
    fold_traditional : bool
        Fold Traditional Chinese characters to Simplified (part of the core's fold).
    encoding_errors : str
        Error handler for decoding bytes (as UTF-8, or an HTML page's charset).
    input : {"text", "html", "auto"}
        "html": documents are HTML pages, reduced to text by
        :func:`simdup.text.html.html_to_text`; "auto": only documents that
        :func:`simdup.text.html.looks_like_html` are. With "html" or "auto" a
        document may also be a ``(page, content_type)`` pair.
    html_content : {"main", "all"}
        Main content or all visible text of an HTML page.
    """

    def __init__(
        self,
        tokenizer: TokenizerSpec = "auto",
        segmenter: str = "jieba",
        lowercase: bool = True,
        encoding_errors: str = "replace",
        input: str = "auto",
        html_content: str = "main",
        fold_traditional: bool = True,
    ) -> None:
        check_tokenizer(tokenizer, segmenter)
        check_encoding_errors(encoding_errors)
        check_input(input, html_content)
        self.tokenizer = tokenizer
        self.segmenter = segmenter
        self.lowercase = lowercase
        self.fold_traditional = fold_traditional
        self.encoding_errors = encoding_errors
        self.input = input
        self.html_content = html_content

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


def _join_tokens(tokens: Iterable[str]) -> bytes:
    try:
        return "\x00".join(tokens).encode("utf-8", "surrogatepass")
    except TypeError:
        raise TypeError("a tokenizer callable must return an iterable of str") from None
