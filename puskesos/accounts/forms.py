from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from puskesos.accounts.roles import ROLE_LABELS


class LoginForm(FlaskForm):
    username = StringField(_l("Nama pengguna"), validators=[DataRequired(), Length(max=50)])
    password = PasswordField(_l("Kata sandi"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Masuk"))


class UserForm(FlaskForm):
    username = StringField(_l("Nama pengguna"), validators=[DataRequired(), Length(max=50)])
    full_name = StringField(_l("Nama lengkap"), validators=[DataRequired(), Length(max=120)])
    role = SelectField(_l("Peran"), choices=[(r.value, label) for r, label in ROLE_LABELS.items()])
    region_code = StringField(_l("Wilayah kerja (kode Kemendagri)"), validators=[Optional(), Length(max=13)],
                              description=_l("Desa untuk petugas Puskesos, kabupaten/kota untuk pekerja sosial, "
                                             "kabupaten/kota atau provinsi untuk supervisor."))
    agency_id = SelectField(_l("Instansi"), coerce=int, choices=[], validate_choice=False)
    password = PasswordField(_l("Kata sandi"), validators=[Optional(), Length(max=200)])
    active = BooleanField(_l("Akun aktif"), default=True)
    submit = SubmitField(_l("Simpan"))
