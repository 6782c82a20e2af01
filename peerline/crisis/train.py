"""``python -m peerline.crisis.train``: build the learned classifier from the repo's data.

Reads every labelled CSV under ``data/crisis/train/`` (columns ``text,lang,label`` and,
where the writer gave them, ``kind,source``) plus ``tests/data/crisis_dev.csv``, drops
duplicate texts, and fits the models of :mod:`peerline.crisis.classifier` (scikit-learn):
an n-gram logistic regression, an MLP on ``wordllama`` sentence vectors, and a stacking
logistic regression over their out-of-fold scores and the lexicon's hits (``--kind
ngram`` builds the n-gram regression alone). The operating point is chosen on
out-of-fold predictions (5-fold, fixed seed; the stacker nested, its inputs from inner
folds) of the line's whole decision — "the lexicon matched (category c) unless P <
o(c), else P ≥ t(language)": o(c) is the highest level that silences at most
``--overrule-loss`` (0.5%) of the crisis rows of category c the lexicon caught (none of
danger now), and t per language guess the highest recall whose false-positive
rate within that language stays at or under ``--max-fpr``. The blind sets are never read
here.

``--compare`` prints out-of-fold figures per language and kind for every candidate
(n-grams with and without the lexicon's hits, ``wordllama`` vectors under an LR and an
MLP, one LR over all features, the stack), writing nothing. Deterministic: the same
data gives the same files.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from . import classifier
from .detector import scan_lexicon
from .verdict import CATEGORIES

ROOT = Path(__file__).resolve().parents[2]
TRAIN_DIR = ROOT / "data" / "crisis" / "train"
DEV_CSV = ROOT / "tests" / "data" / "crisis_dev.csv"
SEED = 20261204
FOLDS = 5
C = 32.0
INNER_FOLDS = 4
MAX_FPR = 0.08
WATCH_FPR = 0.15
#: Share of the crisis rows of a lexicon category the classifier may silence out of fold
#: (round 5: 0.5%; round 4: none). Danger happening now never gives any up.
OVERRULE_LOSS = 0.005
NO_LOSS = ("imminent_danger",)
HIDDEN = 128


@dataclass(frozen=True)
class Example:
    """One labelled message and what the lexicon made of it."""

    text: str
    lang: str
    label: str
    kind: str
    source: str
    words: str
    lexicon: frozenset[str]
    guess: str  # the detector's language guess (what the stacker sees at run time)
    slice: str = ""  # a blind set's slice (direct_en ...)
    category: str = ""  # the lexicon's category (the most severe kept match), "" if none

    @property
    def crisis(self) -> bool:
        """True for a crisis label."""
        return self.label != "none"


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of one labelled CSV, labels checked."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for i, row in enumerate(rows, start=2):
        label = (row.get("label") or "").strip()
        if label not in CATEGORIES and label != "none":
            raise ValueError(f"{path}:{i}: unknown label {label!r}")
    return rows


def training_files(train_dir: Path = TRAIN_DIR) -> list[Path]:
    """The CSVs the model learns from, in a fixed order."""
    return sorted(train_dir.glob("*.csv")) + ([DEV_CSV] if DEV_CSV.exists() else [])


def load_examples(files: Sequence[Path], dedupe: bool = True) -> list[Example]:
    """Every row of ``files`` once (first copy of a duplicate text wins; every row with
    ``dedupe=False``)."""
    seen: set[str] = set()
    out = []
    for path in files:
        for row in read_csv(path):
            text = row["text"]
            key = " ".join(text.lower().split())
            if not key or (dedupe and key in seen):
                continue
            seen.add(key)
            lex = scan_lexicon(text)
            out.append(Example(text, (row.get("lang") or "en").strip(), row["label"].strip(),
                               (row.get("kind") or "").strip(),
                               (row.get("source") or path.stem).strip(),
                               lex.words, lex.features, lex.lang,
                               (row.get("slice") or "").strip(), lex.category or ""))
    return out


def folds(labels: Sequence[str], k: int | None = None, seed: int = SEED) -> np.ndarray:
    """A fold number per row (``k`` folds, default :data:`FOLDS`), stratified by label."""
    k = k or FOLDS
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(labels), dtype=int)
    for label in sorted(set(labels)):
        idx = np.array([i for i, x in enumerate(labels) if x == label])
        rng.shuffle(idx)
        fold[idx] = np.arange(len(idx)) % k
    return fold


def fit_crisis(x: sparse.spmatrix | np.ndarray, labels: Sequence[str]) -> object:
    """Crisis or not: a binary logistic regression (liblinear)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, solver="liblinear", max_iter=1000, random_state=SEED)
    model.fit(x, [label != "none" for label in labels])
    return model


