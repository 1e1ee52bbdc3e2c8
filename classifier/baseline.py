"""The keyword baseline classifier, used until the trained transformers model lands.

It is deliberately simple and honest: hand-written cue lists matched on folded
(lowercase, accent-free) text, so social posts typed without diacritics match too. Folding
merges some words (lạm thu / làm thủ tục, lương / lượng), so ambiguous single words are left
out and a few known collisions are blanked before matching."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from classifier.base import Prediction
from core.text import fold

MODEL_VERSION = "baseline-keywords-0.1"

# Phrases whose folded form contains a cue but means something else ("lam thu tuc" would
# count as lạm thu). Never list a phrase that folds to a cue itself.
_CONFUSABLES = ("làm thủ tục", "làm thủ công", "làm thủ khoa")

_EDUCATION = (
    "giáo dục", "đào tạo", "GDĐT", "GD&ĐT", "học sinh", "sinh viên", "giáo viên", "nhà giáo",
    "thầy cô", "thầy giáo", "cô giáo", "giảng viên", "nhà trường", "trường học", "ngôi trường",
    "trường THPT", "trường THCS", "trường tiểu học", "trường mầm non", "trường đại học",
    "trường chuyên", "các trường", "điểm trường", "THCS", "THPT", "tiểu học", "mầm non",
    "mẫu giáo", "đại học", "cao đẳng", "hiệu trưởng", "phụ huynh", "lớp học", "vào lớp",
    "năm học", "học kỳ", "khai giảng", "tuyển sinh", "kỳ thi", "thí sinh", "đề thi",
    "điểm thi", "học phí", "sách giáo khoa", "SGK", "học bổng", "học tập", "dạy học",
    "bài giảng", "tốt nghiệp", "thủ khoa", "du học", "ký túc xá", "lớp 1", "lớp 6", "lớp 9",
    "lớp 10", "lớp 12",
)  # fmt: skip

TOPICS: dict[str, tuple[str, ...]] = {
    "chinh_sach": (
        "chính sách", "nghị định", "thông tư", "nghị quyết", "chỉ thị", "công văn", "dự thảo",
        "luật giáo dục", "quy định", "đề án", "Bộ GDĐT", "Bộ Giáo dục", "Sở GDĐT",
        "Sở Giáo dục", "UBND", "ủy ban nhân dân", "văn bản hướng dẫn",
    ),
    "thi_tuyen_sinh": (
        "tuyển sinh", "kỳ thi", "thi tốt nghiệp", "thi vào lớp", "điểm chuẩn", "điểm thi",
        "đề thi", "thí sinh", "phòng thi", "xét tuyển", "phúc khảo", "chấm thi", "lộ đề",
        "môn thi", "nguyện vọng", "trúng tuyển", "điểm sàn", "gian lận thi",
    ),
    "chuong_trinh_sgk": (
        "chương trình giáo dục phổ thông", "chương trình GDPT", "GDPT 2018", "sách giáo khoa",
        "SGK", "bộ sách", "chương trình mới", "phương pháp dạy học", "đổi mới phương pháp",
        "kiểm tra đánh giá", "đánh giá học sinh", "học bạ", "giáo án", "môn học", "tiết học",
    ),
    "nha_giao": (
        "giáo viên", "nhà giáo", "thầy giáo", "cô giáo", "hiệu trưởng", "cán bộ quản lý",
        "tuyển dụng", "biên chế", "tiền lương", "mức lương", "tăng lương", "lương giáo viên",
        "phụ cấp", "thiếu giáo viên", "đạo đức nhà giáo", "ngày nhà giáo", "giáo viên giỏi",
    ),
    "hoc_phi_thu_chi": (
        "học phí", "lạm thu", "khoản thu", "thu chi", "quỹ phụ huynh", "quỹ lớp",
        "ban đại diện cha mẹ", "miễn giảm học phí", "tiền học", "thu tiền", "đóng góp",
        "xã hội hóa", "tài trợ", "hỗ trợ chi phí",
    ),
    "day_them": ("dạy thêm", "học thêm", "lớp học thêm", "luyện thi", "trung tâm luyện thi"),
    "bao_luc_hoc_duong": (
        "bạo lực học đường", "bạo lực", "đánh nhau", "đánh bạn", "bị đánh", "đánh hội đồng",
        "đánh học sinh", "hành hung", "bắt nạt", "làm nhục", "bạo hành", "xúc phạm",
    ),
    "an_toan_suc_khoe": (
        "an toàn", "tai nạn", "đuối nước", "ngộ độc", "ngộ độc thực phẩm", "dịch bệnh",
        "sức khỏe", "tâm lý", "trầm cảm", "tự tử", "xâm hại", "dâm ô", "tử vong",
        "bếp ăn", "bán trú", "nhập viện", "cấp cứu",
    ),
    "co_so_vat_chat": (
        "cơ sở vật chất", "phòng học", "chuẩn quốc gia", "sáp nhập", "thiết bị dạy học",
        "xuống cấp", "điểm trường", "nhà vệ sinh", "phòng học tạm", "khởi công", "khánh thành",
        "bàn ghế", "xây dựng trường", "quy hoạch mạng lưới",
    ),
    "chuyen_doi_so": (
        "chuyển đổi số", "công nghệ thông tin", "học trực tuyến", "dạy học trực tuyến",
        "trực tuyến", "cải cách hành chính", "dịch vụ công", "số hóa", "phần mềm",
        "học bạ số", "học bạ điện tử", "sổ điểm điện tử", "cơ sở dữ liệu", "trí tuệ nhân tạo",
    ),
    "guong_dien_hinh": (
        "khen thưởng", "bằng khen", "đạt giải", "huy chương", "học sinh giỏi", "giáo viên giỏi",
        "thủ khoa", "gương sáng", "điển hình", "tấm gương", "vinh danh", "trao học bổng",
        "học bổng", "giải nhất", "olympic", "tuyên dương", "người tốt việc tốt",
        "vượt khó", "trao tặng",
    ),
    "dao_duc_ky_nang": (
        "đạo đức", "kỹ năng sống", "kỹ năng", "văn hóa học đường", "hướng nghiệp",
        "giáo dục giới tính", "ứng xử", "trải nghiệm", "giá trị sống", "giáo dục pháp luật",
    ),
    "mam_non": ("mầm non", "mẫu giáo", "nhà trẻ", "trẻ mầm non", "bảo mẫu"),
    "dai_hoc_nghe": (
        "đại học", "cao đẳng", "trường nghề", "giáo dục nghề nghiệp", "dạy nghề", "du học",
        "sinh viên", "giáo dục thường xuyên", "thạc sĩ", "tiến sĩ", "giảng viên", "học viện",
    ),
    "quoc_phong_an_ninh": (
        "quốc phòng", "an ninh", "giáo dục quốc phòng", "trường quân đội", "quân sự",
        "trường công an", "học viện quân sự",
    ),
}  # fmt: skip

_NEGATIVE = (
    "bạo lực", "bị đánh", "đánh nhau", "hành hung", "bạo hành", "bắt nạt", "làm nhục",
    "tử vong", "lạm thu", "sai phạm", "vi phạm", "bức xúc", "phẫn nộ", "gian lận", "lộ đề",
    "xâm hại", "dâm ô", "ngộ độc", "đuối nước", "tai nạn", "tự tử", "trầm cảm", "tiêu cực",
    "bất cập", "khiếu nại", "tố cáo", "lừa đảo", "thiếu giáo viên", "xuống cấp", "nợ lương",
    "quá tải", "bỏ học", "sai sót", "nhầm lẫn", "đình chỉ", "cách chức", "kỷ luật",
    "khởi tố", "phản đối", "lo ngại", "mất an toàn", "chậm trễ", "tin đồn", "sai sự thật",
)  # fmt: skip
_POSITIVE = (
    "khen thưởng", "bằng khen", "đạt giải", "trao học bổng", "học bổng", "vinh danh",
    "tuyên dương", "xuất sắc", "huy chương", "giải nhất", "gương sáng", "tấm gương",
    "khánh thành", "khai giảng", "niềm vui", "phấn khởi", "hân hoan", "đạt chuẩn",
    "thành công", "hiệu quả", "nâng cao chất lượng", "trao tặng", "tặng quà", "vượt khó",
    "thủ khoa", "sáng tạo",
)  # fmt: skip
_RISK_HOT = (
    "bạo lực", "bị đánh", "đánh nhau", "đánh học sinh", "hành hung", "bạo hành", "làm nhục",
    "tử vong", "lạm thu", "sai phạm", "bức xúc", "phẫn nộ", "xâm hại", "dâm ô", "ngộ độc",
    "đuối nước", "gian lận", "lộ đề", "tự tử", "tố cáo", "khởi tố", "bắt giữ", "đình chỉ",
    "cách chức", "nhập viện", "tin đồn", "tin giả", "sai sự thật",
)  # fmt: skip
_RISK_WATCH = (
    "phản ánh", "kiến nghị", "khiếu nại", "bất cập", "thiếu giáo viên", "quá tải",
    "xuống cấp", "lo ngại", "tranh cãi", "phản đối", "băn khoăn", "chấn chỉnh", "làm rõ",
    "xác minh", "nợ lương", "chậm trễ", "vi phạm", "kỷ luật",
)  # fmt: skip
_TOXIC = (
    "đm", "đmm", "vcl", "vkl", "địt", "óc chó", "mẹ mày", "khốn nạn",
    "súc vật", "ngu dốt", "đồ ngu", "thằng ngu", "mất dạy", "óc lợn",
)  # fmt: skip
_MISINFO = (
    "tin đồn", "tin giả", "sai sự thật", "bịa đặt", "thông tin sai", "giả mạo", "xuyên tạc",
    "thất thiệt", "chưa được kiểm chứng", "chưa được xác thực", "lan truyền trên mạng",
)  # fmt: skip


def _pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    """One regex matching any of the folded phrases as whole words, longest first."""
    folded = sorted({fold(p) for p in phrases}, key=len, reverse=True)
    alternation = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in folded)
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)")


_CONFUSABLE_RE = _pattern(_CONFUSABLES)
_EDUCATION_RE = _pattern(_EDUCATION)
_TOPIC_RES = {code: _pattern(cues) for code, cues in TOPICS.items()}
_NEGATIVE_RE = _pattern(_NEGATIVE)
_POSITIVE_RE = _pattern(_POSITIVE)
_HOT_RE = _pattern(_RISK_HOT)
_WATCH_RE = _pattern(_RISK_WATCH)
_TOXIC_RE = _pattern(_TOXIC)
_MISINFO_RE = _pattern(_MISINFO)


def _saturate(x: float, scale: float) -> float:
    """Map a non-negative count onto 0-1, reaching ~0.63 at `scale`."""
    return round(1.0 - math.exp(-x / scale), 4)


class BaselineClassifier:
    """Keyword baseline: stands in for the trained classifier until it lands."""

    model_version = MODEL_VERSION
    max_topics = 3

    def predict(self, texts: list[str]) -> list[Prediction]:
        """Label each text (any mix of accented and unaccented Vietnamese)."""
        return [self._predict_one(text) for text in texts]

    def _predict_one(self, text: str) -> Prediction:
        folded = _CONFUSABLE_RE.sub(" ", fold(text or ""))
        n_words = max(len(folded.split()), 1)

        edu_hits = len(_EDUCATION_RE.findall(folded))
        # Density (hits per 100 words) says "about education"; the count factor keeps one
        # stray word in a short text from scoring as high as a whole education article.
        density = 100.0 * edu_hits / n_words
        relevance = round(_saturate(density, 1.5) * _saturate(edu_hits, 2.0), 4)

        hits = {code: len(rx.findall(folded)) for code, rx in _TOPIC_RES.items()}
        top = max(hits.values(), default=0)
        # A topic mentioned far less than the main one is background, not a label.
        floor = max(1, math.ceil(top / 3))
        chosen = sorted((c for c, h in hits.items() if h >= floor), key=lambda c: -hits[c])
        topics = chosen[: self.max_topics] or ["khac"]
        topic_scores = {c: _saturate(hits[c], 2.0) for c in topics} if chosen else {"khac": 1.0}

        neg = len(_NEGATIVE_RE.findall(folded))
        pos = len(_POSITIVE_RE.findall(folded))
        polarity = round(math.tanh((pos - neg) / 2.0), 4)
        sentiment = "tich_cuc" if pos > neg else "tieu_cuc" if neg > pos else "trung_tinh"

        hot = len(_HOT_RE.findall(folded))
        watch = len(_WATCH_RE.findall(folded))
        weighted = 2 * hot + watch
        # One hot word is often an order to stop something (theo dõi); a concrete incident
        # is reported with several.
        risk = "nong" if hot >= 2 else "theo_doi" if weighted >= 2 else "binh_thuong"

        toxic = len(_TOXIC_RE.findall(folded))
        misinfo = len(_MISINFO_RE.findall(folded))
        return Prediction(
            relevance=relevance,
            topics=topics,
            topic_scores=topic_scores,
            sentiment=sentiment,
            sentiment_score=polarity,
            risk=risk,
            risk_score=_saturate(weighted, 4.0),
            toxicity=_saturate(toxic, 2.0),
            misinformation=_saturate(misinfo, 3.0),
            model_version=MODEL_VERSION,
            cues={"education": edu_hits, "negative": neg, "positive": pos, "hot": hot,
                  "watch": watch, "toxic": toxic, "misinfo": misinfo},
        )  # fmt: skip
