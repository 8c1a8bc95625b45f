from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Optional

from puskesos.web.validators import MaxLength


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    case_number = StringField(_l("Nomor kasus"), validators=[Optional(), MaxLength(32)])
    actor = StringField(_l("Pengguna"), validators=[Optional(), MaxLength(50)])
    action = StringField(_l("Aksi"), validators=[Optional(), MaxLength(40)],
                         description=_l("Misalnya case.refer, atau case.* untuk semua aksi kasus."))
    since = StringField(_l("Sejak"), validators=[Optional(), MaxLength(10)], render_kw={"type": "date"})
    until = StringField(_l("Sampai"), validators=[Optional(), MaxLength(10)], render_kw={"type": "date"})