def fit_category(x: sparse.spmatrix | np.ndarray, labels: Sequence[str]) -> object:
    """Which crisis: a multinomial logistic regression on the crisis rows only."""
    from sklearn.linear_model import LogisticRegression

    rows = [i for i, label in enumerate(labels) if label != "none"]
    model = LogisticRegression(C=C, max_iter=1000)
    model.fit(x[rows], [labels[i] for i in rows])
    return model


def fit_mlp(x: np.ndarray, truth: np.ndarray) -> object:
    """Crisis or not from sentence vectors: one hidden ReLU layer (scikit-learn)."""
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(hidden_layer_sizes=(HIDDEN,), alpha=1e-3, max_iter=200,
                          early_stopping=True, n_iter_no_change=10, random_state=SEED)
    model.fit(x, truth)
    return model


def fit_stacker(x: np.ndarray, truth: np.ndarray) -> object:
    """The stacking logistic regression over base logits and lexicon hits."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1.0, max_iter=1000)
    model.fit(x, truth)
    return model


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


#: A base learner: fit on rows ``train``, return the crisis logits of rows ``test``.
Learner = Callable[[np.ndarray, np.ndarray], np.ndarray]


def linear(x: sparse.spmatrix | np.ndarray, truth: np.ndarray) -> Learner:
    """A logistic regression on the rows of ``x``."""
    def run(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        model = fit_crisis(x[train], np.where(truth[train], "crisis", "none"))
        return model.decision_function(x[test])  # type: ignore[attr-defined]
    return run


def mlp(x: np.ndarray, truth: np.ndarray) -> Learner:
    """The MLP on the rows of ``x``."""
    def run(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        model = fit_mlp(x[train], truth[train])
        return _logit(model.predict_proba(x[test])[:, 1])  # type: ignore[attr-defined]
    return run


def out_of_fold(learner: Learner, fold: np.ndarray) -> np.ndarray:
    """The logit of every row from a model that never saw it."""
    scores = np.zeros(len(fold))
    for k in range(int(fold.max()) + 1):
        scores[fold == k] = learner(np.flatnonzero(fold != k), np.flatnonzero(fold == k))
    return scores


def stack_inputs(examples: Sequence[Example], rows: np.ndarray, ngram: np.ndarray,
                 vectors: np.ndarray) -> np.ndarray:
    """The stacker's input rows for ``examples[rows]`` given their base logits."""
    return classifier.stack_features(ngram, vectors,
                                     np.array([examples[i].guess == "es" for i in rows]),
                                     [examples[i].lexicon for i in rows])


def stacked_out_of_fold(examples: Sequence[Example], bases: Sequence[Learner],
                        base_oof: Sequence[np.ndarray], fold: np.ndarray) -> np.ndarray:
    """Out-of-fold logits of the stack, nested: in each outer fold the stacker learns
    from inner-fold logits of the training rows only, and scores the held-out rows from
    base models fitted on the training rows (= the outer out-of-fold logits)."""
    truth = np.array([e.crisis for e in examples])
    labels = [e.label for e in examples]
    out = np.zeros(len(examples))
    for k in range(int(fold.max()) + 1):
        train, test = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        inner = folds([labels[i] for i in train], INNER_FOLDS, SEED + k)
        level1 = []
        for learner in bases:
            col = np.zeros(len(train))
            for j in range(INNER_FOLDS):
                col[inner == j] = learner(train[inner != j], train[inner == j])
            level1.append(col)
        stacker = fit_stacker(stack_inputs(examples, train, *level1), truth[train])
        held = stack_inputs(examples, test, *(s[test] for s in base_oof))
        out[test] = stacker.decision_function(held)  # type: ignore[attr-defined]
    return out


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
                    loss: float = OVERRULE_LOSS
                    ) -> tuple[dict[str, float], dict[str, float], Overrules,
                               dict[str, list[tuple[float, float, float]]]]:
    """Thresholds and watch levels per language guess (each the highest recall at FPR ≤
    ``max_fpr``, resp. :data:`WATCH_FPR`, within that language), the overrule levels per
    lexicon category (giving up at most ``loss`` of each one's lexicon-caught crisis
    rows), and each language's curve."""
    overrule = safe_overrules(examples, scores, loss)
    threshold, watch, points = {}, {}, {}
    for lang in classifier.LANGUAGES:
        rows = [i for i, e in enumerate(examples) if e.guess == lang]
        points[lang] = curve([examples[i] for i in rows], scores[rows], overrule)
        threshold[lang] = choose(points[lang], max_fpr)[0]
        watch[lang] = min(choose(points[lang], WATCH_FPR)[0], threshold[lang])
    return threshold, watch, overrule, points


