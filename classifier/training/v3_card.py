"""MODEL_CARD.md of a v3 artefact, written from its metrics.json (every figure measured)."""

from __future__ import annotations

from typing import Any

from classifier.heads import HeadsConfig
from classifier.kinds import BODY_CHARS, KINDS
from classifier.training.press import DENSE_SHARE

ISSUE_TARGETS = {
    "edu-relevance F1": 0.88,
    "topics micro F1": 0.75,
    "risk macro F1": 0.78,
    "news sentiment macro F1": 0.70,
}


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def chosen_cv(m: dict[str, Any], head: str) -> dict[str, Any]:
    """The CV report of the head the artefact serves (v3's own, or the base's kept one)."""
    return m[head]["base_cv"] if m[head].get("chosen") == "base" else m[head]["cv_gold"]


def _which(m: dict[str, Any], head: str) -> str:
    ours = m[head]["cv_gold"]
    score = ours["f1_micro"] if head == "topics" else ours["f1_macro"]
    if m[head].get("chosen") == "base":
        return f"e5s-v2's stacked head kept; v3's linear head {_pct(score)}"
    return "v3's head"


def model_card(config: HeadsConfig, m: dict[str, Any]) -> str:
    """The markdown card."""
    labels = m["press_labels"]
    rel_cv = m["relevance"]["cv_press_labels"]
    dev = m["edu_relevance_dev"]
    fx = m["press_items_fixture"]
    thr = config.thresholds
    lines = [
        f"# diemtin classifier {config.version}",
        "",
        "Heads: " + ", ".join(f"{h.name} ({h.kind}, {h.n_out})" for h in config.heads) + ".",
        f"Encoder: e5s-v2's adapted multilingual-e5-small (base {m['base']['version']}; its "
        "LoRA/delta files are in this folder), first 128 tokens, mean pooling; the kept heads "
        "keep their hashed TF-IDF word 1–2-gram stage.",
        "",
        "## Data and labels added",
        "",
        f"- **Press-office labels**: {labels['items']} baomoi *train* items in "
        f"{labels['batches']} batch files (`data/press-labels/batch_NN.csv`, ids + labels only; "
        f"{labels['relevant']} relevant, {labels['unsure']} marked confident=0 and weighted "
        "0.5). Chosen by `classifier/training/label_pool.py` (education section, jobs "
        "section, school words outside the education section, a few others); **read and "
        "labelled one by one by press-office labellers with ../shared/docs/labelling-guide.md"
        "**, never by keyword script or model. Relevance for all; topics / risk / sentiment "
        "for the relevant ones.",
        "- Label quality: a second labeller read 250 of these items blind "
        "(`data/press-labels/audit_second_reading.csv`); `python bench/label_agreement.py`: "
        "relevance agreement 0.98 (Cohen's kappa 0.96); on the 95 both called relevant, risk "
        "0.89 (0.81), sentiment 0.92 (0.86), topics mean Jaccard 0.82.",
        "- Each item is trained as four texts, one per kind: headline (title), title + lead, "
        "body (the lead alone, as a body begins), social (one lower-case line, half without "
        "diacritics). Encoded (dense stage) for a fixed share of the items, drawn by id: "
        + ", ".join(f"{k} {int(100 * v)} %" for k, v in DENSE_SHARE.items())
        + " (encoding runs at ~3–5 texts/s on this shared CPU). The new heads are linear on the "
        "pooled vectors alone: one n-gram stage fit over the press + section rows took 201 s "
        "here, and the stacked recipe needs ~24 per head for 5-fold CV.",
        "- baomoi section labels no longer train relevance (they taught e5s-v2's, which "
        "missed half of what the press office wants).",
        "- topics / risk / news sentiment: the relevant press items + edu-news gold (331, "
        "scored by 5-fold CV over the gold as v2 was). Weak keyword labels are no longer used.",
        "- kept unchanged from e5s-v2: comment sentiment (`sentiment`, UIT-VSFC + news), "
        "toxicity (UIT-ViCTSD + ViHSD), misinformation (ReINTEL): same weights, "
        "standardisation and IDF, so their dev figures are e5s-v2's.",
        "- edu-relevance dev (406) is used for measuring only; nothing is chosen on it.",
        "",
        "## Kinds of text and thresholds",
        "",
        "Kind (classifier.kinds): social = a post, comment, video or tip, or a social source; "
        f"headline = a title alone; body = a body of ≥ {BODY_CHARS} characters; title_lead = "
        "the rest. The service decides each flag at its kind's threshold.",
        "",
        "| head | " + " | ".join(KINDS) + " | how chosen |",
        "|---|" + "---|" * (len(KINDS) + 1),
        "| relevance | "
        + " | ".join(f"{thr[f'relevance/{k}']:.3f}" for k in KINDS)
        + " | F1-best on out-of-fold scores of the press labels (5-fold CV by item) |",
    ]
    for head, rate in (("misinformation", "5"), ("toxicity", "2")):
        lines.append(
            f"| {head} | "
            + " | ".join(f"{thr[f'{head}/{k}']:.3f}" for k in KINDS)
            + f" | news kinds: at most {rate} % of press-labelled (real) news flagged; "
            "social: e5s-v2's hold-out threshold |"
        )
    topics, risk, sent = (chosen_cv(m, h) for h in ("topics", "risk", "sentiment_news"))
    lines += [
        "",
        "## Figures (measured; dev / cross-validation, not the held-out tests)",
        "",
        "| what | this model | issue 20 target |",
        "|---|---|---|",
        f"| edu-relevance dev F1 / P / R (title + lead) | {_pct(dev['title_lead']['f1'])} / "
        f"{_pct(dev['title_lead']['precision'])} / {_pct(dev['title_lead']['recall'])} "
        f"(ROC-AUC {dev['title_lead']['roc_auc']:.3f}) | F1 ≥ 88 |",
    ]
    for k in KINDS:
        lines.append(
            f"| edu-relevance dev F1 / P / R, as {k} | {_pct(dev[k]['f1'])} / "
            f"{_pct(dev[k]['precision'])} / {_pct(dev[k]['recall'])} | |"
        )
    for k in KINDS:
        lines.append(
            f"| relevance CV on press labels, {k} (F1 / P / R) | {_pct(rel_cv[k]['f1'])} / "
            f"{_pct(rel_cv[k]['precision'])} / {_pct(rel_cv[k]['recall'])} | |"
        )
    lines += [
        f"| topics micro F1 (edu-news, 5-fold CV) | {_pct(topics['f1_micro'])} "
        f"({_which(m, 'topics')}) | ≥ 75 |",
        f"| risk macro F1 (edu-news, 5-fold CV) | {_pct(risk['f1_macro'])} "
        f"({_which(m, 'risk')}) | ≥ 78 |",
        f"| news sentiment macro F1 (edu-news, 5-fold CV) | {_pct(sent['f1_macro'])} | ≥ 70 |",
        f"| our rumour/denial/satire/incident items: expected labels met | "
        f"{_pct(fx['score'])} of {fx['checks']} checks ({fx['items']} items; "
        + ", ".join(f"{k} {_pct(v)}" for k, v in fx["per_category"].items())
        + ") | |",
        "",
        "UIT-VSFC, ViCTSD, ViHSD and ReINTEL figures are e5s-v2's (heads unchanged): see "
        "`python bench/classifier_quality.py`.",
        "",
        "## Cost on this CPU",
        "",
        f"Training: {m['train_seconds']:.0f} s with {m['threads']} threads on 2 shared cores, "
        "with every text's pooled vector already cached (a new batch of 250 items adds ~280 "
        "texts to encode, 1–2 minutes at the 3–5 texts/s this shared CPU gave). A cold cache "
        "is ~8,700 texts (press items, edu-news, edu-relevance dev in 4 kinds, our items): "
        "about 45 minutes of encoding here.",
        "",
        "## Recipe",
        "",
        "`python -m classifier.training.v3` (`make train-v3`): the frozen e5s-v2-adapted "
        "encoder's standardised pooled vectors (cached per text), L2-regularised linear heads "
        "(classifier.training.linear.fit_linear), 5-fold CV for every reported and every "
        "chosen figure; temperatures from out-of-fold logits. L2 strength C per head from "
        "(0.003, 0.01, 0.03) by that CV (relevance: ROC-AUC on the press labels; news heads: "
        "their score on the gold), which makes the kept CV figure slightly optimistic: kept "
        + ", ".join(f"{h} {m[h]['c']:g}" for h in ("relevance", "topics", "risk", "sentiment_news"))
        + ".",
        "",
        "## Limitations",
        "",
        "- No labelled fake or toxic *news* exists here: on news kinds the misinformation and "
        "toxicity thresholds bound the false-flag rate on real news instead of being set for "
        "F1; their recall on fake news is measured only by our own items above.",
        "- The encoder is e5s-v2's; CPU encoder training is engineer 20b's (issue 20, item 3).",
        "",
        "## Gaps to issue 20's targets (measured above)",
        "",
        f"- edu-relevance F1 {_pct(dev['title_lead']['f1'])} against ≥ 88 (e5s-v2: 60 at "
        f"recall 0.46; here recall {dev['title_lead']['recall']:.2f}, ROC-AUC 0.90 → "
        f"{dev['title_lead']['roc_auc']:.3f}). The press-label CV gives "
        f"{_pct(rel_cv['title_lead']['f1'])} on the labelled pool: the gap is the pool's mix "
        "against edu-relevance's (other sources and sections) and a frozen encoder.",
        f"- topics {_pct(topics['f1_micro'])} (≥ 75) and risk {_pct(risk['f1_macro'])} (≥ 78): "
        "the linear heads lack an n-gram stage (~200 s per fit here); where e5s-v2's stacked "
        "head scored better on the gold CV it is kept (see the figures).",
        f"- Our own items: risk right on {_pct(fx['per_field']['risk'])} % of checks, "
        f"unreliable on {_pct(fx['per_field']['unreliable'])} %: most rumours and denials come "
        "out theo_doi or binh_thuong, not nóng; no labelled fake or toxic news exists here to "
        "set news thresholds for recall.",
        "- UIT-VSFC macro F1 (≥ 84), the macro drop without diacritics (≤ 5), ViCTSD (≥ 55) and "
        "ReINTEL (≥ 0.93) are the kept e5s-v2 heads' (bench/classifier_quality.py --recorded): "
        "they need the encoder training of issue 20 item 3.",
    ]
    return "\n".join(lines) + "\n"
