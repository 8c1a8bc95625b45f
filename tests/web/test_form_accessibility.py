"""Forms a screen reader can follow (issue 9): every form page of the URL map, sent empty, says which field is
wrong and why, from the field itself and from a summary at the top; required fields and grouped choices are
marked in the markup; every label names a control that exists."""

from __future__ import annotations

from html.parser import HTMLParser

from puskesos.cases.workflow import EVENTS, inputs_of
from tests import factories
from tests.helpers import route_urls, signed_in

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Page(HTMLParser):
    """The elements of a page (tag, attributes, the fieldset/legend they sit in) and the text of each id."""

    def __init__(self, text: str):
        super().__init__()
        self.elements: list[dict] = []
        self.text: dict[str, str] = {}
        self._open: list[dict] = []
        self.title = ""
        self._in_title = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        el = {"tag": tag, **{k: (v if v is not None else "") for k, v in attrs},
              "_fieldsets": [e for e in self._open if e["tag"] == "fieldset"]}
        self.elements.append(el)
        self._in_title = tag == "title"
        if tag not in VOID:
            el["_text"] = ""
            self._open.append(el)

    def handle_endtag(self, tag):
        self._in_title = False
        while self._open:
            el = self._open.pop()
            if el.get("id"):
                self.text[el["id"]] = el["_text"]
            if el["tag"] == tag:
                break

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        for el in self._open:
            el["_text"] += data

    def find(self, tag=None, **attrs):
        return [e for e in self.elements if (tag is None or e["tag"] == tag)
                and all(e.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def by_id(self, ident):
        return next((e for e in self.elements if e.get("id") == ident), None)


ROLES = ("officer", "caseworker", "supervisor", "agency_user", "admin")


def form_pages(app, w) -> list[str]:
    """Every page of the URL map that both shows and takes a form (GET and POST), the API aside, with its
    arguments filled: a registered case (for the officer's forms) and an assessed one (for the caseworker's)."""
    registered = factories.case_in("registered", w)
    assessed = factories.case_in("assessed", w)
    values = {"number": [registered.number, assessed.number], "user_id": [w.officer.id],
              "agency_id": [w.bpjs.id], "event": [e for e in EVENTS if inputs_of(e)],
              "referral_id": [], }
    urls = []
    for rule in app.url_map.iter_rules():
        if {"GET", "POST"} <= rule.methods and not rule.endpoint.startswith("api.") \
                and not rule.endpoint.endswith("reveal_nik"):
            urls.extend(url for url, _args in route_urls(rule, values))
    return urls


def check_markup(page: Page, url: str) -> None:
    for label in page.find("label"):
        if label.get("for"):
            assert page.by_id(label["for"]) is not None, f"{url}: <label for={label['for']}> names nothing"
    for radio in page.find("input", type="radio"):
        fieldsets = radio["_fieldsets"]
        assert fieldsets, f"{url}: radio {radio.get('name')} outside a fieldset"
        assert any(e["tag"] == "legend" and fieldsets[-1] in e["_fieldsets"] for e in page.elements), \
            f"{url}: the fieldset of {radio.get('name')} has no legend"
    for control in page.elements:
        if "required" in control and control["tag"] in ("input", "select", "textarea") \
                and control.get("type") != "radio":
            assert control.get("aria-required") == "true", f"{url}: {control.get('id')} required without aria"
            label = page.find("label", **{"for": control["id"]})
            after = page.elements[page.elements.index(label[0]) + 1] if label else {}
            assert after.get("class") == "required-mark", f"{url}: {control['id']} required without a marker"
            assert page.find("p", **{"class": "small required-note"}), f"{url}: no '* wajib diisi' note"


def check_errors(page: Page, url: str) -> int:
    """Each invalid control is tied to its message; the summary links to each; the title says so."""
    invalid = [e for e in page.elements if e.get("aria-invalid") == "true"]
    assert invalid, f"{url}: an empty form has no invalid field"
    for control in invalid:
        described = control.get("aria-describedby", "").split()
        messages = [page.text.get(i, "").strip() for i in described if i.endswith("-error")]
        assert messages and all(messages), f"{url}: {control.get('id')} has no message tied to it"
        for ident in described:
            assert page.by_id(ident) is not None, f"{url}: aria-describedby names a missing id {ident}"
    summaries = page.find("div", role="alert", tabindex="-1")
    summaries = [s for s in summaries if "data-error-summary" in s]
    assert summaries, f"{url}: no error summary"
    links = {e["href"][1:] for e in page.elements if e["tag"] == "a" and e.get("href", "").startswith("#")}
    for control in invalid:
        group = control["id"].rsplit("-", 1)[0] + "-0" if control.get("type") == "radio" else control["id"]
        assert group in links, f"{url}: the summary has no link to {control['id']}"
        assert page.by_id(group) is not None
    assert page.title.strip().startswith("Kesalahan:"), f"{url}: title {page.title!r}"
    return len(invalid)


def test_every_form_sent_empty_ties_its_errors_to_its_fields(app, world):
    checked = []
    clients = {"anonymous": app.test_client()} | {role: signed_in(app, getattr(world, role).username)
                                                  for role in ROLES}
    for url in form_pages(app, world):
        client = next((c for c in clients.values() if c.get(url).status_code == 200), None)
        if client is None:
            continue  # an event no one may fire on these cases: another state's form, checked when reachable
        check_markup(Page(client.get(url).get_data(as_text=True)), url)
        resp = client.post(url, data={})
        if resp.status_code in (400, 409, 422) or "data-error-summary" in resp.get_data(as_text=True):
            check_errors(Page(resp.get_data(as_text=True)), url)
            check_markup(Page(resp.get_data(as_text=True)), url)
            checked.append(url)
    assert "/login" in checked and "/admin/users/new" in checked and len(checked) >= 9, checked


def test_a_refused_referral_answer_names_its_fields(app, world):
    case = factories.case_in("referred", world)
    client = signed_in(app, world.agency_user.username)
    referral = case.referrals[-1]
    resp = client.post(f"/referrals/{referral.id}/decline", data={"version": case.version})
    assert resp.status_code == 422
    page = Page(resp.get_data(as_text=True))
    assert check_errors(page, "decline") >= 1
    check_markup(page, "decline")


def test_the_consent_question_is_a_fieldset_with_its_legend(app, world):
    case = factories.case_in("assessed", world)
    page = Page(signed_in(app, world.caseworker.username).get(f"/cases/{case.number}/events/refer")
                .get_data(as_text=True))
    radios = page.find("input", type="radio", name="consent")
    assert len(radios) == 2 and all("required" in r for r in radios)
    legend = next(e for e in page.elements if e["tag"] == "legend" and radios[0]["_fieldsets"][-1] in e["_fieldsets"])
    assert "Persetujuan pengadu" in legend["_text"] and "*" in legend["_text"]
    assert not page.find("label", **{"for": "consent"})


def test_the_admin_user_form_gets_a_summary(app, world):
    resp = signed_in(app, world.admin.username).post("/admin/users/new", data={})
    assert resp.status_code == 422
    page = Page(resp.get_data(as_text=True))
    check_errors(page, "/admin/users/new")
    picker = page.by_id("region_code")
    assert picker["data-region-picker"] == "" and picker["data-levels"].startswith("Provinsi|")
    assert "required" not in page.by_id("password")  # required only for a new account: not marked


def test_login_and_password_fields_say_what_they_hold(app, world):
    login = Page(app.test_client().get("/login").get_data(as_text=True))
    assert login.by_id("username")["autocomplete"] == "username"
    assert login.by_id("password")["autocomplete"] == "current-password"
    page = Page(signed_in(app, world.officer.username).get("/account/password").get_data(as_text=True))
    assert page.by_id("old_password")["autocomplete"] == "current-password"
    assert page.by_id("new_password")["autocomplete"] == "new-password"
    assert page.by_id("confirm")["autocomplete"] == "new-password"


def test_a_page_without_errors_keeps_its_plain_title(app, world):
    page = Page(signed_in(app, world.officer.username).get("/cases/new").get_data(as_text=True))
    assert not page.title.startswith("Kesalahan")
    assert page.by_id("nik").get("aria-required") == "true" and "aria-invalid" not in page.by_id("nik")
    assert "required" not in page.by_id("kk_number")
