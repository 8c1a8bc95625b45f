"""The intake fields, declared once: the intake form, the API's case schemas, the model's column sizes and the
service's validation are all made from `INTAKE`."""

from __future__ import annotations

import datetime as dt
import re

from flask_babel import lazy_gettext as _l

from puskesos.cases.identity import clean_kk, clean_phone
from puskesos.cases.vocabulary import CATEGORY_LABELS, DTKS_LABELS, URGENCY_LABELS, DtksStatus, Urgency
from puskesos.core.inputs import Input
from puskesos.core.timeutil import today

SEX_LABELS = {"L": _l("Laki-laki"), "P": _l("Perempuan")}


def _neighbourhood(text: str) -> str:
    """RT and RW are written with three digits (003); officers type 3 or 03 as often."""
    if re.fullmatch(r"[0-9]{1,3}", text) is None:
        raise ValueError(str(_l("Isi dengan angka, misalnya 003.")))
    return text.zfill(3)


def _labels(table: dict):
    return lambda: [(str(key), label) for key, label in table.items()]


def _own_village(_case, user) -> list[tuple[str, str]]:
    """An officer registers complaints of its own village (DESIGN: officers are bound to one)."""
    from puskesos.regions.services import lineage

    village = lineage(user.region_code)[-1]
    return [(village.code, village.name)]


NUMERIC = {"inputmode": "numeric", "autocomplete": "off"}

INTAKE: tuple[Input, ...] = (
    Input("nik", _l("NIK"), max_length=40, required=True, personal=True, masked=True,
          render_kw=NUMERIC),
    Input("kk_number", _l("Nomor KK"), max_length=40, clean=clean_kk, personal=True, masked=True,
          render_kw=NUMERIC),
    Input("name", _l("Nama lengkap"), max_length=120, required=True, personal=True),
    Input("birth_date", _l("Tanggal lahir"), kind="date", minimum=dt.date(1900, 1, 1), maximum=today,
          too_early=_l("Tanggal lahir harus antara 1900 dan hari ini."),
          too_late=_l("Tanggal lahir harus antara 1900 dan hari ini."), personal=True,
          description=_l("Kosongkan untuk memakai tanggal lahir dari NIK.")),
    Input("sex", _l("Jenis kelamin"), kind="choice", choices=_labels(SEX_LABELS), clean=str.upper,
          personal=True, description=_l("Kosongkan untuk memakai data dari NIK.")),
    Input("phone", _l("Nomor HP"), max_length=30, clean=clean_phone, personal=True, masked=True,
          render_kw={"inputmode": "tel"}),
    Input("village_code", _l("Desa/kelurahan"), kind="choice", max_length=13, required=True, options=_own_village,
          message=_l("Pilih desa/kelurahan yang valid.")),
    # May follow: `submit` needs it, registering does not.
    Input("address", _l("Alamat"), max_length=255, personal=True),
    Input("rt", _l("RT"), max_length=3, clean=_neighbourhood, personal=True, render_kw={"inputmode": "numeric"}),
    Input("rw", _l("RW"), max_length=3, clean=_neighbourhood, personal=True, render_kw={"inputmode": "numeric"}),
    Input("dtks_status", _l("Terdaftar di DTKS/DTSEN"), kind="choice", choices=_labels(DTKS_LABELS),
          default=DtksStatus.UNKNOWN.value, personal=True),  # who is poor: as personal as it gets
    Input("dtsen_decile", _l("Desil DTSEN"), kind="int", minimum=1, maximum=10,
          choices=lambda: [(str(i), str(i)) for i in range(1, 11)], too_late=_l("Desil DTSEN antara 1 dan 10."),
          personal=True),
    Input("category", _l("Kategori"), kind="choice", choices=_labels(CATEGORY_LABELS), required=True),
    Input("urgency", _l("Urgensi"), kind="choice", choices=_labels(URGENCY_LABELS), default=Urgency.NORMAL.value),
    Input("description", _l("Uraian pengaduan"), kind="textarea", max_length=5000, required=True,
          personal=True, render_kw={"rows": 4}),
    Input("reporter_name", _l("Nama pelapor"), max_length=120, personal=True,
          description=_l("Isi bila pengaduan dibawa oleh orang lain.")),
    Input("reporter_relation", _l("Hubungan dengan pengadu"), max_length=60, personal=True),
    Input("reporter_phone", _l("Nomor HP pelapor"), max_length=30, clean=clean_phone, personal=True,
          masked=True),
)

INTAKE_BY_NAME = {spec.name: spec for spec in INTAKE}
INTAKE_FIELDS = tuple(INTAKE_BY_NAME)
# What `submit` needs beyond what registering needs.
SUBMIT_NEEDS = ("nik", "name", "village_code", "category", "description", "address")
PERSONAL_FIELDS = tuple(spec.name for spec in INTAKE if spec.personal)


def limit(name: str) -> int:
    """The length limit of a text field, for the model's column."""
    return INTAKE_BY_NAME[name].max_length
