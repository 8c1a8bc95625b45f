"""The axe sweep (issue 9): every HTML page of every role, in every language, at 1366×768 and 390×844 (there also
with the navbar's menu open), and every page's form once submitted empty, has no WCAG 2.0/2.1 A or AA violation
that axe-core finds.

The pages are not listed by hand: every GET rule of `app.url_map` is tried, with its URL arguments filled from a
world made through the services (a case in each state, a referral in each status, a letter, an agency, a user),
by each role; whatever answers 200 with HTML is a page of that role. A new route is swept without anyone adding
it, and a route with a new kind of argument fails here until the world has a value for it.

axe-core comes from npm (package-lock.json, `make install` runs `npm ci`), is read from node_modules and added to
every page by Playwright: nothing is fetched at run time. The pages' own CSP stays on; Playwright's init script
is not subject to it. Every violation goes to test-artifacts/axe-report.json.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import shutil
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from puskesos import create_app
from puskesos.accounts import models as account_models
from puskesos.accounts.roles import Role
from puskesos.cases.models import Case
from puskesos.cases.workflow import EVENTS, State
from puskesos.extensions import db
from puskesos.notifications.models import Notification
from puskesos.referrals.models import Referral
from tests import factories
from tests.browser.conftest import ARTIFACTS, VIEWPORT, Traffic
from tests.browser.test_case_journey import login
from tests.dashboards.test_dashboard import seed
from tests.helpers import route_urls

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"width": 390, "height": 844}
REPORT = ARTIFACTS / "axe-report.json"
ANONYMOUS = "anonymous"
NO_PROXY = {"server": "http://127.0.0.1:9", "bypass": "127.0.0.1"}  # port 9 (discard): nothing answers
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

# Runs axe on the page as it stands; only what the report needs comes back.
RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.map(String).join(" "), html: n.html.slice(0, 240),
                              why: [...n.any, ...n.all, ...n.none].map(c => c.message).join(" ").slice(0, 300)})),
  }));
}"""

# The POST forms of the page a person fills in: any but the sign-out and language switch, with a field to type
# or choose in (a bare button, such as an event's or "show NIK", has no errors to show).
FILLABLE_FORMS = """() => Array.from(document.querySelectorAll("form")).map((form, index) => ({index, form}))
  .filter(({form}) => (form.getAttribute("method") || "get").toLowerCase() === "post")
  .filter(({form}) => !/\\/(logout|lang\\/[^/]*)$/.test(new URL(form.action, location.href).pathname))
  .filter(({form}) => Array.from(form.elements).some(el => ["TEXTAREA", "SELECT"].includes(el.tagName)
      || (el.tagName === "INPUT" && !["hidden", "submit", "button", "reset", "image"].includes(el.type))))
  .map(({index}) => index)"""

# Empties form number `index` and submits it with its own submit button, past the browser's own checks (so the
# server's errors show). A stale `version` makes sure a form that needs nothing typed is refused, not acted on.
SUBMIT_EMPTY = """(index) => {
  const form = document.querySelectorAll("form")[index];
  form.noValidate = true;
  for (const el of form.elements) {
    if (el.name === "csrf_token") continue;
    if (el.tagName === "INPUT" && el.type === "hidden") { if (el.name === "version") el.value = "0"; continue; }
    if (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && !["submit", "button", "reset", "image",
        "checkbox", "radio"].includes(el.type))) el.value = "";
    else if (el.tagName === "INPUT") el.checked = false;
    else if (el.tagName === "SELECT") el.selectedIndex = -1;
  }
  const button = form.querySelector("button:not([type=button]):not([type=reset]), input[type=submit]");
  form.requestSubmit(button || undefined);
}"""


@dataclasses.dataclass
class Site:
    url: str
    app: object
    values: dict[str, list]  # URL argument → the values tried
    users: dict[str, str | None]  # role → the username that signs in (None: anonymous)


