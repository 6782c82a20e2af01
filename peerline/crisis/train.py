"""``python -m peerline.crisis.train``: build the learned classifier from the repo's data.

Reads every labelled CSV under ``data/crisis/train/`` (columns ``text,lang,label`` and,
where the writer gave them, ``kind,source``) plus ``tests/data/crisis_dev.csv``, drops
duplicate texts, and fits the models of :mod:`peerline.crisis.classifier` (scikit-learn):
an n-gram logistic regression, an MLP on ``wordllama`` sentence vectors, and a stacking
logistic regression over their out-of-fold scores and the lexicon's hits (``--kind
ngram`` builds the n-gram regression alone; the pieces live in :mod:`.examples`,
:mod:`.learners` and :mod:`.operating`). The operating point is chosen on
out-of-fold predictions (5-fold, fixed seed, a writer's twin pairs kept in one fold; the
stacker nested, its inputs from inner folds) of the line's whole decision — "the
lexicon matched (category c) unless P < o(c), else P ≥ t(language)": o(c) is the
highest level that silences at most
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
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import classifier
from .examples import TRAIN_DIR, Example, load_examples, repo_name, sha256, training_files
from .learners import (
    FOLDS,
    HIDDEN,
    INNER_FOLDS,
    SEED,
    C,
    candidates,
    embedding_features,
    fit_category,
    fit_crisis,
    fit_mlp,
    fit_stacker,
    folds,
    linear,
    mlp,
    ngram_features,
    out_of_fold,
    stack_inputs,
    stacked_out_of_fold,
)
from .operating import (
    BLIND_SLICES,
    MAX_FPR,
    NO_LOSS,
    OVERRULE_LOSS,
    SLICES,
    blind_figures,
    brier,
    decide,
    operating_point,
    probability,
    slice_figures,
    tradeoff,
)


def fold_groups(examples: Sequence[Example], by: str = "pair") -> list[int]:
    """What must share a fold: a writer's twin pair (``pair``), or everything one writer
    wrote (``writer``: the scores out of fold are then those of a writer the model never
    read, as a blind set's are)."""
    if by == "pair":
        return [e.group for e in examples]
    writers: dict[str, int] = {}
    return [writers.setdefault(e.source, len(writers)) for e in examples]


def build(files: Sequence[Path], out_dir: Path, max_fpr: float = MAX_FPR,
          kind: str = "ngram", loss: float = OVERRULE_LOSS, fpr_on: str = "all",
          folds_by: str = "pair") -> dict:
    """Choose the operating point out of fold, fit on everything, write the files."""
    examples = load_examples(files)
    labels = [e.label for e in examples]
    truth = np.array([e.crisis for e in examples])
    fold = folds(labels, groups=fold_groups(examples, folds_by))
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
    threshold, watch, overrule, points = operating_point(examples, scores, max_fpr, loss,
                                                         fpr_on)
    flagged = decide(examples, scores, threshold, overrule)
    lexicon = np.array([bool(e.category) for e in examples])
    recall, fpr = float(flagged[truth].mean()), float(flagged[~truth].mean())
    crisis_model, category_model = fit_crisis(x, labels), fit_category(x, labels)
    coef = np.vstack([crisis_model.coef_, category_model.coef_])  # type: ignore[attr-defined]
    intercept = np.concatenate([crisis_model.intercept_,  # type: ignore[attr-defined]
                                category_model.intercept_])  # type: ignore[attr-defined]
    meta = {
        "trained_on": [{"file": repo_name(p), "sha256": sha256(p)} for p in files],
        "rows": len(examples),
        "crisis_rows": sum(e.crisis for e in examples),
        "C": C, "seed": SEED, "folds": FOLDS, "inner_folds": INNER_FOLDS, "hidden": HIDDEN,
        "stack_inputs": list(classifier.STACK_INPUTS) if stack is not None else [],
        "operating_point": {"threshold": threshold, "watch": watch,
                            "overrule": overrule, "max_fpr": max_fpr,
                            "overrule_loss": loss, "overrule_no_loss": list(NO_LOSS),
                            "fpr_on": fpr_on, "folds_by": folds_by,
                            "per_language": "the detector's language guess"},
        "out_of_fold": {"recall": round(recall, 3), "fpr": round(fpr, 3),
                        "brier": brier(examples, scores),
                        "slices": slice_figures(examples, flagged),
                        "lexicon_crisis_rows": int((truth & lexicon).sum()),
                        "lexicon_crisis_silenced": int((truth & lexicon & ~flagged).sum()),
                        "lexicon_benign_rows": int((~truth & lexicon).sum()),
                        "lexicon_false_alarms": int((~truth & lexicon & flagged).sum())},
        "tradeoff": tradeoff(examples, scores, fpr_on),
        "curve": {lang: [[t, round(r, 3), round(f, 3)] for t, r, f in pts]
                  for lang, pts in points.items()},
    }
    classifier.save(out_dir, coef, intercept,
                    list(category_model.classes_), meta,  # type: ignore[attr-defined]
                    head, stack)
    return meta


def compare(files: Sequence[Path], max_fpr: float = MAX_FPR, only: Sequence[str] = (),
            blind: Path | None = None) -> str:
    """Out-of-fold figures at the FPR ceiling for every candidate, as a table; with
    ``blind``, a second table: each candidate fitted on every training row and scored on
    the blind set at its out-of-fold operating point (nothing is tuned on it)."""
    examples = load_examples(files)
    fold = folds([e.label for e in examples], groups=[e.group for e in examples])
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
    parser.add_argument("--fpr-on", choices=("all", "hard"), default="all",
                        help="the non-crisis rows the FPR ceiling counts: all, or all but "
                        "the plain everyday (benign) ones")
    parser.add_argument("--kind", choices=("ngram", "stack"), default="ngram",
                        help="the model to build (default: the n-gram LR, the out-of-fold "
                        "winner on the 2026-12-05 data)")
    parser.add_argument("--folds-by", choices=("pair", "writer"), default="pair",
                        help="what shares a fold out of fold: a writer's twin pair, or all "
                        "of one writer's rows (scores as for a writer never read)")
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
    meta = build(files, Path(args.out), args.max_fpr, args.kind, args.overrule_loss,
                 args.fpr_on, args.folds_by)
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
