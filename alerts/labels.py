"""Vietnamese names shown in notifications and the digest (codes stay English)."""

from __future__ import annotations

SEVERITIES = ("low", "medium", "high", "critical")
SEVERITY_NAMES = {"low": "Thấp", "medium": "Trung bình", "high": "Cao", "critical": "Khẩn cấp"}
# Subject prefixes: the inbox of a busy office is sorted by these at a glance.
SUBJECT_PREFIX = {"critical": "[Khẩn] ", "high": "[Quan trọng] ", "medium": "", "low": ""}
KIND_NAMES = {
    "hot": "Tình huống nóng",
    "spike": "Tin tăng đột biến",
    "misinfo": "Thông tin sai lệch",
    "rule": "Cảnh báo theo từ khóa",
}
STATUS_NAMES = {
    "new": "Mới",
    "acknowledged": "Đã tiếp nhận",
    "assigned": "Đã giao xử lý",
    "responded": "Đã phản hồi",
    "closed": "Đã đóng",
    "dismissed": "Đã bỏ qua",
}
TOPIC_NAMES = {
    "chinh_sach": "Chủ trương, chính sách",
    "thi_tuyen_sinh": "Thi cử, tuyển sinh",
    "chuong_trinh_sgk": "Chương trình, SGK",
    "nha_giao": "Nhà giáo, CBQL",
    "hoc_phi_thu_chi": "Học phí, thu chi",
    "day_them": "Dạy thêm, học thêm",
    "bao_luc_hoc_duong": "Bạo lực học đường",
    "an_toan_suc_khoe": "An toàn, sức khỏe",
    "co_so_vat_chat": "Cơ sở vật chất",
    "chuyen_doi_so": "Chuyển đổi số, CCHC",
    "guong_dien_hinh": "Gương điển hình",
    "dao_duc_ky_nang": "Đạo đức, kỹ năng",
    "mam_non": "Mầm non",
    "dai_hoc_nghe": "Đại học, GDNN",
    "quoc_phong_an_ninh": "GD quốc phòng – an ninh",
    "khac": "Khác",
}
SENTIMENT_NAMES = {"tieu_cuc": "Tiêu cực", "trung_tinh": "Trung tính", "tich_cuc": "Tích cực"}


def severity_rank(severity: str | None) -> int:
    """0 (low) .. 3 (critical); unknown values rank as medium."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else 1
