"""HTML input: extraction, main content vs all text, awkward pages, SimHasher integration."""

from __future__ import annotations

import re
import sys
import time
from collections import Counter

import numpy as np
import pytest

pytest.importorskip("resiliparse", reason="HTML input needs the html extra: pip install 'simdup[html]'")

import simdup  # noqa: E402
from simdup import SimHasher  # noqa: E402
from simdup.text import html as simdup_html  # noqa: E402
from simdup.text.html import (  # noqa: E402
    extract_text,
    html_to_text,
    looks_like_html,
    main_blocks,
    nesting_depth_estimate,
    page_description,
    page_title,
    select_article,
)

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
    html, text = SimHasher(input="html", use_idf=False), SimHasher(input="text", use_idf=False)
    assert auto.fingerprint(page(ARTICLE)) == html.fingerprint(page(ARTICLE))
    assert text.fingerprint(page(ARTICLE)) != html.fingerprint(page(ARTICLE))  # so the line above can fail
    # Plain text that mentions tags: read as HTML, the tags and the script's text would vanish.
    plain = ("Prices < 5 dollars and x > y are not markup; the <b>bold</b> tag and a <script>alert(1)</script> "
             "element are words of this sentence about writing web pages by hand")
    assert auto.fingerprint(plain) == text.fingerprint(plain)
    assert html.fingerprint(plain) != text.fingerprint(plain)  # so the line above can fail
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


# -- main content without the furniture ---------------------------------------------------------------

STORY = ("<h1>Council approves the new tram line</h1>"
         "<p class=byline>By Jane Doe, 12 March 2024</p>"
         "<p>The city council voted on Monday evening to build a tram line between the main station and the "
         "university campus, ending a debate that had lasted for more than a decade and divided two mayors.</p>"
         "<p>Construction is to start next spring. The line will have eleven stops and carry an estimated "
         "forty thousand passengers a day once the new housing district in the north is finished.</p>"
         "<p>Opponents had argued that electric buses would be cheaper, but the transport committee found that "
         "trams last longer, need fewer drivers and are preferred by most residents who answered the survey.</p>")
STORY_WORDS = ("Council approves the new tram line", "ending a debate", "eleven stops", "preferred by most residents")


def furnished(*furniture: str, before: str = "") -> str:
    """STORY in a plain page, with ``furniture`` after it inside the same container (``before`` ahead of it)."""
    return (f"<html><head><title>Tram</title></head><body><div id=page>{before}"
            f"<div class=post>{STORY}{''.join(furniture)}</div></div></body></html>")


def links(*texts: str) -> str:
    return "".join(f'<li><a href="/{i}">{t}</a></li>' for i, t in enumerate(texts))


