"""Audit events in words: the action's label and each detail as "label: value" in the page's language.

The labels are the ones the forms show: intake fields from `INTAKE`, an event's inputs from its row of the
workflow tables, so the log, the timeline and the forms can never name a field differently. Personal details
arrive opened by `details_of` (they are sealed in the log, `sealing.py`), or as "(dihapus)" once retention
destroyed the case's key; a NIK and a family card number stay masked (masked before they are written), a phone
number is cut here (inputs declared `masked`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask_babel import format_date
from flask_babel import lazy_gettext as _l

from puskesos.accounts.roles import ROLE_LABELS
from puskesos.audit.sealing import Erased
from puskesos.audit.services import details_of
from puskesos.cases.intake import INTAKE_BY_NAME
from puskesos.cases.vocabulary import OUTCOME_LABELS
from puskesos.cases.workflow import EVENT_LABELS, EVENTS, REFERRAL_EVENTS, STATE_LABELS, inputs_of
from puskesos.core.inputs import Input
from puskesos.referrals.models import AGENCY_KIND_LABELS, REFERRAL_STATUS_LABELS

OTHER_ACTIONS = {
    "case.created": _l("Pengaduan didaftarkan"),
    "case.updated": _l("Data pengaduan diubah"),
    "pii.viewed": _l("NIK lengkap dilihat"),
    "auth.login": _l("Masuk"),
    "auth.login_failed": _l("Gagal masuk"),
    "auth.logout": _l("Keluar"),
    "auth.token_revoked": _l("Token API dicabut"),
    "auth.tokens_revoked": _l("Semua token API akun dicabut"),
    "user.created": _l("Akun dibuat"),
    "user.updated": _l("Akun diubah"),
    "user.deactivated": _l("Akun dinonaktifkan"),
    "user.password_changed": _l("Kata sandi diganti oleh pemiliknya"),
    "agency.created": _l("Instansi dibuat"),
    "agency.updated": _l("Instansi diubah"),
    "demo.loaded": _l("Data demo dimuat"),
    "export.cases": _l("Daftar kasus diekspor"),
    "export.referrals": _l("Daftar rujukan diekspor"),
    "export.audit": _l("Log audit diekspor"),
    "export.recap": _l("Rekap bulanan diekspor"),
    "letter.viewed": _l("Surat rujukan dilihat"),
    "letter.printed": _l("Surat rujukan dicetak"),
    "case.overdue": _l("Melewati tenggat tahap ini"),
    "referral.overdue": _l("Rujukan melewati tenggat"),
    "export.subject_access": _l("Data pribadi seseorang diekspor (permintaan akses)"),
    "case.anonymised": _l("Data pribadi dihapus (masa retensi berakhir)"),
    "keys.rotated": _l("Kunci data pribadi dirotasi"),
}


def action_code(event: str) -> str:
    return f"referral.{event}" if event in REFERRAL_EVENTS else f"case.{event}"


ACTION_LABELS = {**{action_code(e): EVENT_LABELS[e] for e in EVENTS}, **OTHER_ACTIONS}


def action_label(action: str):
    return ACTION_LABELS.get(action, action)


def action_choices() -> list[tuple[str, object]]:
    """Every action the log can hold, by label, for the log's filter."""
    return list(ACTION_LABELS.items())


# Keys that are not inputs of any form: what the services add to an event's details.
DETAIL_LABELS = {
    "assignee": _l("Petugas Dinsos"),
    "agency": _l("Instansi"),
    "referral_id": _l("Rujukan"),
    "revoked_referrals": _l("Rujukan yang dibatalkan"),
    "status": _l("Status rujukan"),
    "previous_outcome": _l("Hasil sebelumnya"),
    "duplicate_confirmed": _l("Duplikat dikonfirmasi"),
    "field": _l("Data yang dilihat"),
    "channel": _l("Saluran"),
    "username": _l("Akun"),
    "full_name": _l("Nama"),
    "role": _l("Peran"),
    "region_code": _l("Wilayah"),
    "agency_id": _l("Instansi"),
    "active": _l("Aktif"),
    "password": _l("Kata sandi"),
    "name": _l("Nama"),
    "kind": _l("Jenis"),
    "contact": _l("Kontak"),
    "count": _l("Jumlah"),
    "cases": _l("Jumlah kasus"),
    "reason": _l("Alasan"),
    "filters": _l("Filter"),
    "format": _l("Format"),
    "due_on": _l("Tenggat"),
    "step": _l("Tahap"),
    "days_late": _l("Hari terlambat"),
    "retention_years": _l("Masa retensi (tahun)"),
    "closed_at": _l("Ditutup"),
    "key_id": _l("Kunci"),
    "rows": _l("Baris diperiksa"),
    "reencrypted": _l("Nilai dienkripsi ulang"),
    "rehashed": _l("Hash dihitung ulang"),
    "changed_meanwhile": _l("Berubah selama rotasi"),
    "completed": _l("Selesai"),
}
# An export's filter, named as the list's filter form names it.
FILTER_LABELS = {
    "state": _l("Status"),
    "q": _l("Cari nomor, nama atau NIK"),
    "overdue": _l("Hanya yang terlambat"),
    "assignee_id": _l("Petugas Dinsos"),
    "case_number": _l("Nomor kasus"),
    "actor": _l("Pengguna"),
    "action": _l("Aksi"),
    "since": _l("Sejak"),
    "until": _l("Sampai"),
    "include_auth": _l("Tampilkan juga kejadian masuk dan token"),
    "status": _l("Status rujukan"),
}
# Bookkeeping a reader does not need: ids shown by name elsewhere, the transition (shown as "from → to").
HIDDEN_KEYS = {"from", "to", "state", "user_id", "token_id", "agency_id", "seed", "accounts"}
LOGIN_FAILURES = {"unknown_user": _l("akun tidak dikenal"), "inactive": _l("akun tidak aktif"),
                  "bad_password": _l("kata sandi salah"), "locked": _l("akun terkunci sementara")}
