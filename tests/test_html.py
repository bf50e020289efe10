"""HTML input: extraction, main content vs all text, awkward pages, SimHasher integration."""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest

pytest.importorskip("resiliparse", reason="HTML input needs the html extra: pip install 'simdup[html]'")

import simdup  # noqa: E402
from simdup import SimHasher  # noqa: E402
from simdup import html as simdup_html  # noqa: E402
from simdup.html import extract_text, html_to_text, looks_like_html, nesting_depth_estimate  # noqa: E402

ARTICLE = ("<h1>Rain returns to the valley</h1><p>After three dry months the first autumn storm brought "
           "forty millimetres of rain to the valley on Tuesday, filling the reservoirs that farmers had "
           "watched sink all summer.</p><p>The weather service expects two more storms this week and warned "
           "of floods along the lower river, where the banks were repaired only last year.</p>")


def page(article: str, site: str = "Daily Planet") -> str:
    """A page of ``site``'s template: navigation, header, sidebar, footer around ``article``."""
    links = " ".join(f'<li><a href="/{s}">{s.title()} section of {site}</a></li>'
                     for s in ("news", "sport", "weather", "culture", "business", "travel", "opinion"))
    return (f"<!DOCTYPE html><html><head><title>{site}</title><script>var ads = 'track me';</script>"
            f"<style>body {{ color: red }}</style></head><body>"
            f'<header><div class="logo">{site}: the news you need</div><nav><ul>{links}</ul></nav></header>'
            f'<div class="cookie-banner">We use cookies on {site} to improve your experience. Accept all.</div>'
            f'<main><article>{article}</article></main>'
            f'<aside class="sidebar"><h3>Most read on {site}</h3><ul>{links}</ul></aside>'
            f"<footer><p>Copyright {site} Media Group. All rights reserved. Imprint, privacy, contact.</p>"
            f"<ul>{links}</ul></footer></body></html>")


def test_main_content_drops_the_template() -> None:
    text = extract_text(page(ARTICLE), "main")
    assert "forty millimetres" in text and "cookies" not in text and "Copyright" not in text
    everything = extract_text(page(ARTICLE), "all")
    assert "forty millimetres" in everything and "cookies" in everything and "Copyright" in everything
    assert "track me" not in everything and "color" not in everything  # script and style are never text


def test_same_article_in_two_templates_is_a_near_duplicate_only_on_main_content() -> None:
    a, b = page(ARTICLE, "Daily Planet"), page(ARTICLE, "Evening Gazette")
    main = SimHasher(input="html", use_idf=False)
    assert simdup.hamming(main.fingerprint(a), main.fingerprint(b)) == 0
    assert main.fingerprint(a) == SimHasher(use_idf=False).fingerprint(extract_text(a, "main"))
    everything = SimHasher(input="html", html_content="all", use_idf=False)
    assert simdup.hamming(everything.fingerprint(a), everything.fingerprint(b)) > 3


def test_auto_input_is_the_default_and_text_input_reads_markup_as_text() -> None:
    hasher = SimHasher(use_idf=False)
    assert hasher.input == "auto" and hasher.html_content == "main"
    assert hasher.fingerprint(page(ARTICLE)) == SimHasher(use_idf=False, input="html").fingerprint(page(ARTICLE))
    # Text input fingerprints tags and all.
    text = SimHasher(use_idf=False, input="text")
    assert text.fingerprint(page(ARTICLE)) != hasher.fingerprint(page(ARTICLE))
    assert simdup.simhash(page(ARTICLE)) == SimHasher.default().set_params(input="html").fingerprint(page(ARTICLE))


def test_auto_input_detects_html() -> None:
    auto = SimHasher(input="auto", use_idf=False)
    html, text = SimHasher(input="html", use_idf=False), SimHasher(use_idf=False)
    assert auto.fingerprint(page(ARTICLE)) == html.fingerprint(page(ARTICLE))
    plain = "Prices < 5 dollars and x > y are not markup"
    assert auto.fingerprint(plain) == text.fingerprint(plain)
    for doc in ("<!doctype html><p>x", "  <HTML>", "\ufeff<html>", "<!-- c --><div>x</div>", b"<body>x",
                "<p>a</p>".encode("utf-16")):
        assert looks_like_html(doc), doc
    for doc in ("", "plain words", "< html", "<xml>", "a <p>late</p>", b"\x00\x01"):
        assert not looks_like_html(doc), doc


def test_params_round_trip_through_save_and_load(tmp_path) -> None:
    docs = [page(ARTICLE), page("<p>Another story about trains and buses in the city centre.</p>")]
    hasher = SimHasher(input="html", html_content="all").fit(docs)
    assert hasher.get_params()["input"] == "html" and "html_content='all'" in repr(hasher)
    hasher.save(tmp_path / "m.npz")
    loaded = SimHasher.load(tmp_path / "m.npz")
    assert loaded.get_params() == hasher.get_params()
    assert np.array_equal(loaded.transform(docs), hasher.transform(docs))


