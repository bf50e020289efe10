"""HTML pages: extraction libraries compared, template vs article near-duplicates, throughput.

Four parts, each printed as it finishes:

0. **Main content against ground truth.** On the shared Dragnet pages
   (hand-made article text, title included) and Mozilla Readability's test
   pages (Readability's accepted output, several languages), each split into
   a dev half (even positions) and a test half (odd): simdup's extraction,
   resiliparse's main-content pass as simdup used it before, trafilatura
   (``favor_precision=True`` and default) and readability-lxml. Per
   extractor: token precision, recall and F1 against the ground truth (mean
   over pages; tokens are lower-cased ``\\w+`` words, and each CJK
   character is a token of its own; counted as multisets); how often a
   page's text lands within 3 and within 6 bits of its article's text
   (``SimHasher()`` fitted on the half's page texts); ``simdup.dedup`` of
   pages and articles together (``hasher=SimHasher(input="auto")``, other
   settings default; simdup gets the HTML, the others their extracted text):
   the share of pages clustered with their own article and the number of
   clusters that mix two articles; pages/s of the extraction on one core.

1. **Extraction.** On the shared trafilatura pages: seconds, pages/s and the
   agreement with trafilatura's own output (taken as the ground truth: token
   sets, lower-cased ``\\w+`` words, Jaccard per page) of simdup's main
   content, all visible text (resiliparse) and selectolax with simple
   boilerplate rules.
2. **Wrapped pairs.** A page's main-content region is the smallest element
   holding all the text nodes of its main text as resiliparse's
   main-content pass finds it (not the extraction under test); swapping that
   region into another page (in place of the host's region) puts the article
   in the host's template. A *wrapped pair* is a page and its article inside
   another site's template: it should be within k. A *template pair* is two
   pages sharing only a template: two different trafilatura articles in one
   host's template, and pairs of LibreOffice help pages (one real template).
   Recall (wrapped pairs within k) and false-duplicate rate (template pairs
   within k) for main content and for all visible text, with
   ``SimHasher.default()`` at k.
3. **Throughput.** All pages as UTF-8 bytes through
   ``SimHasher.default().set_params(input="html").transform``, one core:
   pages/s, MB/s and the share of time spent in the extraction (resiliparse and simdup's block rules).

    python benchmarks/bench_html.py [--limit N] [--pairs N] [-k 3] [--no-compare] [--no-labelled]

LibreOffice help pages (Debian ``libreoffice-help-en-us``,
``libreoffice-help-zh-cn``) are used when installed under
``/usr/share/libreoffice/help``; otherwise that part is skipped.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from itertools import combinations, islice
from pathlib import Path

import numpy as np

from simdup import SimHasher
from simdup.text.html import extract_text, extractor_version

import shared_data  # benchmarks/shared_data.py: the shared corpora's folder (SIMDUP_SHARED_DATA)

SHARED = shared_data.data_dir()
DATA = SHARED / "web_pages_trafilatura.jsonl.gz"
# Pages with ground-truth main content. Dragnet is AGPLv3: read here by path, never copied into the project.
LABELLED = {"Dragnet (English, hand-made article text)": "dragnet_test.jsonl.gz",
            "Mozilla Readability test pages (several languages)": "mozilla_readability_testpages.jsonl.gz"}
SKIP_LABELLED = {"R237"}  # Dragnet: the saved HTML is an interstitial, not the article (SOURCES.md)
CJK = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff"
GOLD_TOKEN = re.compile(rf"[{CJK}]|[^\W{CJK}]+")
LIBREOFFICE = Path("/usr/share/libreoffice/help")
WORD = re.compile(r"\w+")
BOILERPLATE = re.compile(r"nav|menu|footer|header|sidebar|comment|cookie|banner|share|social|related|breadcrumb"
                         r"|widget|advert|promo|newsletter|subscribe", re.IGNORECASE)


def load_pages(limit: int | None) -> list[str]:
    with gzip.open(DATA, "rt", encoding="utf-8") as f:
        return [json.loads(line)["html"] for line in islice(f, limit)]


def load_labelled(file: str, limit: int | None) -> list[dict]:
    with gzip.open(SHARED / file, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    return [r for r in rows if r["id"] not in SKIP_LABELLED][:limit]


def load_libreoffice(language: str, limit: int | None) -> list[str]:
    files = sorted((LIBREOFFICE / language / "text").rglob("*.html"))[:limit]
    return [p.read_text(encoding="utf-8", errors="replace") for p in files]


# -- 1. extraction libraries ------------------------------------------------------------------------

def selectolax_rules(html: str) -> str:
    """All text of <article>/<main>/body after dropping boilerplate tags and classes (a baseline)."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    tree.strip_tags(["script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form",
                     "iframe", "svg"])
    for node in list(tree.css("body [class], body [id]")):
        if BOILERPLATE.search(f"{node.attributes.get('class') or ''} {node.attributes.get('id') or ''}"):
            node.decompose()
    root = tree.css_first("article") or tree.css_first("main") or tree.css_first('[role="main"]') or tree.body
    return root.text(separator=" ") if root is not None else ""


