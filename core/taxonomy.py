"""The label codes of docs/taxonomy.md (API values); UI names live with the UI."""

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
