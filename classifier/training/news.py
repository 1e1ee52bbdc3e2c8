"""Topics, risk and news sentiment: gold edu-news + weak labels, cross-validated (frozen mode).

How the two label sources combine (see also classifier.training.frozen):
- weak: every baomoi *train* item of the education section (~3,900), labelled by the keyword
  baseline (`BaselineClassifier`: its topics, risk and sentiment), weight `weak_weight`;
  its n-grams are all used, its embeddings where the item is among relevance's encoded rows;
- gold: the edu-news items (with accent-stripped copies), weight 1 (0.5 when `confident=0`);
- sentiment also keeps UIT-VSFC (weight 1), so one head serves comments and news.
CV: gold is split into `cv_folds` folds; fold k is scored by a model fitted on the weak
items and the other folds. The topic threshold reported for fold k is tuned on the other
folds' out-of-fold scores, so no number below was tuned on the rows it scores.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from classifier.baseline import BaselineClassifier
from classifier.training.evaluate import (
    best_topic_threshold,
    calibrate,
    multiclass_report,
    nested_topics,
    probs_of,
    topics_report,
)
from classifier.training.frozen_run import Frozen, Part, evaluate_simple
from classifier.training.metrics import f1_micro_multilabel
from core.taxonomy import RISKS, SENTIMENTS, TOPICS

log = logging.getLogger(__name__)


def _baseline(texts: list[str], gold: Any, max_topics: int) -> dict[str, Any]:
    preds = BaselineClassifier().predict(texts)
    topics = np.zeros((len(preds), len(TOPICS)), dtype=np.int64)
    for i, p in enumerate(preds):
        for code in p.topics[:max_topics]:
            topics[i, TOPICS.index(code)] = 1
    onehot = lambda codes, labels: np.eye(len(labels))[[labels.index(c) for c in codes]]  # noqa: E731
    return {
        "topics_f1_micro": f1_micro_multilabel(gold.topics, topics),
        "risk": multiclass_report(gold.risk, onehot([p.risk for p in preds], RISKS)),
        "sentiment": multiclass_report(
            gold.sentiment, onehot([p.sentiment for p in preds], SENTIMENTS)
        ),
    }


def run_news(run: Frozen) -> dict[str, Any]:
    """CV metrics and final heads for topics, risk and sentiment."""
    args = run.args
    max_topics = run.model.config.max_topics
    gold, weak = run.news.gold, run.news.weak
    gold_bag, weak_bag = run.bag(gold.texts), run.bag(weak.texts)
    n = len(gold)
    fold = run.rng_for("news/folds").permutation(n) % args.cv_folds
    vsfc = run.part(run.tasks["sentiment"])
    variant = "e5+ngram" if args.use_ngrams else "e5"

    fixes: dict[str, Part] = {}
    for h, ex in run.news.corrections.items():
        every_fix = np.arange(len(ex))
        fixes[h] = Part(ex, run.bag(ex.texts), every_fix, every_fix, ex.weights.copy(), False)

    def parts(head: str, rows: np.ndarray, use_weak: bool, use_gold: bool = True) -> list[Part]:
        out = [vsfc] if head == "sentiment" else []
        if use_weak:
            enc, strip = run.news.weak_encoded, run.news.weak_stripped
            out.append(run.news_part(weak, head, enc, strip, weak_bag))
        if use_gold and len(rows):
            every = np.arange(len(rows))
            out.append(run.news_part(gold.take(rows), head, every, every, gold_bag.rows(rows)))
        # Corrections train every fold's model with the gold rows; they are never scored.
        if use_gold and head in fixes:
            out.append(fixes[head])
        return out

    c_dense = {"topics": args.c_dense_news, "risk": args.c_dense_news, "sentiment": args.c_dense}

    def cv(head: str, use_weak: bool) -> np.ndarray:
        oof = None
        for k in range(args.cv_folds):
            train_rows, test_rows = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
            data = run.stack(head, parts(head, train_rows, use_weak), 0.0)
            fitted = run.fit(data, variant, c_dense[head])
            z = run.logits(fitted, [gold.texts[i] for i in test_rows])
            if oof is None:
                oof = np.zeros((n, *z.shape[1:]), dtype=np.float32)
            oof[test_rows] = z
            log.info("news CV %s fold %d done", head, k)
        assert oof is not None
        return oof

    confident = gold.weights >= 1.0
    metrics: dict[str, Any] = {
        "edu_news_keyword_baseline": _baseline(gold.texts, gold, max_topics),
    }
    oof: dict[str, dict[str, np.ndarray]] = {"topics": {}, "risk": {}}
    chosen: dict[str, str] = {}
    for head in ("topics", "risk"):
        rep: dict[str, Any] = {}
        for name, use_weak in (("gold+weak", True), ("gold_only", False)):
            z = oof[head][name] = cv(head, use_weak)
            kind = run.model.specs[head].kind
            p = probs_of(z, kind)
            if head == "topics":
                rep[f"cv_{name}"] = nested_topics(p, gold.topics, fold, max_topics)
            else:
                rep[f"cv_{name}"] = multiclass_report(gold.risk, p)
                rep[f"cv_{name}_confident_rows"] = multiclass_report(
                    gold.risk[confident], p[confident]
                )
        data = run.stack(head, parts(head, np.arange(0), True, False), 0.0)
        weak_only = run.fit(data, variant, c_dense[head])
        p = probs_of(run.logits(weak_only, gold.texts), run.model.specs[head].kind)
        rep["weak_only_on_gold"] = (
            topics_report(gold.topics, p, 0.5, max_topics)
            if head == "topics"
            else multiclass_report(gold.risk, p)
        )
        # Weak labels help some heads and hurt others (the keyword baseline's risk is mostly
        # "binh_thuong"): keep the source mix with the better CV score. Choosing between two
        # makes the chosen score slightly optimistic; both are reported.
        key = "f1_micro" if head == "topics" else "f1_macro"
        chosen[head] = max(("gold+weak", "gold_only"), key=lambda c: rep[f"cv_{c}"][key])
        rep["chosen"] = chosen[head]
        metrics[head] = rep

    z = cv("sentiment", True)
    metrics["sentiment_news"] = {
        "cv_gold+weak": multiclass_report(gold.sentiment, probs_of(z, "multiclass"))
    }

    every = np.arange(n)
    heads, temperatures = {}, {}
    for head in ("topics", "risk"):
        use_weak = chosen[head] == "gold+weak"
        data = run.stack(head, parts(head, every, use_weak), 0.0)
        heads[head] = run.fit(data, variant, c_dense[head])
        y = gold.topics if head == "topics" else gold.risk
        z = oof[head][chosen[head]]
        temperatures[head], _ = calibrate(z, y, run.model.specs[head].kind)
    p_topics = probs_of(oof["topics"][chosen["topics"]], "multilabel", temperatures["topics"])
    topic_threshold = best_topic_threshold(gold.topics, p_topics, max_topics)
    metrics["topics"]["temperature"] = temperatures["topics"]
    metrics["topics"]["threshold"] = topic_threshold
    metrics["risk"]["temperature"] = temperatures["risk"]

    data = run.stack("sentiment", parts("sentiment", every, True), args.calib_fraction)
    heads["sentiment"] = fitted = run.fit(data, variant)
    assert fitted.calib_rows is not None and fitted.calib_logits is not None
    y_cal = data.y[data.dense_rows[fitted.calib_rows]]
    temperatures["sentiment"], _ = calibrate(fitted.calib_logits, y_cal, "multiclass")
    metrics["sentiment"] = {
        "variant": variant,
        variant: {
            "temperature": temperatures["sentiment"],
            "dev": evaluate_simple(run, "sentiment", fitted, temperatures["sentiment"], None),
        },
    }
    if args.compare_variants:
        # Variants on UIT-VSFC alone, to show what each feature set brings.
        alone = run.stack("sentiment", [vsfc], args.calib_fraction)
        for other in ("e5+ngram", "e5", "ngram"):
            fitted = run.fit(alone, other)
            assert fitted.calib_rows is not None and fitted.calib_logits is not None
            t, _ = calibrate(
                fitted.calib_logits, alone.y[alone.dense_rows[fitted.calib_rows]], "multiclass"
            )
            dev = evaluate_simple(run, "sentiment", fitted, t, None)
            metrics["sentiment"][f"vsfc_only_{other}"] = {"temperature": t, "dev": dev}
    return {
        "heads": heads,
        "temperatures": temperatures,
        "topic_threshold": topic_threshold,
        "metrics": metrics,
    }
