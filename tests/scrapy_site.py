"""A small web site with planted near-duplicates, served on 127.0.0.1, for real Scrapy crawls.

Built from the shared real pages (``../shared/data/web_pages_trafilatura.jsonl.gz``):

* ``/a/<i>``: articles taken from real pages (their main content, at least
  ``MIN_WORDS`` words), all in one site template ("The Daily Example": a
  cookie banner, navigation, a most-read box, a footer): distinct pages that
  share the template, never duplicates of one another;
* ``/raw/<j>``: real pages as they are (each its own site's template);
* planted near-duplicates, each linked only from its original, so a crawl
  always meets the original first, at any concurrency:
  ``/b/<i>`` the same article under another URL in another template
  ("Partner News Network") with another date line; ``/a/<i>?utm_...`` and
  ``/raw/<j>?ref=rss`` the same page under tracking parameters;
  ``/a/<i>/updated`` the same template with a changed date line;
* ``/`` a hub linking the originals, ``/data.json`` (not HTML) and two
  missing pages (404).

Why articles of ``MIN_WORDS`` words: the other template's furniture and date
line move a short article's fingerprint more (a 190-word article moved 5
bits, 300+ word articles at most 3 in this set).

Used by ``tests/test_scrapy_crawl.py`` and ``benchmarks/bench_scrapy.py``;
the spider they run is ``tests/scrapy_spider.py``.
"""

from __future__ import annotations

import gzip
import html
import json
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))  # the one shared-data helper
import shared_data  # noqa: E402

PAGES = shared_data.path("web_pages_trafilatura.jsonl.gz")
SPIDER = Path(__file__).resolve().parent / "scrapy_spider.py"
MIN_WORDS = 500

E = html.escape
SECTIONS = "world politics business tech science health sport culture travel opinion".split()


@dataclass
class Site:
    """Paths to (content type, body), and what the crawl should make of them."""

    pages: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    originals: list[str] = field(default_factory=list)        # HTML pages kept on a first crawl
    duplicates: dict[str, str] = field(default_factory=dict)  # planted copy -> its original


def _articles(records: list[dict], n: int) -> list[tuple[str, list[str]]]:
    """(title, paragraphs) of the first ``n`` pages whose main content has ``MIN_WORDS`` words."""
    from simdup.text.html import extract_text

    out = []
    for rec in records:
        paras = [p for p in extract_text(rec["html"]).split("\n") if len(p.split()) >= 12]
        if sum(len(p.split()) for p in paras) >= MIN_WORDS and len(paras) >= 4:
            out.append((" ".join(paras[0].split()[:8]), paras))
            if len(out) == n:
                break
    return out


def template_a(title: str, paras: list[str], most_read: list[tuple[str, str]], extra_links: str,
               date: str = "Published 3 March 2024 by Staff Writer") -> str:
    nav = "".join(f'<li><a href="/section/{s}">{s.title()}</a></li>' for s in SECTIONS)
    side = "".join(f'<li><a href="{u}">{E(t)}</a></li>' for u, t in most_read)
    body = "".join(f"<p>{E(p)}</p>" for p in paras)
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{E(title)} | The Daily Example</title></head>
<body><div class="cookie">We use cookies to improve your experience. <a href="/privacy">Privacy policy</a>
<button>Accept</button></div>
<header><a href="/">The Daily Example</a><nav><ul>{nav}</ul></nav></header>
<main><article><h1>{E(title)}</h1><p class="date">{date}</p>{body}</article>
<aside><h2>Most read</h2><ul>{side}</ul></aside></main>
<footer><p>Copyright 2024 The Daily Example. All rights reserved.</p><a href="/about">About</a>
<a href="/contact">Contact</a>{extra_links}</footer></body></html>"""


def template_b(title: str, paras: list[str]) -> str:
    body = "".join(f"<p>{E(p)}</p>" for p in paras)
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{E(title)} - Partner News Network</title></head>
<body><div id="top"><span>Partner News Network</span> <a href="/login">Sign in</a> <a href="/subscribe">Subscribe</a></div>
<div class="menu"><a href="/n">News</a> | <a href="/m">Markets</a> | <a href="/w">Weather</a> | <a href="/v">Video</a></div>
<div class="content"><h2 class="headline">{E(title)}</h2><div class="meta">Updated 5 March 2024, 10:42 | Syndicated</div>
{body}<div class="share">Share this: <a href="#">Facebook</a> <a href="#">Twitter</a> <a href="#">Email</a></div></div>
<div class="newsletter">Get our newsletter every morning. <form><input name="email"><button>Sign up</button></form></div>
<div class="foot">(c) Partner News Network 2024 - Terms - Privacy - Imprint</div></body></html>"""


