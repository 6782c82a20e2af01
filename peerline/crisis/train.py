"""``python -m peerline.crisis.train``: build the learned classifier from the repo's data.

Reads every labelled CSV under ``data/crisis/train/`` (columns ``text,lang,label`` and,
where the writer gave them, ``kind,source``) plus ``tests/data/crisis_dev.csv``, drops
duplicate texts, and fits a multinomial logistic regression (scikit-learn) over the
features of :mod:`peerline.crisis.classifier`. The operating point is chosen on
out-of-fold predictions (5-fold, fixed seed) of the line's whole decision — "the lexicon
matched, or P(crisis) ≥ t" — as the highest recall whose false-positive rate stays at or
under ``--max-fpr``. The blind sets are never read here.

``--compare`` also prints out-of-fold figures for the other candidates the issue asks
about (n-grams alone, static sentence vectors from ``wordllama``, and their mixes with
the lexicon's hits), without writing anything; it needs ``pip install wordllama``,
which the line itself does not. Deterministic: the same data gives the
same files.
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
MAX_FPR = 0.08
WATCH_FPR = 0.15


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


def load_examples(files: Sequence[Path]) -> list[Example]:
    """Every row of ``files`` once (first copy of a duplicate text wins)."""
    seen: set[str] = set()
    out = []
    for path in files:
        for row in read_csv(path):
            text = row["text"]
            key = " ".join(text.lower().split())
            if not key or key in seen:
                continue
            seen.add(key)
            lex = scan_lexicon(text)
            out.append(Example(text, (row.get("lang") or "en").strip(), row["label"].strip(),
                               (row.get("kind") or "").strip(),
                               (row.get("source") or path.stem).strip(),
                               lex.words, lex.features))
    return out


def folds(labels: Sequence[str], k: int = FOLDS, seed: int = SEED) -> np.ndarray:
    """A fold number per row, stratified by label."""
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

    model = LogisticRegression(C=C, solver="liblinear", max_iter=1000)
    model.fit(x, [label != "none" for label in labels])
    return model


def fit_category(x: sparse.spmatrix | np.ndarray, labels: Sequence[str]) -> object:
    """Which crisis: a multinomial logistic regression on the crisis rows only."""
    from sklearn.linear_model import LogisticRegression

    rows = [i for i, label in enumerate(labels) if label != "none"]
    model = LogisticRegression(C=C, max_iter=1000)
    model.fit(x[rows], [labels[i] for i in rows])
    return model


def out_of_fold(x: sparse.spmatrix | np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """P(crisis) for every row from a model that never saw it."""
    fold = folds(labels)
    scores = np.zeros(len(labels))
    y = np.array(labels)
    for k in range(FOLDS):
        test = fold == k
        model = fit_crisis(x[~test], y[~test])
        scores[test] = model.predict_proba(x[test])[:, 1]  # type: ignore[attr-defined]
    return scores


def decide(examples: Sequence[Example], scores: np.ndarray, threshold: float,
           overrule: float) -> np.ndarray:
    """The line's decision: a lexicon match unless P < ``overrule``; else P ≥ ``threshold``."""
    lexicon = np.array([bool(e.lexicon - {"filtered"}) for e in examples])
    return np.where(lexicon, scores >= overrule, scores >= threshold)


GRID = [i / 100 for i in range(1, 100)]


def safe_overrules(examples: Sequence[Example], scores: np.ndarray) -> list[float]:
    """Overrule levels that drop no crisis row the lexicon caught (out of fold): the
    classifier may silence the lexicon only where that costs no recall."""
    caught = [s for e, s in zip(examples, scores, strict=True)
              if e.crisis and e.lexicon - {"filtered"}]
    floor = min(caught) if caught else 0.0
    return [0.0] + [g for g in GRID if g <= floor]


def curve(examples: Sequence[Example], scores: np.ndarray
          ) -> list[tuple[float, float, float, float]]:
    """(threshold, overrule, recall, FPR) over the grid, overrule only where safe."""
    truth = np.array([e.crisis for e in examples])
    overrules = safe_overrules(examples, scores)
    out = []
    for t in GRID:
        for o in [o for o in overrules if o <= t]:
            flagged = decide(examples, scores, t, o)
            out.append((t, o, float(flagged[truth].mean()), float(flagged[~truth].mean())))
    return out


def choose(points: Sequence[tuple[float, float, float, float]], max_fpr: float
           ) -> tuple[float, float, float, float]:
    """The highest recall at FPR ≤ ``max_fpr``; then the lower FPR, then the least
    overruling and the higher threshold."""
    ok = [p for p in points if p[3] <= max_fpr] or [min(points, key=lambda p: p[3])]
    return max(ok, key=lambda p: (p[2], -p[3], -p[1], p[0]))


def ngram_features(examples: Sequence[Example], with_lexicon: bool = True) -> sparse.csr_matrix:
    """The shipped feature space (optionally with the lexicon columns left empty)."""
    lex = [e.lexicon if with_lexicon else frozenset() for e in examples]
    return classifier.featurise([e.words for e in examples], lex)


def embedding_features(examples: Sequence[Example]) -> np.ndarray:
    """256-dimension static sentence vectors from the ``wordllama`` wheel's own model."""
    import wordllama
    from wordllama import WordLlama

    wl = WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)
    return np.asarray(wl.embed([e.text for e in examples]), dtype=np.float32)


def lexicon_columns(examples: Sequence[Example]) -> np.ndarray:
    """The lexicon's verdict as dense indicator columns."""
    names = classifier.LEXICON_FEATURES
    return np.array([[float(n in e.lexicon) for n in names] for e in examples],
                    dtype=np.float32)


