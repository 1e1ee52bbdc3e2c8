"""The command line in Vietnamese, with local times (issue 18: English help mixed in, UTC)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from typing import Any

import typer
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import app
from core.models import LabelCorrection
from core.settings import Settings
from tests.factories import make_source

runner = CliRunner()
# A Vietnamese sentence has letters an English one never has.
VIETNAMESE = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]")


def _commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    out = [(path, command)]
    for name, sub in getattr(command, "commands", {}).items():
        out += _commands(sub, (*path, name))
    return out


def test_every_command_and_option_has_vietnamese_help() -> None:
    commands = _commands(typer.main.get_command(app))
    missing = []
    for path, command in commands:
        if not VIETNAMESE.search(command.help or ""):
            missing.append(f"diemtin {' '.join(path)}: {command.help!r}")
        for param in command.params:
            if not VIETNAMESE.search(getattr(param, "help", None) or ""):
                missing.append(f"diemtin {' '.join(path)} {param.name}: {param.help!r}")
    assert missing == []
    assert len(commands) > 20


def test_help_screens_have_no_english_left() -> None:
    for path, _ in _commands(typer.main.get_command(app)):
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        # the help panels wrap: read the words without the borders and line breaks
        text = re.sub(r"[\s│╭╮╰╯─]+", " ", result.output)
        assert "Hiện hướng dẫn này rồi thoát." in text, path
        for english in ("Show this message", "completion", "Options", "Commands", "Arguments"):
            assert english not in text, (path, english)


def test_times_are_printed_in_local_time_with_the_offset(
    settings: Settings, session: Session
) -> None:
    # given a source last fetched at 04:05 UTC, and a label correction made at 23:30 UTC
    source = make_source(session, name="Báo Giờ")
    source.last_success_at = datetime(2026, 12, 7, 4, 5, tzinfo=UTC)
    session.add(
        LabelCorrection(
            head="relevance",
            value="1",
            text="Trường học mới",
            created_at=datetime(2026, 12, 6, 23, 30, tzinfo=UTC),
        )
    )
    session.commit()
    # when listing sources; then the time is Hà Nội's, with the offset
    listed = runner.invoke(app, ["source", "list"])
    assert listed.exit_code == 0, listed.output
    assert "07/12/2026 11:05 (+07:00)" in listed.output
    # and the corrections CSV carries ISO times with the offset (the next local day)
    exported = runner.invoke(app, ["corrections", "export"])
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert rows[0]["created_at"] == "2026-12-07T06:30:00+07:00"
