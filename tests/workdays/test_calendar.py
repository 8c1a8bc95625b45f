import datetime as dt
import io

import lokal
import pytest

from puskesos.extensions import db
from puskesos.workdays.services import add_working_days, import_csv, import_from_lokal, known_years


def test_working_days_skip_weekends_holidays_and_collective_leave(app):
    import_from_lokal([2026, 2027])
    db.session.commit()
    # Nyepi and Idulfitri with their collective leave: from Tue 17 March 2026 the next working day is the 25th.
    assert add_working_days(dt.date(2026, 3, 17), 1).day == dt.date(2026, 3, 25)
    assert add_working_days(dt.date(2026, 11, 27), 3).day == dt.date(2026, 12, 2)  # Friday → over the weekend
    # The table seeded from lokal-id gives lokal-id's own answers, day after day.
    start = dt.date(2026, 1, 1)
    for offset in range(0, 365, 3):
        day = start + dt.timedelta(days=offset)
        for n in (1, 3, 5, 14):
            assert add_working_days(day, n).day == lokal.add_working_days(day, n), (day, n)


def test_a_missing_year_counts_weekends_only_and_says_so(app):
    import_from_lokal([2026])
    db.session.commit()
    due = add_working_days(dt.date(2026, 12, 30), 3)
    assert due.missing_years == {2027}
    assert due.day == dt.date(2027, 1, 4)  # New Year's Day not known, so it counts


def test_csv_import_of_a_new_year_replaces_it_whole(app):
    import_csv(2028, io.StringIO("date,name,kind\n2028-01-01,Tahun Baru 2028 Masehi,libur_nasional\n"))
    import_csv(2028, io.StringIO("2028-01-01,Tahun Baru,libur_nasional\n2028-01-26,Imlek,libur_nasional\n"))
    db.session.commit()
    assert 2028 in known_years()
    assert add_working_days(dt.date(2027, 12, 31), 1).day == dt.date(2028, 1, 3)


@pytest.mark.parametrize("text, message", [
    ("2028-02-30,Tanggal salah,libur_nasional\n", "is not a YYYY-MM-DD date"),
    ("2029-01-01,Tahun lain,libur_nasional\n", "is not in 2028"),
    ("2028-01-01,Libur,cuti\n", "kind must be"),
    ("", "no holidays"),
])
def test_csv_import_refuses_bad_files(app, text, message):
    with pytest.raises(ValueError, match=message):
        import_csv(2028, io.StringIO(text))


def test_cli_imports_missing_years_and_a_csv(app, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["holidays", "import"])
    assert result.exit_code == 0, result.output
    assert {2026, 2027} <= known_years()
    path = tmp_path / "2028.csv"
    path.write_text("2028-01-01,Tahun Baru 2028 Masehi,libur_nasional\n", encoding="utf-8")
    result = runner.invoke(args=["holidays", "import", "--year", "2028", "--file", str(path)])
    assert result.exit_code == 0 and "2028: 1 days" in result.output
    result = runner.invoke(args=["holidays", "import", "--year", "2031"])
    assert result.exit_code == 1 and "error:" in result.output