def ngram_features(examples: Sequence[Example], with_lexicon: bool = True) -> sparse.csr_matrix:
    """The shipped feature space (optionally with the lexicon columns left empty)."""
    lex = [e.lexicon if with_lexicon else frozenset() for e in examples]
    return classifier.featurise([e.words for e in examples], lex)


def embedding_features(examples: Sequence[Example]) -> np.ndarray:
    """256-dimension static sentence vectors (``wordllama``) of the raw texts."""
    return classifier.embed([e.text for e in examples])


def lexicon_columns(examples: Sequence[Example]) -> np.ndarray:
    """The lexicon's verdict as dense indicator columns."""
    return classifier.lexicon_matrix([e.lexicon for e in examples])


#: A candidate's logits: out of fold on the training rows, and on the blind rows from
#: models fitted on every training row (None when no blind set was given).
Scored = tuple[np.ndarray, np.ndarray | None]


def candidates(examples: Sequence[Example], fold: np.ndarray
               ) -> dict[str, Callable[[], Scored]]:
    """Logits for ``--compare``, by candidate name (computed on demand). ``examples`` are
    the training rows (as many as ``fold``) followed by any blind rows."""
    truth = np.array([e.crisis for e in examples])
    n = len(fold)
    train, blind = np.arange(n), np.arange(n, len(examples))
    cache: dict[str, Scored] = {}

    def vectors() -> np.ndarray:
        if "v" not in cache:
            cache["v"] = (embedding_features(examples), None)
        return cache["v"][0]

    def scored(learner: Learner) -> Scored:
        return out_of_fold(learner, fold), learner(train, blind) if len(blind) else None

    def memo(key: str, make: Callable[[], Learner]) -> Callable[[], Scored]:
        def run() -> Scored:
            if key not in cache:
                cache[key] = scored(make())
            return cache[key]
        return run

    ngram_lex = memo("n", lambda: linear(ngram_features(examples), truth))
    vec_mlp = memo("m", lambda: mlp(vectors(), truth))

    def stacked() -> Scored:
        bases = [linear(ngram_features(examples), truth), mlp(vectors(), truth)]
        (n_oof, n_blind), (v_oof, v_blind) = ngram_lex(), vec_mlp()
        oof = stacked_out_of_fold(examples, bases, [n_oof, v_oof], fold)
        if n_blind is None or v_blind is None:
            return oof, None
        stacker = fit_stacker(stack_inputs(examples, train, n_oof, v_oof), truth[train])
        return oof, stacker.decision_function(  # type: ignore[attr-defined]
            stack_inputs(examples, blind, n_blind, v_blind))

    return {
        "word+char n-grams, LR": memo("w", lambda: linear(
            ngram_features(examples, with_lexicon=False), truth)),
        "n-grams + lexicon hits, LR": ngram_lex,
        "wordllama vectors, LR": memo("vl", lambda: linear(vectors(), truth)),
        "wordllama vectors, MLP": vec_mlp,
        "wordllama + lexicon hits, LR": memo("vlx", lambda: linear(
            np.hstack([vectors(), lexicon_columns(examples)]), truth)),
        "n-grams + wordllama + lexicon, one LR": memo("all", lambda: linear(sparse.hstack(
            [ngram_features(examples), sparse.csr_matrix(vectors())], format="csr"), truth)),
        "stack: n-gram LR, vector MLP, lexicon": stacked,
    }


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


