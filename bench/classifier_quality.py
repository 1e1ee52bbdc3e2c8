"""Classifier quality on the dev splits: every row of docs/data.md's target table.

Scores the committed artefact (classifier/models/<version>) on the same dev rows that
training reported: the heads run on pooled e5 embeddings from the training embedding cache
(missing ones are computed with the encoder), with the artefact's temperatures, thresholds
and decision rules. A spot check first confirms that this path gives the service's
probabilities. Topics and risk have no dev split of their own: their rows are the 5-fold
cross-validation over the edu-news gold items recorded by the training run
(`python -m classifier.training.train` recomputes them).

For a v3 artefact (press-office labels, issue 20) it also prints the press office's
yardstick: edu-relevance dev F1 / P / R with the items written as each kind of text and
decided at that kind's threshold, and our own rumour / denial / satire / incident items.
v3 keeps its base's comment-sentiment, toxicity and misinformation heads bit for bit (the
bench checks that): with --recorded their rows are the base's recorded dev figures instead
of a recomputation (which encodes ~8,000 dev texts: an hour on 2 shared cores, cold).

    python bench/classifier_quality.py [--version e5s-v3] [--recorded]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    """Print the table; the robustness drop is the last figure."""
    import torch

    from classifier.artefact import DEFAULT_VERSION, MODELS_DIR
    from classifier.encoder import load_encoder
    from classifier.encoder_install import ensure_encoder
    from classifier.features import EmbeddingCache, embedding_cache_dir, ngram_batch
    from classifier.heads import MultiHeadModel, adapter_tag
    from classifier.service import TrainedClassifier
    from classifier.training.evaluate import binary_report, multiclass_report
    from classifier.training.tasks import load_tasks, stripped
    from core.settings import get_settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--version", default=DEFAULT_VERSION)
    parser.add_argument("--recorded", action="store_true", help="kept heads: base's figures")
    args = parser.parse_args()
    settings = get_settings()
    path = MODELS_DIR / args.version
    trained = json.loads((path / "metrics.json").read_text("utf-8"))
    base_version = trained["metrics"].get("base", {}).get("version")
    if base_version:
        print_press_rows(path, trained["metrics"], settings)
        if args.recorded:
            return print_recorded(path, MODELS_DIR / base_version)
        # The public dev sets are scored by the kept heads; the base's run says which rows.
        trained = json.loads((MODELS_DIR / base_version / "metrics.json").read_text("utf-8"))
    targs = trained["args"]
    started = time.perf_counter()

    encoder_dir = ensure_encoder(settings)
    encoder, tokenizer = load_encoder(encoder_dir)
    # With the encoder: an artefact fine-tuned with LoRA adapts it as the service does.
    heads = MultiHeadModel.from_pretrained(path, encoder=encoder)
    cfg = heads.config
    cache = EmbeddingCache(
        embedding_cache_dir(
            settings.data_dir / "classifier", encoder_dir, cfg.max_length, tag=adapter_tag(path)
        )
    )
    tasks, _news = load_tasks(
        settings.shared_data_dir,
        subsets=targs["subsets"],
        seed=targs["seed"],
        stripped_fraction=targs["stripped_fraction"],
        weak_weight=targs["weak_weight"],
    )

    def probs(head: str, texts: list[str], extras: np.ndarray | None = None) -> np.ndarray:
        pooled = torch.from_numpy(cache.get(texts, encoder, tokenizer, max_length=cfg.max_length))
        bag = ngram_batch(texts, cfg.ngram, heads.idf.numpy()) if cfg.ngram else None
        ext = {head: torch.from_numpy(extras)} if extras is not None else None
        with torch.inference_mode():
            out = heads.probabilities(heads(pooled=pooled, ngrams=bag, extras=ext, heads=[head]))
        return out[head].numpy()

    # Spot check: this path == the service (tokenizer, encoder, heads, calibration).
    sample = tasks["sentiment"].dev["uit-vsfc"].texts[:16]
    service = TrainedClassifier(path, settings)
    ours = probs("sentiment", sample)
    theirs = np.array(
        [
            [p.probabilities["sentiment"][k] for k in ("tieu_cuc", "trung_tinh", "tich_cuc")]
            for p in service.predict(sample)
        ]
    )
    diff = float(np.abs(ours - theirs).max())
    print(f"spot check vs service on 16 texts: max |Δp| = {diff:.4f}")

    thr = cfg.thresholds
    vsfc = tasks["sentiment"].dev["uit-vsfc"]
    s_acc = multiclass_report(vsfc.labels, probs("sentiment", vsfc.texts))
    s_bare = multiclass_report(vsfc.labels, probs("sentiment", [stripped(t) for t in vsfc.texts]))
    rel = tasks["relevance"].dev["baomoi"]
    r_all = binary_report(rel.labels, probs("relevance", rel.texts), thr["relevance"], rel.weights)
    idx = tasks["relevance"].dev_stripped["baomoi"]
    sub = rel.take(idx)
    r_acc = binary_report(sub.labels, probs("relevance", sub.texts), thr["relevance"], sub.weights)
    r_bare = binary_report(
        sub.labels,
        probs("relevance", [stripped(t) for t in sub.texts]),
        thr["relevance"],
        sub.weights,
    )
    tox = tasks["toxicity"].dev
    victsd = binary_report(
        tox["uit-victsd"].labels, probs("toxicity", tox["uit-victsd"].texts), thr["toxicity"]
    )
    vihsd = binary_report(
        tox["vihsd"].labels, probs("toxicity", tox["vihsd"].texts), thr["toxicity"]
    )
    rein = tasks["misinformation"].dev["reintel"]
    assert rein.extras is not None
    m_with = binary_report(rein.labels, probs("misinformation", rein.texts, rein.extras), 0.5)
    m_without = binary_report(rein.labels, probs("misinformation", rein.texts), 0.5)
    news = json.loads((path / "metrics.json").read_text("utf-8"))["metrics"]
    if base_version:
        news = trained["metrics"]  # v3's own news rows were printed above
    topics = news["topics"][f"cv_{news['topics'].get('chosen', 'gold+weak')}"]
    risk = news["risk"][f"cv_{news['risk'].get('chosen', 'gold+weak')}"]
    base = news["edu_news_keyword_baseline"]

    pct = lambda x: f"{100 * x:5.1f}"  # noqa: E731
    rows = [
        (
            "sentiment (UIT-VSFC dev) weighted / macro F1",
            f"{pct(s_acc['f1_weighted'])} / {pct(s_acc['f1_macro'])}",
            "93.3 / 83.7",
        ),
        (
            "relevance F1 (baomoi dev, education)",
            pct(r_all["f1"]),
            f"ROC-AUC {r_all['roc_auc']:.3f}",
        ),
        (
            "topics micro F1 (edu-news, 5-fold CV)",
            pct(topics["f1_micro"]),
            f"keywords {pct(base['topics_f1_micro'])}",
        ),
        (
            "risk macro F1 (edu-news, 5-fold CV)",
            pct(risk["f1_macro"]),
            f"keywords {pct(base['risk']['f1_macro'])}",
        ),
        ("toxicity F1 toxic (UIT-ViCTSD dev)", pct(victsd["f1"]), "59.40"),
        ("toxicity macro F1 (ViHSD dev, binary)", pct(vihsd["macro_f1"]), "68.77 (3 classes)"),
        (
            "misinformation ROC-AUC (ReINTEL dev)",
            f"{m_with['roc_auc']:.3f} ({m_without['roc_auc']:.3f} without engagement)",
            "0.9513",
        ),
        (
            "sentiment without diacritics weighted / macro F1",
            f"{pct(s_bare['f1_weighted'])} / {pct(s_bare['f1_macro'])}",
            "TF-IDF 56.6 / 45.6",
        ),
        (
            "relevance F1 without diacritics (same rows)",
            f"{pct(r_bare['f1'])} (accented {pct(r_acc['f1'])})",
            "",
        ),
    ]
    print(f"artefact {cfg.version} ({time.perf_counter() - started:.0f} s)")
    if base_version:
        print(f"(topics / risk rows below: {base_version}'s, for comparison)")
    print(f"{'what':52} {'dev':>34}   reference (test splits)")
    for what, value, ref in rows:
        print(f"{what:52} {value:>34}   {ref}")
    drop_s = 100 * (s_acc["f1_weighted"] - s_bare["f1_weighted"])
    drop_r = 100 * (r_acc["f1"] - r_bare["f1"])
    print(
        f"robustness drop without diacritics: sentiment weighted F1 {drop_s:+.1f} points, "
        f"relevance F1 {drop_r:+.1f} points"
    )
    return 0


def print_press_rows(path: Path, metrics: dict, settings: object) -> None:
    """v3: the press office's yardstick, recomputed live, and the CV rows of training."""
    from classifier.encoder_install import ensure_encoder
    from classifier.heads import MultiHeadModel
    from classifier.kinds import KINDS
    from classifier.service import TrainedClassifier
    from classifier.training.press_run import PressRun
    from classifier.training.v3_card import chosen_cv
    from classifier.training.v3_eval import (
        fixture_items,
        fixture_report,
        probabilities,
        relevance_dev_report,
    )

    started = time.perf_counter()
    encoder_dir = ensure_encoder(settings)  # type: ignore[arg-type]
    run = PressRun(path, encoder_dir, settings.data_dir / "classifier", threads=2)  # type: ignore[attr-defined]
    model = MultiHeadModel.from_pretrained(path)
    items = fixture_items()[:16]
    service = TrainedClassifier(path, settings, encoder_dir=encoder_dir, runtime="torch")  # type: ignore[arg-type]
    preds = service.predict([i["text"] for i in items], kinds=[i["kind"] for i in items])
    ours = probabilities(model, run, [p for p in _prepared(items, model)])["relevance"]
    theirs = np.array([p.probabilities["relevance"]["education"] for p in preds])  # type: ignore[attr-defined]
    print(
        f"spot check vs service on 16 items: max |Δp relevance| = {np.abs(ours - theirs).max():.4f}"
    )
    dev = relevance_dev_report(model, run, settings.shared_data_dir)  # type: ignore[attr-defined]
    fx = fixture_report(model, run)
    pct = lambda x: f"{100 * x:5.1f}"  # noqa: E731
    fpr = lambda r: f"{pct(r['f1'])} / {pct(r['precision'])} / {pct(r['recall'])}"  # noqa: E731
    tl = dev["title_lead"]
    rows = [
        (
            "edu-relevance dev F1 / P / R (title + lead)",
            f"{fpr(tl)} AUC {tl['roc_auc']:.3f}",
            "F1 >= 88",
        ),
        *[
            (f"  edu-relevance dev as {k}, thr {r['threshold']:.2f}", fpr(r), "")
            for k, r in dev.items()
        ],
        *[
            (
                f"  relevance CV on press labels, {k}",
                fpr(metrics["relevance"]["cv_press_labels"][k]),
                "",
            )
            for k in KINDS
        ],
        (
            "topics micro F1 (edu-news, 5-fold CV)",
            pct(chosen_cv(metrics, "topics")["f1_micro"]),
            ">= 75",
        ),
        (
            "risk macro F1 (edu-news, 5-fold CV)",
            pct(chosen_cv(metrics, "risk")["f1_macro"]),
            ">= 78",
        ),
        (
            "news sentiment macro F1 (edu-news, 5-fold CV)",
            pct(metrics["sentiment_news"]["cv_gold"]["f1_macro"]),
            ">= 70",
        ),
        (
            f"own press items: expected labels met ({fx['items']} items)",
            f"{pct(fx['score'])} of {fx['checks']}",
            "",
        ),
        *[(f"  {c}", pct(v), "") for c, v in fx["per_category"].items()],
        *[(f"  field {c}", pct(v), "") for c, v in fx["per_field"].items()],
    ]
    took = time.perf_counter() - started
    print(f"artefact {model.config.version}: press office's yardstick ({took:.0f} s)")
    print(f"{'what':52} {'value':>34}   target (issue 20)")
    for what, value, ref in rows:
        print(f"{what:52} {value:>34}   {ref}")
    for miss in fx["misses"]:
        print(f"  miss: {miss}")


