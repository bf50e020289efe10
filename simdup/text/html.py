"""HTML pages to the text that is fingerprinted: the main content, or all visible text.

Two pages of one site share their navigation, header, footer and cookie
banner; two copies of one article on different sites share only the article.
Fingerprinting the **main content** makes the first pair differ and the
second alike, so ``html_content="main"`` is the default; ``"all"`` keeps all
visible text (no ``<script>``, ``<style>``, comments or hidden elements).

Extraction is resiliparse's ``extract_plain_text`` (Lexbor's HTML5 parser
in C): chosen over trafilatura and selectolax on speed and agreement with
trafilatura, measured in ``benchmarks/README.md``. Its main-content pass
keeps nearly all of an article but also much furniture around it (comment
threads, related-post teasers, share bars, link lists, footers), and a
SimHash at k=3 tolerates only a few per cent of foreign tokens. So ``"main"``
runs that pass once more in C (comment sections off, a little HTML kept so
headings and link text are visible), then filters its blocks (paragraphs)
in Python, a few hundred per page at most (:func:`main_blocks`):

1. **Cut at what follows an article**: a short line that is only a
   comments heading ("Leave a reply", "23 Comments", "Trackbacks",
   "Kommentare", "评论", ...) or the heading of what sites put after an
   article ("Related stories", "You may also like", "Don't miss", "About
   the author", "相关阅读", ...), not a link, after 50+ tokens of text, ends
   the article. Such headings are followed by plain paragraphs often enough
   (trackback excerpts, teasers, bios) that rule 2 alone keeps them. A
   comments heading naming the post ("107 Responses to ...") may be longer
   (up to 20 tokens). And when two or more "Posted by NAME at DATE" lines
   follow 50+ tokens of text, the article ends at the first: it signs the
   post, the others sign comments. These were added on the Dragnet dev
   half and checked on the test half and Mozilla's pages, with this rule 4's
   copyright lines (within 3 bits: 47.3 -> 49.8 % dev, 54.1 -> 58.0 % test,
   Mozilla test 53.2 -> 55.3 %; within 6 bits up 1.5-2 points on Dragnet,
   unchanged on Mozilla). Two exceptions: "Comment" and "Response" alone
   are no comments headings ("1 Comment" is), as they head table columns
   and sections about a Response object; and a related heading ("More from
   Politics") heads a box inside the article, not its end, when the densest
   segment after it scores ``RELATED_BOX_RATIO`` times the one before it
   (the text after it then stands alone; at most ``MAX_RELATED_BOXES``).
2. **Densest segment**: each block scores its plain (non-link) tokens,
   minus ``LINK_WEIGHT`` per link token, minus ``BLOCK_PENALTY``; the
   contiguous run of blocks with the largest sum is the article (the
   maximum-subarray form of Finn et al.'s Body Text Extraction). Navigation,
   link lists, related-post lists and footers before or after it score
   negative and fall away; a short line between paragraphs costs little and
   stays. A block is a paragraph: lines broken by ``<br>`` stay one block
   (else a post typed line by line paid the penalty per line and lost to a
   sidebar sentence).
   **2b. Description**: the plain-text block sharing at least
   ``DESCRIPTION_MATCH`` of its word pairs with the page's ``description``
   meta tag (or sharing that much of the tag's) is what the page is about;
   its score gains one point per word pair of the description, so a short
   article is not outscored by a sidebar. A site-wide description matches
   no block and changes nothing. 71 % of the Dragnet pages and 80 % of
   Mozilla's have one of 8+ words, and for 79 % and 81 % of those at least
   80 % of its words are in the article text.
3. **Headline**: a heading that the page's ``<title>`` repeats, else the
   nearest ``<h1>`` (else ``<h2>``), at most ``HEADLINE_REACH`` blocks
   before the segment (or in its first two blocks), is kept with the blocks
   between it and the segment (byline, date). Measured: the hand-made gold
   text of news pages includes title, byline and date (Dragnet), and keeping
   them puts a page within 3 bits of its article more often (43 % against
   37 % of the Dragnet dev half, within 6 bits 66 % against 62 %); on pages
   whose reference leaves the title out (Mozilla's Readability) it made no
   difference (55 % and 74 % either way). resiliparse's post metadata
   (bylines, dates: ``post_meta``) is kept for the same reason (without it,
   token F1 0.870 against 0.877 on that half).
4. **Inside the segment**, lone furniture words ("Advertisement", "Share",
   "Print", "广告", ...) and copyright lines ("© 2024 ...", "... All rights
   reserved", "版权所有", at most ``MAX_RIGHTS_TOKENS`` tokens) are dropped,
   as are lines that are only a small number ("6", "3 of 12": gallery
   counters, chart labels; these go before rule 2 scores the blocks, as a
   slide show's twenty numbers would otherwise cut the article in two),
   and so are the ICP licence lines every Chinese site shows in its footer
   and the editor's credit Chinese portals put under an article
   ("责任编辑：...", left out of Readability's text of such pages).
   Link-dense blocks are not dropped there: the segment's score already
   keeps link lists (breadcrumbs, tag lists, related posts, "next/previous"
   bars) out when they stand before or after the article, and inside it
   they are mostly the article's own lists. Measured: dropping blocks with over half their tokens in links
   put fewer pages within 3 bits of their article on both halves of both
   labelled sets (dev halves: Dragnet 38 % against 43 %, Mozilla 49 %
   against 55 %).
5. **Second look**: when the article found has fewer than
   ``MIN_ARTICLE_TOKENS`` tokens, rules 1-4 also run on all visible text
   (one more C pass, for short pages only); an article found there at least
   twice as long wins: resiliparse's main-content pass sometimes keeps a
   sidebar and drops the article, and two pages of one site then share
   only that sidebar.
6. **Title anchor**: when the article is still that short and has no
   heading of its own, the section of all visible text under the heading
   naming the page (the last heading of 3+ tokens that the page's
   ``<title>`` repeats: the first of several is the site's name) replaces
   it. A blog's picture or video post has a dozen words of its own; the
   densest text of the page is then the blog's "about me" blurb, the same
   on every post, and two such posts were merged on it (Dragnet's training
   split, pages 135 and 312). With the anchor those two stay apart and no
   cluster of the labelled sets mixes two articles; the page within 3 / 6
   bits of its article and clustered with it move by at most one page per
   half (Dragnet dev half 51.2/75.4/77.3 -> 51.7/75.8/77.8 %, test half
   57.5/72.5/75.4 -> 57.0/72.9/75.8 %, training halves 50.7/75.8/80.1 ->
   51.1/76.8/80.3 % and 59.8/78.1/80.7 -> 60.2/78.1/80.5 %, Mozilla's
   unchanged). Synthetic wrapped pairs (an
   article put into another page's template, keeping that page's
   ``<title>``) lose 0.2-0.5 points: the title names a heading of the
   template, which a real copy's title does not.

Tokens here are ``\\w+`` words, and each CJK character counts as one, so the
rules need no language detection. The constants (``BLOCK_PENALTY``,
``LINK_WEIGHT``, ...) were chosen on one half of two labelled sets and
checked on the other (``benchmarks/bench_html.py``, part 0).

How the second round of rules was measured, and why so: the ``<br>``
paragraphs, the description (2b), the two exceptions of rule 1, the
counters and the Chinese furniture lines were written from failures seen on
the small halves (207 and 47 pages: a page is 0.5 and 2.1 points), then
checked on Dragnet's training split (966 pages never looked at before,
``benchmarks/make_dragnet_train.py``). There, all of them together leave the
three figures where they were (page within 3 / 6 bits of its article,
clustered with it: 55.3/77.3/80.3 % -> 54.9/77.4/80.4 %), while on Mozilla's
pages they move 70.2/89.4/87.2 -> 74.5/91.5/87.2 % (dev) and
55.3/83.0/83.0 -> 61.7/87.2/87.2 % (test), on Dragnet's test split
49.8/73.4/75.4 -> 51.2/75.4/77.3 % (dev) and 58.0/71.5/75.8 -> 57.5/72.5/75.4
% (test), and they remove the one cluster there that mixed two articles
(two short posts of one blog reduced to its sidebar sentence). A further
rule that made links in a sentence-like block cost half looked good on the
small halves and lost a point on all three figures on the training split:
dropped. The training split would also like a larger ``BLOCK_PENALTY`` (6:
58.0/78.5/80.6 %), which costs 4 points within 3 bits on Mozilla's dev
half: kept at 4.

The text of a page depends on resiliparse's version
(:func:`extractor_version`), not only on the fingerprint spec.

Results on awkward pages (never an exception, never a hang):

- broken HTML is repaired as browsers do (the HTML5 parsing algorithm);
- a page without visible text, or with only scripts, gives ``""`` (so the
  fingerprint 0 and no tokens: never a near-duplicate);
- with ``"main"``, a page whose main-content heuristics and rules keep
  nothing falls back to all its visible text (a page with no article is what
  it shows);
- a page nested deeper than ``MAX_MAIN_DEPTH`` levels (estimated from its
  tags) skips resiliparse's main-content pass, which takes time quadratic in
  the nesting depth, and looks for its article in all visible text (rule 5;
  the plain pass is linear).
"""