FURNITURE = {
    "comment thread": (('<div id="comments" class="comments-area"><h3>3 Comments</h3><ol class="comment-list">'
                        '<li class="comment"><p>Finally! I have waited for this tram line since I moved here in '
                        'two thousand and nine, and my children will be able to ride it to school.</p></li>'
                        '<li class="comment"><p>What a waste of money, the buses were perfectly fine and nobody '
                        'asked the shop owners on the main street what they think about two years of works.</p>'
                        "</li></ol></div>"), "waited for this tram"),
    "comments under a heading only": (("<h2>Leave a Reply</h2><p>Finally! I have waited for this tram line since "
                                       "I moved here in two thousand and nine, and my children will ride it.</p>"),
                                      "waited for this tram"),
    "related list": ('<div class="related-posts"><h3>Related</h3><ul>'
                     + links("Bus drivers strike for the third time this year over pay and hours",
                             "New cycle lanes open on the river embankment after long delays",
                             "Mayor promises cheaper tickets for students and pensioners from June")
                     + "</ul></div>", "cycle lanes"),
    "share bar": (('<div class="share-bar"><a href="/fb">Share on Facebook</a> <a href="/tw">Share on Twitter</a> '
                   '<a href="/mail">Send by email</a></div>'), "Facebook"),
    "caption": (('<figure><img src="tram.jpg" alt="A tram"><figcaption>A tram in the old town. Photo: Max '
                 "Mustermann / City Archive</figcaption></figure>"), "Mustermann"),
    "advertisement": ('<div class="ad"><span>Advertisement</span></div>', "Advertisement"),
    "tag links": (('<p class="tags">Tags: <a href="/t/1">transport</a>, <a href="/t/2">trams</a>, '
                   '<a href="/t/3">city council</a>, <a href="/t/4">elections</a></p>'), "elections"),
    # Plain paragraphs (no links) after a heading that says what they are: the density rule keeps them.
    "trackbacks": (("<h3>Trackbacks</h3><p>City blog: the tram line is finally coming, and here is why the "
                    "north of the city will change more than anyone on the council expects it to.</p>"),
                   "north of the city"),
    "related stories as teasers": (("<h3>You may also like</h3><p>The last tram of the old network ran in 1962, "
                                    "and the tracks were paved over the following summer by a private company.</p>"),
                                   "paved over"),
    "author bio": (("<h3>About the author</h3><p>Jane Doe has covered city hall for this newspaper since 2015 and "
                    "writes about transport, housing and the budget of the regional government.</p>"),
                   "covered city hall"),
    "copyright line": ("<p>Copyright 2024 Daily Planet Media Group Limited. All rights reserved.</p>",
                       "Daily Planet Media"),
    "Chinese related reading": ("<h3>相关阅读</h3><p>地铁三号线明年通车，沿线房价上涨，居民担心噪音问题。</p>",
                                "地铁三号线"),
    "responses to the post": (("<h3>2 Responses to \u201cCouncil approves the new tram line\u201d</h3><p>About time "
                               "too, the old buses on that route are always late and always full in the morning.</p>"),
                              "always late"),
    "comments signed like the post": (("<p>Posted by jane at March 12, 2024 9:01 AM</p>"
                                       "<p>About time too, the old buses on that route are always late and always "
                                       "full in the morning, I will be glad to see the back of them.</p>"
                                       "<p>Posted by: Tom at March 12, 2024 11:40 AM</p>"
                                       "<p>Eleven stops is not enough for a line that long, they should have asked "
                                       "the people living along the river what they need.</p>"
                                       "<p>Posted by: Ann at March 12, 2024 12:11 PM</p>"), "always late"),
}


@pytest.mark.parametrize("kind", FURNITURE)
def test_furniture_after_the_article_is_dropped(kind: str) -> None:
    html, marker = FURNITURE[kind]
    text = extract_text(furnished(html), "main")
    assert all(words in text for words in STORY_WORDS), text
    assert marker not in text, text
    if kind != "caption":  # resiliparse leaves <figcaption> out of all text too
        assert marker in extract_text(furnished(html), "all")


def test_a_lone_comment_or_response_inside_the_article_does_not_end_it() -> None:
    # A table column headed "Comment" and a section about the Response object once cut the article there.
    table = ("<table><tr><th>Status</th><th>Comment</th></tr><tr><td>enqueued</td><td>Waiting for a worker to pick "
             "the task up from the queue.</td></tr></table>")
    section = ("<h2>Response</h2><p>Response instances are returned by calls to fetch(), and they can also be "
               "created by scripts, which is useful in service workers that answer requests themselves.</p>")
    text = extract_text(furnished(table, section), "main")
    assert "Waiting for a worker" in text and "service workers that answer" in text, text
    assert all(words in text for words in STORY_WORDS), text