def candidates(examples: Sequence[Example]) -> dict[str, Callable[[], object]]:
    """Feature builders for ``--compare``, by name."""
    def embed_lex() -> np.ndarray:
        return np.hstack([embedding_features(examples), lexicon_columns(examples)])

    def all_three() -> sparse.csr_matrix:
        return sparse.hstack([ngram_features(examples), sparse.csr_matrix(
            embedding_features(examples))], format="csr")

    return {
        "word+char n-grams": lambda: ngram_features(examples, with_lexicon=False),
        "n-grams + lexicon hits (shipped)": lambda: ngram_features(examples),
        "wordllama vectors": lambda: embedding_features(examples),
        "wordllama + lexicon hits": embed_lex,
        "n-grams + wordllama + lexicon": all_three,
    }


def slice_figures(examples: Sequence[Example], flagged: np.ndarray) -> dict[str, dict]:
    """Recall and FPR overall, per language and for indirect rows."""
    def fig(mask: np.ndarray) -> dict:
        truth = np.array([e.crisis for e in examples])
        pos, neg = mask & truth, mask & ~truth
        return {"n_crisis": int(pos.sum()), "n_benign": int(neg.sum()),
                "recall": round(float(flagged[pos].mean()), 3) if pos.any() else None,
                "fpr": round(float(flagged[neg].mean()), 3) if neg.any() else None}

    every = np.ones(len(examples), dtype=bool)
    langs = np.array([e.lang for e in examples])
    kinds = np.array([e.kind for e in examples])
    indirect = (kinds == "indirect") | (kinds == "hard_negative")
    return {"all": fig(every), "en": fig(langs == "en"), "es": fig(langs == "es"),
            "indirect+hard negatives": fig(indirect)}


def sha256(path: Path) -> str:
    """The hex digest of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(files: Sequence[Path], out_dir: Path, max_fpr: float = MAX_FPR) -> dict:
    """Choose the operating point out of fold, fit on everything, write the files."""
    examples = load_examples(files)
    labels = [e.label for e in examples]
    x = ngram_features(examples)
    scores = out_of_fold(x, labels)
    points = curve(examples, scores)
    threshold, overrule, recall, fpr = choose(points, max_fpr)
    watch = choose([p for p in points if p[1] == overrule], WATCH_FPR)[0]
    flagged = decide(examples, scores, threshold, overrule)
    crisis_model, category_model = fit_crisis(x, labels), fit_category(x, labels)
    coef = np.vstack([crisis_model.coef_, category_model.coef_])  # type: ignore[attr-defined]
    intercept = np.concatenate([crisis_model.intercept_,  # type: ignore[attr-defined]
                                category_model.intercept_])  # type: ignore[attr-defined]
    meta = {
        "trained_on": [{"file": str(p.relative_to(ROOT)), "sha256": sha256(p)} for p in files],
        "rows": len(examples),
        "crisis_rows": sum(e.crisis for e in examples),
        "C": C, "seed": SEED, "folds": FOLDS,
        "operating_point": {"threshold": threshold, "watch": min(watch, threshold),
                            "overrule": overrule, "max_fpr": max_fpr},
        "out_of_fold": {"recall": round(recall, 3), "fpr": round(fpr, 3),
                        "slices": slice_figures(examples, flagged)},
        "curve": [[t, round(r, 3), round(f, 3)] for t, o, r, f in points
                  if o == overrule and round(t * 100) % 5 == 0],
    }
    classifier.save(out_dir, coef, intercept,
                    list(category_model.classes_), meta)  # type: ignore[attr-defined]
    return meta


def compare(files: Sequence[Path], max_fpr: float = MAX_FPR) -> str:
    """Out-of-fold recall at the chosen FPR for every candidate, as a table."""
    examples = load_examples(files)
    labels = [e.label for e in examples]
    lines = [f"{len(examples)} rows, {FOLDS}-fold out of fold; decision = lexicon unless "
             f"P < o, else P >= t; t, o chosen at FPR <= {max_fpr}",
             f"{'candidate':36} {'t/o':>9} {'recall':>7} {'FPR':>6} {'en R/F':>12} "
             f"{'es R/F':>12} {'indirect R/F':>14}"]
    for name, build_x in candidates(examples).items():
        scores = out_of_fold(build_x(), labels)
        t, o, recall, fpr = choose(curve(examples, scores), max_fpr)
        figs = slice_figures(examples, decide(examples, scores, t, o))
        cells = [f"{figs[k]['recall']}/{figs[k]['fpr']}"
                 for k in ("en", "es", "indirect+hard negatives")]
        lines.append(f"{name:36} {t:4.2f}/{o:4.2f} {recall:7.3f} {fpr:6.3f} {cells[0]:>12} "
                     f"{cells[1]:>12} {cells[2]:>14}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m peerline.crisis.train``."""
    parser = argparse.ArgumentParser(prog="python -m peerline.crisis.train",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--train-dir", default=str(TRAIN_DIR))
    parser.add_argument("--out", default=str(classifier.MODEL_DIR))
    parser.add_argument("--max-fpr", type=float, default=MAX_FPR)
    parser.add_argument("--compare", action="store_true",
                        help="print out-of-fold figures for every candidate; write nothing")
    args = parser.parse_args(argv)
    files = training_files(Path(args.train_dir))
    if args.compare:
        print(compare(files, args.max_fpr))
        return 0
    meta = build(files, Path(args.out), args.max_fpr)
    op, oof = meta["operating_point"], meta["out_of_fold"]
    print(f"{meta['rows']} rows ({meta['crisis_rows']} crisis) from {len(files)} files")
    print(f"threshold {op['threshold']:.2f} (watch {op['watch']:.2f}, overrule "
          f"{op['overrule']:.3f}): out of fold recall {oof['recall']:.3f} FPR {oof['fpr']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
