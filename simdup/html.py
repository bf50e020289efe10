"""HTML pages to the text that is fingerprinted: the main content, or all visible text.

Two pages of one site share their navigation, header, footer and cookie
banner; two copies of one article on different sites share only the article.
Fingerprinting the **main content** makes the first pair differ and the
second alike, so ``html_content="main"`` is the default; ``"all"`` keeps all
visible text (no ``<script>``, ``<style>``, comments or hidden elements).

Extraction is resiliparse's ``extract_plain_text`` (Lexbor's HTML5 parser
in C): chosen over trafilatura and selectolax on speed and agreement with
trafilatura, measured in ``benchmarks/README.md``. It needs the ``html``
extra: ``pip install 'simdup[html]'``. The text of a page therefore depends
on resiliparse's version (:func:`extractor_version`), not only on the
fingerprint spec.

Results on awkward pages (never an exception, never a hang):

- broken HTML is repaired as browsers do (the HTML5 parsing algorithm);
- a page without visible text, or with only scripts, gives ``""`` (so the
  fingerprint 0 and no tokens: never a near-duplicate);
- with ``"main"``, a page whose main-content heuristics keep nothing falls
  back to all its visible text (a page with no article is what it shows);
- a page nested deeper than ``MAX_MAIN_DEPTH`` levels (estimated from its
  tags) falls back to all visible text: resiliparse's main-content pass takes
  time quadratic in the nesting depth, the plain pass linear time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Union

import numpy as np

from .charset import decode_html

INPUTS = ("text", "html", "auto")
HTML_CONTENTS = ("main", "all")
MAX_MAIN_DEPTH = 3000
"""Pages whose estimated nesting depth exceeds this use all visible text (see module docstring)."""

ContentType = Union[str, None]
_HTML_START = re.compile(
    rb"\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|title|div|p|table|article|!--)[\s>/]",
    re.IGNORECASE | re.DOTALL,
)
# Tags whose nesting drives the main-content pass's quadratic cost (measured on resiliparse 2.0).
_DEEP_TAGS = (b"div", b"article")


def check_input(input: object, html_content: object) -> None:
    """Raise ``ValueError`` unless ``input`` and ``html_content`` are valid settings."""
    if input not in INPUTS:
        raise ValueError(f"input must be one of {INPUTS}, got {input!r}")
    if html_content not in HTML_CONTENTS:
        raise ValueError(f"html_content must be one of {HTML_CONTENTS}, got {html_content!r}")


def looks_like_html(doc: str | bytes) -> bool:
    """True if ``doc`` starts (after a BOM, blanks and comments) with an HTML tag or doctype.

    ``input="auto"`` uses this: a document beginning with ``<!DOCTYPE html>``,
    ``<html>``, ``<head>``, ``<body>``, ``<meta>``, ``<title>``, ``<div>``,
    ``<p>``, ``<table>``, ``<article>`` or a comment is HTML; anything else is text.
    """
    head = doc[:1024]
    if isinstance(head, str):
        head = head.encode("utf-8", "replace")
    head = bytes(head).lstrip(b"\xef\xbb\xbf")
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 BOM: compare the ASCII of the code units
        head = head[2:].replace(b"\x00", b"")
    return _HTML_START.match(head) is not None


@lru_cache(maxsize=None)
def _extractor() -> Callable[..., str]:
    try:
        from resiliparse.extract.html2text import extract_plain_text
    except ImportError:
        raise ImportError(
            "HTML input (input='html' or 'auto') needs resiliparse, a dependency of simdup: "
            "pip install resiliparse"
        ) from None
    return extract_plain_text


def extractor_version() -> str:
    """Name and version of the extraction library, e.g. ``"resiliparse 2.0.1"``."""
    from importlib.metadata import version

    _extractor()
    return f"resiliparse {version('resiliparse')}"


def nesting_depth_estimate(html: str) -> int:
    """Deepest nesting of ``<div>``/``<article>`` elements, counting their start and end tags.

    An estimate (the parser also closes elements implicitly), vectorised so it
    costs about a millisecond per megabyte.
    """
    if html.count("<") < MAX_MAIN_DEPTH:  # cannot be deeper than its number of tags
        return 0
    data = np.frombuffer(html.encode("utf-8", "surrogatepass"), np.uint8)
    lt = np.flatnonzero(data == 0x3C)
    if not len(lt):
        return 0
    padded = np.concatenate([data, np.zeros(9, np.uint8)]) | 0x20  # ASCII lower case (and harmless elsewhere)
    closing = padded[lt + 1] == 0x2F
    name_at = lt + 1 + closing
    step = np.zeros(len(lt), np.int32)
    for tag in _DEEP_TAGS:
        match = np.ones(len(lt), bool)
        for offset, char in enumerate(tag):
            match &= padded[name_at + offset] == char
        follow = padded[name_at + len(tag)]
        match &= ~(((follow >= 0x61) & (follow <= 0x7A)) | ((follow >= 0x30) & (follow <= 0x39)) | (follow == 0x2D))
        step += np.where(match, np.where(closing, -1, 1), 0).astype(np.int32)
    return int(np.cumsum(step).max(initial=0))


def extract_text(html: str, content: str = "main") -> str:
    """Visible text of an HTML page: its main content (``"main"``) or all of it (``"all"``).

    See the module docstring for pages without text, broken or deeply nested
    pages. Needs resiliparse (``pip install 'simdup[html]'``).
    """
    extract = _extractor()
    main = content == "main" and nesting_depth_estimate(html) <= MAX_MAIN_DEPTH
    try:
        text = extract(html, main_content=main, alt_texts=False, list_bullets=False)
    except TypeError:
        # A str holding lone surrogates cannot cross into the C parser; they become U+FFFD.
        html = html.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        text = extract(html, main_content=main, alt_texts=False, list_bullets=False)
    if main and not text.strip():
        text = extract(html, main_content=False, alt_texts=False, list_bullets=False)
    return text


def html_to_text(doc: str | bytes, content: str = "main", content_type: ContentType = None,
                 encoding_errors: str = "replace") -> str:
    """Decode (if bytes) and extract the text of one HTML page.

    Parameters
    ----------
    doc : str or bytes
        The page. Bytes are decoded with the charset of the BOM, the
        ``content_type`` header, the ``<meta>`` tag or detection, in that
        order (:func:`simdup.charset.decode_html`).
    content : {"main", "all"}
    content_type : str, optional
        The HTTP ``Content-Type`` header value (only its charset is used).
    encoding_errors : str
        Codec error handler for bytes invalid in the chosen charset.
    """
    if not isinstance(doc, str):
        doc = decode_html(bytes(doc), content_type, encoding_errors).text
    return extract_text(doc, content)