from __future__ import annotations

import html as html_module
import re
from collections.abc import Callable
from bisect import bisect_right
from functools import lru_cache
from itertools import pairwise
from typing import NamedTuple, Union

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
BLOCK_PENALTY = 4.0
"""Score of a block in the densest-segment search, subtracted per block (see module docstring)."""
LINK_WEIGHT = 2.0
"""Score subtracted per link token, on top of not counting it as text."""
HEADLINE_REACH = 6
"""How many blocks before the article a headline may stand."""
MIN_ARTICLE_TOKENS = 100
"""An article shorter than this is looked for in all visible text too (rule 5 of the module docstring)."""
MIN_TEXT_BEFORE_COMMENTS = 50
"""Tokens of text that must come before a comments heading for it to end the article."""
RELATED_BOX_RATIO = 4.0
"""A related heading is a box inside the article when what follows it scores this many times more (rule 1)."""
MAX_RELATED_BOXES = 3
"""At most this many related headings are taken for boxes inside one article; the next one ends it."""
DESCRIPTION_MIN_PAIRS = 7
"""A description meta tag with fewer word pairs (8 words) is not used (rule 2b)."""
DESCRIPTION_MATCH = 0.6
"""Share of word pairs a block and the description must have in common (rule 2b)."""
DESCRIPTION_SCAN = 300_000
"""Characters of the page searched for meta tags (they belong in ``<head>``)."""

