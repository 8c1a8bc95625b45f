"""Streaming writers: a CSV or XLSX file written batch by batch as the rows are read, in constant memory.

CSV is sent as it is written: each batch of rows becomes one chunk of the response. An XLSX file is a zip whose
directory comes last, so XlsxWriter (constant-memory mode: each row goes to a temporary file as soon as the next
one starts) writes the rows as they are read and the finished file is then sent in chunks from disk; either
way the process holds one batch of rows at a time, however many rows the export has.

Cells are values, never formulas: a name typed as `=HYPERLINK(…)` stays text in a spreadsheet (CSV: a leading
apostrophe, XLSX: a string cell).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import xlsxwriter
from flask import Response, stream_with_context

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX_TYPE}
FORMATS = tuple(CONTENT_TYPES)
KINDS = ("text", "label", "int", "date", "datetime")
CHUNK = 64 * 1024
XLSX_MAX_ROWS = 1_048_576  # a worksheet's limit; a longer export continues on the next sheet
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet would read as a formula (OWASP)


@dataclass(frozen=True)
class Sheet:
    """What a file holds: a title (the worksheet's name), the column headers already in the reader's language,
    and each column's kind: `text` (typed by a user: never read as a formula), `label` (our words, codes, masked
    numbers), `int`, `date` or `datetime` (ISO 8601 in CSV, date cells in XLSX; times in Western Indonesia
    Time)."""

    title: str
    headers: list[str]
    kinds: list[str]

    def __post_init__(self):
        assert len(self.headers) == len(self.kinds) and set(self.kinds) <= set(KINDS)


@dataclass
class Export:
    """A file about to be streamed: its name, type and row count (already audited), the chunks to send, and
    what to release when the response ends (also when it never starts, or the client goes away)."""

    filename: str
    content_type: str
    count: int
    chunks: Iterator[bytes]
    on_close: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for release in self.on_close:
            release()


def write(fmt: str, sheet: Sheet, batches: Iterable[list[tuple]]) -> Iterator[bytes]:
    return write_csv(sheet, batches) if fmt == "csv" else write_xlsx(sheet, batches)


def write_csv(sheet: Sheet, batches: Iterable[list[tuple]]) -> Iterator[bytes]:
    """RFC 4180 with a UTF-8 byte-order mark, so that spreadsheets read the Indonesian text as UTF-8. Dates are
    ISO 8601 (`2026-11-30`, `2026-11-30 14:05:00`), as `csv` writes them; typed text that a spreadsheet would
    take for a formula gets a leading apostrophe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(sheet.headers)
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    typed = [index for index, kind in enumerate(sheet.kinds) if kind == "text"]
    for batch in batches:
        buffer.seek(0)
        buffer.truncate()
        for row in batch:
            if any(row[i] and row[i].startswith(FORMULA_START) for i in typed):
                row = [("'" + value if i in typed and value and value.startswith(FORMULA_START) else value)
                       for i, value in enumerate(row)]
            writer.writerow(row)
        yield buffer.getvalue().encode("utf-8")


def write_xlsx(sheet: Sheet, batches: Iterable[list[tuple]]) -> Iterator[bytes]:
    with tempfile.TemporaryDirectory(prefix="puskesos-export-") as tmp:
        path = os.path.join(tmp, "export.xlsx")
        workbook = xlsxwriter.Workbook(path, {
            "constant_memory": True, "tmpdir": tmp,
            "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
        })
        bold = workbook.add_format({"bold": True})
        formats = {"date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
                   "datetime": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})}
        writers = []

        def new_sheet(number: int):
            worksheet = workbook.add_worksheet(sheet.title[:31] if number == 1 else f"{sheet.title[:26]} ({number})")
            worksheet.write_row(0, 0, sheet.headers, bold)
            worksheet.freeze_panes(1, 0)
            writers[:] = [_xlsx_cell(worksheet, kind, formats.get(kind)) for kind in sheet.kinds]
            return worksheet

        sheets, row_number = 1, 0
        new_sheet(sheets)
        for batch in batches:
            for row in batch:
                row_number += 1
                if row_number == XLSX_MAX_ROWS:
                    sheets, row_number = sheets + 1, 1
                    new_sheet(sheets)
                for column, (write_cell, value) in enumerate(zip(writers, row, strict=True)):
                    if value is not None and value != "":
                        write_cell(row_number, column, value)
        workbook.close()
        with open(path, "rb") as file:
            while chunk := file.read(CHUNK):
                yield chunk


def _xlsx_cell(worksheet, kind: str, cell_format):
    if kind in ("date", "datetime"):
        return lambda row, column, value: worksheet.write_datetime(row, column, value, cell_format)
    if kind == "int":
        return worksheet.write_number
    return worksheet.write_string  # text and labels alike: a string cell, never a formula


def wib_offset() -> dt.timedelta:
    """Western Indonesia Time's distance from UTC (no daylight saving): a row's times are shifted by it, which
    costs a fraction of a time-zone conversion per cell."""
    from puskesos.core.timeutil import WIB

    return WIB.utcoffset(dt.datetime(2000, 1, 1))


def wib(moment: dt.datetime | None, offset: dt.timedelta) -> dt.datetime | None:
    """A stored (naive UTC) moment as Western Indonesia Time to the second, for a spreadsheet cell."""
    return (moment + offset).replace(microsecond=0) if moment is not None else None


def stream_response(export: Export) -> Response:
    """Commit what the export wrote (its audit event) BEFORE the first byte leaves, then stream the file.

    The request's own commit would come too late for a streamed body; so this is where an export's request
    ends, on the pages and in the API alike.
    """
    from puskesos.extensions import db

    try:
        db.session.commit()
    except BaseException:
        export.close()
        raise
    response = Response(stream_with_context(export.chunks), content_type=export.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response.headers["X-Export-Rows"] = str(export.count)
    response.headers["Cache-Control"] = "no-store"
    response.call_on_close(export.close)
    return response
