"""Label corrections as training data: validation, the CSV round trip, their rows in
load_tasks, and a tiny-encoder training run that reads them from a CSV and the database."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session

from classifier.corrections import (
    Correction,
    CorrectionError,
    digest,
    read_csv,
    read_db,
    validate,
    write_csv,
)
from classifier.training.args import TrainArgs
from classifier.training.frozen import _checkpoint
from classifier.training.tasks import load_tasks, stripped
from classifier.training.train import main, train
from core.models import LabelCorrection
from core.settings import Settings
from core.taxonomy import RISKS, TOPICS
from tests.classifier.test_train import tiny_args, write_tiny_corpus, write_tiny_encoder

FIXES = [
    ("relevance", 1, "Trường mầm non tổ chức ngày hội đọc sách cho các cháu"),
    ("topics", ["day_them", "nha_giao"], "Giáo viên ép học sinh đi học thêm ở nhà"),
    ("risk", "nong", "Phụ huynh tố trường thu tiền điều hòa sai quy định"),
    ("misinformation", 0, "Sở Giáo dục bác bỏ tin đồn nghỉ học cả tuần"),
]


def _write(path: Path, fixes: list[tuple[str, object, str]]) -> Path:
    rows = [{"id": i, "document_id": f"doc-{i}", "head": h, "value": v, "text": t}
            for i, (h, v, t) in enumerate(fixes)]  # fmt: skip
    with path.open("w", encoding="utf-8", newline="") as fh:
        write_csv(rows, fh)
    return path


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny-corrections")
    write_tiny_corpus(out / "data")
    write_tiny_encoder(out / "encoder")
    return out


@pytest.mark.parametrize(
    ("head", "value", "expected"),
    [("relevance", True, 1), ("toxicity", 0, 0), ("risk", "theo_doi", "theo_doi"),
     ("topics", ["mam_non", "mam_non", "khac"], ["mam_non", "khac"])],
)  # fmt: skip
def test_values_are_validated_into_one_form(head: str, value: object, expected: object) -> None:
    assert validate(head, value) == expected


def test_export_defuses_spreadsheet_formulas_and_reads_back_the_same_text(tmp_path: Path) -> None:
    # given: scraped text that a spreadsheet would run as a formula
    texts = ['=HYPERLINK("http://x")', "-1 học sinh", "@bình thường", "'=giữ nguyên"]
    path = _write(tmp_path / "c.csv", [("risk", "nong", t) for t in texts])
    # then
    cells = [r["text"] for r in csv.DictReader(path.open(encoding="utf-8", newline=""))]
    assert all(not c.startswith(("=", "-", "@")) for c in cells)
    assert [c.text for c in read_csv(path)] == texts


def test_a_bad_csv_row_names_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.csv", [FIXES[0], ("sentiment", "rat_vui", "câu")])
    with pytest.raises(CorrectionError, match=r"c\.csv:3: .*tieu_cuc, trung_tinh, tich_cuc"):
        read_csv(path)
    (tmp_path / "d.csv").write_text("head,value\nrisk,nong\n", "utf-8")
    with pytest.raises(CorrectionError, match="thiếu cột text"):
        read_csv(tmp_path / "d.csv")


def test_corrections_join_their_heads_rows_encoded_and_stripped(root: Path) -> None:
    # given
    fixes = [Correction(h, v, t) for h, v, t in FIXES]
    plain, _ = load_tasks(root / "data", subsets=tiny_args(root).subsets)
    # when
    tasks, news = load_tasks(
        root / "data", subsets=tiny_args(root).subsets, corrections=fixes, correction_weight=3.0
    )
    # then: binary heads get one more training row, encoded and accent-stripped, weight 3
    for head, value, text in (FIXES[0], FIXES[3]):
        task, before = tasks[head], plain[head]
        last = len(task.train) - 1
        assert len(task.train) == len(before.train) + 1
        assert (
            task.train.texts[last].startswith(text.split()[0]) and task.train.labels[last] == value
        )
        assert task.train.weights[last] == 3.0
        assert last in task.encoded and last in task.stripped
        assert task.encoded_weights[list(task.encoded).index(last)] == 3.0
    assert tasks["misinformation"].train.extras is not None  # engagement unknown: zeros
    assert not tasks["misinformation"].train.extras[-1].any()
    assert stripped(tasks["relevance"].train.texts[-1]).startswith("Truong mam non")
    # topics and risk join the news rows
    topics = news.corrections["topics"]
    assert [TOPICS[i] for i in np.flatnonzero(topics.labels[0])] == ["nha_giao", "day_them"]
    assert RISKS[int(news.corrections["risk"].labels[0])] == "nong"
    assert "sentiment" not in news.corrections and len(tasks["sentiment"].train) == len(
        plain["sentiment"].train
    )


def test_training_reads_corrections_from_csv_and_database_and_reports_them(
    root: Path, tmp_path: Path, settings: Settings, session: Session
) -> None:
    # given: two corrections in a CSV export and three in the database
    csv_path = _write(tmp_path / "corrections.csv", FIXES[:2])
    session.add_all(
        [
            LabelCorrection(head="sentiment", value="tieu_cuc", text="thầy dạy chán và khó hiểu"),
            LabelCorrection(head="toxicity", value=1, text="đồ ngu im mồm"),
            LabelCorrection(head="relevance", value=1, text=FIXES[0][2]),
        ]
    )
    session.commit()
    # when
    out = train(
        tiny_args(root, corrections=csv_path, corrections_from_db=True, compare_variants=False,
                  output_dir=root / "out-fixed")
    )  # fmt: skip
    # then
    report = json.loads((out / "metrics.json").read_text("utf-8"))["metrics"]["corrections"]
    assert report["per_head"] == {
        "relevance": 2, "topics": 1, "sentiment": 1, "risk": 0, "toxicity": 1,
        "misinformation": 0,
    }  # fmt: skip
    assert report["weight"] == 2.0 and report["total"] == 5
    card = (out / "MODEL_CARD.md").read_text("utf-8")
    assert "label corrections from the press office: 5 (relevance 2, topics 1" in card
    args = json.loads((out / "metrics.json").read_text("utf-8"))["args"]
    assert "corrections" not in args and args["corrections_from_db"] is True  # no local paths


def test_command_line_takes_the_corrections_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[TrainArgs] = []
    monkeypatch.setattr(
        "classifier.training.train.train", lambda args: seen.append(args) or Path("x")
    )
    main(["--corrections", "c.csv", "--corrections-from-db", "--correction-weight", "3"])
    assert seen[0].corrections == Path("c.csv") and seen[0].corrections_from_db is True
    assert seen[0].correction_weight == 3.0
    main([])
    assert seen[1].corrections is None and seen[1].corrections_from_db is False


def test_a_missing_or_bad_corrections_file_stops_training_with_a_message(
    root: Path, tmp_path: Path
) -> None:
    args = ["--data-dir", str(root / "data"), "--encoder-dir", str(root / "encoder")]
    args += ["--work-dir", str(tmp_path / "work"), "--output-dir", str(tmp_path / "out")]
    with pytest.raises(SystemExit, match="corrections: .*khong-co.csv: tệp không tồn tại"):
        main([*args, "--corrections", str(tmp_path / "khong-co.csv")])
    bad = _write(tmp_path / "bad.csv", [("topics", ["bong_da"], "câu")])
    with pytest.raises(SystemExit, match=r"bad\.csv:2: Mã chủ đề không hợp lệ: 'bong_da'"):
        main([*args, "--corrections", str(bad)])
    assert not (tmp_path / "out").exists()  # nothing written


def test_an_unmigrated_database_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(CorrectionError, match="diemtin migrate"):
        read_db(f"sqlite:///{tmp_path / 'empty.sqlite3'}")


def test_checkpoints_are_keyed_by_the_corrections_content(root: Path) -> None:
    # given
    plain = tiny_args(root).resolved()
    flagged = tiny_args(root, corrections_from_db=True).resolved()
    a, b = [Correction(h, v, t) for h, v, t in FIXES[:2]], [Correction(*FIXES[2])]
    # then: the flags alone change nothing (earlier checkpoints stay usable) ...
    assert _checkpoint(plain, "news") == _checkpoint(flagged, "news", digest([], 2.0))
    # ... but other corrections, or another weight, are another run
    keys = {_checkpoint(flagged, "news", digest(c, w)) for c, w in ((a, 2.0), (b, 2.0), (a, 3.0))}
    assert len(keys) == 3 and _checkpoint(plain, "news") not in keys
