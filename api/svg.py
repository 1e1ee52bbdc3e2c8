"""Small server-rendered SVG charts (no front-end library): stacked bars over time, hbars."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape


def stacked_bars(
    labels: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[int]]],
    *,
    width: int = 640,
    height: int = 160,
    title: str = "",
) -> Markup:
    """Bars per label (e.g. a day), stacked per series (name, css class, values)."""
    n = max(len(labels), 1)
    totals = [sum(s[2][i] for s in series) for i in range(len(labels))]
    top = max(totals, default=0) or 1
    plot_h, pad = height - 22, 2
    bar_w = max((width - 40) / n, 1.0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="0" y="10" class="axis">{top}</text>',
        f'<line x1="36" y1="{plot_h}" x2="{width}" y2="{plot_h}" class="axis"/>',
    ]
    for i, label in enumerate(labels):
        x = 38 + i * bar_w
        y = float(plot_h)
        for name, css, values in series:
            value = values[i]
            if not value:
                continue
            h = value / top * (plot_h - 12)
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar_w - pad, 1):.1f}" '
                f'height="{h:.1f}" class="{escape(css)}"><title>{escape(label)}: '
                f"{escape(name)} {value}</title></rect>"
            )
    step = max(1, n // 8)
    for i in range(0, len(labels), step):
        x = 38 + i * bar_w
        parts.append(
            f'<text x="{x:.1f}" y="{height - 6}" class="axis">{escape(labels[i][-5:])}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def hbars(rows: Sequence[tuple[str, int]], *, width: int = 420, title: str = "") -> Markup:
    """Horizontal bars with their labels and counts (top topics, sources, units)."""
    top = max((n for _, n in rows), default=0) or 1
    row_h = 20
    height = max(len(rows), 1) * row_h
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, n) in enumerate(rows):
        y = i * row_h
        w = n / top * (width - 200)
        parts.append(
            f'<text x="0" y="{y + 14}" class="label">{escape(label[:32])}</text>'
            f'<rect x="170" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" class="bar">'
            f"<title>{escape(label)}: {n}</title></rect>"
            f'<text x="{174 + w:.1f}" y="{y + 14}" class="axis">{n}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
