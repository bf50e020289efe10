"""Turn a document into the UTF-8 text the compiled tokenizer reads.

The core splits text into words itself (runs of Unicode letters, numbers and
marks). What this module decides is the text it sees: bytes are decoded,
HTML pages are reduced to their text (:mod:`simdup.html`), text is lower-cased, and Chinese text is first segmented into words (jieba
or rjieba) whose boundaries become spaces. A user tokenizer's tokens are
joined with NUL bytes and hashed verbatim.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Union

from . import _core
from .html import check_input, html_to_text, looks_like_html

Document = Union[str, bytes]
"""A document: text, or bytes (UTF-8 for text input; any charset for HTML input)."""
WebDocument = Union[str, bytes, tuple[Union[str, bytes], Union[str, None]]]
"""For HTML input also ``(page, content_type)``: the HTTP ``Content-Type`` header value gives the charset."""
TokenizerSpec = Union[str, Callable[[str], Iterable[str]]]

TOKENIZERS = ("auto", "words", "chinese")
SEGMENTERS = ("jieba", "rjieba")

# "auto" segments a document as Chinese when at least this share of its
# non-whitespace characters are Han ideographs (CJK Unified Ideographs, extensions
# A-H, compatibility block). A few stray ideographs (a quoted name, binary junk
# decoded as text) do not send a document through the slower segmenter.
CHINESE_MIN_HAN_SHARE = 0.2


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


def is_chinese(text: str) -> bool:
    """True if Han ideographs are at least ``CHINESE_MIN_HAN_SHARE`` of the visible characters."""
    han, visible = _core.han_count(text)
    return han > 0 and han >= CHINESE_MIN_HAN_SHARE * visible


@lru_cache(maxsize=None)
def get_segmenter(name: str) -> Callable[[str], Iterable[str]]:
    """The word segmenter called ``name`` ("jieba" or "rjieba")."""
    if name == "jieba":
        import jieba

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
        "words": the core's word rule on the whole text. "chinese": segment
        with ``segmenter`` first. "auto": "chinese" for documents whose
        visible characters are at least 20 % Han ideographs, "words" otherwise. A callable maps the (lower-cased)
        text to its tokens, which are then hashed verbatim.
    segmenter : {"jieba", "rjieba"}
    lowercase : bool
    encoding_errors : str
        Error handler for decoding bytes (as UTF-8, or an HTML page's charset).
    input : {"text", "html", "auto"}
        "html": documents are HTML pages, reduced to text by
        :func:`simdup.html.html_to_text`; "auto": only documents that
        :func:`simdup.html.looks_like_html` are. With "html" or "auto" a
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
        input: str = "text",
        html_content: str = "main",
    ) -> None:
        check_tokenizer(tokenizer, segmenter)
        check_encoding_errors(encoding_errors)
        check_input(input, html_content)
        self.tokenizer = tokenizer
        self.segmenter = segmenter
        self.lowercase = lowercase
        self.encoding_errors = encoding_errors
        self.input = input
        self.html_content = html_content

    @property
    def delimited(self) -> bool:
        """True when the prepared text is NUL-joined tokens rather than running text."""
        return callable(self.tokenizer)

    def text(self, doc: object) -> str:
        """The document's text before lower-casing: decoded, and extracted if it is HTML."""
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

    def __call__(self, doc: object) -> bytes:
        text = self.text(doc)
        if self.lowercase:
            text = text.lower()
        tokenizer = self.tokenizer
        if callable(tokenizer):
            return _join_tokens(tokenizer(text))
        if tokenizer == "chinese" or (tokenizer == "auto" and not text.isascii() and is_chinese(text)):
            # Segment boundaries become spaces: = " ".join(...).encode(), done in C.
            segments = get_segmenter(self.segmenter)(text)
            return _core.join_segments(segments if type(segments) is list else list(segments))
        # surrogatepass: a lone surrogate (possible in a Python str) becomes bytes
        # the core reads as a non-word character instead of an encoding error.
        return text.encode("utf-8", "surrogatepass")


def _join_tokens(tokens: Iterable[str]) -> bytes:
    try:
        return "\x00".join(tokens).encode("utf-8", "surrogatepass")
    except TypeError:
        raise TypeError("a tokenizer callable must return an iterable of str") from None