def test_a_related_box_inside_the_article_does_not_end_it() -> None:
    # News sites put a "More from ..." box after the first paragraphs; the article goes on after it, much longer.
    box = ("<h3>More from City Politics</h3>"
           + "".join(f"<h4><a href='/s{i}'>{t}</a></h4><p>{by}</p><p>{blurb}</p>" for i, (t, by, blurb) in enumerate([
               ("Poll: race for mayor all tied up", "Ann Smith and Bob Jones",
                "Just a fifth of voters say the city is better off than four years ago."),
               ("Fact check: the budget figures", "Carl White",
                "The mayor uses data from one report, ignoring others that undercut it.")])))
    head, end = STORY.rsplit("<p>", 1)  # the box stands before the story's last paragraph
    more = "".join(f"<p>{p} {p} {p}</p>" for p in [
        "The transport committee met again on Thursday and heard from engineers who had studied the route for two "
        "years, comparing the costs of trams and electric buses over the next thirty years of service.",
        "Their report found that the trams would cost more to build but less to run, and that the savings on drivers "
        "and maintenance would pay for the difference within fifteen years of the opening of the line.",
        "Residents along the route were divided, with shop owners worried about two years of works on the main street "
        "and parents looking forward to a direct connection between the northern district and the schools."])
    html = ("<html><head><title>Tram</title></head><body><div id=page><div class=post>"
            f"{head}{box}<p>{end}{more}</div></div></body></html>")
    text = extract_text(html, "main")
    assert "engineers who had studied the route" in text and "direct connection" in text, text
    assert "preferred by most residents" in text, text


def test_gallery_counters_inside_the_article_are_dropped() -> None:
    # As on news sites' slide shows: a caption, then the slide numbers, inside the article.
    gallery = ("<a href=''><div>The new tram on a test run in Basel, where the same model has run since 2019.</div>"
               + "".join(f"<div>{i}</div>" for i in range(1, 13)) + "<div>3 of 12</div></a>")
    head, end = STORY.rsplit("<p>", 1)
    html = f"<html><head><title>Tram</title></head><body><div class=post>{head}{gallery}<p>{end}</div></body></html>"
    text = extract_text(html, "main")
    assert all(words in text for words in STORY_WORDS), text
    assert not any(line.strip() in {"1", "6", "9", "3 of 12"} for line in text.splitlines()), text
    assert "preferred by most residents" in text, text  # the paragraph after the gallery


def test_navigation_cookie_banner_and_link_lists_around_the_article_are_dropped() -> None:
    nav = "<nav><ul>" + links("Home", "Politics", "Business", "Culture", "Sport", "Weather") + "</ul></nav>"
    crumbs = '<div class="breadcrumb"><a href="/">Home</a> &gt; <a href="/city">City</a> &gt; Transport</div>'
    cookie = ('<div class="cookie-notice">This website uses cookies to give you the best experience. By '
              "continuing to browse you agree to our use of cookies. <a href=/privacy>Privacy policy</a></div>")
    most_read = ('<div class="most-read"><h3>Most read</h3><ul>'
                 + links("Police close the bridge after a lorry crash on Friday night",
                         "Festival organisers expect record crowds despite the rain",
                         "Local bakery wins national prize for its rye bread") + "</ul></div>")
    text = extract_text(furnished(most_read, before=nav + crumbs + cookie), "main")
    assert all(words in text for words in STORY_WORDS), text
    for marker in ("Politics", "Transport", "cookies", "lorry crash", "Most read"):
        assert marker not in text, (marker, text)


def test_headline_byline_and_date_are_kept() -> None:
    text = extract_text(furnished(), "main")
    assert text.splitlines()[0] == "Council approves the new tram line" and "By Jane Doe, 12 March 2024" in text


