"""Bar charts drawn on the server as SVG: no script, readable on paper.

Every bar has its number written beside it and its label in front of it, so a black-and-white print (or a
colour-blind reader) loses nothing; a second series is told apart by a hatch pattern and its name in the legend,
not by colour. The SVG is `role="img"` with an `aria-label` naming every figure; it holds no links (an image's
content is not reachable by keyboard or screen reader): the table printed under every chart links each number to
the list it counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

ROW = 22  # height of one bar, px
GAP = 6
LABEL_WIDTH = 190
BAR_WIDTH = 300
NUMBER_WIDTH = 60


@dataclass
class Bar:
    label: str
    values: list[int]  # one per series


def bar_chart(name: str, title: str, bars: list[Bar], series: list[str] | None = None) -> Markup:
    """Horizontal bars, one group per label, one bar per series (at most two: solid, then hatched); `name` keeps
    the chart's pattern id apart from the other charts' on the page."""
    if not bars:
        return Markup("")  # the table under it says there is nothing
    series = series or [""]
    top = ROW if len(series) > 1 else 0  # room for the legend
    group = ROW * len(series) + GAP
    height = top + max(1, len(bars)) * group
    width = LABEL_WIDTH + BAR_WIDTH + NUMBER_WIDTH
    biggest = max((v for bar in bars for v in bar.values), default=0) or 1
    spoken = "; ".join(
        f"{bar.label}: " + ", ".join(f"{s} {value}".strip() for s, value in zip(series, bar.values, strict=True))
        for bar in bars)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{width}px" aria-label="{escape(title)}. {escape(spoken)}">',
        f'<defs><pattern id="hatch-{name}" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/>'
        '<line x1="3" y1="0" x2="3" y2="6" stroke="#000" stroke-width="2"/></pattern></defs>',
    ]
    if len(series) > 1:
        x = LABEL_WIDTH
        for index, serie in enumerate(series):
            parts.append(f'<rect x="{x}" y="4" width="14" height="12" class="{_bar_class(index)}"{_fill(name, index)}/>'
                         f'<text x="{x + 18}" y="14" class="legend">{escape(serie)}</text>')
            x += 30 + 8 * len(str(serie))
    for row, bar in enumerate(bars):
        y = top + row * group
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + ROW * len(series) / 2 + 4}" text-anchor="end" '
                     f'class="label">{escape(_short(bar.label))}</text>')
        for index, value in enumerate(bar.values):
            by = y + index * ROW
            length = round(BAR_WIDTH * value / biggest) if value else 0
            parts.append(f'<rect x="{LABEL_WIDTH}" y="{by + 2}" width="{max(length, 1)}" height="{ROW - 4}" '
                         f'class="{_bar_class(index)}"{_fill(name, index)}/>'
                         f'<text x="{LABEL_WIDTH + length + 4}" y="{by + ROW / 2 + 4}" class="number">{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _fill(name: str, index: int) -> str:
    return f' fill="url(#hatch-{name})"' if index else ""


def _bar_class(index: int) -> str:
    return "bar" if index == 0 else "bar bar-hatched"


def _short(label: str, limit: int = 30) -> str:
    label = str(label)
    return label if len(label) <= limit else label[: limit - 1] + "…"
