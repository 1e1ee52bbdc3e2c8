"""Charts a person reads at a glance: dates dd/mm, labels at a fixed legible size (no viewBox
scaling them down), scraped labels escaped."""

from __future__ import annotations

import re

from api.svg import FONT_PX, day_label, hbars, stacked_bars


def test_day_labels_are_vietnamese_dd_mm() -> None:
    assert day_label("2026-11-05") == "05/11"
    assert day_label("2026-11") == "2026-11"  # a month bucket stays as it is
    chart = str(stacked_bars(["2026-11-05", "2026-11-06"], [("Tích cực", "s-tich_cuc", [1, 2])]))
    assert ">05/11<" in chart and "2026-11-05" not in chart


def test_charts_do_not_scale_their_text() -> None:
    rows = [("Học phí, thu chi", 9), ("<b>Nguồn</b> lạ", 3)]
    for chart in (str(hbars(rows)), str(stacked_bars(["2026-11-05"], [("x", "bar", [3])]))):
        # a viewBox would shrink the labels with the column; percent layout keeps 13 px
        assert "viewBox" not in chart
        assert f'font-size="{FONT_PX}"' in chart and FONT_PX >= 12
        assert re.search(r'width="100%"', chart)
    assert "&lt;b&gt;Nguồn&lt;/b&gt; lạ" in str(hbars(rows))
    assert "<b>" not in str(hbars(rows))