def _name(path: Path) -> str:
    """``path`` relative to the repository when inside it."""
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def sha256(path: Path) -> str:
    """The hex digest of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


#: The trade-off ``build`` records: overrule loss × FPR ceiling.
TRADEOFF_LOSSES = (0.0, 0.0025, 0.005, 0.01, 0.02)
TRADEOFF_FPRS = (0.05, 0.06, 0.07, 0.08, 0.09, 0.10)


def tradeoff(examples: Sequence[Example], scores: np.ndarray) -> list[dict]:
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
            threshold, _, overrule, _ = operating_point(examples, scores, max_fpr, loss)
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


def build(files: Sequence[Path], out_dir: Path, max_fpr: float = MAX_FPR,
          kind: str = "ngram", loss: float = OVERRULE_LOSS) -> dict:
    """Choose the operating point out of fold, fit on everything, write the files."""
    examples = load_examples(files)
    labels = [e.label for e in examples]
    truth = np.array([e.crisis for e in examples])
    fold = folds(labels)
    x = ngram_features(examples)
    ngram_oof = out_of_fold(linear(x, truth), fold)
    head: list[tuple[np.ndarray, np.ndarray]] = []
    stack = None
    if kind == "stack":
        v = embedding_features(examples)
        vector_oof = out_of_fold(mlp(v, truth), fold)
        logits = stacked_out_of_fold(examples, [linear(x, truth), mlp(v, truth)],
                                     [ngram_oof, vector_oof], fold)
        stacker = fit_stacker(stack_inputs(examples, np.arange(len(examples)), ngram_oof,
                                           vector_oof), truth)
        stack = np.concatenate([stacker.coef_[0], stacker.intercept_])  # type: ignore[attr-defined]
        net = fit_mlp(v, truth)
        head = list(zip(net.coefs_, net.intercepts_, strict=True))  # type: ignore[attr-defined]
    else:
        logits = ngram_oof
    scores = probability(logits)
    threshold, watch, overrule, points = operating_point(examples, scores, max_fpr, loss)
    flagged = decide(examples, scores, threshold, overrule)
    lexicon = np.array([bool(e.category) for e in examples])
    recall, fpr = float(flagged[truth].mean()), float(flagged[~truth].mean())
    crisis_model, category_model = fit_crisis(x, labels), fit_category(x, labels)
    coef = np.vstack([crisis_model.coef_, category_model.coef_])  # type: ignore[attr-defined]
    intercept = np.concatenate([crisis_model.intercept_,  # type: ignore[attr-defined]
                                category_model.intercept_])  # type: ignore[attr-defined]
    meta = {
        "trained_on": [{"file": _name(p), "sha256": sha256(p)} for p in files],
        "rows": len(examples),
        "crisis_rows": sum(e.crisis for e in examples),
        "C": C, "seed": SEED, "folds": FOLDS, "inner_folds": INNER_FOLDS, "hidden": HIDDEN,
        "stack_inputs": list(classifier.STACK_INPUTS) if stack is not None else [],
        "operating_point": {"threshold": threshold, "watch": watch,
                            "overrule": overrule, "max_fpr": max_fpr,
                            "overrule_loss": loss, "overrule_no_loss": list(NO_LOSS),
                            "per_language": "the detector's language guess"},
        "out_of_fold": {"recall": round(recall, 3), "fpr": round(fpr, 3),
                        "brier": brier(examples, scores),
                        "slices": slice_figures(examples, flagged),
                        "lexicon_crisis_rows": int((truth & lexicon).sum()),
                        "lexicon_crisis_silenced": int((truth & lexicon & ~flagged).sum()),
                        "lexicon_benign_rows": int((~truth & lexicon).sum()),
                        "lexicon_false_alarms": int((~truth & lexicon & flagged).sum())},
        "tradeoff": tradeoff(examples, scores),
        "curve": {lang: [[t, round(r, 3), round(f, 3)] for t, r, f in pts]
                  for lang, pts in points.items()},
    }
    classifier.save(out_dir, coef, intercept,
                    list(category_model.classes_), meta,  # type: ignore[attr-defined]
                    head, stack)
    return meta


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


def compare(files: Sequence[Path], max_fpr: float = MAX_FPR, only: Sequence[str] = (),
            blind: Path | None = None) -> str:
    """Out-of-fold figures at the FPR ceiling for every candidate, as a table; with
    ``blind``, a second table: each candidate fitted on every training row and scored on
    the blind set at its out-of-fold operating point (nothing is tuned on it)."""
    examples = load_examples(files)
    fold = folds([e.label for e in examples])
    blind_rows = load_examples([blind], dedupe=False) if blind else []
    everything = [*examples, *blind_rows]
    cols = SLICES[1:]
    lines = [f"{len(examples)} rows, {FOLDS}-fold out of fold; decision = lexicon unless "
             f"P < o(category), else P >= t(language); t chosen per language at FPR <= "
             f"{max_fpr}; recall/FPR per slice "
             "(crisis kinds: recall; benign kinds: FPR)", "",
             "| candidate | t en/es | recall | FPR | Brier | "
             + " | ".join(c.replace("hard_negative", "hardneg") for c in cols) + " |",
             "|---" * (5 + len(cols)) + "|"]
    blind_lines = ["", f"blind {blind} ({len(blind_rows)} rows), recall/FPR at each "
                   "candidate's out-of-fold point:", "",
                   "| candidate | all | " + " | ".join(BLIND_SLICES) + " |",
                   "|---" * (2 + len(BLIND_SLICES)) + "|"]
    for name, run in candidates(everything, fold).items():
        if only and not any(o in name for o in only):
            continue
        oof, held = run()
        scores = probability(oof)
        t, _, o, _ = operating_point(examples, scores, max_fpr)
        flagged = decide(examples, scores, t, o)
        truth = np.array([e.crisis for e in examples])
        recall, fpr = flagged[truth].mean(), flagged[~truth].mean()
        figs = slice_figures(examples, flagged)
        cells = []
        for c in cols:
            f = figs[c]
            cells.append(f"{f['recall']}/{f['fpr']}" if c in ("en", "es") else
                         str(f["recall"] if f["recall"] is not None else f["fpr"]))
        lines.append(f"| {name} | {t['en']:.2f}/{t['es']:.2f} | {recall:.3f} | {fpr:.3f} | "
                     f"{brier(examples, scores)} | " + " | ".join(cells) + " |")
        print(lines[-1], file=sys.stderr, flush=True)
        if held is not None:
            bf = blind_figures(blind_rows, decide(blind_rows, probability(held), t, o))
            blind_lines.append(f"| {name} | " + " | ".join(
                f"{bf[k]['recall']} / {bf[k]['fpr']}" for k in ("all", *BLIND_SLICES))
                + " |")
            print(blind_lines[-1], file=sys.stderr, flush=True)
    return "\n".join(lines + (blind_lines if blind else []))


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m peerline.crisis.train``."""
    parser = argparse.ArgumentParser(prog="python -m peerline.crisis.train",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--train-dir", default=str(TRAIN_DIR))
    parser.add_argument("--out", default=str(classifier.MODEL_DIR))
    parser.add_argument("--max-fpr", type=float, default=MAX_FPR)
    parser.add_argument("--overrule-loss", type=float, default=OVERRULE_LOSS,
                        help="share of each lexicon category's crisis rows the classifier "
                        "may silence out of fold (danger now: never)")
    parser.add_argument("--kind", choices=("ngram", "stack"), default="ngram",
                        help="the model to build (default: the n-gram LR, the out-of-fold "
                        "winner on the 2026-12-05 data)")
    parser.add_argument("--compare", action="store_true",
                        help="print out-of-fold figures for every candidate; write nothing")
    parser.add_argument("--only", action="append", default=[],
                        help="with --compare: candidates whose name contains this")
    parser.add_argument("--blind", metavar="CSV",
                        help="with --compare: also score every candidate, fitted on all the "
                        "training rows, on this blind set (spends it)")
    args = parser.parse_args(argv)
    files = training_files(Path(args.train_dir))
    if args.compare:
        print(compare(files, args.max_fpr, args.only,
                      Path(args.blind) if args.blind else None))
        return 0
    meta = build(files, Path(args.out), args.max_fpr, args.kind, args.overrule_loss)
    op, oof = meta["operating_point"], meta["out_of_fold"]
    print(f"{meta['rows']} rows ({meta['crisis_rows']} crisis) from {len(files)} files")
    for lang in classifier.LANGUAGES:
        print(f"{lang}: threshold {op['threshold'][lang]:.2f} (watch {op['watch'][lang]:.2f})")
    print("overrule per lexicon category: " + ", ".join(
        f"{c} {o:.3f}" for c, o in op["overrule"].items()))
    print(f"out of fold recall {oof['recall']:.3f} FPR {oof['fpr']:.3f}; lexicon crisis rows "
          f"silenced {oof['lexicon_crisis_silenced']}/{oof['lexicon_crisis_rows']}, lexicon "
          f"false alarms standing {oof['lexicon_false_alarms']}/{oof['lexicon_benign_rows']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
