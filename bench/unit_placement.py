"""How much of an old registry alerts.units.placement can put on the 2025 map by itself.

Every former district of the 63 provinces stands for a district-level unit (a Phòng GDĐT,
given by its district only), every former commune for a school given by district + commune;
each is placed from its names as a registry writes them (with the former province's name).
A district counts as placed when it became one commune or one of its communes bears its name;
the rest are reported, not guessed. Checked against the package's own old -> new table.

    python bench/unit_placement.py [--province "Quảng Ngãi"]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alerts.units.placement import place_unit  # noqa: E402
from core.geo.data import admin_map  # noqa: E402
from core.geo.profile import find_province  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--province", default="", help="only the former units of one province")
    args = parser.parse_args()
    amap = admin_map()
    only = find_province(args.province)[0].code if args.province else None  # type: ignore[index]
    districts = [d for d in amap.former_districts.values() if only in (None, d.province)]
    communes = [
        c for c in amap.former_communes.values() if c.commune and only in (None, c.province)
    ]
    started = time.perf_counter()
    d_placed = d_right = 0
    for d in districts:
        former = amap.former_provinces[d.former_province].name
        got = place_unit(province=former, district=d.name, commune=None, home=None)
        if got.commune:
            d_placed += 1
            d_right += got.commune in d.communes or (not d.communes and got.province == d.province)
    c_placed = c_right = 0
    for c in communes:
        d = amap.former_districts[c.district]
        former = amap.former_provinces[d.former_province].name
        got = place_unit(province=former, district=d.name, commune=c.name, home=None)
        if got.commune:
            c_placed += 1
            c_right += got.commune == c.commune
    elapsed = time.perf_counter() - started
    n = len(districts) + len(communes)
    print(f"former districts: {len(districts)}; placed {d_placed} ({d_placed / len(districts):.1%})"
          f", of which in one of the district's communes {d_right}")  # fmt: skip
    print(f"former communes:  {len(communes)}; placed {c_placed} ({c_placed / len(communes):.1%})"
          f", of which the package's own new commune {c_right} "
          f"({c_right / max(c_placed, 1):.1%})")  # fmt: skip
    print(f"time: {elapsed:.1f} s for {n} rows ({elapsed / n * 1000:.2f} ms per row)")


if __name__ == "__main__":
    main()
