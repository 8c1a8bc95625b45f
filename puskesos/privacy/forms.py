from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import InputRequired

from puskesos.web.validators import MaxLength


class SubjectAccessForm(FlaskForm):
    """The NIK travels in the POST body (with the CSRF token), never in a URL: no access log or `next` link
    ever holds it. The service checks the NIK itself, as the intake does."""

    nik = StringField(_l("NIK"), validators=[InputRequired(_l("Isi NIK orang yang meminta datanya.")),
                                             MaxLength(40)],
                      render_kw={"inputmode": "numeric", "autocomplete": "off"},
                      description=_l("16 digit, seperti pada KTP."))
    format = SelectField(_l("Format"), choices=[("html", _l("Dokumen untuk dicetak")),
                                                ("json", _l("Berkas JSON"))], default="html")
