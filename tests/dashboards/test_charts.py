"""The SVG charts: accessible, every number written, series told apart without colour, labels escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from puskesos.dashboards.charts import Bar, bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_chart_is_an_accessible_image_with_every_number_written():
    svg = str(bar_chart("weeks", "Per minggu", [Bar("14 Sep & 21 Sep", [3, 0]), Bar("<b>x</b>", [7, 5])],
                        ["Dibuka", "Ditutup"]))
    root = ET.fromstring(svg)  # well-formed XML, so the ampersand and the label are escaped
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Per minggu. 14 Sep & 21 Sep: Dibuka 3, Ditutup 0; <b>x</b>: Dibuka 7, Ditutup 5"
    numbers = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "number"]
    assert numbers == ["3", "0", "7", "5"]
    hatched = [r for r in root.iter(f"{SVG}rect") if "bar-hatched" in (r.get("class") or "")]
    assert hatched and all(r.get("fill") == "url(#hatch-weeks)" for r in hatched)
    assert root.find(f".//{SVG}pattern").get("id") == "hatch-weeks"
    # An image holds nothing to press (axe: nested-interactive); the table under each chart has the links.
    assert list(root.iter(f"{SVG}a")) == []


def test_no_bars_no_chart():
    assert str(bar_chart("x", "Kosong", [])) == ""
