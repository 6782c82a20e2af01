"""``python -m peerline.crisis.evaluate [CSV] [--show] [--curve]``: score the detector.

The CSV has columns ``text,lang,label`` (label: a crisis category or ``none``) and
optionally ``slice`` (the blind sets' ``direct_en``, ``indirect_es``...). Prints recall,
precision and false-positive rate over all rows, per language, per slice and per
category, plus how often the reported category equals the label. ``--curve`` prints the
trade-off of the line's decision ("the lexicon matched, or the classifier's P(crisis)
≥ t") over t, marking the shipped operating point. ``--show`` lists every miss and false
alarm. ``--model 0`` scores the lexicon alone. Always exits 0 (it is a report, not a
gate; the tests hold the thresholds).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from . import classifier
from .detector import detect, scan_lexicon
from .verdict import CATEGORIES

DEFAULT_CSV = Path("tests/data/crisis_dev.csv")


@dataclass
class Scores:
    """Counts for one slice of a labelled set."""

    tp: int = 0  # crisis row detected as a crisis
    fn: int = 0  # crisis row missed
    fp: int = 0  # benign row flagged
    tn: int = 0  # benign row not flagged
    same_category: int = 0  # detected crisis rows whose category equals the label

    @property
    def positives(self) -> int:
        """Rows labelled with a crisis category."""
        return self.tp + self.fn

    @property
    def negatives(self) -> int:
        """Rows labelled ``none``."""
        return self.fp + self.tn

    @property
    def recall(self) -> float | None:
        """Share of crisis rows flagged."""
        return self.tp / self.positives if self.positives else None

    @property
    def precision(self) -> float | None:
        """Share of flagged rows that are crises."""
        flagged = self.tp + self.fp
        return self.tp / flagged if flagged else None

    @property
    def fpr(self) -> float | None:
        """Share of benign rows flagged."""
        return self.fp / self.negatives if self.negatives else None

    @property
    def category_accuracy(self) -> float | None:
        """Share of caught crises reported with their label's category."""
        return self.same_category / self.tp if self.tp else None


@dataclass
class Row:
    """One labelled row and the detector's verdict."""

    text: str
    lang: str
    label: str
    crisis: bool
    category: str | None
    detected_lang: str
    slice: str = ""
    score: float | None = None  # the classifier's P(crisis), when it ran
    lexicon_hit: bool = False  # the lexicon alone flagged it
    lexicon_category: str | None = None  # the category the lexicon matched, if any


