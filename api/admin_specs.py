"""What each admin page shows: its columns, its form fields, and how a row is displayed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from alerts.detection.rule_service import CHANNELS
from api.admin_entities import ENTITIES
from api.crud import Entity
from api.report_export import UNIT_TYPES
from core.geo.choice import province_code
from core.geo.data import admin_map
from core.models import Unit, User
from core.settings import get_settings
from core.taxonomy import RISK_NAMES, SENTIMENT_NAMES, SEVERITIES, SEVERITY_NAMES, TOPIC_NAMES
from crawlers.connectors.base import registered_kinds

ROLE_NAMES = {
    "admin": "Quản trị",
    "press_officer": "Văn phòng (báo chí)",
    "leadership": "Lãnh đạo",
    "unit_focal": "Đầu mối đơn vị",
}
HEALTH_NAMES = {"ok": "Tốt", "failing": "Lỗi", "unknown": "Chưa quét", "flagged": "Cần xem"}
YES = {True: "Có", False: "Không"}
SUBSCRIPTION_KINDS = {"digest": "Điểm tin hằng ngày", "alert": "Cảnh báo"}
Names = dict[str, dict[int, str]]  # "unit"/"user" -> id -> name, for rows that point at them
Cell = Callable[[Any, Names], Any]


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
    """One admin page: the entity it edits (URL, edit method, row model), columns, form."""

    slug: str
    title: str
    entity: Entity
    cells: list[tuple[str, Cell]]  # column title, what the row shows there
    fields: list[FormField]

    @property
    def api(self) -> str:
        return f"/api/v1{self.entity.path}"

    @property
    def edit_method(self) -> str:
        return self.entity.update_method

    @property
    def model(self) -> Any:
        return self.entity.model

    @property
    def can_delete(self) -> bool:
        return self.entity.delete is not None

    @property
    def columns(self) -> list[str]:
        return [title for title, _ in self.cells]

    def row_cells(self, row: Any, names: Names) -> list[Any]:
        """What the list shows of one row, column by column."""
        return [cell(row, names) for _, cell in self.cells]


def _of(name: str) -> Cell:
    return lambda row, names: getattr(row, name)


def _text(name: str) -> Cell:
    return lambda row, names: getattr(row, name) or ""


def _yes(name: str) -> Cell:
    return lambda row, names: YES[bool(getattr(row, name))]


def _named(mapping: dict[str, str], name: str) -> Cell:
    return lambda row, names: mapping.get(getattr(row, name), getattr(row, name))


def _ref(kind: str, name: str) -> Cell:
    return lambda row, names: names[kind].get(getattr(row, name), "")


def _state(row: Any, names: Names) -> str:
    return HEALTH_NAMES.get(row.health, row.health) if row.enabled else "Đã tắt"


def _filters(row: Any, names: Names) -> str:
    return "; ".join(
        f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
        for k, v in (row.filters or {}).items()
    )


def _place(name: str) -> Cell:
    """A 2025 province or commune code shown by its name."""

    def cell(row: Any, names: Names) -> str:
        code, amap = getattr(row, name), admin_map()
        place = amap.provinces.get(code) or amap.communes.get(code) if code else None
        return place.name if place else (code or "")

    return cell


def _opts(mapping: dict[str, str]) -> list[tuple[str, str]]:
    return list(mapping.items())


def _pick(name: str, label: str, choices: list[tuple[str, str]]) -> FormField:
    """A select of row ids where "—" (none) is allowed."""
    return FormField(name, label, "select", [("", "—"), *choices], nullable=True, cast="int")


def entity_pages(session: Any) -> dict[str, EntityPage]:
    """The admin pages by slug, their choices (units, users) read from the database."""
    units = [
        (str(i), n) for i, n in session.execute(select(Unit.id, Unit.name).order_by(Unit.name))
    ]
    users = [
        (str(i), n)
        for i, n in session.execute(select(User.id, User.username).order_by(User.username))
    ]
    severities = [(s, SEVERITY_NAMES[s]) for s in SEVERITIES]
    scopes = [("local", "Địa phương"), ("national", "Trung ương"), ("social", "Mạng xã hội")]
    amap = admin_map()
    provinces = [("", "—")] + sorted(
        ((p.code, p.name) for p in amap.provinces.values()), key=lambda p: p[1]
    )
    # The Department's own communes and wards (a select of all 3,321 would be unusable).
    home = province_code(session, get_settings().province)
    communes = [("", "—")] + [(c.code, c.name) for c in amap.communes_of(home)] if home else []
    # fmt: off
    pages = [
        EntityPage("nguon-tin", "Nguồn tin", ENTITIES["source"], [
            ("Tên", _of("name")), ("Loại", _of("kind")), ("Địa chỉ", _of("url")),
            ("Phạm vi", _named(dict(scopes), "scope")), ("Tỉnh/thành", _place("province")),
            ("Tình trạng", _state), ("Lỗi liên tiếp", _of("consecutive_failures")),
            ("Lần tốt gần nhất", _of("last_success_at")),
            ("Lỗi gần nhất", lambda row, names: (row.last_error or "")[:300]),
        ], [
            FormField("name", "Tên nguồn", required=True),
            FormField("url", "Địa chỉ (URL)", "url", required=True),
            FormField("kind", "Loại", "select", [(k, k) for k in registered_kinds()],
                      create_only=True),
            FormField("scope", "Phạm vi", "select", scopes),
            FormField("province", "Tỉnh/thành (báo địa phương)", "select", provinces),
            FormField("poll_interval_s", "Chu kỳ quét (giây)", "number", nullable=True,
                      cast="int"),
            FormField("enabled", "Đang bật", "checkbox", edit_only=True),
        ]),
        EntityPage("quy-tac", "Quy tắc cảnh báo", ENTITIES["rule"], [
            ("Tên", _of("name")), ("Truy vấn", _of("query")), ("Bộ lọc", _filters),
            ("Mức độ", _named(SEVERITY_NAMES, "severity")),
            ("Kênh", lambda row, names: ", ".join(map(str, row.notify or []))),
            ("Bật", _yes("enabled")),
        ], [
            FormField("name", "Tên quy tắc", required=True),
            FormField("query", "Truy vấn (cú pháp tìm kiếm)"),
            FormField("filters.topics", "Chủ đề", "multiselect", _opts(TOPIC_NAMES)),
            FormField("filters.sentiments", "Sắc thái", "multiselect", _opts(SENTIMENT_NAMES)),
            FormField("filters.risks", "Mức độ nóng", "multiselect", _opts(RISK_NAMES)),
            FormField("filters.units", "Đơn vị", "multiselect", units, cast="int"),
            FormField("severity", "Mức cảnh báo", "select", severities),
            FormField("notify", "Gửi qua", "multiselect", [(c, c) for c in CHANNELS]),
            FormField("enabled", "Đang bật", "checkbox"),
        ]),
        EntityPage("don-vi", "Đơn vị", ENTITIES["unit"], [
            ("Tên", _of("name")), ("Loại", _named(UNIT_TYPES, "type")),
            ("Xã/phường", _place("commune")), ("Huyện cũ", _text("district")),
            ("Tên khác", lambda row, names: "; ".join(row.aliases or [])),
            ("Email đầu mối", _text("focal_email")), ("Hoạt động", _yes("active")),
        ], [
            FormField("name", "Tên đơn vị", required=True),
            FormField("type", "Loại", "select", _opts(UNIT_TYPES)),
            FormField("district", "Quận/huyện (cũ)", nullable=True),
            *([FormField("commune", "Xã/phường", "select", communes)] if communes else []),
            FormField("aliases", "Tên khác (cách nhau bởi ;)", "list"),
            FormField("focal_email", "Email đầu mối", "email", nullable=True),
            FormField("active", "Đang hoạt động", "checkbox"),
        ]),
        EntityPage("ngan-hang-thong-tin", "Ngân hàng thông tin", ENTITIES["fact"], [
            ("Loại", lambda row, names: "Đã bác bỏ" if row.kind == "refuted" else "Đã xác minh"),
            ("Nội dung", _of("statement")), ("Thông tin chính thức", _of("correction")),
            ("Nguồn", _text("source_url")), ("Hoạt động", _yes("active")),
        ], [
            FormField("kind", "Loại", "select",
                      [("refuted", "Đã bác bỏ"), ("verified", "Đã xác minh")]),
            FormField("statement", "Nội dung", "textarea", required=True),
            FormField("correction", "Thông tin chính thức", "textarea"),
            FormField("source_url", "Đường dẫn nguồn", "url", nullable=True),
            FormField("active", "Đang dùng", "checkbox"),
        ]),
        EntityPage("nguoi-dung", "Người dùng", ENTITIES["user"], [
            ("Tên đăng nhập", _of("username")), ("Họ tên", _of("full_name")),
            ("Email", _text("email")), ("Vai trò", _named(ROLE_NAMES, "role")),
            ("Đơn vị", _ref("unit", "unit_id")), ("Hoạt động", _yes("active")),
        ], [
            FormField("username", "Tên đăng nhập", required=True, create_only=True),
            FormField("full_name", "Họ tên"),
            FormField("email", "Email", "email", nullable=True),
            FormField("role", "Vai trò", "select", _opts(ROLE_NAMES)),
            _pick("unit_id", "Đơn vị", units),
            FormField("password", "Mật khẩu (ít nhất 8 ký tự)", "password"),
            FormField("active", "Đang hoạt động", "checkbox", edit_only=True),
        ]),
        EntityPage("dang-ky-nhan-tin", "Đăng ký nhận tin", ENTITIES["subscription"], [
            ("Người dùng", _ref("user", "user_id")), ("Loại", _named(SUBSCRIPTION_KINDS, "kind")),
            ("Kênh", _of("channel")), ("Nơi nhận", _of("target")), ("Giờ gửi", _of("send_at")),
            ("Mức tối thiểu", _named(SEVERITY_NAMES, "min_severity")),
            ("Giờ yên lặng", _of("quiet_hours")), ("Đơn vị", _ref("unit", "unit_id")),
            ("Bật", _yes("enabled")),
        ], [
            _pick("user_id", "Người dùng", users),
            FormField("kind", "Loại", "select", list(SUBSCRIPTION_KINDS.items())),
            FormField("channel", "Kênh", "select", [(c, c) for c in CHANNELS]),
            FormField("target", "Nơi nhận (email, Zalo, URL)", required=True),
            FormField("send_at", "Giờ gửi", "time", required=True),
            FormField("min_severity", "Mức tối thiểu", "select", severities),
            FormField("quiet_hours", "Giờ yên lặng (HH:MM-HH:MM)"),
            _pick("unit_id", "Chỉ đơn vị", units),
            FormField("enabled", "Đang bật", "checkbox"),
        ]),
    ]
    # fmt: on
    return {p.slug: p for p in pages}


def row_values(page: EntityPage, row: Any) -> dict[str, Any]:
    """The edit form's values for one row (a password is never shown)."""
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
