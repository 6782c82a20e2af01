"""The labelled messages the crisis model learns from (and the blind sets it is scored on).

Every labelled CSV under ``data/crisis/train/`` (columns ``text,lang,label`` and, where
the writer gave them, ``kind,source``) plus ``tests/data/crisis_dev.csv``, each row with
what the lexicon made of it.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .detector import scan_lexicon
from .verdict import CATEGORIES

ROOT = Path(__file__).resolve().parents[2]
TRAIN_DIR = ROOT / "data" / "crisis" / "train"
DEV_CSV = ROOT / "tests" / "data" / "crisis_dev.csv"


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
    group: int = 0  # rows that must share a fold (a writer's twin pair)

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
    ``dedupe=False``). Two neighbouring rows of a file on opposite sides of the line
    share a ``group``: writers of minimal pairs put a twin next to its other half, and
    the halves must not be split across folds."""
    seen: set[str] = set()
    out: list[Example] = []
    group = 0
    for path in files:
        open_pair = False  # the previous kept row of this file still waits for a twin
        for row in read_csv(path):
            text = row["text"]
            key = " ".join(text.lower().split())
            if not key or (dedupe and key in seen):
                continue
            seen.add(key)
            label = row["label"].strip()
            if open_pair and (label == "none") != (out[-1].label == "none"):
                open_pair = False  # this row is the twin of the previous one
            else:
                group += 1
                open_pair = True
            lex = scan_lexicon(text)
            out.append(Example(text, (row.get("lang") or "en").strip(), label,
                               (row.get("kind") or "").strip(),
                               (row.get("source") or path.stem).strip(),
                               lex.words, lex.features, lex.lang,
                               (row.get("slice") or "").strip(), lex.category or "", group))
    return out


def repo_name(path: Path) -> str:
    """``path`` relative to the repository when inside it."""
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def sha256(path: Path) -> str:
    """The hex digest of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
