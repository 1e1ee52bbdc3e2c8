"""The command line speaks Vietnamese and tells local time (issue 18: its help mixed English
and Vietnamese, and it printed UTC while the web shows Asia/Ho_Chi_Minh).

Our commands and options carry Vietnamese help where they are declared; what Typer adds on
its own (the --help option, the help panels' titles) is put into Vietnamese here."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import typer.rich_utils
from typer.core import TyperGroup

HELP_OPTION = "Hiện hướng dẫn này rồi thoát."
# Typer reads these module constants each time it draws a help screen.
PANEL_TITLES = {
    "ARGUMENTS_PANEL_TITLE": "Đối số",
    "OPTIONS_PANEL_TITLE": "Tùy chọn",
    "COMMANDS_PANEL_TITLE": "Lệnh",
}
for _name, _title in PANEL_TITLES.items():
    setattr(typer.rich_utils, _name, _title)


def _vietnamese_help_option(command: Any, ctx: Any) -> None:
    option = command.get_help_option(ctx)  # cached on the command by Typer
    if option is not None:
        option.help = HELP_OPTION
    for name, sub in getattr(command, "commands", {}).items():
        _vietnamese_help_option(sub, type(ctx)(sub, parent=ctx, info_name=name))


class VietnameseGroup(TyperGroup):
    """The top-level group: before running, every command's --help option speaks Vietnamese
    (CliRunner and the installed `diemtin` both enter through main())."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        _vietnamese_help_option(self, self.context_class(self, info_name="diemtin"))
        return super().main(*args, **kwargs)


def local_time(value: datetime | None, tz: str) -> str:
    """A stored UTC time as the office reads it: "07/12/2026 11:30 (+07:00)"; "-" for none."""
    if value is None:
        return "-"
    local = value.astimezone(ZoneInfo(tz))
    offset = local.strftime("%z")
    return f"{local:%d/%m/%Y %H:%M} ({offset[:3]}:{offset[3:]})"


class LocalTimeFormatter(logging.Formatter):
    """Log lines stamped in the office's time zone, with the offset."""

    def __init__(self, fmt: str, tz: str) -> None:
        super().__init__(fmt)
        self.tz = ZoneInfo(tz)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return datetime.fromtimestamp(record.created, self.tz).isoformat(timespec="seconds")