@dataclasses.dataclass
class Sweep:
    """What was visited and what axe found; becomes test-artifacts/axe-report.json."""

    states: int = 0
    routes: dict[str, set[str]] = dataclasses.field(default_factory=lambda: defaultdict(set))
    reachable: dict[str, set[str]] = dataclasses.field(default_factory=dict)
    non_html: dict[str, set[str]] = dataclasses.field(default_factory=dict)
    violations: list[dict] = dataclasses.field(default_factory=list)
    accepted_empty: list[str] = dataclasses.field(default_factory=list)  # answered by a redirect (a search's)
    kinds: Counter = dataclasses.field(default_factory=Counter)  # page states by kind
    seconds: Counter = dataclasses.field(default_factory=Counter)  # where the time went


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE_JS.exists():
        why = "npm is not installed" if shutil.which("npm") is None else "run `make install` (npm ci)"
        pytest.skip(f"axe-core is not in node_modules ({why}): no accessibility sweep")
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def site(axe_source, chromium, tmp_path_factory):
    """One app, world and live server for the whole sweep (building them per page would dominate its time)."""
    path = tmp_path_factory.mktemp("axe") / "axe.sqlite"
    # Static files cached by the browser, as behind the production web server: hundreds of page loads otherwise
    # ask for bootstrap again each time.
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "SEND_FILE_MAX_AGE_DEFAULT": 3600})
    with app.app_context(), pytest.MonkeyPatch.context() as mp:
        mp.setattr(account_models, "generate_password_hash",  # only the work factor: sign-in works as ever
                   functools.partial(generate_password_hash, method="pbkdf2:sha256:1"))
        db.create_all()
        world = factories.build_world()
        values, users = build_pages_world(app, world)
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="axe-live-server", daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_port}", app, values, users)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


def build_pages_world(app, w: factories.World) -> tuple[dict[str, list], dict[str, str | None]]:
    """Cases in every state (the dashboard's seed, with overdue ones, and any state it lacks), then, with
    sign-off on as in production, a referral waiting for the supervisor and an approved one with its letter. The
    URL values are read back from the database: one case per (state, last referral status, letter or not), one
    referral per status (and letter or not)."""
    seed(w)
    present = set(db.session.scalars(select(Case.state).distinct()))
    for state in State:  # whatever state the seed leaves out (needs_info, …)
        if state.value not in present:
            factories.case_in(state.value, w)
    app.config["REFERRAL_SIGNOFF"] = True
    proposed = factories.case_in(State.ASSESSED, w)
    factories.fire(proposed, "refer", w.caseworker, **factories.refer_inputs(w.bpjs))
    approved = factories.case_in(State.ASSESSED, w)
    factories.fire(approved, "refer", w.caseworker, **factories.refer_inputs(w.bpjs))
    factories.fire(approved, "approve_referral", w.supervisor, referral_id=approved.referrals[-1].id)
    token = approved.referrals[-1].verify_token

    cases: dict[tuple, str] = {}
    for case in db.session.scalars(select(Case).order_by(Case.id)):
        last = case.referrals[-1] if case.referrals else None
        key = (case.state, last and last.status, bool(last and last.letter_number))
        cases.setdefault(key, case.number)
    referrals: dict[str, int] = {}
    for referral in db.session.scalars(select(Referral).order_by(Referral.id)):
        referrals.setdefault(f"{referral.status}{' with letter' if referral.letter_number else ''}", referral.id)
    notification = db.session.scalars(select(Notification.id).limit(1)).first()
    values = {
        "number": list(cases.values()), "event": list(EVENTS), "referral_id": list(referrals.values()),
        "user_id": [w.officer.id], "agency_id": [w.bpjs.id], "code": [w.officer.region_code[:5]],
        "token": [token], "notification_id": [notification or 1], "filename": ["css/app.css"],
    }
    users: dict[str, str | None] = {ANONYMOUS: None}
    for role in Role:  # the first World user of each role
        users[role.value] = next(getattr(w, f.name).username for f in dataclasses.fields(w)
                                 if getattr(getattr(w, f.name), "role", None) == role)
    return values, users


# -- which URLs are pages of a role -------------------------------------------------------------------------


def probe_client(site: Site, username: str | None):
    """A test client of the live app signed in as `username` (the form's CSRF token included)."""
    client = site.app.test_client()
    if username:
        token = CSRF_RE.search(client.get("/login").get_data(as_text=True)).group(1)
        resp = client.post("/login", data={"username": username, "password": factories.PASSWORD,
                                           "csrf_token": token})
        assert resp.status_code == 302, resp.get_data(as_text=True)[-2000:]
    return client


