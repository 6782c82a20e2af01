"""The operating point of the line's crisis decision, and the figures it is judged by.

The decision: a lexicon match of category c stands unless P(crisis) < o(c); where the
lexicon is silent, P ≥ t(language). :func:`operating_point` chooses t per language (the
highest recall at FPR ≤ a ceiling) and o per category (giving up at most a share of the
crisis rows the lexicon caught; none of danger now), from out-of-fold scores.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import classifier
from .examples import Example
from .verdict import CATEGORIES

#: Out-of-fold false-positive ceiling per language (round 9: 0.10; round 8: 0.09). The
#: round-9 files are mostly look-alike twins, so the same real threshold costs more
#: out-of-fold false alarms than before: at 0.09 the thresholds rose past round 8's.
MAX_FPR = 0.10
WATCH_FPR = 0.15
#: Share of the crisis rows of a lexicon category the classifier may silence out of fold
#: (round 5: 0.5%; round 4: none). Danger happening now never gives any up.
OVERRULE_LOSS = 0.005
NO_LOSS = ("imminent_danger",)


def probability(logits: np.ndarray) -> np.ndarray:
    """Logits as probabilities."""
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -50, 50)))


#: An overrule level per lexicon category: a lexicon match of that category is dropped
#: when P(crisis) is below it (0: never).
Overrules = dict[str, float]


def decide(examples: Sequence[Example], scores: np.ndarray, threshold: float | dict,
           overrule: float | Overrules) -> np.ndarray:
    """The line's decision: a lexicon match of category c unless P < the overrule level
    of c (never above the threshold); where the lexicon is silent, P ≥ the threshold
    (``threshold``: one number, or one per language guess)."""
    levels = overrule if isinstance(overrule, dict) else {c: overrule for c in CATEGORIES}
    cut = threshold if isinstance(threshold, dict) else {}
    t = np.array([cut.get(e.guess, cut.get("en", 0.0)) for e in examples] if cut
                 else [float(threshold)] * len(examples))  # type: ignore[arg-type]
    level = np.array([levels.get(e.category, 0.0) if e.category else np.inf
                      for e in examples])
    return scores >= np.minimum(level, t)


GRID = [i / 100 for i in range(1, 100)]
#: Overrule levels are finer: the lowest crisis scores of a category sit near 0.
OVERRULE_GRID = [i / 1000 for i in range(1, 1000)]


def safe_overrules(examples: Sequence[Example], scores: np.ndarray,
                   loss: float = 0.0) -> Overrules:
    """Per lexicon category, the highest grid level that silences at most a share
    ``loss`` of the crisis rows of that category the lexicon caught (out of fold; with
    ``loss`` 0, the level sits below every one of them). Categories in :data:`NO_LOSS`
    always give up none."""
    out: Overrules = {}
    for cat in CATEGORIES:
        caught = sorted(s for e, s in zip(examples, scores, strict=True)
                        if e.crisis and e.category == cat)
        allowed = 0 if cat in NO_LOSS else int(loss * len(caught))
        floor = caught[allowed] if len(caught) > allowed else (1.0 if caught else 0.0)
        out[cat] = max([0.0] + [g for g in OVERRULE_GRID if g <= floor])
    return out


def curve(examples: Sequence[Example], scores: np.ndarray, overrules: Overrules
          ) -> list[tuple[float, float, float]]:
    """(threshold, recall, FPR) over the grid at the given overrule levels."""
    truth = np.array([e.crisis for e in examples])
    out = []
    for t in GRID:
        flagged = decide(examples, scores, t, overrules)
        out.append((t, float(flagged[truth].mean()), float(flagged[~truth].mean())))
    return out


def choose(points: Sequence[tuple[float, float, float]], max_fpr: float
           ) -> tuple[float, float, float]:
    """The highest recall at FPR ≤ ``max_fpr``; then the lower FPR and the higher
    threshold."""
    ok = [p for p in points if p[2] <= max_fpr] or [min(points, key=lambda p: p[2])]
    return max(ok, key=lambda p: (p[1], -p[2], p[0]))


def operating_point(examples: Sequence[Example], scores: np.ndarray, max_fpr: float,
                    loss: float = OVERRULE_LOSS, fpr_on: str = "all"
                    ) -> tuple[dict[str, float], dict[str, float], Overrules,
                               dict[str, list[tuple[float, float, float]]]]:
    """Thresholds and watch levels per language guess (each the highest recall at FPR ≤
    ``max_fpr``, resp. :data:`WATCH_FPR`, within that language; with ``fpr_on="hard"``
    the FPR is that of the non-crisis rows other than ``benign`` ones, so adding plain
    everyday texts to the data cannot loosen the ceiling on look-alikes), the overrule
    levels per lexicon category (giving up at most ``loss`` of each one's lexicon-caught
    crisis rows), and each language's curve."""
    overrule = safe_overrules(examples, scores, loss)
    threshold, watch, points = {}, {}, {}
    for lang in classifier.LANGUAGES:
        rows = [i for i, e in enumerate(examples) if e.guess == lang
                and (fpr_on == "all" or e.crisis or e.kind != "benign")]
        points[lang] = curve([examples[i] for i in rows], scores[rows], overrule)
        threshold[lang] = choose(points[lang], max_fpr)[0]
        watch[lang] = min(choose(points[lang], WATCH_FPR)[0], threshold[lang])
    return threshold, watch, overrule, points