def tokens(text: str) -> set[str]:
    return set(WORD.findall(text.lower()))


def compare_extractors(pages: list[str]) -> None:
    import trafilatura

    mb = sum(len(p.encode("utf-8")) for p in pages) / 1e6
    systems = {
        "trafilatura.extract (ground truth)": lambda h: trafilatura.extract(h) or "",
        "trafilatura.extract(fast=True)": lambda h: trafilatura.extract(h, fast=True) or "",
        f"simdup main content ({extractor_version()} and block rules)": lambda h: extract_text(h, "main"),
        f"{extractor_version()}, all visible text": lambda h: extract_text(h, "all"),
        "selectolax + boilerplate rules": selectolax_rules,
    }
    outputs = {}
    print(f"\n## 1. Extraction: {len(pages)} pages, {mb:.1f} MB of HTML")
    print("| extractor | s | pages/s | MB/s | Jaccard vs trafilatura, mean | median | pages >= 0.8 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    truth: list[set[str]] = []
    for name, extract in systems.items():
        start = time.perf_counter()
        texts = [extract(p) for p in pages]
        seconds = time.perf_counter() - start
        outputs[name] = texts
        if not truth:
            truth = [tokens(t) for t in texts]
        scored = [len(tokens(t) & g) / len(tokens(t) | g) for t, g in zip(texts, truth) if g and tokens(t)
                  ] + [0.0 for t, g in zip(texts, truth) if g and not tokens(t)]
        print(f"| {name} | {seconds:.2f} | {len(pages) / seconds:,.0f} | {mb / seconds:.2f} | "
              f"{statistics.mean(scored):.3f} | {statistics.median(scored):.3f} | "
              f"{sum(s >= 0.8 for s in scored) / len(scored):.1%} |", flush=True)
    print(f"(pages where trafilatura extracted nothing, left out of the agreement: {sum(not g for g in truth)})")


# -- 0. main content against ground truth --------------------------------------------------------

def labelled_extractors() -> dict[str, Callable[[str], str] | None]:
    """Name -> extraction function (None: not installed). The first is simdup's, fed HTML to dedup."""
    from resiliparse.extract.html2text import extract_plain_text

    systems: dict[str, Callable[[str], str] | None] = {
        "simdup main content": lambda h: extract_text(h, "main"),
        "resiliparse main content (simdup before)":
            lambda h: extract_plain_text(h, main_content=True, alt_texts=False, list_bullets=False),
    }
    try:
        import trafilatura
    except ImportError:
        systems["trafilatura"] = None
    else:
        systems["trafilatura favor_precision"] = lambda h: trafilatura.extract(h, favor_precision=True) or ""
        systems["trafilatura default"] = lambda h: trafilatura.extract(h) or ""
    try:
        from readability import Document  # type: ignore[import-untyped]
    except ImportError:
        systems["readability-lxml"] = None
    else:
        def readability_text(h: str) -> str:
            try:
                summary = Document(h).summary()
            except Exception:  # noqa: BLE001 -- readability and lxml raise several kinds on pages they cannot parse
                return ""
            return extract_plain_text(summary, main_content=False, alt_texts=False, list_bullets=False)
        systems["readability-lxml"] = readability_text
    return systems


def token_prf(text: str, gold: str) -> tuple[float, float, float]:
    """Token precision, recall and F1 of ``text`` against ``gold`` (multisets of GOLD_TOKEN, lower-cased)."""
    got, want = Counter(GOLD_TOKEN.findall(text.lower())), Counter(GOLD_TOKEN.findall(gold.lower()))
    common = sum((got & want).values())
    p, r = common / max(1, sum(got.values())), common / max(1, sum(want.values()))
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def dedup_with_articles(pages: list[str], articles: list[str]) -> tuple[float, int]:
    """``simdup.dedup(pages + articles)``: share of pages clustered with their own article, clusters mixing two."""
    import simdup

    labels = simdup.dedup(pages + articles, hasher=SimHasher(input="auto")).labels
    n = len(pages)
    with_own = float(np.mean(labels[:n] == labels[n:])) if n else 0.0
    owners: dict[int, set[int]] = {}
    for i, label in enumerate(labels.tolist()):
        owners.setdefault(label, set()).add(i % n)
    # Two records may hold one article (Dragnet's training split has a story on two sites): a cluster mixes
    # articles when two of its records' hand-made texts differ, by their exact shingle Jaccard.
    shingles = {i: gold_shingles(articles[i]) for o in owners.values() if len(o) > 1 for i in o}
    mixed = sum(any(jaccard(shingles[a], shingles[b]) < SAME_ARTICLE for a, b in combinations(sorted(o), 2))
                for o in owners.values() if len(o) > 1)
    return with_own, mixed


SAME_ARTICLE = 0.8
"""Hand-made texts with at least this shingle Jaccard are one article (a cluster holding both mixes nothing)."""


def gold_shingles(text: str) -> set[tuple[str, ...]]:
    """Word 3-grams of ``text`` (GOLD_TOKEN tokens, lower-cased)."""
    words = GOLD_TOKEN.findall(text.lower())
    return set(zip(words, words[1:], words[2:])) or {tuple(words)}


def jaccard(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def compare_on_labelled(limit: int | None, extra: dict[str, Path] | None = None) -> None:
    systems = labelled_extractors()
    missing = [name for name, f in systems.items() if f is None]
    print("\n## 0. Main content against ground truth (dev half = even positions, test half = odd)")
    if missing:
        print(f"(not installed, left out: {', '.join(missing)})")
    print("| set | half | extractor | precision | recall | F1 | within 3 bits | within 6 bits "
          "| dedup: page with own article | clusters mixing articles | pages/s |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for title, file in {**LABELLED, **(extra or {})}.items():
        if not (SHARED / file).exists():
            print(f"| {title} | absent at {SHARED / file}: skipped |")
            continue
        rows = load_labelled(file, limit)
        for name, extract in systems.items():
            if extract is None:
                continue
            start = time.perf_counter()
            texts = [extract(r["html"]) for r in rows]
            rate = len(rows) / (time.perf_counter() - start)
            # The extra sets are all development data: their halves are only two samples.
            names = ("dev", "test") if title in LABELLED else ("even", "odd")
            for half, label in ((0, names[0]), (1, names[1])):
                idx = range(half, len(rows), 2)
                got, gold = [texts[i] for i in idx], [rows[i]["text"] for i in idx]
                if not got:
                    continue
                p, r, f = np.mean([token_prf(t, g) for t, g in zip(got, gold)], axis=0)
                hasher = SimHasher().fit(got)
                d = np.bitwise_count(np.asarray(hasher.transform(got)) ^ np.asarray(hasher.transform(gold)))
                pages = [rows[i]["html"] for i in idx] if name == "simdup main content" else got
                with_own, mixed = dedup_with_articles(pages, gold)
                print(f"| {title.split(' (')[0]} | {label} ({len(got)}) | {name} | {p:.3f} | {r:.3f} | {f:.3f} | "
                      f"{np.mean(d <= 3):.1%} | {np.mean(d <= 6):.1%} | {with_own:.1%} | {mixed} | {rate:,.0f} |",
                      flush=True)


# -- 2. wrapped pairs -------------------------------------------------------------------------------

def main_region(tree, main_text: str):  # type: ignore[no-untyped-def]
    """The smallest element holding every text node (20+ characters) of the page's extracted main text."""
    wanted = " ".join(main_text.split())
    chains = []
    for node in tree.body.traverse(include_text=True) if tree.body is not None else ():
        if node.tag != "-text":
            continue
        text = " ".join((node.text_content or "").split())
        if len(text) >= 20 and text in wanted:
            chain, parent = [], node.parent
            while parent is not None:
                chain.append(parent)
                parent = parent.parent
            chains.append(chain[::-1])
    if not chains:
        return None
    common = chains[0]
    for chain in chains[1:]:
        n = 0
        while n < min(len(common), len(chain)) and common[n].mem_id == chain[n].mem_id:
            n += 1
        common = common[:n]
    region = common[-1] if common else None
    # A region that is the whole body is not an article inside a template: such pages are left out.
    return None if region is None or region.tag in ("html", "body", "-document") else region


def region_text(html: str) -> str:
    """The text that locates a page's main-content region: resiliparse's broad main-content pass.

    Not simdup's extraction, which is under test: with it, a region could miss
    part of the host's own article (simdup keeps one dense run of blocks), and
    the host's leftover article text would then count as "template".
    """
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(html, main_content=True, alt_texts=False, list_bullets=False)


def article_of(html: str) -> str | None:
    """The HTML of the page's main-content region (its own markup: headings, paragraphs, figures)."""
    from selectolax.lexbor import LexborHTMLParser

    node = main_region(LexborHTMLParser(html), region_text(html))
    return node.html if node is not None else None


def wrap(host: str, article_html: str) -> str | None:
    """``host`` with its main-content region replaced by ``article_html``: the article in host's template."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(host)
    node = main_region(tree, region_text(host))
    if node is None:
        return None
    marker = "SIMDUPWRAPMARKER"
    node.replace_with(marker)
    html = tree.html or ""
    return html.replace(marker, article_html, 1) if marker in html else None


def within(a: list[str], b: list[str], hasher: SimHasher, k: int) -> tuple[float, int]:
    fa, na = hasher.transform(a, return_n_tokens=True)
    fb, nb = hasher.transform(b, return_n_tokens=True)
    ok = (na > 0) & (nb > 0)  # token-less pages are never duplicates
    d = np.bitwise_count(fa ^ fb)
    return float(((d <= k) & ok).mean()), int((~ok).sum())


def wrapped_pairs(pages: list[str], n_pairs: int, k: int, rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    articles = [(i, a) for i, a in ((i, article_of(p)) for i, p in enumerate(pages)) if a]
    print(f"(pages with a main-content region inside a template: {len(articles)} of {len(pages)})")
    wrapped, template = [], []
    for _ in range(20 * n_pairs):
        if len(wrapped) >= n_pairs or len(articles) < 3:
            break
        (i, art1), (j, art2), (host, _) = rng.sample(articles, 3)
        w1, w2 = wrap(pages[host], art1), wrap(pages[host], art2)
        if w1 is None or w2 is None:
            continue
        wrapped.append((pages[i], w1))   # the article on its own site and in another site's template
        template.append((w1, w2))        # two articles sharing only the host's template
    return {"wrapped": wrapped, "template": template}


def report_pairs(title: str, sets: dict[str, list[tuple[str, str]]], k: int) -> None:
    print(f"\n### {title}")
    print(f"| pairs | n | main content: within k={k} | all visible text | raw HTML as text |")
    print("|---|---:|---:|---:|---:|")
    for kind, pairs in sets.items():
        cells = []
        for input, content in (("html", "main"), ("html", "all"), ("text", "main")):
            hasher = SimHasher.default().set_params(input=input, html_content=content)
            rate, tokenless = within([a for a, _ in pairs], [b for _, b in pairs], hasher, k)
            cells.append(f"{rate:.1%}" + (f" ({tokenless} token-less)" if tokenless else ""))
        label = {"wrapped": "wrapped (same article, other template): recall",
                 "template": "template-sharing (different articles): false-duplicate rate",
                 "libreoffice": "LibreOffice help pages, random pairs: false-duplicate rate"}.get(kind, kind)
        print(f"| {label} | {len(pairs):,} | {' | '.join(cells)} |", flush=True)


def libreoffice_sets(hosts: list[str], language: str, n_pairs: int, limit: int | None,
                     rng: random.Random) -> dict[str, list[tuple[str, str]]] | None:
    if not (LIBREOFFICE / language).exists():
        print(f"\n(LibreOffice help pages for {language} absent: apt-get install libreoffice-help-"
              f"{language.lower()}; skipped)")
        return None
    pages = load_libreoffice(language, limit)
    pairs = [tuple(rng.sample(pages, 2)) for _ in range(n_pairs)]
    wrapped: list[tuple[str, str]] = []
    for _ in range(20 * n_pairs):
        if len(wrapped) >= n_pairs:
            break
        page, host = rng.choice(pages), rng.choice(hosts)
        article = article_of(page)
        w = wrap(host, article) if article else None
        if w is not None:
            wrapped.append((page, w))
    print(f"\n(LibreOffice {language}: {len(pages):,} pages)")
    return {"wrapped": wrapped, "libreoffice": pairs}  # type: ignore[dict-item]


# -- 3. throughput -----------------------------------------------------------------------------------

def throughput(pages: list[str]) -> None:
    import simdup.text.html

    docs = [p.encode("utf-8") for p in pages]
    mb = sum(map(len, docs)) / 1e6
    hasher = SimHasher.default().set_params(input="html")
    hasher.transform(docs[:5])  # load the model and the extractor outside the timing
    spent = {"decode": 0.0, "extract": 0.0}

    def timed(name: str, function):  # type: ignore[no-untyped-def]
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start
        return wrapper

    # Time each stage inside the same run (html_to_text looks both up in its module).
    original = simdup.text.html.decode_html, simdup.text.html.extract_text
    simdup.text.html.decode_html = timed("decode", original[0])
    simdup.text.html.extract_text = timed("extract", original[1])
    try:
        start = time.perf_counter()
        hasher.transform(docs)
        total = time.perf_counter() - start
    finally:
        simdup.text.html.decode_html, simdup.text.html.extract_text = original
    rest = total - spent["decode"] - spent["extract"]
    print(f"\n## 3. Throughput: {len(docs)} pages, {mb:.1f} MB, bytes in, one core")
    print(f"SimHasher.default(), input='html', main content: {total:.2f} s = {len(docs) / total:,.0f} pages/s, "
          f"{mb / total:.1f} MB/s")
    print(f"  of which charset decoding {spent['decode']:.2f} s ({spent['decode'] / total:.0%}), resiliparse "
          f"extraction and block rules {spent['extract']:.2f} s ({spent['extract'] / total:.0%}), "
          f"the rest (lower-casing, tokens, weights, bits) {rest:.2f} s ({rest / total:.0%})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="first N pages of each corpus")
    parser.add_argument("--pairs", type=int, default=1000, help="pairs of each kind (default 1000)")
    parser.add_argument("-k", type=int, default=3)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--no-compare", action="store_true", help="skip part 1 (needs trafilatura, selectolax)")
    parser.add_argument("--no-labelled", action="store_true", help="skip part 0 (pages with ground truth)")
    parser.add_argument("--dragnet-train", type=Path, metavar="PATH",
                        help="also part 0 on Dragnet's training split (built by make_dragnet_train.py)")
    args = parser.parse_args(argv)
    if not DATA.exists():
        print(shared_data.absent_reason(DATA.name), file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    if not args.no_labelled:
        extra = {"Dragnet train (English, 966 pages, a development set)": args.dragnet_train.resolve()} \
            if args.dragnet_train else None  # absolute: the labelled sets are read relative to the shared data
        compare_on_labelled(args.limit, extra)
    pages = load_pages(args.limit)
    if not args.no_compare:
        compare_extractors(pages)
    print(f"\n## 2. Wrapped and template-sharing pairs, SimHasher.default(), k={args.k}")
    report_pairs(f"trafilatura pages ({len(pages)})", wrapped_pairs(pages, args.pairs, args.k, rng), args.k)
    for language in ("en-US", "zh-CN"):
        sets = libreoffice_sets(pages, language, args.pairs, args.limit, rng)
        if sets:
            report_pairs(f"LibreOffice help, {language}: articles wrapped in trafilatura pages' templates; "
                         "random pairs of help pages", sets, args.k)
    throughput(pages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
