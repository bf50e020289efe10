"""Charset of HTML bytes: BOM, HTTP header, meta tag, detection, in that order."""

from __future__ import annotations

import pytest

from simdup import SimHasher
from simdup.text.charset import charset_from_content_type, charset_from_meta, decode_html, normalize_charset

TEXT = "Größere Äpfel kosten 3 € — „gut“, sagt Jürgen"


def html(body: str, meta: str = "") -> str:
    return f"<html><head>{meta}<title>t</title></head><body><p>{body}</p></body></html>"


def test_header_beats_meta() -> None:
    data = html(TEXT, '<meta charset="utf-8">').encode("cp1252")
    decoded = decode_html(data, "text/html; charset=windows-1252")
    assert TEXT in decoded.text and decoded.source == "header"


def test_meta_charset_and_http_equiv() -> None:
    for meta in ('<meta charset="windows-1252">', "<META CHARSET=windows-1252>",
                 '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'):
        decoded = decode_html(html(TEXT, meta).encode("cp1252"))
        assert TEXT in decoded.text and (decoded.encoding, decoded.source) == ("cp1252", "meta"), meta


def test_bom_beats_declarations() -> None:
    data = b"\xef\xbb\xbf" + html(TEXT, '<meta charset="iso-8859-1">').encode("utf-8")
    decoded = decode_html(data, "text/html; charset=iso-8859-1")
    assert decoded.source == "bom" and TEXT in decoded.text and not decoded.text.startswith("\ufeff")
    decoded = decode_html(html(TEXT).encode("utf-16"))
    assert decoded.source == "bom" and TEXT in decoded.text


def test_undeclared_utf8_and_detection() -> None:
    assert decode_html(html(TEXT).encode("utf-8")) == (html(TEXT), "utf-8", "utf-8")
    russian = "Съешь же ещё этих мягких французских булок, да выпей чаю. " * 20
    decoded = decode_html(html(russian).encode("cp1251"))
    assert decoded.source == "detected" and russian in decoded.text
    japanese = "日本語のウェブページは、かつてシフトJISで書かれることが多かった。" * 20
    decoded = decode_html(html(japanese).encode("shift_jis"))
    assert decoded.source == "detected" and japanese in decoded.text


def test_labels_map_as_browsers_do() -> None:
    assert normalize_charset("ISO-8859-1") == normalize_charset("latin1") == normalize_charset("ascii") == "cp1252"
    assert normalize_charset("GB2312") == normalize_charset("gbk") == "gb18030"
    assert normalize_charset("utf-16", from_meta=True) == "utf-8"
    assert normalize_charset("no-such-charset") is None and normalize_charset("base64") is None
    # 0x93/0x94 are curly quotes in windows-1252, control characters in real Latin-1.
    assert decode_html(b"<p>\x93hi\x94</p>", "text/html; charset=ISO-8859-1").text == "<p>\u201chi\u201d</p>"


def test_unknown_declarations_are_skipped() -> None:
    assert charset_from_content_type("text/html; charset=bogus") is None
    assert charset_from_content_type("text/html") is None and charset_from_content_type(None) is None
    assert charset_from_meta(b'<meta charset="rot13"><meta charset="utf-8">') == "utf-8"
    data = html(TEXT, '<meta charset="x-unknown">').encode("utf-8")
    assert decode_html(data, "text/html; charset=nope") == (html(TEXT, '<meta charset="x-unknown">'), "utf-8",
                                                            "utf-8")


def test_meta_after_the_scanned_prefix_is_ignored() -> None:
    late = ("<!--" + "x" * 5000 + "-->" + '<meta charset="windows-1252">').encode()
    assert charset_from_meta(late) is None


def test_invalid_bytes_replaced_or_raised() -> None:
    data = b'<meta charset="utf-8"><p>ok \xff\xfe</p>'
    assert "\ufffd" in decode_html(data).text
    with pytest.raises(UnicodeDecodeError):
        decode_html(data, errors="strict")


def test_hasher_uses_the_charset_for_html_but_not_for_text() -> None:
    pytest.importorskip("resiliparse")
    page = html(TEXT).encode("cp1252")
    hasher = SimHasher(input="html", use_idf=False)
    right = hasher.fingerprint(html(TEXT))
    assert hasher.fingerprint(page, content_type="text/html; charset=cp1252") == right
    assert hasher.transform([(page, "text/html; charset=cp1252")])[0] == right
    assert hasher.fingerprint(page, content_type="text/html; charset=koi8-r") != right
    # Text input reads bytes as UTF-8 whatever the header says.
    text = SimHasher(use_idf=False, input="text")
    assert text.fingerprint(page, content_type="text/html; charset=cp1252") == text.fingerprint(page)
    with pytest.raises(TypeError):
        hasher.transform([(page, 1252)])
    with pytest.raises(TypeError):
        text.transform([(page, "text/html")])


# -- a meta tag that lies: valid UTF-8 bytes under <meta charset=gb2312> ---------------------------

CHINESE = "谷歌在2014年收购的人工智能公司DeepMind开发出一款能够用自己的记忆学习新知识的计算机。"


@pytest.mark.parametrize("meta", ['<meta charset="gb2312">', '<meta charset="iso-8859-1">',
                                  '<meta http-equiv="Content-Type" content="text/html; charset=GBK">'])
def test_valid_utf8_beats_a_lying_meta_tag(meta: str) -> None:
    page = html(CHINESE + " " + TEXT, meta)
    decoded = decode_html(page.encode("utf-8"))
    assert decoded.text == page and (decoded.encoding, decoded.source) == ("utf-8", "utf-8")


def test_meta_still_decides_for_non_utf8_and_ascii_bytes() -> None:
    page = html(CHINESE, '<meta charset="gb2312">')
    decoded = decode_html(page.encode("gb18030"))
    assert decoded.text == page and decoded.source == "meta"
    # Pure ASCII: nothing tells UTF-8 apart, so the declaration stands (7-bit ISO-2022-JP needs this).
    jis = html("日本語のページ", '<meta charset="iso-2022-jp">').encode("iso-2022-jp")
    decoded = decode_html(jis)
    assert decoded.source == "meta" and "日本語のページ" in decoded.text


def test_header_and_bom_still_beat_valid_utf8() -> None:
    data = html("caf\u00e9", '<meta charset="gb2312">').encode("utf-8")
    decoded = decode_html(data, "text/html; charset=windows-1252")
    assert decoded.source == "header" and "caf\u00c3\u00a9" in decoded.text  # the header is obeyed, even if wrong


def test_qq_page_declaring_gb2312_decodes_as_utf8(readability_pages) -> None:
    qq = next(p for p in readability_pages if p["id"] == "qq")
    data = qq["html"].encode("utf-8")  # the bytes keep the lying <meta ... charset=gb2312>
    assert charset_from_meta(data) == "gb18030"
    decoded = decode_html(data)
    assert decoded.text == qq["html"] and decoded.source == "utf-8"
    assert "人工智能" in decoded.text
