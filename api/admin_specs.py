"""What each admin page shows: its columns, its form fields, and how a row is displayed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from api.admin_schemas import CHANNELS, SEVERITIES
from api.report_export import SEVERITY_NAMES, UNIT_TYPES
from core.models import Fact, Rule, Source, Subscription, Unit, User
from core.taxonomy import RISK_NAMES, SENTIMENT_NAMES, TOPIC_NAMES
from crawlers.connectors.base import registered_kinds

ROLE_NAMES = {
    "admin": "Quản trị",
    "press_officer": "Văn phòng (báo chí)",
    "leadership": "Lãnh đạo",
    "unit_focal": "Đầu mối đơn vị",
}
HEALTH_NAMES = {"ok": "Tốt", "failing": "Lỗi", "unknown": "Chưa quét", "flagged": "Cần xem"}


@dataclass(frozen=True)
class FormField:
    """One form input; `kind`: text, textarea, number, select, multiselect, list, checkbox, ..."""

    name: str
    label: str
    kind: str = "text"
    options: list[tuple[str, str]] = field(default_factory=list)
    required: bool = False
    create_only: bool = False
    edit_only: bool = False
    nullable: bool = False  # an empty value is sent as null
    cast: str = ""  # "int" for numeric ids


@dataclass
class EntityPage:
    slug: str
    title: str
    api: str
    edit_method: str
    columns: list[str]
    fields: list[FormField]
    model: Any
    can_delete: bool = False


def _opts(mapping: dict[str, str]) -> list[tuple[str, str]]:
    return list(mapping.items())


def entity_pages(session: Any) -> dict[str, EntityPage]:
    units = [
        (str(i), n) for i, n in session.execute(select(Unit.id, Unit.name).order_by(Unit.name))
    ]
    users = [
        (str(i), n)
        for i, n in session.execute(select(User.id, User.username).order_by(User.username))
    ]
    severities = [(s, SEVERITY_NAMES[s]) for s in SEVERITIES]
    return {
        p.slug: p
        for p in [
            EntityPage(
                "nguon-tin",
                "Nguồn tin",
                "/api/v1/admin/sources",
                "PATCH",
                [
                    "Tên",
                    "Loại",
                    "Địa chỉ",
                    "Tình trạng",
                    "Lỗi liên tiếp",
                    "Lần tốt gần nhất",
                    "Lỗi gần nhất",
                ],
                [
                    FormField("name", "Tên nguồn", required=True),
                    FormField("url", "Địa chỉ (URL)", "url", required=True),
                    FormField(
                        "kind",
                        "Loại",
                        "select",
                        [(k, k) for k in registered_kinds()],
                        create_only=True,
                    ),
                    FormField(
                        "scope",
                        "Phạm vi",
                        "select",
                        [
                            ("local", "Địa phương"),
                            ("national", "Trung ương"),
                            ("social", "Mạng xã hội"),
                        ],
                    ),
                    FormField(
                        "poll_interval_s", "Chu kỳ quét (giây)", "number", nullable=True, cast="int"
                    ),
                    FormField("enabled", "Đang bật", "checkbox", edit_only=True),
                ],
                Source,
            ),
            EntityPage(
                "quy-tac",
                "Quy tắc cảnh báo",
                "/api/v1/rules",
                "PUT",
                ["Tên", "Truy vấn", "Bộ lọc", "Mức độ", "Kênh", "Bật"],
                [
                    FormField("name", "Tên quy tắc", required=True),
                    FormField("query", "Truy vấn (cú pháp tìm kiếm)"),
                    FormField("filters.topics", "Chủ đề", "multiselect", _opts(TOPIC_NAMES)),
                    FormField(
                        "filters.sentiments", "Sắc thái", "multiselect", _opts(SENTIMENT_NAMES)
                    ),
                    FormField("filters.risks", "Mức độ nóng", "multiselect", _opts(RISK_NAMES)),
                    FormField("filters.units", "Đơn vị", "multiselect", units, cast="int"),
                    FormField("severity", "Mức cảnh báo", "select", severities),
                    FormField("notify", "Gửi qua", "multiselect", [(c, c) for c in CHANNELS]),
                    FormField("enabled", "Đang bật", "checkbox"),
                ],
                Rule,
                can_delete=True,
            ),
            EntityPage(
                "don-vi",
                "Đơn vị",
                "/api/v1/admin/units",
                "PUT",
                ["Tên", "Loại", "Địa bàn", "Tên khác", "Email đầu mối", "Hoạt động"],
                [
                    FormField("name", "Tên đơn vị", required=True),
                    FormField("type", "Loại", "select", _opts(UNIT_TYPES)),
                    FormField("district", "Quận/huyện", nullable=True),
                    FormField("aliases", "Tên khác (cách nhau bởi ;)", "list"),
                    FormField("focal_email", "Email đầu mối", "email", nullable=True),
                    FormField("active", "Đang hoạt động", "checkbox"),
                ],
                Unit,
            ),
            EntityPage(
                "ngan-hang-thong-tin",
                "Ngân hàng thông tin",
                "/api/v1/admin/facts",
                "PUT",
                ["Loại", "Nội dung", "Thông tin chính thức", "Nguồn", "Hoạt động"],
                [
                    FormField(
                        "kind",
                        "Loại",
                        "select",
                        [("refuted", "Đã bác bỏ"), ("verified", "Đã xác minh")],
                    ),
                    FormField("statement", "Nội dung", "textarea", required=True),
                    FormField("correction", "Thông tin chính thức", "textarea"),
                    FormField("source_url", "Đường dẫn nguồn", "url", nullable=True),
                    FormField("active", "Đang dùng", "checkbox"),
                ],
                Fact,
                can_delete=True,
            ),
            EntityPage(
                "nguoi-dung",
                "Người dùng",
                "/api/v1/admin/users",
                "PATCH",
                ["Tên đăng nhập", "Họ tên", "Email", "Vai trò", "Đơn vị", "Hoạt động"],
                [
                    FormField("username", "Tên đăng nhập", required=True, create_only=True),
                    FormField("full_name", "Họ tên"),
                    FormField("email", "Email", "email", nullable=True),
                    FormField("role", "Vai trò", "select", _opts(ROLE_NAMES)),
                    FormField(
                        "unit_id",
                        "Đơn vị",
                        "select",
                        [("", "—"), *units],
                        nullable=True,
                        cast="int",
                    ),
                    FormField("password", "Mật khẩu (ít nhất 8 ký tự)", "password"),
                    FormField("active", "Đang hoạt động", "checkbox", edit_only=True),
                ],
                User,
            ),
            EntityPage(
                "dang-ky-nhan-tin",
                "Đăng ký nhận tin",
                "/api/v1/admin/subscriptions",
                "PUT",
                [
                    "Người dùng",
                    "Loại",
                    "Kênh",
                    "Nơi nhận",
                    "Giờ gửi",
                    "Mức tối thiểu",
                    "Giờ yên lặng",
                    "Đơn vị",
                    "Bật",
                ],
                [
                    FormField(
                        "user_id",
                        "Người dùng",
                        "select",
                        [("", "—"), *users],
                        nullable=True,
                        cast="int",
                    ),
                    FormField(
                        "kind",
                        "Loại",
                        "select",
                        [("digest", "Điểm tin hằng ngày"), ("alert", "Cảnh báo")],
                    ),
                    FormField("channel", "Kênh", "select", [(c, c) for c in CHANNELS]),
                    FormField("target", "Nơi nhận (email, Zalo, URL)", required=True),
                    FormField("send_at", "Giờ gửi", "time", required=True),
                    FormField("min_severity", "Mức tối thiểu", "select", severities),
                    FormField("quiet_hours", "Giờ yên lặng (HH:MM-HH:MM)"),
                    FormField(
                        "unit_id",
                        "Chỉ đơn vị",
                        "select",
                        [("", "—"), *units],
                        nullable=True,
                        cast="int",
                    ),
                    FormField("enabled", "Đang bật", "checkbox"),
                ],
                Subscription,
                can_delete=True,
            ),
        ]
    }


def row_cells(slug: str, row: Any, names: dict[str, dict[int, str]]) -> list[Any]:
    yes = {True: "Có", False: "Không"}
    if slug == "nguon-tin":
        state = HEALTH_NAMES.get(row.health, row.health) if row.enabled else "Đã tắt"
        return [
            row.name,
            row.kind,
            row.url,
            state,
            row.consecutive_failures,
            row.last_success_at,
            (row.last_error or "")[:300],
        ]
    if slug == "quy-tac":
        f = row.filters or {}
        flt = "; ".join(
            f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in f.items()
        )
        return [
            row.name,
            row.query,
            flt,
            SEVERITY_NAMES.get(row.severity or "", row.severity),
            ", ".join(map(str, row.notify or [])),
            yes[bool(row.enabled)],
        ]
    if slug == "don-vi":
        return [
            row.name,
            UNIT_TYPES.get(row.type, row.type),
            row.district or "",
            "; ".join(row.aliases or []),
            row.focal_email or "",
            yes[bool(row.active)],
        ]
    if slug == "ngan-hang-thong-tin":
        return [
            "Đã bác bỏ" if row.kind == "refuted" else "Đã xác minh",
            row.statement,
            row.correction,
            row.source_url or "",
            yes[bool(row.active)],
        ]
    if slug == "nguoi-dung":
        return [
            row.username,
            row.full_name,
            row.email or "",
            ROLE_NAMES.get(row.role, row.role),
            names["unit"].get(row.unit_id, ""),
            yes[bool(row.active)],
        ]
    return [
        names["user"].get(row.user_id, ""),
        row.kind,
        row.channel,
        row.target,
        row.send_at,
        SEVERITY_NAMES.get(row.min_severity, row.min_severity),
        row.quiet_hours,
        names["unit"].get(row.unit_id, ""),
        yes[bool(row.enabled)],
    ]


def row_values(page: EntityPage, row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in page.fields:
        if f.name.startswith("filters."):
            out[f.name] = [str(v) for v in (row.filters or {}).get(f.name[8:], [])]
        elif f.kind == "password":
            out[f.name] = ""
        else:
            value = getattr(row, f.name, None)
            out[f.name] = [str(v) for v in value] if isinstance(value, list) else value
    return out
