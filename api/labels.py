"""Vietnamese UI names of the codes in docs/taxonomy.md."""

TOPICS = {
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
SENTIMENTS = {"tieu_cuc": "Tiêu cực", "trung_tinh": "Trung tính", "tich_cuc": "Tích cực"}
RISKS = {"nong": "Nóng", "theo_doi": "Theo dõi", "binh_thuong": "Bình thường"}
FACETS = {
    "source": "Nguồn",
    "topic": "Chủ đề",
    "sentiment": "Sắc thái",
    "risk": "Mức độ",
    "unit": "Đơn vị",
}
ALL = {"topic": TOPICS, "sentiment": SENTIMENTS, "risk": RISKS, "facet": FACETS}
