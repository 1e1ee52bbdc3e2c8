"""Coverage by commune/ward and by unit type on the 2025 map, with "ngoài tỉnh" apart, over a
real database: places come from document_places (locality) and from the units a document
names (their commune)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from alerts.reporting.coverage import coverage
from alerts.reporting.reports import build_report, parse_period
from alerts.reporting.stats import load_documents
from alerts.units.types import yearly_targets
from core.models import DocumentPlace, DocumentUnit, Unit
from tests.factories import make_document, make_source

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
QUANG_NGAI, GIA_LAI, DA_NANG = "51", "52", "48"
DAK_HA, CAM_THANH, NGHIA_LO = "23500", "21025", "21028"  # communes/wards of Quảng Ngãi
NOV = datetime(2026, 11, 10, 3, tzinfo=UTC)


def _seed(session: Session) -> None:
    src = make_source(session)
    own = make_source(session, "Báo Quảng Ngãi thử", scope="local", province=QUANG_NGAI)
    other = make_source(session, "Báo Gia Lai thử", scope="local", province=GIA_LAI)
    school = Unit(name="Trường THCS Lê Hồng Phong", type="truong_thcs", province=QUANG_NGAI,
                  commune=NGHIA_LO)  # fmt: skip
    office = Unit(name="Phòng Văn hóa – Xã hội xã Đăk Hà", type="vhxh_xa", province=QUANG_NGAI,
                  commune=DAK_HA)  # fmt: skip
    session.add_all([school, office])
    session.flush()
    docs = [
        # about a commune of the province (locality)
        ("Đăk Hà khai giảng", [(DAK_HA, "commune"), (QUANG_NGAI, "province")], []),
        # names a unit placed in a ward, no place found in the text
        ("Trường THCS Lê Hồng Phong đạt giải", [], [school.id]),
        # two wards of the province and a unit
        ("Cẩm Thành và Đăk Hà", [(CAM_THANH, "commune")], [office.id]),
        # the province as a whole
        ("Tỉnh Quảng Ngãi tuyển sinh", [(QUANG_NGAI, "province")], [], own),
        # other provinces only: ngoài tỉnh
        ("Gia Lai thi tốt nghiệp", [(GIA_LAI, "province")], [], other),
        ("Đà Nẵng và Gia Lai", [(DA_NANG, "province"), (GIA_LAI, "province")], []),
        # no place at all
        ("Bộ GDĐT công bố lịch thi", [], []),
    ]
    for title, places, units, *outlet in docs:
        doc = make_document(
            session, outlet[0] if outlet else src, title, published_at=NOV, sentiment="tich_cuc"
        )
        session.add_all(DocumentPlace(document_id=doc.id, code=c, kind=k) for c, k in places)
        session.add_all(DocumentUnit(document_id=doc.id, unit_id=u) for u in units)
    # a month outside the period
    old = make_document(session, src, "Tin cũ", published_at=datetime(2026, 9, 1, tzinfo=UTC))
    session.add(DocumentPlace(document_id=old.id, code=DAK_HA, kind="commune"))
    session.commit()


def test_coverage_by_commune_with_outside_the_province_apart(session: Session) -> None:
    _seed(session)
    period = parse_period("2026-11", TZ)
    docs = load_documents(session, period.start, period.end)
    cov = coverage(session, docs, period.start, period.end, province=QUANG_NGAI)
    assert (cov.total, cov.in_province, cov.outside, cov.unplaced) == (7, 4, 2, 1)
    assert [(p.name, p.count) for p in cov.by_commune] == [
        ("Xã Đăk Hà", 2),
        ("Phường Cẩm Thành", 1),
        ("Phường Nghĩa Lộ", 1),
    ]
    assert [(p.name, p.count) for p in cov.outside_by_province] == [
        ("Tỉnh Gia Lai", 2),
        ("Thành phố Đà Nẵng", 1),
    ]
    assert [(t.code, t.count) for t in cov.by_unit_type] == [("vhxh_xa", 1), ("truong_thcs", 1)]
    # the outlets: the province's own paper, another province's, the national press
    assert [(s.name, s.count) for s in cov.by_scope] == [
        ("Báo địa phương của tỉnh", 1),
        ("Báo địa phương tỉnh khác", 1),
        ("Báo trung ương", 5),
    ]


def test_without_a_chosen_province_every_province_is_listed(session: Session) -> None:
    _seed(session)
    period = parse_period("2026-11", TZ)
    docs = load_documents(session, period.start, period.end)
    cov = coverage(session, docs, period.start, period.end, province=None)
    assert (cov.in_province, cov.outside, cov.unplaced, cov.by_commune) == (0, 0, 1, [])
    assert {p.code: p.count for p in cov.outside_by_province} == {
        QUANG_NGAI: 4,
        GIA_LAI: 2,
        DA_NANG: 1,
    }


def test_the_report_carries_coverage_and_targets_per_unit_type(session: Session) -> None:
    _seed(session)
    report = build_report(
        session,
        parse_period("2026-11", TZ),
        TZ,
        targets=yearly_targets({"vhxh_xa": 1}),
        province=QUANG_NGAI,
    )
    assert report.coverage is not None and report.coverage.outside == 2
    # the commune office reached its target of 1; the school has 1 of its 2
    assert [(t.type, t.positive, t.target, t.met) for t in report.positive_targets] == [
        ("vhxh_xa", 1, 1, True),
        ("truong_thcs", 1, 2, False),
    ]
