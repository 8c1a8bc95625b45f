"""The monthly recap as an XLSX workbook: the same three tables as the A4 page, one sheet each.

A recap holds a few hundred rows at most (villages, categories, outcomes), so it is built in memory; the
export is an audit event naming the month, the area and the row count, like every other export.
"""

from __future__ import annotations

import io
import re

import xlsxwriter
from flask_babel import format_date
from flask_babel import gettext as _

from puskesos.audit.chain import append as audit
from puskesos.dashboards.services import Recap
from puskesos.web.templating import region_name, village_short

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _labels(table: dict) -> dict:
    return {str(key): str(label) for key, label in table.items()}


def recap_workbook(user, recap: Recap) -> bytes:
    """The workbook, and its audit event in the caller's transaction (the caller commits before sending)."""
    from puskesos.cases.vocabulary import CATEGORY_LABELS, OUTCOME_LABELS

    categories, outcomes = _labels(CATEGORY_LABELS), _labels(OUTCOME_LABELS)
    sheets = (
        (_("Per desa/kelurahan"), [_("Desa/kelurahan"), _("Dibuka"), _("Ditutup")],
         [(village_short(code), opened, closed) for code, opened, closed in recap.by_village]),
        (_("Per kategori"), [_("Kategori"), _("Dibuka"), _("Ditutup")],
         [(categories.get(code, code), opened, closed) for code, opened, closed in recap.by_category]),
        (_("Kasus ditutup per hasil"), [_("Hasil"), _("Ditutup")],
         [(outcomes.get(code, code or "—"), closed) for code, closed in recap.by_outcome]),
    )
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = book.add_format({"bold": True})
    title = f"{_('Rekap bulanan pengaduan SLRT')} · {region_name(recap.area.code)} · " \
            f"{format_date(recap.month, 'MMMM yyyy')}"
    rows = 0
    for name, headers, body in sheets:
        sheet = book.add_worksheet(re.sub(r"[\[\]:*?/\\]", "-", name)[:31])  # what a sheet name may not hold
        sheet.write_string(0, 0, title, bold)
        sheet.write_row(2, 0, headers, bold)
        for index, row in enumerate(body, start=3):
            sheet.write_string(index, 0, str(row[0]))
            for col, value in enumerate(row[1:], start=1):
                sheet.write_number(index, col, value)
        sheet.set_column(0, 0, 36)
        rows += len(body)
    book.close()
    audit("export.recap", actor=user, region_code=recap.area.code, details={
        "filters": {"month": recap.month.strftime("%Y-%m"), "area": recap.area.code}, "format": "xlsx",
        "count": rows})
    return buffer.getvalue()
