"""The label codes of docs/taxonomy.md (API values) and their Vietnamese names, shared by
the pages, the exports, notifications and the digest."""

TOPICS = (
    "chinh_sach",
    "thi_tuyen_sinh",
    "chuong_trinh_sgk",
    "nha_giao",
    "hoc_phi_thu_chi",
    "day_them",
    "bao_luc_hoc_duong",
    "an_toan_suc_khoe",
    "co_so_vat_chat",
    "chuyen_doi_so",
    "guong_dien_hinh",
    "dao_duc_ky_nang",
    "mam_non",
    "dai_hoc_nghe",
    "quoc_phong_an_ninh",
    "khac",
)
SENTIMENTS = ("tieu_cuc", "trung_tinh", "tich_cuc")
RISKS = ("nong", "theo_doi", "binh_thuong")

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
RISK_NAMES = {"nong": "Nóng", "theo_doi": "Theo dõi", "binh_thuong": "Bình thường"}
SEVERITY_NAMES = {"low": "Thấp", "medium": "Trung bình", "high": "Cao", "critical": "Khẩn cấp"}
# Outlet scope of a source (Source.scope): spread scoring and the search filter.
SCOPE_NAMES = {"national": "Báo trung ương", "local": "Báo địa phương", "social": "Mạng xã hội"}
STATUS_NAMES = {
    "new": "Mới",
    "acknowledged": "Đã tiếp nhận",
    "assigned": "Đã phân công",
    "responded": "Đã phản hồi",
    "closed": "Đã đóng",
    "dismissed": "Đã bỏ qua",
}
# Alert severities, lowest first: a rank is the index (notify thresholds, escalation).
SEVERITIES = ("low", "medium", "high", "critical")
KIND_NAMES = {
    "hot": "Tình huống nóng",
    "spike": "Tin tăng đột biến",
    "misinfo": "Thông tin sai lệch",
    "rule": "Cảnh báo theo từ khóa",
}


def severity_rank(severity: str | None) -> int:
    """0 (low) .. 3 (critical); unknown values rank as medium."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else 1
