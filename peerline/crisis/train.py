"""``python -m peerline.crisis.train [CSV] [--out PATH] [--no-write]``: fit ``model.json``.

Reproducible (fixed seeds, pure Python). Fits two linear models on word unigrams and
bigrams of the detector's normalised tokens, L2-regularised logistic regression by SGD
and a Bernoulli-style naive Bayes, picks the one whose out-of-fold recall at the
false-positive budget is higher, chooses the threshold on out-of-fold scores, and
reports the **combined** detector (lexicon OR model, the model consulted only when no
lexicon phrase matched) against the lexicon alone on held-out data:

* 5-fold stratified cross-validation over the whole CSV;
* a time split: train on all but the last ``--holdout`` rows (the most recent blind
  batches, appended at the end), test on those.

Caveat printed with the figures: the lexicons were tuned on every row of the CSV, so
"lexicon alone" on held-out folds is not blind; ``--verdicts FILE`` (a JSON list of
booleans, one per row, e.g. from an older detector checked out of git) replaces the
current lexicon's verdicts to replay what the model would have added back then.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .detector import _current_lexicon, _find, _words, normalise
from .evaluate import DEFAULT_CSV, read_rows
from .model import FORMAT, MODEL_PATH, features, key_to_json

SEED = 1150
FOLDS = 5
#: out-of-fold benign rows the model may add as false alarms (of all benign rows)
FPR_BUDGET = 0.02
EPOCHS = 30
L2 = 1e-4
LR = 0.2
PRUNE = 1e-3


@dataclass
class Example:
    """One CSV row prepared for training and evaluation."""

    text: str
    lang: str
    y: int
    feats: list
    lex_crisis: bool  # the lexicon flags it
    lex_matched: bool  # some lexicon phrase matched before the filters (model not asked)


def prepare(rows: list[tuple[str, str, str]]) -> list[Example]:
    """Tokens and lexicon verdicts for each row."""
    lex = _current_lexicon()
    out = []
    for text, lang, label in rows:
        norm, _ = normalise(text)
        col, tokens = _words(norm)
        kept, matched = _find(lex, norm, text, col, tokens)
        out.append(Example(text, lang, int(label != "none"), features(tokens), bool(kept),
                           matched))
    return out


# ---------------------------------------------------------------------------- models

def fit_logreg(data: list[Example], seed: int = SEED) -> tuple[float, dict]:
    """L2 logistic regression by SGD (lazy L2 on the features present)."""
    rng = random.Random(seed)
    w: dict = defaultdict(float)
    b = 0.0
    order = list(range(len(data)))
    for epoch in range(EPOCHS):
        rng.shuffle(order)
        lr = LR / (1.0 + epoch * 0.2)
        for i in order:
            ex = data[i]
            z = b + sum(w[f] for f in ex.feats)
            p = 1.0 / (1.0 + math.exp(-z)) if z > -35 else 0.0
            g = p - ex.y
            b -= lr * g
            for f in ex.feats:
                w[f] -= lr * (g + L2 * w[f])
    return b, {f: v for f, v in w.items() if abs(v) >= PRUNE}


def fit_nb(data: list[Example], alpha: float = 0.5) -> tuple[float, dict]:
    """Naive Bayes log-count ratios over binary features (a linear model too)."""
    count = [defaultdict(float), defaultdict(float)]
    n = [0, 0]
    for ex in data:
        n[ex.y] += 1
        for f in set(ex.feats):
            count[ex.y][f] += 1
    vocab = set(count[0]) | set(count[1])
    w = {}
    for f in vocab:
        r = (math.log((count[1][f] + alpha) / (n[1] + 2 * alpha))
             - math.log((count[0][f] + alpha) / (n[0] + 2 * alpha)))
        if abs(r) >= PRUNE:
            w[f] = r
    return math.log(n[1] / n[0]), w


FITTERS = {"logreg": fit_logreg, "nb": fit_nb}


def score(model: tuple[float, dict], ex: Example) -> float:
    """Log-odds of a fitted ``(bias, weights)`` for one row."""
    b, w = model
    return b + sum(w.get(f, 0.0) for f in ex.feats)


# ------------------------------------------------------------------------ evaluation

def folds(data: list[Example], k: int = FOLDS, seed: int = SEED) -> list[list[int]]:
    """Stratified (label x language) fold assignment, seeded."""
    rng = random.Random(seed)
    groups: dict = defaultdict(list)
    for i, ex in enumerate(data):
        groups[(ex.y, ex.lang)].append(i)
    out: list[list[int]] = [[] for _ in range(k)]
    for key in sorted(groups):
        idx = groups[key]
        rng.shuffle(idx)
        for j, i in enumerate(idx):
            out[j % k].append(i)
    return out


def oof_scores(data: list[Example], fitter: Callable, k: int = FOLDS) -> list[float]:
    """Out-of-fold score of every row."""
    scores = [0.0] * len(data)
    for test in folds(data, k):
        held = set(test)
        model = fitter([ex for i, ex in enumerate(data) if i not in held])
        for i in test:
            scores[i] = score(model, data[i])
    return scores


def choose_threshold(data: list[Example], scores: list[float], gate: list[bool],
                     budget: float = FPR_BUDGET) -> float:
    """Lowest threshold at which the model adds at most ``budget`` false alarms."""
    negatives = sum(1 for ex in data if not ex.y)
    allowed = math.floor(budget * negatives)
    benign = sorted((s for ex, s, g in zip(data, scores, gate, strict=True) if not ex.y and g),
                    reverse=True)
    if len(benign) <= allowed:
        return min(scores) if scores else 0.0
    # strictly above the (allowed+1)-th highest benign score
    return math.nextafter(benign[allowed], math.inf)


def recall_at(data: list[Example], scores: list[float], gate: list[bool],
              budget: float = FPR_BUDGET) -> float:
    """Recall of the model alone (gate open everywhere) at its FPR budget threshold."""
    t = choose_threshold(data, scores, gate, budget)
    pos = [s for ex, s in zip(data, scores, strict=True) if ex.y]
    return sum(s >= t for s in pos) / len(pos)


def table(data: list[Example], idx: list[int], lexicon: list[bool], flagged: list[bool],
          title: str) -> list[str]:
    """Lines comparing the lexicon alone with lexicon OR model on rows ``idx``."""
    lines = [f"{title}", f"  {'slice':6} {'n+':>4} {'n-':>4}   lexicon rec/FPR   "
             f"combined rec/FPR   model-added TP/FP"]
    for lang in ("all", "en", "es"):
        rows = [i for i in idx if lang == "all" or data[i].lang == lang]
        pos = [i for i in rows if data[i].y]
        neg = [i for i in rows if not data[i].y]
        if not pos or not neg:
            continue
        lr_ = sum(lexicon[i] for i in pos) / len(pos)
        lf = sum(lexicon[i] for i in neg) / len(neg)
        cr = sum(lexicon[i] or flagged[i] for i in pos) / len(pos)
        cf = sum(lexicon[i] or flagged[i] for i in neg) / len(neg)
        atp = sum(flagged[i] and not lexicon[i] for i in pos)
        afp = sum(flagged[i] and not lexicon[i] for i in neg)
        lines.append(f"  {lang:6} {len(pos):4d} {len(neg):4d}   {lr_:.3f} / {lf:.3f}     "
                     f"{cr:.3f} / {cf:.3f}      +{atp} / +{afp}")
    return lines


def run(data: list[Example], holdout: int, verdicts: list[bool] | None,
        out: Path | None) -> list[str]:
    """Fit, cross-validate, choose the threshold, write ``out``; the report lines."""
    lines: list[str] = []
    if verdicts is not None:
        lexicon = list(verdicts)
        gate = [not v for v in verdicts]
        lines.append("lexicon verdicts: from --verdicts (model asked when not flagged)")
    else:
        lexicon = [ex.lex_crisis for ex in data]
        gate = [not ex.lex_matched for ex in data]
        lines.append("lexicon verdicts: current lexicons (tuned on every row: not blind)")
    all_open = [True] * len(data)
    oof = {name: oof_scores(data, fit) for name, fit in FITTERS.items()}
    for name, scores in oof.items():
        lines.append(f"{name}: model alone, 5-fold out-of-fold recall at "
                     f"{FPR_BUDGET:.0%} FPR = {recall_at(data, scores, all_open):.3f}")
    best = max(oof, key=lambda n: (recall_at(data, oof[n], all_open), n == "logreg"))
    scores = oof[best]
    threshold = choose_threshold(data, scores, gate)
    flagged = [g and s >= threshold for g, s in zip(gate, scores, strict=True)]
    lines.append(f"chosen: {best}, threshold {threshold:.4f} (log-odds), model asked "
                 f"only where the lexicon matched nothing")
    lines += table(data, list(range(len(data))), lexicon, flagged,
                   f"5-fold cross-validation, {len(data)} rows (out-of-fold)")
    if 0 < holdout < len(data):
        cut = len(data) - holdout
        train_part = data[:cut]
        inner = oof_scores(train_part, FITTERS[best])
        t_hold = choose_threshold(train_part, inner, gate[:cut])
        model = FITTERS[best](train_part)
        hflag = [False] * cut + [gate[i] and score(model, data[i]) >= t_hold
                                 for i in range(cut, len(data))]
        lines += table(data, list(range(cut, len(data))), lexicon, hflag,
                       f"time split: train rows 1-{cut}, test the last {holdout} rows "
                       f"(threshold {t_hold:.4f} from CV on the training rows)")
    final = FITTERS[best](data)
    b, w = final
    if out is not None:
        weights = {key_to_json(f): round(v, 4) for f, v in sorted(
            w.items(), key=lambda kv: key_to_json(kv[0])) if round(v, 4) != 0}
        payload = {
            "format": FORMAT,
            "kind": best,
            "bias": round(b, 6),
            "threshold": round(threshold, 6),
            "weights": weights,
            "meta": {"rows": len(data), "seed": SEED, "folds": FOLDS,
                     "fpr_budget": FPR_BUDGET, "features": "word unigrams + bigrams"},
        }
        out.write_text(json.dumps(payload, ensure_ascii=False, separators=(",", ":"),
                                  sort_keys=False) + "\n", encoding="utf-8")
        lines.append(f"wrote {out} ({len(weights)} weights, "
                     f"{out.stat().st_size / 1024:.0f} KiB)")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m peerline.crisis.train``."""
    parser = argparse.ArgumentParser(prog="python -m peerline.crisis.train",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", default=str(DEFAULT_CSV))
    parser.add_argument("--out", default=str(MODEL_PATH))
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--holdout", type=int, default=450)
    parser.add_argument("--verdicts", help="JSON list of lexicon verdicts, one per row")
    args = parser.parse_args(argv)
    data = prepare(read_rows(args.csv))
    verdicts = None
    if args.verdicts:
        verdicts = [bool(v) for v in json.loads(Path(args.verdicts).read_text())]
        if len(verdicts) != len(data):
            parser.error("--verdicts must have one entry per row")
    out = None if args.no_write else Path(args.out)
    print(f"{args.csv}: {len(data)} rows")
    print("\n".join(run(data, args.holdout, verdicts, out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