_CJK = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")
_TAG = re.compile(r"<[^>]*>")
_LINK = re.compile(r"<a\b[^>]*>(.*?)</a>", re.DOTALL)
_HEADING = re.compile(r"\s*<h([1-6])\b")
_LINE_END = re.compile(r"(?<!<br>)\n")
_CJK_CHAR = re.compile(rf"[{_CJK}]")
_META = re.compile(r"<meta\b[^>]{0,4000}>", re.IGNORECASE)
_DESCRIPTION = re.compile(r"(?:name|property)\s*=\s*[\"']?(?:og:|twitter:)?description\b", re.IGNORECASE)
_CONTENT = re.compile(r"\bcontent\s*=\s*(?:\"([^\"]*)\"|'([^']*)')", re.IGNORECASE)
_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_COMMENTS_HEADING = re.compile(
    # "Comment" or "Response" alone is as often a table column or a section about a Response object: the
    # singular takes a count ("1 Comment").
    r"\W*(?:\d+\s+(?:comment|response)|(?:\d+\s+)?(?:comments|responses|replies|leave a (?:reply|comment)"
    r"|post a comment|add a comment"
    r"|reader comments|discussion|trackbacks?|trackback pings|pingbacks?|kommentare?|commentaires?|comentarios?"
    r"|comentários|评论|評論|留言|コメント"
    r"|about the author|about me|(?:blog )?comments powered by disqus))\W*",
    re.IGNORECASE)