def build_site(n_articles: int = 8, n_raw: int = 4) -> Site:
    """The site described in the module docstring (skips the calling test when the shared pages are absent)."""
    shared_data.require(PAGES.name)
    with gzip.open(PAGES, "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    arts = _articles(records, n_articles)
    site = Site()
    html_type = "text/html; charset=utf-8"
    most_read = [(f"/a/{i}", t) for i, (t, _) in enumerate(arts[:6])]
    for i, (title, paras) in enumerate(arts):
        # Planted copies, by kind, each linked only from its original.
        kind = ["template", "template", "template", "template", "tracking", "tracking", "date", "none"][i % 8]
        extra = ""
        if kind == "template":
            site.pages[f"/b/{i}"] = (html_type, template_b(title, paras).encode())
            site.duplicates[f"/b/{i}"] = f"/a/{i}"
            extra = f'<a href="/b/{i}">Also on Partner News</a>'
        elif kind == "tracking":
            copy = f"/a/{i}?utm_source=newsletter&utm_medium=email"
            site.duplicates[copy] = f"/a/{i}"
            extra = f'<a href="{E(copy)}">Share by email</a>'
        elif kind == "date":
            site.pages[f"/a/{i}/updated"] = (html_type, template_a(
                title, paras, most_read, "", date="Updated 4 March 2024, 18:05 by Staff Writer").encode())
            site.duplicates[f"/a/{i}/updated"] = f"/a/{i}"
            extra = f'<a href="/a/{i}/updated">Updated version</a>'
        site.pages[f"/a/{i}"] = (html_type, template_a(title, paras, most_read, extra).encode())
        site.originals.append(f"/a/{i}")
    raws = records[-n_raw:]  # real pages far from the articles' (taken from the start)
    for j, rec in enumerate(raws):
        page = rec["html"]
        link = f'<a href="/raw/{j}?ref=rss">rss</a>' if j < 2 else ""
        at = page.lower().rfind("</body>")
        page = page[:at] + link + page[at:] if at >= 0 else page + link
        site.pages[f"/raw/{j}"] = (html_type, page.encode("utf-8", "surrogatepass"))
        site.originals.append(f"/raw/{j}")
        if j < 2:
            site.duplicates[f"/raw/{j}?ref=rss"] = f"/raw/{j}"
    links = "".join(f'<li><a href="{p}">{p}</a></li>' for p in site.originals)
    site.pages["/"] = (html_type, (f"<!doctype html><html><head><title>Index</title></head><body><ul>{links}"
                                   '<li><a href="/data.json">data</a></li><li><a href="/missing/1">x</a></li>'
                                   '<li><a href="/missing/2">y</a></li></ul></body></html>').encode())
    site.pages["/data.json"] = ("application/json", b'{"pages": 12}')
    return site


class _Handler(BaseHTTPRequestHandler):
    site: Site

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = urlsplit(self.path).path  # tracking parameters reach the same page
        page = self.site.pages.get(path)
        if page is None:
            body = b"<html><body><h1>Not found</h1><p>This page does not exist.</p></body></html>"
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
        else:
            ctype, body = page
            self.send_response(200)
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


class Server:
    """The site on 127.0.0.1 at a free port, in a thread (``with Server(site) as base:``)."""

    def __init__(self, site: Site) -> None:
        handler = type("Handler", (_Handler,), {"site": site})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()