@pytest.mark.parametrize("params", [{"input": "xml"}, {"input": None}, {"html_content": "body"}])
def test_bad_html_params_raise(params) -> None:
    with pytest.raises(ValueError, match=next(iter(params))):
        SimHasher(use_idf=False, **params).fingerprint("<p>x</p>")


def test_simhash_accepts_html() -> None:
    assert simdup.simhash(page(ARTICLE), input="html") == simdup.simhash(extract_text(page(ARTICLE)))
    assert simdup.simhash(page(ARTICLE), input="html", html_content="all") != simdup.simhash(page(ARTICLE),
                                                                                             input="html")


# -- awkward pages: a documented result, never an exception or a hang ---------------------------------

@pytest.mark.parametrize("doc", [
    "", b"", "<html></html>", "<html><head><title></title></head><body>  </body></html>",
    "<script>document.write('hello world from a script');</script>",
    "<html><head><script src=a.js></script><style>p{}</style></head><body><script>var x = 1</script>"
    "<noscript></noscript><!-- a comment with words --></body></html>",
    "<p>!!! ... ??? 🙂</p>",
    '<div class="x' + "y" * 100_000 + " words",  # an attribute never closed swallows the rest, as in browsers
])
def test_pages_without_text_fingerprint_to_zero_with_no_tokens(doc) -> None:
    for content in ("main", "all"):
        fps, n = SimHasher(input="html", html_content=content).fit(["<p>x</p>"]).transform([doc], True)
        assert fps.tolist() == [0] and n.tolist() == [0]


@pytest.mark.parametrize("doc", [
    "<html><body><div><p>unclosed <b>bold <i>text</table></td>&#xZZZ; &bogus; <p>more text",
    "<p>a\x00b</p><p>c\ud800d</p>",          # NUL and a lone surrogate
    b"<p>caf\xe9 \xff\xfe\x00 broken bytes</p>",
    "</div></div></html><p>ends before it starts</p><html><body>",
    "<" * 10_000 + "p>words",
])
def test_broken_html_gives_text(doc) -> None:
    fps, n = SimHasher(input="html", use_idf=False).transform([doc], return_n_tokens=True)
    assert n[0] > 0


def test_lone_surrogates_become_separators() -> None:
    assert [w for w in extract_text("<p>c\ud800d</p>", "all").split("\ufffd") if w] == ["c", "d"]


def test_huge_page_is_linear() -> None:
    big = "<html><body>" + "<div><p>lorem ipsum dolor sit amet</p></div>" * 250_000 + "</body></html>"  # 11 MB
    start = time.perf_counter()
    fps, n = SimHasher(input="html", use_idf=False).transform([big], return_n_tokens=True)
    assert n[0] == 5 * 250_000 and time.perf_counter() - start < 20


def test_deep_nesting_falls_back_to_all_text_quickly() -> None:
    deep = "<div>" * 200_000 + "deep words" + "</div>" * 200_000  # main-content pass: quadratic in depth
    assert nesting_depth_estimate(deep) == 200_000
    start = time.perf_counter()
    assert extract_text(deep, "main") == "deep words"
    assert time.perf_counter() - start < 5


def test_depth_estimate_matches_tags() -> None:
    assert nesting_depth_estimate("<p>" * 5000) == 0
    html = "<DIV class=a>" * 3500 + "<divider>" * 100 + "</Div>" * 3500 + "<article><div></div></article>" * 10
    assert nesting_depth_estimate(html) == 3500


def test_main_falls_back_to_all_text_when_nothing_is_main() -> None:
    only_nav = "<html><body><nav><a href=/>Home</a> <a href=/a>About us</a></nav></body></html>"
    assert extract_text(only_nav, "main") == extract_text(only_nav, "all") != ""


def test_missing_resiliparse_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "resiliparse.extract.html2text", None)
    simdup_html._extractor.cache_clear()
    try:
        with pytest.raises(ImportError, match=r"pip install resiliparse"):
            SimHasher(input="html", use_idf=False).fingerprint("<p>x</p>")
        # Text input never needs it.
        assert SimHasher(use_idf=False, input="text").fingerprint("<p>x</p>") != 0
    finally:
        simdup_html._extractor.cache_clear()


def test_extractor_version_is_reported() -> None:
    assert simdup_html.extractor_version().startswith("resiliparse ")


# -- real pages -----------------------------------------------------------------------------------

def test_real_pages_all_fingerprint(web_pages) -> None:
    docs = [p["html"] for p in web_pages]
    fps, n = SimHasher(input="html", use_idf=False).transform(docs, return_n_tokens=True)
    assert len(fps) == len(docs) == 922
    assert (n > 0).mean() > 0.99  # virtually every real page has main text
    assert len(np.unique(fps)) > 0.95 * len(fps)


def test_html_to_text_on_bytes_uses_the_page_charset(web_pages) -> None:
    html = next(p["html"] for p in web_pages if "ü" in p["html"] or "é" in p["html"])
    latin = html.encode("cp1252", "replace")
    assert html_to_text(latin, "all", "text/html; charset=windows-1252") == html_to_text(
        html.encode("cp1252", "replace").decode("cp1252"), "all")
