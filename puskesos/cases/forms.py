"""Page forms, made from the declarations: the intake form from `INTAKE`, one form per workflow event from the
inputs its row of the table takes. Forms check only length; the services decide what is valid and say why, so
the page, the API and the CLI give the same answers.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, SubmitField
from wtforms.validators import Optional

from puskesos.cases.intake import INTAKE, INTAKE_FIELDS
from puskesos.cases.vocabulary import CATEGORY_LABELS
from puskesos.cases.workflow import EVENTS, inputs_of, row_for
from puskesos.core.inputs import Input, form_class, form_value
from puskesos.web.validators import MaxLength


class VersionedForm(FlaskForm):
    """Every writing form carries the version the user saw, for optimistic locking."""

    version = HiddenField()
    submit = SubmitField(_l("Kirim"))


class _IntakeBase(VersionedForm):
    confirm_duplicate = BooleanField(_l("Saya sudah memeriksa pengaduan terbuka yang sama dan tetap ingin "
                                        "menyimpan"))
    submit = SubmitField(_l("Simpan"))

    def intake_data(self) -> dict:
        return {name: getattr(self, name).data for name in INTAKE_FIELDS}


IntakeForm = form_class("IntakeForm", INTAKE, _IntakeBase)


class EventForm(VersionedForm):
    def inputs(self) -> dict:
        skip = {"version", "submit", "csrf_token"}
        return {name: field.data for name, field in self._fields.items() if name not in skip}


EVENT_FORMS: dict[str, type[EventForm]] = {
    event: form_class(f"{event.title().replace('_', '')}Form", inputs_of(event), EventForm) for event in EVENTS
}


def prepare(form: FlaskForm, specs: tuple[Input, ...], case, user, *, event: str | None = None,
            fresh: bool = False) -> None:
    """Fill what depends on the case: choices (agencies serving it, its open referrals, the choices a row of the
    table narrows an input to) and, on a fresh form, each input's starting value."""
    row = row_for(event, case.state, user.role) if event and case is not None else None
    for spec in specs:
        field = getattr(form, spec.name, None)
        if field is None:
            continue
        if spec.options is not None:
            options = spec.options(case, user)
            field.choices = options if spec.kind == "choice" else [("", "—"), *options]
        if row is not None and spec.name in row.choices:
            allowed = set(row.choices[spec.name])
            field.choices = [c for c in field.choices if c[0] in allowed]
        if fresh and spec.initial is not None and not field.data:
            value = form_value(spec, spec.initial(case, user))
            field.data = value[:spec.max_length] if spec.max_length else value


def fill_from(form: FlaskForm, case) -> None:
    """The intake form showing the case as stored."""
    for spec in INTAKE:
        getattr(form, spec.name).data = form_value(spec, getattr(case, spec.name))


class _ListFilterFields(FlaskForm):
    q = StringField(_l("Cari nomor, nama atau NIK"), validators=[Optional(), MaxLength(60)])
    state = SelectField(_l("Status"), choices=[], validate_choice=False)
    category = SelectField(_l("Kategori"), choices=[("", _l("Semua kategori")), *CATEGORY_LABELS.items()],
                           validate_choice=False)
    village_code = StringField(_l("Desa/kelurahan"), validators=[Optional(), MaxLength(13)])
    overdue = BooleanField(_l("Hanya yang terlambat"))
    assignee = HiddenField()  # "me": a caseworker's own cases


class CaseFilterForm(_ListFilterFields):
    """The list filters travel in the query string; no CSRF for a read. The search text does not: the box
    posts a `CaseSearchForm`, and `q` in an address is read only for old links without a NIK."""

    class Meta:
        csrf = False


class CaseSearchForm(_ListFilterFields):
    """The list's filters with the search text, posted (and so CSRF-checked): a NIK never travels in a URL."""
