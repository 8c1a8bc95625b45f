from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField
from wtforms.validators import Optional

from puskesos.core.inputs import form_class
from puskesos.referrals.models import AGENCY_KIND_LABELS
from puskesos.referrals.workflow import REFERRAL_ID, TABLE
from puskesos.web.validators import MaxLength, Required


class AgencyForm(FlaskForm):
    name = StringField(_l("Nama instansi"), validators=[Required(), MaxLength(150)])
    kind = SelectField(_l("Jenis"), choices=list(AGENCY_KIND_LABELS.items()), validate_choice=False)
    region_code = StringField(_l("Wilayah layanan (kode Kemendagri)"), validators=[Required(), MaxLength(13)],
                              render_kw={"data-region-picker": "", "data-max-level": "3"},
                              description=_l("Provinsi, kabupaten/kota atau kecamatan yang dilayani."))
    contact = StringField(_l("Kontak"), validators=[Optional(), MaxLength(200)])
    active = BooleanField(_l("Aktif menerima rujukan"), default=True)
    submit = SubmitField(_l("Simpan"))


def _answer_forms() -> dict[str, type]:
    """One form per agency event; the page's URL names the referral, so the form does not ask for it."""
    from puskesos.cases.forms import EventForm

    return {step.event: form_class(f"Answer{step.event.title().replace('_', '')}Form",
                                   [spec for spec in step.inputs if spec is not REFERRAL_ID], EventForm)
            for step in TABLE if step.role == "agency"}


ANSWER_FORMS = _answer_forms()
