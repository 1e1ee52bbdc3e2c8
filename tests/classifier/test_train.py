"""Training smoke tests: the frozen and finetune pipelines on a tiny corpus and a tiny encoder.

The corpus is written here from our own sentences in the datasets' real column layouts; the
encoder is a randomly initialised 2-layer BertModel with a word-level tokenizer. What is
checked is the plumbing (artefact, card, metrics, resume), with a floor on the easy labels.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers, processors
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

from classifier.artefact import CONFIG_FILE
from classifier.heads import ENCODER_DELTA_FILE, WEIGHTS_FILE, MultiHeadModel
from classifier.training.args import TrainArgs
from classifier.training.datasets import EDUCATION_LABEL
from classifier.training.frozen import _checkpoint
from classifier.training.train import main, train

EDU = [
    "Học sinh lớp 9 ôn thi vào lớp 10", "Giáo viên mầm non được tăng lương",
    "Trường tiểu học khai giảng năm học mới", "Sở Giáo dục công bố điểm chuẩn tuyển sinh",
    "Phụ huynh phản ánh lạm thu đầu năm học", "Học sinh giỏi quốc gia được khen thưởng",
    "Nữ sinh bị đánh hội đồng ở cổng trường", "Bộ Giáo dục ban hành thông tư mới về dạy thêm",
]  # fmt: skip
OTHER = [
    "Giá xăng giảm nhẹ từ chiều nay", "Đội tuyển bóng đá thắng đậm trên sân nhà",
    "Giá vàng trong nước đi ngang", "Mưa lớn gây ngập nhiều tuyến phố",
    "Ngân hàng hạ lãi suất cho vay", "Ca sĩ ra mắt album mới",
    "Công ty tuyển dụng kỹ sư phần mềm", "Chợ hải sản nhộn nhịp cuối tuần",
]  # fmt: skip
GOOD = ["giảng viên nhiệt tình dạy rất hay", "môn học bổ ích và thú vị", "thầy dạy dễ hiểu"]
BAD = ["giảng viên dạy chán quá", "phòng học nóng và ồn", "môn học khó hiểu và nhàm chán"]
NEUTRAL = ["môn học có ba tín chỉ", "lớp học vào buổi sáng"]
TOXIC = ["đồ ngu mất dạy", "thằng óc chó khốn nạn", "im mồm đi đồ súc vật"]
CLEAN = ["bài viết rất hay cảm ơn tác giả", "mong sớm có giải pháp", "chúc mừng các em"]
FAKE = ["tin sốc uống nước chanh chữa khỏi ung thư", "chia sẻ ngay kẻo bị xóa"]
REAL = ["Bộ Y tế công bố số ca mắc mới trong ngày", "Thành phố khai trương tuyến xe buýt mới"]
NEWS_GOLD = [
    ("Nữ sinh bị đánh hội đồng ở cổng trường", "bao_luc_hoc_duong", "nong", "tieu_cuc"),
    ("Phụ huynh phản ánh lạm thu đầu năm học", "hoc_phi_thu_chi", "nong", "tieu_cuc"),
    ("Học sinh giỏi quốc gia được khen thưởng", "guong_dien_hinh", "binh_thuong", "tich_cuc"),
    ("Sở Giáo dục công bố điểm chuẩn tuyển sinh", "thi_tuyen_sinh", "binh_thuong", "trung_tinh"),
    ("Giáo viên mầm non được tăng lương", "nha_giao|mam_non", "binh_thuong", "tich_cuc"),
]
WORDS = sorted({w for t in EDU + OTHER + GOOD + BAD + NEUTRAL + TOXIC + CLEAN + FAKE + REAL
                for w in t.lower().split()} | {"passage:", "ngày", "hôm", "nay"})  # fmt: skip


def _write(path: Path, header: list[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
        writer.writerow(header)
        writer.writerows(rows)


def _vary(rng: random.Random, text: str) -> str:
    """A slightly different copy, so rows are not all identical."""
    return f"{text} {rng.choice(['hôm nay', 'ngày mai', 'tuần này', 'năm nay', ''])}".strip()


def write_tiny_corpus(root: Path, n: int = 40) -> Path:
    """The datasets of docs/data.md in miniature, from the sentences above."""
    rng = random.Random(0)
    for split, k in (("train", n), ("dev", n // 2)):
        edu = [[i, _vary(rng, rng.choice(EDU)), "", EDUCATION_LABEL] for i in range(k)]
        other = [[i, _vary(rng, rng.choice(OTHER)), "", ""] for i in range(k, 3 * k)]
        _write(root / "baomoi" / f"{split}.csv", ["baomoi_id", "title", "sapo", "label"],
               edu + other)  # fmt: skip
        vsfc = [[_vary(rng, rng.choice(pool)), lab, 0, "", ""]
                for lab, pool in ((0, BAD), (1, NEUTRAL), (2, GOOD)) for _ in range(k)]  # fmt: skip
        _write(root / "uit-vsfc" / f"{split}.csv",
               ["text", "sentiment", "topic", "sentiment_name", "topic_name"], vsfc)  # fmt: skip
        tox = [[_vary(rng, rng.choice(pool)), lab, 0, "t", "GiaoDuc"]
               for lab, pool in ((1, TOXIC), (0, CLEAN)) for _ in range(k)]  # fmt: skip
        _write(root / "uit-victsd" / f"{split}.csv",
               ["text", "toxicity", "constructiveness", "title", "topic"], tox)  # fmt: skip
        hsd = [[_vary(rng, rng.choice(pool)), lab, "x"]
               for lab, pool in ((2, TOXIC), (0, CLEAN)) for _ in range(k)]  # fmt: skip
        _write(root / "vihsd" / f"{split}.csv", ["text", "label", "label_name"], hsd)
        rein = [[i, _vary(rng, rng.choice(FAKE if lab else REAL)), lab, "u", "1", 10 * lab, 2, ""]
                for i, lab in enumerate([1, 0] * k)]  # fmt: skip
        _write(root / "reintel" / f"{split}.csv",
               ["id", "text", "label", "user_name", "timestamp_post", "num_like_post",
                "num_comment_post", "num_share_post"], rein)  # fmt: skip
    gold = [[i, _vary(rng, t), "", topics, risk, sent, i % 4 != 0]
            for i, (t, topics, risk, sent) in enumerate(NEWS_GOLD * 4)]  # fmt: skip
    _write(root / "edu-news" / "dev.csv",
           ["baomoi_id", "title", "sapo", "topics", "risk", "sentiment", "confident"],
           [[*r[:6], int(r[6])] for r in gold])  # fmt: skip
    return root


def write_tiny_encoder(path: Path) -> Path:
    """A random 2-layer BertModel with a word-level tokenizer, saved like the real one."""
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    vocab = {tok: i for i, tok in enumerate(specials + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.normalizer = None
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
        pad_token="<pad>", cls_token="<s>", sep_token="</s>",
    )  # fmt: skip
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64, pad_token_id=1,
    )  # fmt: skip
    BertModel(config, add_pooling_layer=False).save_pretrained(str(path))
    fast.save_pretrained(str(path))
    return path


def tiny_args(root: Path, **overrides: object) -> TrainArgs:
    """TrainArgs for the tiny corpus: small subsets, small n-gram table, few folds."""
    base: dict[str, object] = dict(
        version="tiny-test", data_dir=root / "data", output_dir=root / "out",
        work_dir=root / "work", encoder_dir=root / "encoder", ngram_buckets=1024,
        max_length=32, cv_folds=2, calib_fraction=0.25, threads=1,
        subsets={"relevance_pos": 30, "relevance_neg": 30, "relevance_dev": 40,
                 "sentiment": 60, "victsd": 40, "vihsd": 40, "vihsd_dev": 40, "reintel": 0},
    )  # fmt: skip
    return TrainArgs(**{**base, **overrides})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny-train")
    write_tiny_corpus(root / "data")
    write_tiny_encoder(root / "encoder")
    return root


def test_frozen_training_writes_a_small_artefact_with_a_card(tiny_root: Path) -> None:
    # when
    out = train(tiny_args(tiny_root))
    # then
    names = {p.name for p in out.iterdir()}
    assert {CONFIG_FILE, WEIGHTS_FILE, "MODEL_CARD.md", "metrics.json"} <= names
    assert ENCODER_DELTA_FILE not in names  # frozen mode: the encoder is never written
    assert (out / WEIGHTS_FILE).stat().st_size < 200_000
    metrics = json.loads((out / "metrics.json").read_text("utf-8"))["metrics"]
    sentiment = metrics["sentiment"]
    vsfc = sentiment[sentiment["variant"]]["dev"]["uit-vsfc"]
    assert vsfc["f1_macro"] >= 0.8  # three easy, disjoint vocabularies
    assert "bare" in vsfc  # robustness is measured
    tox = metrics["toxicity"]
    assert tox[tox["variant"]]["dev"]["uit-victsd"]["roc_auc"] >= 0.9
    assert "cv_gold+weak" in metrics["topics"] and "cv_gold+weak" in metrics["risk"]
    card = (out / "MODEL_CARD.md").read_text("utf-8")
    assert "## Dev metrics" in card and "## Limitations" in card
    model = MultiHeadModel.from_pretrained(out)
    assert set(model.config.temperatures) == {h.name for h in model.config.heads}
    assert 0.0 < model.config.thresholds["topics"] < 1.0


def test_frozen_training_resumes_from_its_checkpoints(tiny_root: Path) -> None:
    # given: the run above left head checkpoints and a filled embedding cache
    ckpts = list((tiny_root / "work" / "checkpoints").rglob("*.pt"))
    assert {p.stem for p in ckpts} >= {"relevance", "toxicity", "misinformation", "news"}
    first = (tiny_root / "out" / WEIGHTS_FILE).read_bytes()
    # when: one head's checkpoint is lost (an interrupted run) and training runs again
    next(p for p in ckpts if p.stem == "toxicity").unlink()
    out = train(tiny_args(tiny_root))
    # then: the refitted head draws the same hold-out; same heads, byte for byte
    assert (out / WEIGHTS_FILE).read_bytes() == first


def test_finetune_smoke_runs_a_few_steps_and_saves_the_encoder_delta(tiny_root: Path) -> None:
    # when
    out = train(
        tiny_args(tiny_root, mode="finetune", version="tiny-ft", output_dir=tiny_root / "ft",
                  max_steps=4, batch_size=8, save_steps=2, resume=False)
    )  # fmt: skip
    # then
    assert (out / ENCODER_DELTA_FILE).is_file()
    assert (tiny_root / "work" / "checkpoints" / "tiny-ft-finetune" / "last.pt").is_file()
    metrics = json.loads((out / "metrics.json").read_text("utf-8"))["metrics"]
    assert metrics["relevance"]["variant"] == "finetune"
    encoder = BertModel.from_pretrained(str(tiny_root / "encoder"), add_pooling_layer=False)
    before = encoder.encoder.layer[0].attention.self.query.weight.clone()
    model = MultiHeadModel.from_pretrained(out, encoder=encoder)
    assert model.encoder is not None
    assert not torch.equal(before, model.encoder.encoder.layer[0].attention.self.query.weight)


def test_command_line_parses_flags(tiny_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[TrainArgs] = []
    monkeypatch.setattr(
        "classifier.training.train.train", lambda args: seen.append(args) or Path("x")
    )
    main(["--mode", "finetune", "--subset", "sentiment=10", "--no-use-ngrams", "--lr", "1e-4"])
    assert seen[0].mode == "finetune" and seen[0].subsets == {"sentiment": 10}
    assert seen[0].use_ngrams is False and seen[0].lr == 1e-4
    with pytest.raises(SystemExit):
        main(["--subset", "nonsense=3"])


def test_lora_finetune_saves_small_adapters_that_rebuild_the_trained_encoder(
    tiny_root: Path,
) -> None:
    # given a LoRA finetune of a few steps
    out = train(
        tiny_args(tiny_root, mode="finetune", version="tiny-lora", output_dir=tiny_root / "lora",
                  max_steps=4, batch_size=8, lora_rank=4, lr=1e-2, resume=False)
    )  # fmt: skip
    # then the artefact holds adapters and LayerNorms, no dense layer weights
    from safetensors.torch import load_file

    lora = load_file(str(out / "encoder_lora.safetensors"))
    delta = load_file(str(out / "encoder_delta.safetensors"))
    assert lora and all(k.endswith((".lora_a", ".lora_b")) for k in lora)
    assert delta and all(".LayerNorm." in k for k in delta)
    # and loading it onto the base encoder changes the dense weights by B·A exactly
    base = BertModel.from_pretrained(str(tiny_root / "encoder"), add_pooling_layer=False)
    before = base.encoder.layer[0].attention.self.query.weight.detach().clone()
    MultiHeadModel.from_pretrained(out, encoder=base)
    name = "encoder.layer.0.attention.self.query"
    expected = before + lora[f"{name}.lora_b"].float() @ lora[f"{name}.lora_a"].float()
    after = base.encoder.layer[0].attention.self.query.weight
    assert torch.allclose(after, expected, atol=1e-6)
    assert not torch.allclose(after, before)


def test_frozen_heads_on_a_lora_encoder_carry_its_adapter(tiny_root: Path) -> None:
    # given a LoRA finetune artefact
    lora_out = train(
        tiny_args(tiny_root, mode="finetune", version="tiny-lora2", output_dir=tiny_root / "l2",
                  max_steps=3, batch_size=8, lora_rank=4, lr=1e-2, resume=False)
    )  # fmt: skip
    # when frozen heads are fitted on the adapted encoder
    out = train(
        tiny_args(tiny_root, version="tiny-stack", output_dir=tiny_root / "stack",
                  adapter_from=lora_out, compare_variants=False, resume=False)
    )  # fmt: skip
    # then the artefact carries the adapter and loading it adapts the base encoder
    config = json.loads((out / CONFIG_FILE).read_text("utf-8"))
    assert config["encoder"]["lora"] == "encoder_lora.safetensors"
    assert (out / "encoder_lora.safetensors").read_bytes() == (
        lora_out / "encoder_lora.safetensors"
    ).read_bytes()
    base = BertModel.from_pretrained(str(tiny_root / "encoder"), add_pooling_layer=False)
    before = base.encoder.layer[1].output.dense.weight.detach().clone()
    MultiHeadModel.from_pretrained(out, encoder=base)
    assert not torch.allclose(before, base.encoder.layer[1].output.dense.weight)


def test_refitting_an_adapted_artefact_in_place_keeps_its_adapter(tiny_root: Path) -> None:
    # given heads fitted on a LoRA finetune's encoder (what e5s-v2 is)
    lora_out = train(
        tiny_args(tiny_root, mode="finetune", version="tiny-lora3", output_dir=tiny_root / "l3",
                  max_steps=3, batch_size=8, lora_rank=4, lr=1e-2, resume=False)
    )  # fmt: skip
    stack = tiny_root / "stack3"
    train(tiny_args(tiny_root, version="tiny-stack3", output_dir=stack,
                    adapter_from=lora_out, compare_variants=False, resume=False))  # fmt: skip
    heads_before = (stack / WEIGHTS_FILE).read_bytes()
    # when `make train` refits that artefact's heads from its own adapter, into its own folder
    out = train(
        tiny_args(tiny_root, version="tiny-stack3", output_dir=stack, adapter_from=stack,
                  compare_variants=False, resume=False, seed=14)
    )  # fmt: skip
    # then the adapter files survive byte for byte and still name the finetune they came from
    for name in ("encoder_lora.safetensors", "encoder_delta.safetensors"):
        assert (out / name).read_bytes() == (lora_out / name).read_bytes()
    config = json.loads((out / CONFIG_FILE).read_text("utf-8"))
    assert config["encoder"]["adapter_version"] == "tiny-lora3"
    record = json.loads((out / "adapter_metrics.json").read_text("utf-8"))
    assert record["args"]["mode"] == "finetune" and record["args"]["lora_rank"] == 4
    assert "`tiny-lora3`" in (out / "MODEL_CARD.md").read_text("utf-8")
    # and the heads are new (another seed) and load onto the adapted encoder as before
    assert (out / WEIGHTS_FILE).read_bytes() != heads_before
    base = BertModel.from_pretrained(str(tiny_root / "encoder"), add_pooling_layer=False)
    before = base.encoder.layer[1].output.dense.weight.detach().clone()
    MultiHeadModel.from_pretrained(out, encoder=base)
    assert not torch.allclose(before, base.encoder.layer[1].output.dense.weight)


def test_head_checkpoints_are_keyed_by_the_adapters_content(tmp_path: Path) -> None:
    # given one adapter folder whose LoRA file changes (a new finetune written over it)
    folder = tmp_path / "adapter"
    folder.mkdir()
    config = {"format": "diemtin-heads/1", "version": "a", "heads": [], "max_length": 32,
              "encoder": {"lora": "encoder_lora.safetensors"}}  # fmt: skip
    (folder / CONFIG_FILE).write_text(json.dumps(config), "utf-8")
    (folder / "encoder_lora.safetensors").write_bytes(b"first")
    args = TrainArgs(work_dir=tmp_path / "work", adapter_from=folder)
    first = _checkpoint(args, "relevance")
    (folder / "encoder_lora.safetensors").write_bytes(b"second")
    # then heads fitted on the first encoder are not resumed for the second
    assert _checkpoint(args, "relevance") != first
