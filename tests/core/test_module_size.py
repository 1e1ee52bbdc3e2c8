"""No product module over 400 lines (style.md): a file that long does two jobs; split it."""

from __future__ import annotations

from tests.core.test_import_graph import ROOT, product_modules

MAX_LINES = 400


def test_no_module_over_400_lines() -> None:
    # Migrations are generated history, never edited (style.md "outside migrations").
    long = {
        f"{path.relative_to(ROOT)}: {n}"
        for path in product_modules().values()
        if "migrations" not in path.parts
        and (n := len(path.read_text("utf-8").splitlines())) > MAX_LINES
    }
    assert not long, "modules over 400 lines:\n" + "\n".join(sorted(long))
