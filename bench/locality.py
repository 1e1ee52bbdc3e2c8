"""Locality quality: precision and recall of the provinces and communes core.geo.locate finds
in the sentences of tests/fixtures/locality/*.csv (our own sentences: 2025 names, old names
with and without "(cũ)", no diacritics, lower case, names shared by several provinces).

The Department's own province is Quảng Ngãi here: a commune name shared by several provinces
with no province in the sentence counts for it (core.geo.locate, "ties").

    python bench/locality.py [--errors]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.geo.data import admin_map, squash  # noqa: E402
from core.geo.locate import accented, default_index, locate  # noqa: E402
from core.geo.profile import find_province  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "locality"
OWN = "Quảng Ngãi"


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def add(self, found: set[str], expected: set[str]) -> None:
        self.tp += len(found & expected)
        self.fp += len(found - expected)
        self.fn += len(expected - found)


@dataclass
class Report:
    sentences: int = 0
    provinces: Counts = field(default_factory=Counts)
    communes: Counts = field(default_factory=Counts)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _province_code(name: str) -> str:
    found = find_province(name)
    if found is None or found[1] is not None:
        raise ValueError(f"{name!r} is not a 2025 province name")
    return found[0].code


def _commune_code(spec: str) -> str:
    """'Quảng Ngãi/Xã Tu Mơ Rông' -> the commune's code."""
    province, _, name = spec.partition("/")
    code = _province_code(province)
    same = [c for c in admin_map().communes_of(code) if squash(c.name) == squash(name)]
    for c in same:
        if accented(c.name) == accented(name) or len(same) == 1:
            return c.code
    raise ValueError(f"no commune {name!r} in {province!r}")


def rows() -> list[tuple[str, str, set[str], set[str]]]:
    """(file, sentence, expected province codes, expected commune codes) of every fixture."""
    out = []
    for path in sorted(FIXTURES.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f):
                provinces = {_province_code(p) for p in r["provinces"].split(";") if p}
                communes = {_commune_code(c) for c in r["communes"].split(";") if c}
                out.append((path.name, r["sentence"], provinces, communes))
    return out


def measure() -> Report:
    """Run the locator over every fixture sentence."""
    index = default_index()
    own = _province_code(OWN)
    report = Report()
    data = rows()
    started = time.perf_counter()
    amap = admin_map()
    for name, sentence, want_p, want_c in data:
        got = locate(sentence, own=own, index=index)
        got_p, got_c = set(got.provinces), set(got.communes)
        report.sentences += 1
        report.provinces.add(got_p, want_p)
        report.communes.add(got_c, want_c)
        if got_p != want_p or got_c != want_c:
            report.errors.append(
                f"{name}: {sentence}\n  expected {_names(want_p, want_c, amap)}"
                f"\n  found    {_names(got_p, got_c, amap)}"
            )
    report.seconds = time.perf_counter() - started
    return report


def _names(provinces: set[str], communes: set[str], amap: object) -> str:
    m = admin_map()
    return (
        ", ".join(sorted(m.provinces[p].short for p in provinces))
        + " | "
        + ", ".join(sorted(m.communes[c].name for c in communes))
    )


def _article_ms(report: Report, chars: int = 4000, rounds: int = 200) -> float:
    """Time to locate one article-sized text (the fixture sentences run together), the
    cost ingest pays per new or changed document."""
    sentences = [sentence for _, sentence, _, _ in rows()]
    text = ""
    while len(text) < chars:
        text += " ".join(sentences)
    text = text[:chars]
    index = default_index()
    started = time.perf_counter()
    for _ in range(rounds):
        locate(text, index=index)
    return (time.perf_counter() - started) / rounds * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="print every sentence missed")
    args = parser.parse_args()
    t0 = time.perf_counter()
    default_index()
    build = time.perf_counter() - t0
    report = measure()
    if args.errors:
        print("\n".join(report.errors))
    print(f"index build: {build:.2f} s; {report.sentences} sentences in {report.seconds:.3f} s")
    print(f"mismatched sentences: {len(report.errors)}")
    print(f"locate: {_article_ms(report):.2f} ms per 4,000-character article")
    p, c = report.provinces, report.communes
    for name, k in (("province", p), ("commune ", c)):
        counts = f"tp {k.tp} fp {k.fp} fn {k.fn}"
        print(f"{name} precision {k.precision:.3f} recall {k.recall:.3f} ({counts})")


if __name__ == "__main__":
    main()
