"""The accessibility markup every page must carry (issue 9), checked without a browser on every HTML page of every
role: the skip link is the first thing the keyboard reaches and leads to `<main id="main">`; every sideways-scrolling
table is a named region the keyboard can reach; no chart image holds a link. The axe sweep (tests/browser) checks
the rendered pages; this catches a template that drops the markup, quickly and on both databases."""

from __future__ import annotations

from html.parser import HTMLParser

from puskesos.accounts.roles import Role
from tests.browser.test_accessibility import ANONYMOUS, build_pages_world
from tests.helpers import route_urls, signed_in

FOCUSABLE = {"a", "button", "input", "select", "textarea"}


class Markup(HTMLParser):
    """What the checks need of a page: its focusable elements in order, its main, its scrolling tables, and the
    links inside `svg[role=img]`."""

    def __init__(self) -> None:
        super().__init__()
        self.focusable: list[dict] = []
        self.main: dict | None = None
        self.scrollers: list[dict] = []
        self.links_in_images = 0
        self._image_depth = 0  # > 0 inside an svg[role=img]

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "svg" and (self._image_depth or a.get("role") == "img"):
            self._image_depth += 1
        if self._image_depth and tag == "a":
            self.links_in_images += 1
        if tag == "main" and self.main is None:
            self.main = a
        if "table-responsive" in a.get("class", "").split():
            self.scrollers.append(a)
        hidden_input = tag == "input" and a.get("type") == "hidden"
        reachable = (tag in FOCUSABLE and not hidden_input and (tag != "a" or "href" in a)) or "tabindex" in a
        if reachable and a.get("tabindex") != "-1":
            self.focusable.append({"tag": tag, **a})

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg" and self._image_depth:
            self._image_depth -= 1


def pages_of_every_role(app, world):
    """(role, url, html) for every GET route answering the role 200 with HTML, one URL per argument value."""
    values, users = build_pages_world(app, world)
    for role, username in users.items():
        client = signed_in(app, username) if username else app.test_client()
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods:
                continue
            seen: set = set()
            for url, args in route_urls(rule, values):
                if args and set(args.items()) <= seen:
                    continue
                resp = client.get(url)
                if resp.status_code == 200 and resp.mimetype == "text/html":
                    seen |= set(args.items())
                    yield role, url, resp.get_data(as_text=True)
                resp.close()
        resp = client.get("/no-such-page")  # errors.html
        assert resp.status_code == 404 and resp.mimetype == "text/html"
        yield role, "/no-such-page", resp.get_data(as_text=True)


def test_every_page_opens_with_a_skip_link_and_names_its_scrolling_tables(app, world):
    roles, regions = set(), 0
    for role, url, html in pages_of_every_role(app, world):
        page = Markup()
        page.feed(html)
        first = page.focusable[0]
        assert (first["tag"], first.get("href")) == ("a", "#main"), (role, url, first)
        assert "skip-link" in first["class"] and "visually-hidden-focusable" in first["class"], (role, url)
        assert page.main is not None and page.main.get("id") == "main" and page.main.get("tabindex") == "-1", \
            (role, url, page.main)
        for scroller in page.scrollers:
            assert scroller.get("role") == "region" and scroller.get("tabindex") == "0", (role, url, scroller)
            assert scroller.get("aria-label", "").strip(), (role, url, scroller)
            regions += 1
        assert page.links_in_images == 0, (role, url)
        roles.add(role)
    assert roles == {ANONYMOUS} | {r.value for r in Role}
    assert regions  # the case lists, the referral tables, the audit log… were among the pages


def test_skip_link_says_where_it_goes(client):
    assert '<a class="visually-hidden-focusable skip-link" href="#main">Langsung ke isi utama</a>' \
        in client.get("/login").get_data(as_text=True)
