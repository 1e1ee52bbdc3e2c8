"""The README's curl sequence for an API client's first token, run as written against a
live server (issue 18: the README did not say how to get a token without a browser)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from sqlalchemy.orm import Session

from tests.factories import make_user

README = Path(__file__).resolve().parents[2] / "README.md"


def _token_block() -> str:
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    (block,) = [b for b in blocks if "/api/v1/auth/login" in b]
    return block


def test_readme_curl_sequence_gets_a_token_and_searches(
    server: str, session: Session, tmp_path: Path
) -> None:
    # given a user, and the README's block with its first line (the placeholders) replaced
    make_user(session, "press_officer", username="vanphong", password="mật-khẩu-thử-1234")
    session.commit()
    script = _token_block().split("\n", 1)[1]
    env = {
        **os.environ,
        "BASE": server,
        "DT_USER": "vanphong",
        "DT_PASSWORD": "mật-khẩu-thử-1234",
    }
    # when it runs in a shell, as a user would paste it
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # then the last call, made with the token alone, answered a search
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert "total" in answer and "hits" in answer
    assert not (tmp_path / "cookies.txt").exists()