_RELATED_HEADING = re.compile(
    r"\W*(?:related(?: (?:posts?|articles?|stories|content|links|coverage))?|you (?:may|might) also like"
    r"|don'?t miss|more (?:from|on|stories)\b.*|recommended(?: for you)?|read (?:more|next)|most (?:popular|read)"
    r"|weitere artikel|lesen sie auch|à lire aussi|相关(?:阅读|文章|新闻)|相關(?:閱讀|文章|新聞)|推荐阅读|延伸阅读"
    r"|関連記事)\W*",
    re.IGNORECASE)
"""What sites put after an article (rule 1), or inside it as a box of links."""
_COMMENTS_ON = re.compile(r"\W*\d+\s+(?:comments?|responses?|replies|thoughts)\s+(?:to|on)\b", re.IGNORECASE)
"""A comments heading naming the post ("107 Responses to "Alien Surface""): it may be longer."""
_SIGNATURE = re.compile(r"\W*posted by:?\s+\S.{0,60}?\s+(?:at|on)\s+\S.*\d", re.IGNORECASE)
"""A post or comment signature, "Posted by: NAME at DATE" (blog engines put one under each)."""
_FURNITURE = re.compile(
    r"\W*(?:advertisement|advertising|sponsored|anzeige|werbung|publicité|publicidad|share|share this|tweet|email"
    r"|print|广告|廣告|分享|打印|广告位)\W*", re.IGNORECASE)
_COUNTER = re.compile(r"\W*\d{1,3}(?:\s*(?:of|/)\s*\d{1,3})?\W*", re.IGNORECASE)
"""A line that is only a small number ("6", "3 of 12"): a gallery counter, a chart's axis label."""
_RIGHTS = re.compile(
    r"\s*(?:©|\(c\)\s|copyright\b)|.*(?:all rights reserved|alle rechte vorbehalten|tous droits réservés"
    r"|todos los derechos reservados|版权所有|版權所有|著作権"
    # Chinese sites must show their ICP licence and public-security filing numbers, in the footer
    r"|icp备|icp证|icp證|公网安备|公網安備)"
    # the editor-in-charge credit Chinese portals add under an article
    r"|\W*(?:责任编辑|責任編輯)\s*[:：]", re.IGNORECASE)
"""A copyright, licence or editor's credit line: site furniture wherever it stands (rule 4)."""
MAX_RIGHTS_TOKENS = 40
"""Longest line (in tokens) taken for a copyright line; a longer one may be the article's own text."""
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


class Block(NamedTuple):
    """One paragraph of resiliparse's main-content output: its text and what the filters look at."""

    text: str
    tokens: int       # \w+ words, each CJK character one
    link_tokens: int  # of which inside links
    heading: int      # 1-6 for <h1>-<h6>, else 0


def _count(text: str) -> int:
    return len(_TOKEN.findall(text))


