"""What a referral asks of its users, declared once: the case table's `refer` takes REQUEST_INPUTS, each row
of the referral table names its own; the forms, the API schema, the validation and the model's column sizes
are made from these."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from puskesos.core.inputs import Input
from puskesos.core.timeutil import today


def _agencies_for(case, _user) -> list[tuple[str, str]]:
    from puskesos.referrals.services import agencies_serving

    return [(str(a.id), a.name) for a in agencies_serving(case.village_code)]


def _open_referrals_of(case, _user) -> list[tuple[str, str]]:
    return [(str(r.id), f"{r.agency.name}: {r.service}") for r in case.referrals if r.is_open]


def _recommended(case, _user) -> str:
    assessment = case.assessment
    return assessment.recommended_services if assessment else ""


CONSENT_LABELS = {"written": _l("Tertulis"), "verbal": _l("Lisan")}

# What `refer` asks for (a case event, whose effect creates the referral).
REQUEST_INPUTS: tuple[Input, ...] = (
    Input("agency_id", _l("Instansi tujuan"), kind="id", required=True, options=_agencies_for,
          message=_l("Pilih instansi aktif yang melayani wilayah kasus ini.")),
    Input("service", _l("Layanan yang diminta"), max_length=200, required=True, initial=_recommended, personal=True,
          message=_l("Tuliskan layanan yang diminta."),
          description=_l("Diisi dari layanan yang direkomendasikan asesmen; ubah bila perlu.")),
    Input("reason", _l("Alasan rujukan"), kind="textarea", max_length=2000, required=True, personal=True,
          message=_l("Tuliskan alasan rujukan.")),
    Input("consent", _l("Persetujuan pengadu untuk berbagi data dengan instansi"), kind="radio", required=True,
          choices=lambda: list(CONSENT_LABELS.items()),
          message=_l("Rujukan memerlukan persetujuan pengadu untuk berbagi data (tertulis atau lisan).")),
)

REFERRAL_ID = Input("referral_id", _l("Rujukan"), kind="id", required=True, options=_open_referrals_of,
                    message=_l("Pilih rujukan."))
DECLINE_REASON = Input("reason", _l("Alasan penolakan"), kind="textarea", max_length=2000, required=True,
                       personal=True,
                       message=_l("Alasan wajib diisi."))
FAILURE_REASON = Input("reason", _l("Mengapa layanan tidak dapat diberikan"), kind="textarea", max_length=2000,
                       required=True, personal=True, message=_l("Tuliskan mengapa layanan tidak dapat diberikan."))
REVOKE_REASON = Input("reason", _l("Alasan pembatalan"), kind="textarea", max_length=2000, required=True,
                      personal=True,
                      message=_l("Alasan wajib diisi."))
SERVICE_GIVEN = Input("service_given", _l("Layanan yang diberikan"), kind="textarea", max_length=2000,
                      required=True, personal=True, message=_l("Tuliskan layanan yang sudah diberikan."))
DELIVERED_ON = Input("delivered_on", _l("Tanggal layanan"), kind="date", required=True, maximum=today,
                     too_late=_l("Tanggal layanan tidak boleh di masa depan."),
                     message=_l("Isi tanggal layanan."), initial=lambda _case, _user: today())



def limit(name: str) -> int:
    """The length limit of a referral request field, for the model's column."""
    return next(spec.max_length for spec in REQUEST_INPUTS if spec.name == name)
RETURN_NOTE = Input("note", _l("Catatan pengembalian"), kind="textarea", max_length=2000, required=True,
                    personal=True,
                    message=_l("Tuliskan apa yang perlu diperbaiki pada rujukan ini."))
