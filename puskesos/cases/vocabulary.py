"""The words of a case: categories, urgency, welfare-data status and outcomes, each with its label."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Category(StrEnum):
    HEALTH = "health"
    EDUCATION = "education"
    SOCIO_ECONOMIC = "socio_economic"
    FOOD = "food"
    ENERGY = "energy"
    AGRICULTURE = "agriculture"
    FISHERIES = "fisheries"
    HOUSING = "housing"
    CIVIL_DOCUMENTS = "civil_documents"
    DISABILITY = "disability"
    ELDERLY = "elderly"
    CHILD_PROTECTION = "child_protection"
    EMPLOYMENT = "employment"
    OTHER = "other"


CATEGORY_LABELS = {
    Category.HEALTH: _l("Kesehatan"),
    Category.EDUCATION: _l("Pendidikan"),
    Category.SOCIO_ECONOMIC: _l("Sosial ekonomi / PKH"),
    Category.FOOD: _l("Bantuan pangan / Sembako"),
    Category.ENERGY: _l("Energi"),
    Category.AGRICULTURE: _l("Pertanian"),
    Category.FISHERIES: _l("Perikanan"),
    Category.HOUSING: _l("Perumahan / RTLH"),
    Category.CIVIL_DOCUMENTS: _l("Dokumen kependudukan"),
    Category.DISABILITY: _l("Disabilitas"),
    Category.ELDERLY: _l("Lanjut usia"),
    Category.CHILD_PROTECTION: _l("Perlindungan anak"),
    Category.EMPLOYMENT: _l("Ketenagakerjaan"),
    Category.OTHER: _l("Lainnya"),
}


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"
    EMERGENCY = "emergency"


URGENCY_LABELS = {
    Urgency.NORMAL: _l("Biasa"),
    Urgency.URGENT: _l("Mendesak"),
    Urgency.EMERGENCY: _l("Darurat"),
}


class DtksStatus(StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


DTKS_LABELS = {
    DtksStatus.YES: _l("Terdaftar"),
    DtksStatus.NO: _l("Tidak terdaftar"),
    DtksStatus.UNKNOWN: _l("Belum diketahui"),
}


class Outcome(StrEnum):
    RESOLVED_AT_INTAKE = "resolved_at_intake"
    RESOLVED = "resolved"
    NOT_ELIGIBLE = "not_eligible"
    DUPLICATE = "duplicate"
    WITHDRAWN = "withdrawn"
    UNREACHABLE = "unreachable"


OUTCOME_LABELS = {
    Outcome.RESOLVED_AT_INTAKE: _l("Selesai di tempat"),
    Outcome.RESOLVED: _l("Selesai, kebutuhan terpenuhi"),
    Outcome.NOT_ELIGIBLE: _l("Tidak memenuhi syarat"),
    Outcome.DUPLICATE: _l("Duplikat"),
    Outcome.WITHDRAWN: _l("Ditarik oleh pengadu"),
    Outcome.UNREACHABLE: _l("Pengadu tidak dapat dihubungi"),
}