def pages_of(site: Site, role: str, sweep: Sweep) -> dict[str, list[str]]:
    """Route → the URLs to visit as this role: those answering it 200 with HTML. Refusals (404, 403) and redirects
    (to the login page, or away from an event not open in a case's state) are not pages; nor is any answer but
    HTML (CSV, XLSX, JSON, SVG, the API, static files), told by its content type. Of a route's pages, one is kept
    for each value of each argument (every case state, every event form), not their whole product."""
    client = probe_client(site, site.users[role])
    pages: dict[str, list[str]] = defaultdict(list)
    non_html: set[str] = set()
    for rule in site.app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        seen: set[tuple] = set()
        for url, args in route_urls(rule, site.values):
            resp = client.get(url)
            if resp.status_code == 200:
                if resp.mimetype != "text/html":
                    non_html.add(rule.rule)
                elif not set(args.items()) <= seen or not args:
                    pages[rule.rule].append(url)
                    seen |= set(args.items())
            resp.close()
            with client.session_transaction() as session:  # a redirect's flash would pile up in the cookie
                session.pop("_flashes", None)
    sweep.reachable[role] = set(pages)
    sweep.non_html[role] = non_html - set(pages)
    return pages


# -- the sweep ------------------------------------------------------------------------------------------------


def check(page, sweep: Sweep, role: str, route: str, state: str) -> None:
    """Runs axe on the page as it stands and files what it finds."""
    sweep.states += 1
    sweep.kinds[state.split(" ", 1)[1]] += 1
    started = time.monotonic()
    violations = page.evaluate(RUN_AXE, AXE_TAGS)
    sweep.seconds["axe"] += time.monotonic() - started
    for violation in violations:
        for node in violation["nodes"]:
            sweep.violations.append({
                "rule": violation["id"], "impact": violation["impact"], "help": violation["help"], "role": role,
                "route": route, "url": local(page.url), "state": state, **node})


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def visit(page, url: str, sweep: Sweep) -> bool:
    """Goes to `url`; whether it is still an HTML page of this role in the browser."""
    started = time.monotonic()
    resp = page.goto(url, wait_until="load")
    sweep.seconds["page loads"] += time.monotonic() - started
    return resp is not None and resp.status == 200 and resp.headers.get("content-type", "").startswith("text/html")


def switch_language(page, lang: str) -> None:
    """The navbar's language switch (POST /lang/<code>), pressed as a person would, on the home page; the browser
    asks for the same language (the API's reference follows Accept-Language, not the session)."""
    page.context.set_extra_http_headers({"Accept-Language": lang})
    page.goto("/")
    button = page.locator(f'form[action="/lang/{lang}"] button')
    if button.count():
        with page.expect_navigation():
            button.click()
    assert page.locator("html").get_attribute("lang") == lang


def open_menu(page) -> bool:
    """Opens the collapsed navbar with its toggler, when the page has one; whether it did."""
    toggler = page.locator(".navbar-toggler")
    if not toggler.count() or not toggler.is_visible():
        return False
    toggler.click()
    page.wait_for_selector(f'{toggler.get_attribute("data-bs-target")}.show:not(.collapsing)', state="visible")
    return True