def main_blocks(html: str, main_content: bool = True) -> list[Block]:
    """The blocks (non-empty paragraphs) of resiliparse's main content (or all text), comment sections left out.

    One C pass (``preserve_formatting="minimal_html"``, ``links=True``) marks
    headings and links; the per-line work here is a few regular expressions.
    """
    marked = _extractor()(html, preserve_formatting="minimal_html", main_content=main_content, alt_texts=False,
                          list_bullets=False, links=True, comments=False)
    blocks = []
    for line in _paragraphs(marked):
        text = _TAG.sub("", line) if "<" in line else line
        if "&" in text:
            text = html_module.unescape(text)
        text = text.strip()
        if not text:
            continue
        tokens = _count(text)
        # Link text is counted without unescaping entities: "&amp;" adds a token, rarely and harmlessly.
        links = sum(_count(_TAG.sub("", a)) for a in _LINK.findall(line)) if "<a " in line else 0
        heading = _HEADING.match(line) if "<h" in line else None
        blocks.append(Block(text, tokens, min(links, tokens), int(heading.group(1)) if heading else 0))
    return blocks


def _paragraphs(marked: str) -> list[str]:
    """Lines of the marked text, a line ended by ``<br>`` joined with the next one.

    A ``<br>`` breaks a line inside one paragraph (poems, addresses, blog
    posts typed line by line); scored as blocks of their own, such lines each
    paid ``BLOCK_PENALTY`` and a short article written that way lost to a
    sidebar sentence (two posts of one blog then shared one text).
    """
    return _LINE_END.split(marked) if "<br>" in marked else marked.split("\n")


def page_title(html: str) -> str:
    """The text of the page's ``<title>``, lower-cased with white space collapsed ("" if none)."""
    match = _TITLE.search(html)
    return " ".join(html_module.unescape(match.group(1)).lower().split()) if match else ""


def _block_score(b: Block) -> float:
    """A block's score in the densest-segment search (rule 2 of the module docstring)."""
    return b.tokens - (1 + LINK_WEIGHT) * b.link_tokens - BLOCK_PENALTY


def _pairs(text: str) -> set[tuple[str, str]]:
    words = _TOKEN.findall(text.lower())
    return set(pairwise(words))


def page_description(html: str) -> set[tuple[str, str]]:
    """Word pairs of the page's longest ``description`` meta tag (also ``og:``/``twitter:``), if long enough.

    Consecutive token pairs rather than words: a CJK description is a set of
    characters otherwise, most of which any long block contains.
    """
    best: set[tuple[str, str]] = set()
    head_end = html.find("</head>", 0, DESCRIPTION_SCAN)  # meta tags belong in <head>
    for tag in _META.findall(html, 0, head_end if head_end >= 0 else DESCRIPTION_SCAN):
        if _DESCRIPTION.search(tag):
            content = _CONTENT.search(tag)
            if content:
                pairs = _pairs(html_module.unescape(content.group(1) or content.group(2) or ""))
                if len(pairs) > len(best):
                    best = pairs
    return best if len(best) >= DESCRIPTION_MIN_PAIRS else set()


def _described_block(blocks: list[Block], description: set[tuple[str, str]]) -> int | None:
    """Index of the plain-text block that best matches the description (rule 2b), if one matches well."""
    # A block sharing 60 % of its or the description's word pairs nearly always holds three of the
    # description's longer words (or CJK character pairs): found with a few str.find passes over the
    # page's text, they spare tokenizing every block.
    keys = sorted({w for pair in description for w in pair if len(w) >= 5}
                  | {a + b for a, b in description if _CJK_CHAR.match(a) and _CJK_CHAR.match(b)},
                  key=len, reverse=True)[:12]
    need = min(len(keys), 3)
    low = [b.text.lower() for b in blocks]
    starts, at_ = [], 0
    for text in low:
        starts.append(at_)
        at_ += len(text) + 1
    joined = "\n".join(low)
    found: dict[int, set[str]] = {}
    for key in keys:
        i = joined.find(key)
        while i >= 0:
            found.setdefault(bisect_right(starts, i) - 1, set()).add(key)
            i = joined.find(key, i + 1)
    candidates = range(len(blocks)) if not keys else sorted(i for i, k in found.items() if len(k) >= need)
    best, at = DESCRIPTION_MATCH, None
    for i in candidates:
        b = blocks[i]
        if b.tokens < 5 or 2 * b.link_tokens >= b.tokens:
            continue
        pairs = _pairs(low[i])
        common = len(pairs & description)
        # The description may be the block's first sentence, or the block one line of a longer description.
        match = max(common / len(description), common / max(1, len(pairs)))
        if match >= best:
            best, at = match, i
    return at