def _prepared(items: list[dict], model: object) -> list[str]:
    from classifier.normalize import prepare_text

    return [prepare_text(i["text"], model.config.max_chars) for i in items]  # type: ignore[attr-defined]


def print_recorded(path: Path, base: Path) -> int:
    """The kept heads' rows from the base's recorded dev figures (after checking they are kept)."""
    import torch

    from classifier.heads import MultiHeadModel

    ours, theirs = MultiHeadModel.from_pretrained(path), MultiHeadModel.from_pretrained(base)
    for name in ("sentiment", "toxicity", "misinformation"):
        same = torch.equal(ours.heads[name].weight, theirs.heads[name].weight)
        same &= torch.equal(
            ours.ngram.weight[:, ours.slices[name]], theirs.ngram.weight[:, theirs.slices[name]]
        )  # type: ignore[union-attr]
        if not same:
            print(f"{name} differs from {base.name}: run without --recorded")
            return 1
    m = json.loads((base / "metrics.json").read_text("utf-8"))["metrics"]
    dev = lambda h: m[h][m[h]["variant"]]["dev"]  # noqa: E731
    vsfc, tox, rein = (
        dev("sentiment")["uit-vsfc"],
        dev("toxicity"),
        dev("misinformation")["reintel"],
    )
    pct = lambda x: f"{100 * x:5.1f}"  # noqa: E731
    drop_w = 100 * (vsfc["f1_weighted"] - vsfc["bare"]["f1_weighted"])
    drop_m = 100 * (vsfc["f1_macro"] - vsfc["bare"]["f1_macro"])
    rows = [
        (
            "sentiment (UIT-VSFC dev) weighted / macro F1",
            f"{pct(vsfc['f1_weighted'])} / {pct(vsfc['f1_macro'])}",
            ">= 93 / >= 84",
        ),
        (
            "  drop without diacritics weighted / macro",
            f"{drop_w:.1f} / {drop_m:.1f}",
            "<= 3 / <= 5",
        ),
        ("toxicity F1 toxic (UIT-ViCTSD dev)", pct(tox["uit-victsd"]["f1"]), ">= 55"),
        ("toxicity macro F1 (ViHSD dev, binary)", pct(tox["vihsd"]["macro_f1"]), ""),
        ("misinformation ROC-AUC (ReINTEL dev)", f"{rein['roc_auc']:.3f}", ">= 0.93"),
    ]
    print(f"kept heads, identical to {base.name}: its recorded dev figures")
    for what, value, ref in rows:
        print(f"{what:52} {value:>34}   {ref}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