def test_chinese_portal_table_sidebar_is_dropped() -> None:
    sidebar = "".join(f'<tr><td><a href="/n{i}">{t}</a></td></tr>' for i, t in enumerate(
        ["国内新闻要闻汇总", "国际新闻频道首页", "财经频道今日股市", "体育频道赛事直播", "娱乐频道明星动态",
         "科技频道最新产品", "往期回顾新闻存档", "网站地图联系我们"]))
    article = ("<h1>城市将修建新的有轨电车线路</h1><p>市议会周一晚上投票决定修建一条连接火车总站和大学校园的有轨电车线路，"
               "结束了持续十多年的争论。</p><p>工程将于明年春天开工，线路共设十一个车站，预计新区建成后每天运送四万名乘客。</p>"
               "<p>反对者认为电动公交车更便宜，但交通委员会发现有轨电车使用寿命更长，需要的司机更少，也更受居民欢迎。</p>")
    tools = '<p><a href="/send">发送给朋友</a> <a href="/print">打印本页</a> <a href="/close">关闭窗口</a></p>'
    page_html = (f'<html><head><meta charset="gb2312"></head><body><table><tr><td width=200><table>{sidebar}</table>'
                 f"</td><td>{article}<p>（责任编辑：王小明）</p>{tools}</td></tr></table>"
                 "<p>版权所有 © 2008 某某新闻网</p><p>京ICP备12345678号　京公网安备11010500000号</p></body></html>")
    text = extract_text(page_html, "main")
    assert "有轨电车线路" in text and "十一个车站" in text and "更受居民欢迎" in text, text
    for marker in ("国际新闻", "往期回顾", "发送给朋友", "打印本页", "版权所有", "责任编辑", "ICP备"):
        assert marker not in text, (marker, text)


def blog_page(post: str, description: str = "") -> str:
    """A blog page: a sidebar with one long plain sentence, then ``post`` (``description`` in a meta tag)."""
    meta = f'<meta name="description" content="{description}">' if description else ""
    sidebar = ('<div class=sidebar><h2><a href="/felt">Felt Food Tutorials</a></h2>'
               "<p>Click on the photo in the gallery to find the description of the tutorial and the link. "
               "Enjoy!</p></div>")
    archive = "<ul>" + links("View blog authority", "Technorati favourites", "Subscribe to this blog's feed",
                             "Page rank checker") + "</ul>"
    return (f"<html><head><title>The Crafty Blog</title>{meta}</head><body>{sidebar}{archive}"
            f'<div class=post><p><a href="/prev">« Leaf Bunting</a> | <a href="/">Main</a></p>{post}'
            '<p>11/09/2012 in <a href="/a">Crafts</a>, <a href="/b">Fall Crafts</a>, <a href="/c">Family</a>, '
            '<a href="/d">Paint</a>, <a href="/e">Paper</a></p></div></body></html>')


def test_lines_broken_by_br_are_one_paragraph() -> None:
    # Each <br> line used to be a block paying BLOCK_PENALTY, so the sidebar sentence beat the post.
    post = ("<h3>Indian Corn Printing Craft</h3><p>Visit <a href='/x'>Boy Mama Teacher Mama</a> to see<br>\n"
            "how to create the interesting textures<br>\non this Indian corn craft, with paint,<br>\n"
            "paper and a few real cobs<br>\nfrom the garden, dried in the sun<br>\nfor a week or two.</p>")
    # Rule 2 on all of the page's blocks (resiliparse's main-content pass leaves this sidebar out by itself).
    html = blog_page(post)
    text = "\n".join(b.text for b in select_article(main_blocks(html, main_content=False), page_title(html)))
    assert "interesting textures" in text and "Indian corn craft" in text, text
    assert "Click on the photo" not in text, text


def test_the_block_the_description_summarises_is_in_the_article() -> None:
    post = ("<h3>Fall Leaf Bunting</h3><p><a href='/s'>Simple As That</a> shares this easy fall leaf bunting "
            "for your Thanksgiving table this year.</p>")
    description = "Simple As That shares this easy fall leaf bunting for your Thanksgiving table this year."
    blurb = "The Crafty Blog collects the best crafts for children from around the web, every day since 2008."

    def article(html: str) -> str:  # rule 2 on all of the page's blocks, as in the test above
        blocks = main_blocks(html, main_content=False)
        return "\n".join(b.text for b in select_article(blocks, page_title(html), page_description(html)))

    # Without a description the sidebar sentence outscores the short, link-heavy post.
    assert "Click on the photo" in article(blog_page(post)) and "leaf bunting" not in article(blog_page(post))
    text = article(blog_page(post, description))
    assert "leaf bunting" in text and "Click on the photo" not in text, text
    # A description that matches no block (a site-wide blurb) changes nothing.
    assert article(blog_page(post, blurb)) == article(blog_page(post))



