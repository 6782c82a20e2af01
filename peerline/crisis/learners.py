"""The learners of ``python -m peerline.crisis.train``: folds, fits and out-of-fold scores.

An n-gram logistic regression (the shipped model), an MLP on ``wordllama`` sentence
vectors, and a stacking logistic regression over their out-of-fold scores and the
lexicon's hits, each scored out of fold (5 folds, fixed seed, twin pairs kept together;
the stacker nested) for the operating point and ``--compare``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np
from scipy import sparse

from . import classifier
from .examples import Example

SEED = 20261204
FOLDS = 5
C = 32.0
INNER_FOLDS = 4
HIDDEN = 128


def folds(labels: Sequence[str], k: int | None = None, seed: int = SEED,
          groups: Sequence[int] | None = None) -> np.ndarray:
    """A fold number per row (``k`` folds, default :data:`FOLDS`), stratified by label;
    rows of one ``group`` always share a fold (groups are dealt out by their labels)."""
    k = k or FOLDS
    rng = np.random.default_rng(seed)
    members: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(range(len(labels)) if groups is None else groups):
        members[g].append(i)
    by_labels: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for g, rows in members.items():
        by_labels[tuple(sorted(labels[i] for i in rows))].append(g)
    fold = np.zeros(len(labels), dtype=int)
    dealt = 0
    for key in sorted(by_labels):
        same = by_labels[key]
        for n, j in enumerate(rng.permutation(len(same))):
            fold[members[same[j]]] = (dealt + n) % k
        dealt += len(same)
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
        inner = folds([labels[i] for i in train], INNER_FOLDS, SEED + k,
                      [examples[i].group for i in train])
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