def _end_heading(blocks: list[Block]) -> int | None:
    """Index of the first comments or related heading after ``MIN_TEXT_BEFORE_COMMENTS`` tokens (rule 1)."""
    seen = 0
    for i, b in enumerate(blocks):
        if (2 * b.link_tokens < b.tokens and seen >= MIN_TEXT_BEFORE_COMMENTS
                and ((b.tokens <= 6 and (_COMMENTS_HEADING.fullmatch(b.text) or _RELATED_HEADING.fullmatch(b.text)))
                     or (b.tokens <= 20 and _COMMENTS_ON.match(b.text)))):
            return i
        seen += b.tokens
    return None


def _best_sum(blocks: list[Block]) -> float:
    """Score of the densest segment of ``blocks`` (rule 2 without 2b), 0 if none is positive."""
    best = run = 0.0
    for b in blocks:
        score = _block_score(b)
        run = score if run <= 0 else run + score
        best = max(best, run)
    return best


def select_article(blocks: list[Block], title: str = "",
                   description: set[tuple[str, str]] | None = None) -> list[Block]:
    """The blocks of the article, by the rules of the module docstring.

    ``title`` is :func:`page_title`, ``description`` :func:`page_description`.
    """
    # 4, first: counters go before the segment is scored, as a gallery's twenty lines cost more than its caption
    blocks = [b for b in blocks if not (b.tokens <= 3 and _COUNTER.fullmatch(b.text))]
    boxes = 0  # bounded: each box costs a pass over the blocks
    while (end := _end_heading(blocks)) is not None:  # 1. a comments or related heading ends the article ...
        after = blocks[end + 1:]
        if boxes < MAX_RELATED_BOXES and _RELATED_HEADING.fullmatch(blocks[end].text) and (
                _best_sum(after[:_end_heading(after)]) > RELATED_BOX_RATIO * _best_sum(blocks[:end])):
            blocks, boxes = after, boxes + 1  # ... unless it heads a box inside the article, which goes on after it
        else:
            blocks = blocks[:end]
            break
    # 1b. comments signed like the post: keep up to the post's own signature
    seen, signed = 0, []
    for i, b in enumerate(blocks):
        if b.tokens <= 20 and seen >= MIN_TEXT_BEFORE_COMMENTS and _SIGNATURE.match(b.text):
            signed.append(i)
        seen += b.tokens
    if len(signed) >= 2:
        blocks = blocks[:signed[0] + 1]
    if not blocks:
        return []
    described = _described_block(blocks, description) if description else None
    best, run, run_start, start, end = float("-inf"), 0.0, 0, 0, 0
    for i, b in enumerate(blocks):  # 2. the densest segment (maximum subarray)
        score = _block_score(b)
        if i == described:  # 2b. the block the page's description summarises
            score += len(description)  # type: ignore[arg-type]
        if run <= 0:
            run, run_start = score, i
        else:
            run += score
        if run > best:
            best, start, end = run, run_start, i + 1
    # 3. the headline and what stands between it and the article: a heading the <title> repeats, else h1, h2
    near = range(max(0, start - HEADLINE_REACH), min(start + 2, end))
    headline = next((i for i in reversed(near) if blocks[i].heading and blocks[i].tokens >= 2
                     and " ".join(blocks[i].text.lower().split()) in title), None)
    if headline is None:
        headline = next((i for level in (1, 2) for i in reversed(near) if i < start and blocks[i].heading == level),
                        None)
    if headline is not None:
        start = min(start, headline)
    return [b for b in blocks[start:end]  # 4. lone furniture words, copyright lines
            if not (b.tokens <= 3 and _FURNITURE.fullmatch(b.text))
            and not (b.tokens <= MAX_RIGHTS_TOKENS and _RIGHTS.match(b.text))]


