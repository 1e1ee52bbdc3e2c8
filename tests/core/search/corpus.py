"""A small Vietnamese corpus written for the search contract tests (our own text)."""

from __future__ import annotations

from datetime import UTC, datetime

from core.search.base import IndexDoc


def _at(day: int, hour: int = 3) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=UTC)


DOCS = [
    IndexDoc(
        id="d1",
        title="Sở Giáo dục và Đào tạo tổ chức hội nghị chuyển đổi số",
        body="Ngành giáo dục tỉnh triển khai học bạ số cho mọi trường trung học phổ thông.",
        published_at=_at(2),
        source_id=1,
        source_name="Báo Tỉnh",
        topics=["chuyen_doi_so", "chinh_sach"],
        sentiment="tich_cuc",
        risk="binh_thuong",
        units=[10],
    ),
    IndexDoc(
        id="d2",
        title="Phụ huynh phản ánh lạm thu đầu năm học",
        body="Nhiều khoản thu ngoài quy định khiến phụ huynh bức xúc; nhà trường hứa trả lại tiền.",
        published_at=_at(3),
        source_id=2,
        source_name="Báo Quốc Gia",
        topics=["hoc_phi_thu_chi"],
        sentiment="tieu_cuc",
        risk="nong",
        units=[11],
    ),
    IndexDoc(
        id="d3",
        title="Học sinh Đà Nẵng đạt giải cao kỳ thi học sinh giỏi",
        body="Đội tuyển thành phố Đà Nẵng giành nhiều huy chương, được khen thưởng xứng đáng.",
        published_at=_at(3, 20),  # 03:00 local on 4 Nov
        source_id=1,
        source_name="Báo Tỉnh",
        topics=["guong_dien_hinh"],
        sentiment="tich_cuc",
        risk="binh_thuong",
    ),
    IndexDoc(
        id="d4",
        title="Thu tiền quỹ lớp: phụ huynh cần biết",
        body="Các khoản lạm dụng danh nghĩa hội phụ huynh để thu tiền sẽ bị xử lý.",
        published_at=_at(5),
        source_id=3,
        source_name="Diễn đàn Phụ huynh",
        topics=["hoc_phi_thu_chi"],
        sentiment="trung_tinh",
        risk="theo_doi",
    ),
    IndexDoc(
        id="d5",
        title="Hoà bình và an toàn trường học ở Thuỷ Nguyên",
        # New-style tone marks (hoà, thuỷ) must match classic-style queries (hòa, thủy).
        body="Trường học ở huyện Thuỷ Nguyên tăng cường phòng chống đuối nước cho học sinh.",
        published_at=_at(6),
        source_id=2,
        source_name="Báo Quốc Gia",
        topics=["an_toan_suc_khoe"],
        sentiment="trung_tinh",
        risk="theo_doi",
        units=[10, 11],
    ),
    IndexDoc(
        id="d6",
        title="Dong Thap mo rong tuyen sinh lop 10",
        # Typed without diacritics, as many social posts are.
        body="So GD DT tinh Dong Thap cong bo chi tieu tuyen sinh vao lop 10 nam hoc moi.",
        published_at=_at(7),
        source_id=3,
        source_name="Diễn đàn Phụ huynh",
        topics=["thi_tuyen_sinh"],
        sentiment="trung_tinh",
        risk="binh_thuong",
    ),
    IndexDoc(
        id="d7",
        title="Vụ việc bạo lực học đường gây xôn xao",
        body=(
            "Một học sinh bị đánh hội đồng; clip lan truyền <script>alert('x')</script> trên mạng."
        ),
        published_at=_at(8),
        source_id=2,
        source_name="Báo Quốc Gia",
        topics=["bao_luc_hoc_duong"],
        sentiment="tieu_cuc",
        risk="nong",
        units=[12],
    ),
    IndexDoc(
        id="d8",
        title="Tuyển dụng giáo viên tiểu học ở Đồng Tháp",
        body="Đồng Tháp cần thêm giáo viên; tuyển dụng đợt hai sẽ mở vào tháng tới.",
        published_at=None,
        source_id=1,
        source_name="Báo Tỉnh",
        topics=["nha_giao"],
        sentiment="trung_tinh",
        risk="binh_thuong",
    ),
]