SLICES = ("all", "en", "es", "direct_en", "direct_es", "indirect_en", "indirect_es",
          "hard_negative_en", "hard_negative_es", "benign")


def slice_figures(examples: Sequence[Example], flagged: np.ndarray) -> dict[str, dict]:
    """Recall and FPR overall, per language, and per kind and language (crisis kinds
    have recall only, benign kinds FPR only)."""
    truth = np.array([e.crisis for e in examples])

    def fig(mask: np.ndarray) -> dict:
        pos, neg = mask & truth, mask & ~truth
        return {"n_crisis": int(pos.sum()), "n_benign": int(neg.sum()),
                "recall": round(float(flagged[pos].mean()), 3) if pos.any() else None,
                "fpr": round(float(flagged[neg].mean()), 3) if neg.any() else None}

    langs = np.array([e.lang for e in examples])
    kinds = np.array([e.kind for e in examples])
    out = {"all": fig(np.ones(len(examples), dtype=bool)),
           "en": fig(langs == "en"), "es": fig(langs == "es"),
           "benign": fig(kinds == "benign")}
    for kind in ("direct", "indirect", "hard_negative"):
        for lang in ("en", "es"):
            out[f"{kind}_{lang}"] = fig((kinds == kind) & (langs == lang))
    return {key: out[key] for key in SLICES}


def brier(examples: Sequence[Example], p: np.ndarray) -> float:
    """Mean squared error of P(crisis) (lower: better calibrated and sharper)."""
    truth = np.array([e.crisis for e in examples], dtype=float)
    return round(float(np.mean((p - truth) ** 2)), 4)


#: The trade-off ``build`` records: overrule loss × FPR ceiling.
TRADEOFF_LOSSES = (0.0, 0.0025, 0.005, 0.01, 0.02)
TRADEOFF_FPRS = (0.05, 0.06, 0.07, 0.08, 0.09, 0.10)


def tradeoff(examples: Sequence[Example], scores: np.ndarray, fpr_on: str = "all"
             ) -> list[dict]:
    """Out-of-fold recall and FPR of the line's decision for every overrule loss and FPR
    ceiling of :data:`TRADEOFF_LOSSES` × :data:`TRADEOFF_FPRS` (thresholds per language
    chosen as in :func:`operating_point`), with the lexicon-caught crisis rows each
    silences and the lexicon false alarms it leaves standing."""
    truth = np.array([e.crisis for e in examples])
    lexicon = np.array([bool(e.category) for e in examples])
    kinds = np.array([e.kind for e in examples])
    langs = np.array([e.lang for e in examples])
    out = []
    for loss in TRADEOFF_LOSSES:
        for max_fpr in TRADEOFF_FPRS:
            threshold, _, overrule, _ = operating_point(examples, scores, max_fpr, loss,
                                                        fpr_on)
            flagged = decide(examples, scores, threshold, overrule)

            def rate(mask: np.ndarray, flagged: np.ndarray = flagged) -> float:
                return round(float(flagged[mask].mean()), 3) if mask.any() else 0.0
            out.append({
                "loss": loss, "max_fpr": max_fpr, "threshold": threshold,
                "recall": rate(truth), "fpr": rate(~truth),
                "direct_en": rate((kinds == "direct") & (langs == "en")),
                "direct_es": rate((kinds == "direct") & (langs == "es")),
                "indirect_en": rate((kinds == "indirect") & (langs == "en")),
                "indirect_es": rate((kinds == "indirect") & (langs == "es")),
                "lexicon_crisis_silenced": int((truth & lexicon & ~flagged).sum()),
                "lexicon_false_alarms": int((~truth & lexicon & flagged).sum()),
            })
    return out


BLIND_SLICES = ("direct_en", "direct_es", "indirect_en", "indirect_es")


def blind_figures(examples: Sequence[Example], flagged: np.ndarray) -> dict[str, dict]:
    """Recall and FPR of a blind set overall and per ``slice`` column."""
    truth = np.array([e.crisis for e in examples])
    slices = np.array([e.slice for e in examples])
    out = {}
    for key in ("all", *BLIND_SLICES):
        mask = np.ones(len(examples), dtype=bool) if key == "all" else slices == key
        pos, neg = mask & truth, mask & ~truth
        out[key] = {"recall": round(float(flagged[pos].mean()), 3) if pos.any() else None,
                    "fpr": round(float(flagged[neg].mean()), 3) if neg.any() else None}
    return out
