"""Bar geometry for the inline SVG charts the report templates draw: no JavaScript, no library.

Pure functions: the template only places the rectangles and labels computed here (labels are
escaped by the template engine like any other text).
"""

from dataclasses import dataclass

LABEL_WIDTH = 170
BAR_HEIGHT = 22
GAP = 8


@dataclass(frozen=True)
class Bar:
    label: str
    shown: str
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    label_width: int = LABEL_WIDTH


def horizontal(rows: list[tuple[str, float, str]], *, width: int = 560) -> Chart:
    """A funnel: one bar per (label, value, shown) row, the longest as wide as the chart allows."""
    largest = max((value for _label, value, _shown in rows), default=0) or 1
    room = width - LABEL_WIDTH - 90  # the value is written after the bar
    bars = [
        Bar(str(label), shown, LABEL_WIDTH, i * (BAR_HEIGHT + GAP), max(room * value / largest, 1 if value else 0),
            BAR_HEIGHT)
        for i, (label, value, shown) in enumerate(rows)
    ]  # fmt: skip
    return Chart(width, max(len(rows) * (BAR_HEIGHT + GAP), BAR_HEIGHT), bars)


def columns(points: list[tuple[str, float, str]], *, width: int = 560, height: int = 160) -> Chart:
    """A time series: one column per (label, value, shown) point, labels underneath."""
    largest = max((value for _label, value, _shown in points), default=0) or 1
    slot = width / max(len(points), 1)
    plot = height - 36  # room for the value above and the label below
    bars = []
    for i, (label, value, shown) in enumerate(points):
        tall = plot * value / largest
        bars.append(Bar(str(label), shown, i * slot + slot * 0.15, 16 + plot - tall, slot * 0.7, tall))
    return Chart(width, height, bars, label_width=0)
