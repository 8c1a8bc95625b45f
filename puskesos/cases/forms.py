"""Forms for intake and for each workflow event that takes inputs.

Forms check only shape (lengths, choices); the services decide what is valid
and say why, so the page, the API and the CLI give the same answers.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Optional

from puskesos.cases.models import CATEGORY_LABELS, DTKS_LABELS, OUTCOME_LABELS, URGENCY_LABELS, Outcome
from puskesos.cases.services import INTAKE_FIELDS
from puskesos.web.validators import MaxLength

BLANK = ("", "—")


class IntakeForm(FlaskForm):
    nik = StringField(_l("NIK"), validators=[MaxLength(40)], render_kw={"inputmode": "numeric",
                                                                        "autocomplete": "off"})
    kk_number = StringField(_l("Nomor KK"), validators=[Optional(), MaxLength(40)],
                            render_kw={"inputmode": "numeric", "autocomplete": "off"})
    name = StringField(_l("Nama lengkap"), validators=[MaxLength(120)])
    birth_date = StringField(_l("Tanggal lahir"), validators=[Optional(), MaxLength(10)],
                             render_kw={"type": "date"},
                             description=_l("Kosongkan untuk memakai tanggal lahir dari NIK."))
    sex = SelectField(_l("Jenis kelamin"), choices=[BLANK, ("L", _l("Laki-laki")), ("P", _l("Perempuan"))],
                      validate_choice=False, description=_l("Kosongkan untuk memakai data dari NIK."))
    phone = StringField(_l("Nomor HP"), validators=[Optional(), MaxLength(30)], render_kw={"inputmode": "tel"})
    village_code = SelectField(_l("Desa/kelurahan"), choices=[], validate_choice=False)
    address = StringField(_l("Alamat"), validators=[MaxLength(255)])
    rt = StringField(_l("RT"), validators=[Optional(), MaxLength(3)], render_kw={"inputmode": "numeric"})
    rw = StringField(_l("RW"), validators=[Optional(), MaxLength(3)], render_kw={"inputmode": "numeric"})
    dtks_status = SelectField(_l("Terdaftar di DTKS/DTSEN"), choices=list(DTKS_LABELS.items()),
                              validate_choice=False, default="unknown")
    dtsen_decile = SelectField(_l("Desil DTSEN"), choices=[BLANK] + [(str(i), str(i)) for i in range(1, 11)],
                               validate_choice=False)
    category = SelectField(_l("Kategori"), choices=[BLANK, *CATEGORY_LABELS.items()], validate_choice=False)
    urgency = SelectField(_l("Urgensi"), choices=list(URGENCY_LABELS.items()), validate_choice=False,
                          default="normal")
    description = TextAreaField(_l("Uraian pengaduan"), validators=[MaxLength(5000)], render_kw={"rows": 4})
    reporter_name = StringField(_l("Nama pelapor"), validators=[Optional(), MaxLength(120)],
                                description=_l("Isi bila pengaduan dibawa oleh orang lain."))
    reporter_relation = StringField(_l("Hubungan dengan pengadu"), validators=[Optional(), MaxLength(60)])
    reporter_phone = StringField(_l("Nomor HP pelapor"), validators=[Optional(), MaxLength(30)])
    confirm_duplicate = BooleanField(_l("Saya sudah memeriksa pengaduan terbuka yang sama dan tetap ingin "
                                        "menyimpan"))
    version = HiddenField()
    submit = SubmitField(_l("Simpan"))

    def intake_data(self) -> dict:
        return {name: getattr(self, name).data for name in INTAKE_FIELDS}


class EventForm(FlaskForm):
    """Every event form carries the version the user saw, for optimistic locking."""

    version = HiddenField()
    submit = SubmitField(_l("Kirim"))

    def inputs(self) -> dict:
        skip = {"version", "submit", "csrf_token"}
        return {name: field.data for name, field in self._fields.items() if name not in skip}


class ResolveAtIntakeForm(EventForm):
    action_taken = TextAreaField(_l("Apa yang sudah dilakukan"), validators=[MaxLength(2000)],
                                 render_kw={"rows": 3},
                                 description=_l("Misalnya: informasi diberikan, formulir diisi bersama."))


class RequestInfoForm(EventForm):
    note = TextAreaField(_l("Data yang kurang"), validators=[MaxLength(2000)], render_kw={"rows": 3})


class AssessmentForm(EventForm):
    findings = TextAreaField(_l("Temuan asesmen"), validators=[MaxLength(5000)], render_kw={"rows": 5})
    eligible = RadioField(_l("Keputusan kelayakan"), choices=[("yes", _l("Layak dibantu")),
                                                              ("no", _l("Tidak layak"))], validate_choice=False)
    recommended_services = TextAreaField(_l("Layanan yang direkomendasikan"), validators=[MaxLength(2000)],
                                         render_kw={"rows": 3})


class ReferForm(EventForm):
    agency_id = SelectField(_l("Instansi tujuan"), choices=[], validate_choice=False)
    service = StringField(_l("Layanan yang diminta"), validators=[MaxLength(200)])
    reason = TextAreaField(_l("Alasan rujukan"), validators=[MaxLength(2000)], render_kw={"rows": 3})
    consent = RadioField(_l("Persetujuan pengadu untuk berbagi data dengan instansi"),
                         choices=[("written", _l("Tertulis")), ("verbal", _l("Lisan"))], validate_choice=False)


class RevokeForm(EventForm):
    """The caseworker picks which open referral to withdraw."""

    referral_id = SelectField(_l("Rujukan"), choices=[], validate_choice=False)
    reason = TextAreaField(_l("Alasan"), validators=[MaxLength(2000)], render_kw={"rows": 3})


class DeclineForm(EventForm):
    """An agency declines the referral its page shows."""

    referral_id = HiddenField()
    reason = TextAreaField(_l("Alasan"), validators=[MaxLength(2000)], render_kw={"rows": 3})


class AcceptForm(EventForm):
    referral_id = HiddenField()


class ServiceReportForm(EventForm):
    referral_id = HiddenField()
    service_given = TextAreaField(_l("Layanan yang diberikan"), validators=[MaxLength(2000)],
                                  render_kw={"rows": 3})
    delivered_on = StringField(_l("Tanggal layanan"), validators=[MaxLength(10)], render_kw={"type": "date"})


class CloseForm(EventForm):
    outcome = SelectField(_l("Hasil"), choices=[BLANK] + [(o.value, OUTCOME_LABELS[o]) for o in Outcome
                                                          if o != Outcome.RESOLVED_AT_INTAKE],
                          validate_choice=False)
    note = TextAreaField(_l("Catatan penutupan"), validators=[MaxLength(2000)], render_kw={"rows": 3})


class ReasonForm(EventForm):
    reason = TextAreaField(_l("Alasan"), validators=[MaxLength(2000)], render_kw={"rows": 3})


EVENT_FORMS: dict[str, type[EventForm]] = {
    "resolve_at_intake": ResolveAtIntakeForm,
    "submit": EventForm,
    "start_assessment": EventForm,
    "request_info": RequestInfoForm,
    "complete_assessment": AssessmentForm,
    "refer": ReferForm,
    "revoke_referral": RevokeForm,
    "accept": AcceptForm,
    "decline": DeclineForm,
    "report_service": ServiceReportForm,
    "close": CloseForm,
    "reopen": ReasonForm,
}


class CaseFilterForm(FlaskForm):
    """The list filters travel in the query string; no CSRF for a read."""

    class Meta:
        csrf = False

    q = StringField(_l("Cari nomor, nama atau NIK"), validators=[Optional(), MaxLength(60)])
    state = SelectField(_l("Status"), choices=[], validate_choice=False)
    category = SelectField(_l("Kategori"), choices=[("", _l("Semua kategori")), *CATEGORY_LABELS.items()],
                           validate_choice=False)
    village_code = StringField(_l("Desa/kelurahan"), validators=[Optional(), MaxLength(13)])
    overdue = BooleanField(_l("Hanya yang terlambat"))