def picture_post(title: str, caption: str) -> str:
    """A blog's picture post: the blog's name and "about me" blurb, then a linked title and a caption."""
    return (f"<html><head><title>{title} - I Geek for Creativity</title></head><body>"
            "<div class=logo><a href='/'>I Geek for Creativity</a></div>"
            "<p>I live. I learn. I teach. And, 140 characters on Twitter is limiting. Here I share and celebrate "
            "my creativity and the creativity of others.</p><h2>Archive</h2><ul>"
            + links("July (39)", "June (1)", "April (7)", "March (29)", "February (40)")
            + f"</ul><div class=post><h2><a href='/p'>{title}</a></h2><img src=a.jpg>"
            f"<p><a href='/v'>via example.com</a></p><p>{caption}</p></div></body></html>")


def test_a_short_post_is_found_under_its_title_not_in_the_site_blurb() -> None:
    pages = [picture_post("23 Super Creative Repurposed Items", "Repurpose with a purpose."),
             picture_post("The Human Bowling Ball", "This plays with your right brain.")]
    first, second = map(extract_text, pages)
    # The blurb is the densest text of both pages: they used to be reduced to it, and merged.
    assert first.startswith("23 Super Creative Repurposed Items"), first
    assert second.startswith("The Human Bowling Ball"), second
    assert "140 characters" not in first + second
    assert simdup.dedup(pages).keep.all()
    # A title naming no heading of the page (3+ tokens) changes nothing.
    page = picture_post("x", "A caption.").replace("<title>x - ", "<title>")
    assert "140 characters" in extract_text(page)

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


def test_binary_junk_and_odd_nesting_give_a_result_quickly() -> None:
    rng = np.random.default_rng(12)
    start = time.perf_counter()
    for _ in range(10):
        junk = rng.integers(0, 256, 50_000, dtype=np.uint8).tobytes()
        assert isinstance(html_to_text(junk), str) and isinstance(html_to_text(b"<html><body>" + junk), str)
    assert extract_text("<table>" * 5000 + "cell words" + "</table>" * 5000) == "cell words"
    assert extract_text('<a href="x">' * 5000 + "link words") == "link words"  # a page of links is what it shows
    assert time.perf_counter() - start < 10


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


# -- pages with ground truth (shared data) ----------------------------------------------------------

_CJK = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff"
_GOLD_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")


def token_f1(text: str, gold: str) -> float:
    """F1 of the lower-cased word tokens (each CJK character one), counted as multisets."""
    got, want = Counter(_GOLD_TOKEN.findall(text.lower())), Counter(_GOLD_TOKEN.findall(gold.lower()))
    common = sum((got & want).values())
    return 2 * common / (sum(got.values()) + sum(want.values())) if common else 0.0


# Measured with this extraction (benchmarks/bench_html.py, both halves): mean F1 0.896 on Dragnet, 0.940 on
# Mozilla's pages; resiliparse's main-content pass alone had 0.750 and 0.919. The floors leave 0.05 of room.
@pytest.mark.parametrize("corpus, floor", [("dragnet_pages", 0.85), ("readability_pages", 0.89)])
def test_main_content_matches_the_ground_truth(corpus: str, floor: float, request) -> None:
    pages = [p for p in request.getfixturevalue(corpus) if p["id"] != "R237"]  # R237: HTML is not the article
    scores = [token_f1(extract_text(p["html"], "main"), p["text"]) for p in pages]
    assert np.mean(scores) >= floor