def sweep_role(browser, site: Site, role: str, sweep: Sweep, axe_source: str) -> None:
    """Every page of the role in each language: at 1366×768; at 390×844 with the navbar's menu opened (which
    hides nothing the closed menu shows; the closed menu itself is checked on the role's first page in each
    language); and at 1366×768 with each of its forms submitted empty."""
    started = time.monotonic()
    pages = pages_of(site, role, sweep)
    sweep.seconds["finding pages"] += time.monotonic() - started
    # Anything not for 127.0.0.1 goes to a proxy that is not there, so it fails and is remembered; unlike
    # intercepting every request (the `browsing` fixture's way) this leaves the browser's cache on.
    context = browser.new_context(viewport=VIEWPORT, base_url=site.url, locale="id-ID", timezone_id="Asia/Jakarta",
                                  reduced_motion="reduce", proxy=NO_PROXY)
    context.set_default_timeout(10_000)
    traffic = Traffic(site.url)
    context.on("request", lambda request: traffic.requests.append(request.url))
    context.on("page", lambda p: p.on("pageerror", lambda err: traffic.page_errors.append(str(err))))
    context.add_init_script(script=axe_source)  # on every document, before the page's own scripts
    visits = [(route, url) for route, urls in pages.items() for url in urls]
    try:
        page = context.new_page()
        if site.users[role]:
            login(page, site.users[role])
        desktop, phone = (f"{v['width']}x{v['height']}" for v in (VIEWPORT, PHONE))
        for lang in site.app.config["LANGUAGES"]:
            switch_language(page, lang)
            closed_seen = False
            # Each page is loaded once and looked at in both sizes (a resize re-lays it out, as a phone would),
            # then reloaded only for its second and later forms: half the page loads of a visit per size.
            for route, url in visits:
                page.set_viewport_size(VIEWPORT)
                if not visit(page, url, sweep):
                    continue
                sweep.routes[role].add(route)
                check(page, sweep, role, route, f"{lang} {desktop}")
                page.set_viewport_size(PHONE)
                if not closed_seen:
                    check(page, sweep, role, route, f"{lang} {phone} menu closed")
                    closed_seen = True
                if open_menu(page):
                    check(page, sweep, role, route, f"{lang} {phone} menu open")
                else:
                    check(page, sweep, role, route, f"{lang} {phone}")
                page.set_viewport_size(VIEWPORT)
                for number, index in enumerate(page.evaluate(FILLABLE_FORMS)):
                    if number:
                        visit(page, url, sweep)
                    with page.expect_navigation() as navigation:
                        page.evaluate(SUBMIT_EMPTY, index)
                    if navigation.value.request.redirected_from is not None:  # a POST answered by a redirect
                        sweep.accepted_empty.append(f"{role} {url} form {index} → {local(page.url)}")
                    check(page, sweep, role, route, f"{lang} {desktop} form {index} submitted empty")
        assert traffic.foreign() == [], f"requests left 127.0.0.1: {traffic.foreign()}"
        assert traffic.page_errors == [], f"JavaScript errors on the pages: {traffic.page_errors}"
    finally:
        context.close()


def summary(violations: list[dict]) -> str:
    """One paragraph per rule: how often, on which routes and states, with a few of the elements."""
    lines = []
    by_rule: dict[str, list[dict]] = defaultdict(list)
    for v in violations:
        by_rule[v["rule"]].append(v)
    for rule, found in sorted(by_rule.items(), key=lambda item: -len(item[1])):
        routes = Counter(f"{v['role']} {v['route']}" for v in found)
        states = Counter(v["state"] for v in found)
        targets = list(dict.fromkeys(v["target"] for v in found))
        lines.append(f"{rule} ({found[0]['impact']}, {found[0]['help']}): {len(found)} elements "
                     f"on {len(routes)} role-routes, states {dict(states)}")
        lines.append(f"    routes: {', '.join(r for r, _ in routes.most_common(8))}")
        lines.append(f"    e.g. {' | '.join(targets[:5])}")
    return "\n".join(lines)


def test_every_page_of_every_role_has_no_wcag_a_or_aa_violation(site, chromium, axe_source):
    started = time.monotonic()
    sweep = Sweep()
    for role in site.users:
        sweep_role(chromium, site, role, sweep, axe_source)
    seconds = time.monotonic() - started

    ARTIFACTS.mkdir(exist_ok=True)
    axe_version = re.search(r"axe v([\d.]+)", axe_source[:500])
    REPORT.write_text(json.dumps({
        "axe_core": axe_version.group(1) if axe_version else None, "tags": AXE_TAGS, "seconds": round(seconds, 1),
        "page_states": sweep.states, "page_states_by_kind": dict(sweep.kinds),
        "seconds_in": {k: round(v, 1) for k, v in sweep.seconds.items()},
        "routes": {role: sorted(routes) for role, routes in sweep.routes.items()},
        "non_html_routes": {role: sorted(routes) for role, routes in sweep.non_html.items()},
        "forms_accepted_empty": sweep.accepted_empty,
        "violations": sweep.violations,
    }, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"\naxe sweep: {sweep.states} page states in {seconds:.0f} s "
          f"({', '.join(f'{k} {v:.0f} s' for k, v in sweep.seconds.items())}); "
          "distinct GET routes visited / reachable with HTML, per role: "
          + ", ".join(f"{role} {len(sweep.routes[role])}/{len(sweep.reachable[role])}" for role in site.users))

    for role in site.users:
        missing = sweep.reachable[role] - sweep.routes[role]
        assert not missing, f"{role}: routes answering the test client but not visited in the browser: {missing}"
        assert len(sweep.routes[role]) >= len(sweep.reachable[role]) > 0
    assert not sweep.violations, (f"{len(sweep.violations)} axe violations (WCAG 2.x A/AA) on {sweep.states} page "
                                  f"states; all of them in {REPORT}:\n{summary(sweep.violations)}")