def read_rows(path: str | Path) -> list[tuple[str, str, str, str]]:
    """Rows ``(text, lang, label, slice)`` of a labelled CSV."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        out = []
        for rec in reader:
            label = (rec.get("label") or "none").strip()
            if label not in CATEGORIES and label != "none":
                raise ValueError(f"{path}: unknown label {label!r}")
            out.append((rec["text"], (rec.get("lang") or "").strip(), label,
                        (rec.get("slice") or "").strip()))
        return out


def run(rows: list[tuple[str, str, str, str]], model: str | None = None) -> list[Row]:
    """Run the detector on each row (the row's language is *not* passed as a hint)."""
    out = []
    for text, lang, label, slice_ in rows:
        d = detect(text, model=model)
        lexicon_hit = d.source == "lexicon" and d.crisis or d.source == "overruled"
        lexicon_category = (d.category if d.source == "lexicon" else
                            scan_lexicon(text).category if lexicon_hit else None)
        out.append(Row(text, lang, label, d.crisis, d.category, d.lang, slice_, d.score,
                       lexicon_hit, lexicon_category))
    return out


def trade_off(results: list[Row], grid: list[float] | None = None,
              overrule: dict[str, float] | None = None) -> list[tuple[float, float, float]]:
    """(t, recall, FPR) of the line's decision over ``grid``: a lexicon match of category
    c unless P(crisis) < ``overrule[c]`` (never above t), else P(crisis) ≥ t."""
    points = []
    levels = overrule or {}
    for t in grid or [i / 20 for i in range(1, 20)] + [0.97, 0.99]:
        s = Scores()
        for r in results:
            score = r.score if r.score is not None else 0.0
            floor = min(levels.get(r.lexicon_category or "", 0.0), t)
            flagged = score >= floor if r.lexicon_hit else score >= t
            _count(s, Row(r.text, r.lang, r.label, flagged, r.label, r.lang))
        points.append((t, s.recall or 0.0, s.fpr or 0.0))
    return sorted(points)


def figures(results: list[Row]) -> dict[str, dict[str, float | int | None]]:
    """Recall and FPR of every slice, rounded, as the suite's guard records them."""
    out = {}
    for key, s in score(results).items():
        if key == "all" or key.startswith(("lang:", "slice:")):
            out[key] = {"recall": None if s.recall is None else round(s.recall, 3),
                        "fpr": None if s.fpr is None else round(s.fpr, 3),
                        "crisis_rows": s.positives, "benign_rows": s.negatives}
    return out


def curve_report(results: list[Row]) -> str:
    """The trade-off curve of each language guess as text, its shipped point marked."""
    model = classifier.shipped()
    overrule = model.overrule if model is not None else {}
    shown = ", ".join(f"{c} {o:.2f}" for c, o in sorted(overrule.items())) or "never"
    lines = [f"trade-off: flagged = lexicon matched (unless P(crisis) < its category's "
             f"overrule level: {shown}), else P(crisis) >= t (per language guess)"]
    for lang in classifier.LANGUAGES:
        rows = [r for r in results if r.detected_lang == lang]
        if not rows:
            continue
        chosen = round(model.threshold_for(lang), 2) if model is not None else None
        grid = sorted({*(i / 20 for i in range(1, 20)), 0.97, 0.99,
                       *([chosen] if chosen is not None else [])})
        lines.append(f"{lang} ({len(rows)} rows)\n{'t':>5} {'recall':>7} {'FPR':>7}")
        for t, recall, fpr in trade_off(rows, grid, overrule):
            mark = "  <- shipped operating point" if chosen is not None and abs(
                t - chosen) < 1e-9 else ""
            lines.append(f"{t:5.2f} {recall:7.3f} {fpr:7.3f}{mark}")
    return "\n".join(lines)


def score(results: list[Row]) -> dict[str, Scores]:
    """Scores keyed by ``all``, ``lang:xx`` and ``category:name``.

    Benign rows count as negatives of every language slice they belong to and of every
    category slice (a false alarm of category c counts as c's false positive).
    """
    table: dict[str, Scores] = {"all": Scores()}
    for r in results:
        keys = ["all", f"lang:{r.lang}"] + ([f"slice:{r.slice}"] if r.slice else [])
        for key in keys:
            s = table.setdefault(key, Scores())
            _count(s, r)
        if r.label != "none":
            _count(table.setdefault(f"category:{r.label}", Scores()), r)
        for cat in CATEGORIES:
            s = table.setdefault(f"category:{cat}", Scores())
            if r.label == "none":
                if r.crisis and r.category == cat:
                    s.fp += 1
                else:
                    s.tn += 1
    return table


def _count(s: Scores, r: Row) -> None:
    if r.label != "none":
        if r.crisis:
            s.tp += 1
            s.same_category += r.category == r.label
        else:
            s.fn += 1
    elif r.crisis:
        s.fp += 1
    else:
        s.tn += 1


def _fmt(x: float | None) -> str:
    return "   -  " if x is None else f"{x:6.3f}"


def report(results: list[Row], show: bool = False) -> str:
    """The printed report."""
    table = score(results)
    lines = [f"{'slice':28} {'n+':>4} {'n-':>4} {'recall':>7} {'precis':>7} {'FPR':>7} "
             f"{'cat=lbl':>7}"]
    keys = ["all"] + sorted(k for k in table if k.startswith(("lang:", "slice:"))) + [
        f"category:{c}" for c in CATEGORIES]
    for key in keys:
        s = table.get(key, Scores())
        lines.append(f"{key:28} {s.positives:4d} {s.negatives:4d} {_fmt(s.recall):>7} "
                     f"{_fmt(s.precision):>7} {_fmt(s.fpr):>7} "
                     f"{_fmt(s.category_accuracy):>7}")
    lang_ok = sum(1 for r in results if r.lang in ("en", "es") and r.detected_lang == r.lang)
    lang_n = sum(1 for r in results if r.lang in ("en", "es"))
    if lang_n:
        lines.append(f"language guess accuracy: {lang_ok / lang_n:.3f} ({lang_ok}/{lang_n})")
    lines.append("category slices: recall = rows of that label flagged as any crisis; "
                 "FPR = benign rows flagged as that category; cat=lbl = reported category "
                 "equals the label")
    if show:
        for r in results:
            if r.label != "none" and not r.crisis:
                lines.append(f"MISS  [{r.lang} {r.label}] {r.text}")
            elif r.label == "none" and r.crisis:
                lines.append(f"FALSE [{r.lang} {r.category}] {r.text}")
            elif r.label != "none" and r.category != r.label:
                lines.append(f"CAT   [{r.lang} {r.label} -> {r.category}] {r.text}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m peerline.crisis.evaluate``."""
    parser = argparse.ArgumentParser(prog="python -m peerline.crisis.evaluate",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", default=str(DEFAULT_CSV))
    parser.add_argument("--show", action="store_true", help="list misses and false alarms")
    parser.add_argument("--curve", action="store_true", help="print the trade-off curve")
    parser.add_argument("--model", default=None, help="0 scores the lexicon alone")
    parser.add_argument("--record", metavar="JSON",
                        help="write recall and FPR per slice (the suite's regression guard)")
    args = parser.parse_args(argv)
    results = run(read_rows(args.csv), model=args.model)
    print(f"{args.csv}: {len(results)} rows")
    print(report(results, show=args.show))
    if args.curve:
        print(curve_report(results))
    if args.record:
        Path(args.record).write_text(json.dumps(figures(results), indent=1, sort_keys=True)
                                     + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
