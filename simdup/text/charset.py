"""The character encoding of an HTML page received as bytes.

:func:`decode_html` tries, in order:

1. a **byte-order mark** (UTF-8, UTF-16 LE/BE). The HTML standard and every
   browser let a BOM override any declaration: the BOM is written by the tool
   that encoded the bytes, a declaration by whoever wrote the template;
2. the **HTTP header**: the ``charset`` parameter of a ``Content-Type`` value;
3. **valid UTF-8 with non-ASCII bytes** is UTF-8, whatever the meta tag
   says. Templates often keep a stale ``<meta charset=gb2312>`` or
   ``iso-8859-1`` after the site moved to UTF-8 (e.g. the ``qq`` page of
   Mozilla Readability's tests). The reverse mistake is vanishingly
   unlikely: UTF-8 multi-byte sequences need a lead byte 0xC2-0xF4 followed
   by exactly the right number of 0x80-0xBF bytes, a pattern that text in
   windows-125x, GB18030, Big5, Shift_JIS or EUC-KR breaks within a few
   characters (any accented letter or CJK character followed by an ASCII
   byte). Pure-ASCII pages still follow their meta tag, which matters for
   7-bit encodings such as ISO-2022-JP;
4. the **meta tag** in the first 4 KiB: ``<meta charset=...>`` or
   ``<meta http-equiv="Content-Type" content="...; charset=...">``;
5. **detection**: bytes that are valid UTF-8 (pure ASCII included) are UTF-8;
   otherwise charset-normalizer guesses from the first 64 KiB, and
   windows-1252 is the last resort.

Declared names are mapped as browsers map them (the WHATWG Encoding
standard): ISO-8859-1, Latin-1 and ASCII decode as windows-1252, GB2312 and
GBK as GB18030, and so on; a meta tag declaring UTF-16 on an ASCII-compatible
page means UTF-8. A name Python cannot decode with is skipped and the next
step is tried. Bytes invalid in the chosen encoding are handled by
``errors`` ("replace" by default), never raised unless ``errors="strict"``.
"""

from __future__ import annotations

import codecs
import re
from typing import NamedTuple

META_SCAN_BYTES = 4096
DETECT_SAMPLE_BYTES = 65536
FALLBACK = "cp1252"

# Python codec name -> the codec browsers actually use for that label (WHATWG).
_WHATWG = {
    "ascii": "cp1252",
    "iso8859-1": "cp1252",
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "big5": "big5hkscs",
}
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([^"'\s;,]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta\s[^>]*?charset\s*=\s*["']?\s*([-\w.:]+)""", re.IGNORECASE)


class Decoded(NamedTuple):
    """A decoded page: its text, the Python codec used and where the choice came from."""

    text: str
    encoding: str
    source: str  # "bom", "header", "utf-8" (valid UTF-8, declared or not), "meta" or "detected"


def normalize_charset(label: str | None, *, from_meta: bool = False) -> str | None:
    """The Python text codec browsers use for the charset ``label``, or None if unknown."""
    if not label:
        return None
    try:
        info = codecs.lookup(label.strip().strip("\"'"))
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True):  # "base64", "rot13", "zlib": not charsets
        return None
    name = info.name
    if from_meta and name.startswith("utf-16"):
        return "utf-8"  # a UTF-16 page could not have declared it in ASCII
    return _WHATWG.get(name, name)


def charset_from_content_type(content_type: str | None) -> str | None:
    """Codec named by the ``charset`` parameter of an HTTP ``Content-Type`` value."""
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return normalize_charset(match.group(1)) if match else None


def charset_from_meta(data: bytes) -> str | None:
    """Codec declared by a ``<meta>`` tag in the first ``META_SCAN_BYTES`` bytes."""
    for match in _META_CHARSET.finditer(data[:META_SCAN_BYTES]):
        name = normalize_charset(match.group(1).decode("ascii", "replace"), from_meta=True)
        if name:
            return name
    return None


def detect_charset(data: bytes) -> tuple[str, str]:
    """``(codec, source)`` for undeclared bytes: UTF-8 if valid, else detected."""
    if _is_utf8(data):
        return "utf-8", "utf-8"
    try:
        from charset_normalizer import from_bytes
    except ImportError:
        raise ImportError(
            "detecting the charset of an HTML page needs charset-normalizer, a dependency of simdup: "
            "pip install charset-normalizer"
        ) from None
    best = from_bytes(data[:DETECT_SAMPLE_BYTES]).best()
    name = normalize_charset(best.encoding) if best is not None else None
    return (name or FALLBACK), "detected"


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode_html(data: bytes, content_type: str | None = None, errors: str = "replace") -> Decoded:
    """Decode an HTML page's bytes with the charset chosen as the module docstring says.

    Parameters
    ----------
    data : bytes
    content_type : str, optional
        The HTTP ``Content-Type`` header value, e.g. ``"text/html; charset=iso-8859-1"``.
    errors : str, default="replace"
        Codec error handler for bytes invalid in the chosen encoding.

    Returns
    -------
    Decoded
        ``(text, encoding, source)``; a BOM is not part of ``text``.
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            return Decoded(data[len(bom):].decode(name, errors), name, "bom")
    declared, source = charset_from_content_type(content_type), "header"
    if declared is None and not data.isascii() and _is_utf8(data):
        return Decoded(data.decode("utf-8", errors), "utf-8", "utf-8")
    if declared is None:
        declared, source = charset_from_meta(data), "meta"
    name, source = (declared, source) if declared is not None else detect_charset(data)
    return Decoded(data.decode(name, errors), name, source)
