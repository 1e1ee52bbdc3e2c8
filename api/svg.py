"""Small server-rendered SVG charts (no front-end library): stacked bars over days, hbars.

Charts are laid out in percentages of their width with a fixed pixel height and no viewBox:
a viewBox scales the whole drawing, text included, so a 420-unit chart in a 300 px column drew
7 px labels. Here text keeps its CSS size (.chart text, 13 px) at any width, and only the
bars stretch. Dates read dd/mm, as Vietnamese readers write them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

FONT_PX = 13  # every label; tests/e2e/test_charts.py checks the rendered size
LABEL_CHARS = 48


def day_label(value: str | date) -> str:
    """'2026-11-05' (or a date) -> '05/11'; anything else unchanged."""
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return f"{day:%d/%m}"


def _svg(height: int, title: str, cls: str) -> str:
    return (
        f'<svg class="chart {cls}" width="100%" height="{height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" '
        f'font-size="{FONT_PX}">'
    )


def stacked_bars(
    labels: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[int]]],
    *,
    height: int = 200,
    title: str = "",
    ticks: int = 8,
) -> Markup:
    """Bars per day (ISO dates, shown dd/mm), stacked per series (name, css class, values)."""
    n = max(len(labels), 1)
    totals = [sum(s[2][i] for s in series) for i in range(len(labels))]
    top = max(totals, default=0) or 1
    axis_y = height - 24  # room under the axis for the date labels
    left, span = 6.0, 93.0  # % of the width: the y figure sits above the first bar
    bar_w = span / n
    parts = [
        _svg(height, title, "timechart"),
        f'<text x="0" y="{FONT_PX}" class="axis">{top} tin</text>',
        f'<line x1="{left}%" y1="{axis_y}" x2="100%" y2="{axis_y}" class="axis"/>',
    ]
    plot_h = axis_y - FONT_PX - 8
    for i, label in enumerate(labels):
        x = left + i * bar_w
        y = float(axis_y)
        shown = day_label(label)
        for name, css, values in series:
            value = values[i]
            if not value:
                continue
            h = value / top * plot_h
            y -= h
            parts.append(
                f'<rect x="{x:.2f}%" y="{y:.1f}" width="{max(bar_w * 0.8, 0.1):.2f}%" '
                f'height="{h:.1f}" class="{escape(css)}"><title>{escape(shown)}: '
                f"{escape(name)} {value}</title></rect>"
            )
    step = max(1, -(-n // ticks))
    for k, i in enumerate(range(0, len(labels), step)):
        x = left + i * bar_w
        tick = escape(day_label(labels[i]))
        # Every other tick hides on a phone (app.css), where 8 dates would overlap.
        css = "axis tick tick-odd" if k % 2 else "axis tick"
        parts.append(f'<text x="{x:.2f}%" y="{height - 6}" class="{css}">{tick}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def hbars(rows: Sequence[tuple[str, int]], *, title: str = "", css: str = "bar") -> Markup:
    """Horizontal bars, each under its label with its count at the end (topics, sources)."""
    top = max((n for _, n in rows), default=0) or 1
    row_h = FONT_PX + 24  # label line + bar
    height = max(len(rows), 1) * row_h
    parts = [_svg(height, title, "hbars")]
    for i, (label, n) in enumerate(rows):
        y = i * row_h
        short = label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
        w = max(n / top * 88, 0.5)  # % of the width; 12% left for the count
        parts.append(
            f'<text x="0" y="{y + FONT_PX}" class="label">{escape(short)}</text>'
            f'<rect x="0" y="{y + FONT_PX + 5}" width="{w:.1f}%" height="12" class="{escape(css)}">'
            f"<title>{escape(label)}: {n}</title></rect>"
            f'<text x="{w + 1:.1f}%" y="{y + FONT_PX + 16}" class="axis">{n}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
