from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import Optional

from puskesos.audit.present import action_choices
from puskesos.audit.services import AuditFilters
from puskesos.web.validators import MaxLength


class AuditFilterForm(FlaskForm):
    """The log's filters travel in the query string; no CSRF for a read."""

    class Meta:
        csrf = False

    case_number = StringField(_l("Nomor kasus"), validators=[Optional(), MaxLength(32)])
    actor = StringField(_l("Pengguna"), validators=[Optional(), MaxLength(50)],
                        description=_l("Nama atau nama pengguna."))
    action = SelectField(_l("Aksi"), choices=[], validate_choice=False)
    since = StringField(_l("Sejak"), validators=[Optional(), MaxLength(10)], render_kw={"type": "date"})
    until = StringField(_l("Sampai"), validators=[Optional(), MaxLength(10)], render_kw={"type": "date"})
    include_auth = BooleanField(_l("Tampilkan juga kejadian masuk dan token"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.action.choices = [("", _l("Semua aksi")), *action_choices()]

    def filters(self) -> AuditFilters:
        """The log's filters as the services take them; the log page and its export read them here."""
        return AuditFilters(case_number=self.case_number.data or None, actor=self.actor.data or None,
                            action=self.action.data or None, since=_date(self.since.data),
                            until=_date(self.until.data), include_auth=bool(self.include_auth.data),
                            actor_by_name=True)


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None
