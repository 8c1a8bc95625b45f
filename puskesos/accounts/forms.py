from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import Optional

from puskesos.accounts.roles import ROLE_LABELS
from puskesos.web.validators import MaxLength, Required


class LoginForm(FlaskForm):
    username = StringField(_l("Nama pengguna"), validators=[Required(), MaxLength(50)],
                           render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Kata sandi"), validators=[Required(), MaxLength(200)],
                             render_kw={"autocomplete": "current-password"})
    submit = SubmitField(_l("Masuk"))


class UserForm(FlaskForm):
    """Filled by an admin for someone else: the browser must not offer the admin's own name or password."""

    username = StringField(_l("Nama pengguna"), validators=[Required(), MaxLength(50)],
                           render_kw={"autocomplete": "off"})
    full_name = StringField(_l("Nama lengkap"), validators=[Required(), MaxLength(120)])
    role = SelectField(_l("Peran"), choices=[(r.value, label) for r, label in ROLE_LABELS.items()])
    region_code = StringField(_l("Wilayah kerja (kode Kemendagri)"), validators=[Optional(), MaxLength(13)],
                              render_kw={"data-region-picker": "", "data-max-level": "4"},
                              description=_l("Desa untuk petugas Puskesos, kabupaten/kota untuk pekerja sosial, "
                                             "kabupaten/kota atau provinsi untuk supervisor."))
    agency_id = SelectField(_l("Instansi"), coerce=int, choices=[], validate_choice=False)
    password = PasswordField(_l("Kata sandi"), validators=[Optional(), MaxLength(200)],
                             render_kw={"autocomplete": "new-password"})
    active = BooleanField(_l("Akun aktif"), default=True)
    submit = SubmitField(_l("Simpan"))


class PasswordForm(FlaskForm):
    old_password = PasswordField(_l("Kata sandi lama"), validators=[Required(), MaxLength(200)],
                                 render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("Kata sandi baru"), validators=[Required(), MaxLength(200)],
                                 render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Ulangi kata sandi baru"), validators=[Required(), MaxLength(200)],
                            render_kw={"autocomplete": "new-password"})
    submit = SubmitField(_l("Ubah kata sandi"))