CHANNELS = {"web": _l("Web"), "api": _l("API")}
YES_NO = {True: _l("Ya"), False: _l("Tidak")}


@dataclass
class Described:
    label: object
    transition: tuple | None = None  # (from label, to label) when the case changed state
    lines: list[tuple[object, str]] = field(default_factory=list)


def mask_phone(value: str) -> str:
    """`+6281277889900` → `+62812…`: enough to tell two numbers apart at a glance, not to call them."""
    return value[:6] + "…" if len(value) > 6 else value


def _format(spec: Input | None, key: str, value) -> str:
    if isinstance(value, Erased):
        return str(value)
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(YES_NO[value])
    if isinstance(value, list):
        if key == "revoked_referrals":
            return ", ".join(f"#{v}" for v in value)
        return ", ".join(_format(spec, key, v) for v in value)
    if key in ("referral_id",):
        return f"#{value}"
    if key in ("outcome", "previous_outcome"):
        return str(_lookup(OUTCOME_LABELS, value))
    if key == "step":
        return str(_lookup(STATE_LABELS, value))
    if key in ("due_on", "closed_at"):
        try:
            return format_date(dt.date.fromisoformat(str(value)), "d MMMM yyyy")
        except ValueError:
            return str(value)
    if key == "status":
        return str(_lookup(REFERRAL_STATUS_LABELS, value))
    if key == "role":
        return str(_lookup(ROLE_LABELS, value))
    if key == "kind":
        return str(_lookup(AGENCY_KIND_LABELS, value))
    if key == "channel":
        return str(CHANNELS.get(value, value))
    if key in ("village_code", "region_code") and isinstance(value, str):
        return _region(value)
    if key == "field":
        return str(INTAKE_BY_NAME[value].label) if value in INTAKE_BY_NAME else str(value)
    if spec is not None:
        if spec.masked and isinstance(value, str) and "*" not in value:
            return mask_phone(value)
        if spec.kind == "date":
            try:
                return format_date(dt.date.fromisoformat(str(value)), "d MMMM yyyy")
            except ValueError:
                return str(value)
        if spec.kind == "bool" or (spec.kind in ("choice", "radio", "int") and spec.choices is not None):
            return str(spec.choice_label(value))
    return str(value)


def _lookup(table: dict, value):
    for key, label in table.items():
        if key == value:
            return label
    return value


def _label(key: str, specs: dict[str, Input]):
    if key in specs:
        return specs[key].label
    if key in INTAKE_BY_NAME:
        return INTAKE_BY_NAME[key].label
    return DETAIL_LABELS.get(key)


def _order(specs: dict[str, Input]):
    """Details in the order the user filled them in: the event's inputs, then the intake form's, then the rest."""
    known = [*specs, *INTAKE_BY_NAME, *DETAIL_LABELS]

    def key(item):
        name = item[0]
        return known.index(name) if name in known else len(known)
    return key


def _region(code) -> str:
    from puskesos.web.templating import village_short

    return village_short(code) or str(code)


def describe(event) -> Described:
    """One audit event as a reader sees it."""
    details = details_of(event)
    action = event.action
    specs: dict[str, Input] = {}
    if action.startswith(("case.", "referral.")) and action.split(".", 1)[1] in EVENTS:
        specs = {spec.name: spec for spec in inputs_of(action.split(".", 1)[1])}
    result = Described(action_label(action))
    if details.get("from") and details.get("to") and details["from"] != details["to"]:
        result.transition = (_lookup(STATE_LABELS, details["from"]), _lookup(STATE_LABELS, details["to"]))
    for key, value in sorted(details.items(), key=_order(specs)):
        if key in HIDDEN_KEYS:
            continue
        if key == "fields" and isinstance(value, dict):  # case.created: what was registered
            for name, item in sorted(value.items(), key=_order({})):
                result.lines.append((_label(name, specs) or name, _format(INTAKE_BY_NAME.get(name), name, item)))
        elif key == "changes" and isinstance(value, dict):  # a field diff
            for name, pair in value.items():
                spec = INTAKE_BY_NAME.get(name) if action.startswith("case.") else None
                old, new = [*pair, None, None][:2] if isinstance(pair, list) else (None, pair)
                result.lines.append((_label(name, specs) or name,
                                     f"{_format(spec, name, old)} → {_format(spec, name, new)}"))
        elif key == "filters" and isinstance(value, dict):  # an export: the list's filter
            result.lines.append((DETAIL_LABELS["filters"], _filter_words(value)))
        elif key == "reason" and action == "auth.login_failed":
            result.lines.append((DETAIL_LABELS["reason"], str(LOGIN_FAILURES.get(value, value))))
        elif key == "duplicate_confirmed" and not value:
            continue
        else:
            label = _label(key, specs)
            if label is not None:
                result.lines.append((label, _format(specs.get(key) or INTAKE_BY_NAME.get(key), key, value)))
    return result


def _filter_words(filters: dict) -> str:
    """`Status: Diajukan ke Dinsos, Kategori: Kesehatan`; no filter at all reads as a dash."""
    words = []
    for key, value in filters.items():
        if key == "state":
            shown = str(_lookup(STATE_LABELS, value)) if value != "open" else str(_l("Semua yang terbuka"))
        elif key == "action":
            shown = str(action_label(value))
        else:
            shown = _format(INTAKE_BY_NAME.get(key), key, value)
        words.append(f"{FILTER_LABELS.get(key) or _label(key, {}) or key}: {shown}")
    return ", ".join(words) or "—"
