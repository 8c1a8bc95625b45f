from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField
from wtforms.validators import Optional

from puskesos.referrals.models import AGENCY_KIND_LABELS
from puskesos.web.validators import MaxLength, Required


class AgencyForm(FlaskForm):
    name = StringField(_l("Nama instansi"), validators=[Required(), MaxLength(150)])
    kind = SelectField(_l("Jenis"), choices=list(AGENCY_KIND_LABELS.items()), validate_choice=False)
    region_code = StringField(_l("Wilayah layanan (kode Kemendagri)"), validators=[Required(), MaxLength(13)],
                              description=_l("Provinsi, kabupaten/kota atau kecamatan yang dilayani."))
    contact = StringField(_l("Kontak"), validators=[Optional(), MaxLength(200)])
    active = BooleanField(_l("Aktif menerima rujukan"), default=True)
    submit = SubmitField(_l("Simpan"))