def _title_heading(blocks: list[Block], title: str) -> int | None:
    """Index of the heading (3+ tokens) naming the page in ``<title>``, None if none.

    A title is usually "Post - Site" (or "Site | Post") and both parts are
    headings on the page: when several headings are repeated by the title,
    the first is the site's name in its header and the last names the page.
    """
    named = [i for i, b in enumerate(blocks)
             if b.heading and b.tokens >= 3 and " ".join(b.text.lower().split()) in title]
    return named[-1] if named else None


def _titled_section(blocks: list[Block], title: str, article: list[Block]) -> list[Block]:
    """The section under the heading naming the page (rule 6), [] if none or ``article`` has a heading.

    The section runs up to the next heading of the same or a higher level and
    ends where its densest prefix does; the heading counts as plain text, as a
    post's title is often a link to the post itself.
    """
    at = _title_heading(blocks, title)
    if at is None or any(b.heading for b in article):
        return []
    best = run = float(blocks[at].tokens)
    end = at + 1
    for i in range(at + 1, len(blocks)):
        if blocks[i].heading and blocks[i].heading <= blocks[at].heading:
            break
        run += _block_score(blocks[i])
        if run > best:
            best, end = run, i + 1
    return blocks[at:end]


def extract_text(html: str, content: str = "main") -> str:
    """Visible text of an HTML page: its main content (``"main"``) or all of it (``"all"``).

    ``"main"`` is the article without the furniture around it (see the module
    docstring), one block a line. See there too for pages without text,
    broken or deeply nested pages.
    """
    try:
        return _extract(html, content)
    except TypeError:
        # A str holding lone surrogates cannot cross into the C parser; they become U+FFFD.
        return _extract(html.encode("utf-8", "surrogatepass").decode("utf-8", "replace"), content)


def _extract(html: str, content: str) -> str:
    text = ""
    if content == "main":
        title, description = page_title(html), page_description(html)
        article = (select_article(main_blocks(html), title, description)
                   if nesting_depth_estimate(html) <= MAX_MAIN_DEPTH else [])
        if sum(b.tokens for b in article) < MIN_ARTICLE_TOKENS:
            # 5. resiliparse's main-content pass sometimes keeps a sidebar and loses the article.
            every = main_blocks(html, main_content=False)
            alternative = select_article(every, title, description)
            if sum(b.tokens for b in alternative) > 2 * sum(b.tokens for b in article):
                article = alternative
            # 6. a short text without the page's own heading may be a sidebar blurb every page of the site shows
            if sum(b.tokens for b in article) < MIN_ARTICLE_TOKENS and title:
                article = _titled_section(every, title, article) or article
        text = "\n".join(b.text for b in article)
    if not text.strip():
        text = _extractor()(html, main_content=False, alt_texts=False, list_bullets=False)
    return text


def html_to_text(doc: str | bytes, content: str = "main", content_type: ContentType = None,
                 encoding_errors: str = "replace") -> str:
    """Decode (if bytes) and extract the text of one HTML page.

    Parameters
    ----------
    doc : str or bytes
        The page. Bytes are decoded with the charset of the BOM, the
        ``content_type`` header, the ``<meta>`` tag or detection, in that
        order (:func:`simdup.text.charset.decode_html`).
    content : {"main", "all"}
    content_type : str, optional
        The HTTP ``Content-Type`` header value (only its charset is used).
    encoding_errors : str
        Codec error handler for bytes invalid in the chosen charset.
    """
    if not isinstance(doc, str):
        doc = decode_html(bytes(doc), content_type, encoding_errors).text
    return extract_text(doc, content)
