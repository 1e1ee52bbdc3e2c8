"""Our own sentences for calibrating the fast path's int8 graph (no dataset text here).

The fast path measures, on these texts, how large each channel of the FFN's GELU output
gets (classifier.fastpath.smooth_ffn_down). They mix the kinds of text the service reads:
press headlines and leads, officials' statements, parents' and students' comments with
social-media spellings, text typed without diacritics, and a little English. Outlier
channels are a property of the encoder, not of the topic, so a few dozen varied texts
find them; `calibration_texts()` adds accent-stripped copies and long concatenations that
fill the token budget.
"""

from __future__ import annotations

from core.text import strip_accents

SENTENCES: tuple[str, ...] = (
    "Sở Giáo dục và Đào tạo công bố điểm chuẩn vào lớp 10 công lập năm học mới.",
    "Hơn hai mươi nghìn thí sinh trong tỉnh bước vào kỳ thi tốt nghiệp trung học phổ thông.",
    "Phụ huynh phản ánh nhà trường thu nhiều khoản ngoài quy định ngay đầu năm học.",
    "Giáo viên mầm non ở vùng cao vẫn chờ được chi trả phụ cấp thu hút từ năm ngoái.",
    "Một học sinh lớp 8 bị nhóm bạn đánh hội đồng, clip lan truyền trên mạng xã hội.",
    "Bộ trưởng yêu cầu các địa phương rà soát việc dạy thêm, học thêm trái quy định.",
    "Trường tiểu học tổ chức ngày hội đọc sách, thu hút đông đảo học sinh tham gia.",
    "Thông tin trường sẽ cho học sinh nghỉ học cả tuần vì dịch bệnh là không chính xác.",
    "Huyện khánh thành điểm trường mới sau nhiều năm học sinh phải học nhờ nhà văn hóa.",
    "Hàng trăm giáo viên hợp đồng có nguy cơ mất việc vì thiếu biên chế.",
    "Đề thi môn Ngữ văn được nhiều giáo viên đánh giá là vừa sức, có tính phân loại.",
    "Sách giáo khoa mới bị phát hiện có lỗi sai kiến thức ở bài học lịch sử địa phương.",
    "Nhà trường đã xin lỗi phụ huynh và hoàn trả các khoản thu sai.",
    "Cô giáo dạy rất nhiệt tình, giảng bài dễ hiểu, em rất thích môn này.",
    "Thầy hay đi trễ, bài giảng khó hiểu, slide thì sơ sài quá.",
    "Phòng học nóng, máy chiếu hư hoài mà không ai sửa.",
    "Môn này bình thường, không có gì đặc biệt để nhận xét.",
    "hs trường mình dc nghỉ thứ 7 ko mọi người, gv chủ nhiệm chưa báo gì hết",
    "sao năm nay học phí tăng dữ vậy trời, nhà nghèo ko biết lấy đâu ra tiền đóng",
    "clip này thật ko vậy ad, thấy tội em học sinh quá 😢😢",
    "đúng là vô trách nhiệm, đề nghị kỷ luật nghiêm hiệu trưởng!!!",
    "Ủng hộ các thầy cô vùng cao, cảm ơn vì đã gieo chữ cho các em.",
    "Tin đồn đổi sách giáo khoa giữa năm học được Sở khẳng định là sai sự thật.",
    "Chia sẻ gấp: từ tháng sau học sinh phải mua đồng phục mới giá hai triệu đồng?",
    "Thanh tra phát hiện sai phạm trong tuyển dụng giáo viên tại một huyện miền núi.",
    "Trường đại học công bố phương án tuyển sinh với ba phương thức xét tuyển.",
    "Bữa ăn bán trú của học sinh chỉ có vài miếng thịt, phụ huynh bức xúc.",
    "Tỉnh đầu tư hệ thống học liệu số và phần mềm quản lý trường học.",
    "Ngày Nhà giáo Việt Nam, học trò cũ về thăm thầy cô giáo chủ nhiệm.",
    "Đội tuyển học sinh giỏi quốc gia của tỉnh giành mười hai giải.",
    "Xe đưa đón học sinh không đảm bảo an toàn bị lực lượng chức năng xử phạt.",
    "Mưa lũ khiến nhiều trường ở vùng trũng phải cho học sinh nghỉ học.",
    "Giá vàng hôm nay tăng mạnh, nhà đầu tư đổ xô đi mua.",
    "Đội tuyển bóng đá giành chiến thắng ở phút bù giờ cuối cùng.",
    "Công an tỉnh triệt phá đường dây lừa đảo qua mạng chiếm đoạt hàng tỷ đồng.",
    "Bệnh viện tiếp nhận nhiều ca sốt xuất huyết trong tuần qua.",
    "Ministry of Education announces new rules on extra classes for students.",
    "The school board met parents on Monday to discuss tuition fees.",
    "Kết quả thi được công bố lúc 8 giờ sáng ngày 15/7; thí sinh tra cứu tại website của Sở.",
    "Điểm trung bình môn Toán đạt 6,45; có 1.234 bài thi đạt điểm 10.",
    "KHẨN CẤP!!! CẢ LỚP BỊ NGỘ ĐỘC SAU BỮA TRƯA??? MỌI NGƯỜI CHIA SẺ GIÚP",
    "#giaoduc #hocsinh #thithpt2026 cập nhật mới nhất tại https://example.vn/tin-tuc/123",
    "Liên hệ đường dây nóng 0236.3822.xxx hoặc email vanphong@sogd.example.vn để phản ánh.",
    "😡😡😡 quá đáng lắm luôn á, con mình về kể mà mình muốn khóc 😭",
    "hahaha thầy dạy vui dã man, 10 điểm ko có nhưng 🤣🤣",
    "Trả lời: Theo Điều 12 Thông tư 29/2024/TT-BGDĐT, giáo viên không được dạy thêm học sinh "
    "mình đang dạy chính khóa khi có thu tiền.",
    "Lịch thi: Ngữ văn 7h30-9h30; Toán 14h30-16h00; Ngoại ngữ 7h30-8h30 (ngày 27/6).",
    "Q: Con tôi học lớp 5, năm sau vào lớp 6 trái tuyến được không? A: Được, nếu còn chỉ tiêu.",
    "giáo dục, đào tạo, học sinh, sinh viên, trường học, giáo viên, thi cử, tuyển sinh",
    'Ông Nguyễn Văn A, Giám đốc Sở GD&ĐT, cho biết: "Chúng tôi sẽ xử lý nghiêm."',
    "Video: Cận cảnh lớp học tạm bợ dưới chân núi, mùa mưa dột khắp nơi",
    "Theo thống kê, tỷ lệ học sinh bỏ học giảm từ 2,1% xuống 0,9% trong 5 năm.",
    "Xin hỏi ad: trường THPT Lê Quý Đôn năm nay tuyển bao nhiêu lớp chuyên Anh ạ?",
    "Ý kiến bạn đọc: Không nên giao quá nhiều bài tập về nhà cho học sinh tiểu học.",
    "Thể thao - Giải trí - Kinh doanh - Pháp luật - Sức khỏe - Giáo dục - Thế giới",
    "UBND tỉnh ban hành Kế hoạch số 45/KH-UBND về phát triển giáo dục giai đoạn 2026-2030.",
    "Mình là sinh viên năm 3, đang tìm việc part-time gần trường, ai có info inbox mình nhé",
    "tin này fake đấy mọi người đừng share nữa, sở đã đính chính rồi",
)


def calibration_texts() -> list[str]:
    """The sentences, accent-stripped copies, and long runs of them (full 128-token windows)."""
    bare = [strip_accents(s) for s in SENTENCES]
    runs = [" ".join(SENTENCES[i:] + SENTENCES[:i]) for i in range(0, len(SENTENCES), 4)]
    return list(SENTENCES) + bare + runs
