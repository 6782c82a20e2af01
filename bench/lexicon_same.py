"""Frozen-output check for the crisis lexicon path (no classifier).

    .venv/bin/python bench/lexicon_same.py record /tmp/lexicon_out.txt
    .venv/bin/python bench/lexicon_same.py compare /tmp/lexicon_out.txt

Runs ``scan_lexicon`` and ``detect(model="0")`` over every text of
``data/crisis/train/*.csv``, ``tests/data/crisis_dev.csv`` and the bench's generated
messages, alone, after the previous text (``previous=``), with a Spanish hint, and in a
few rewritten forms (upper case, spaced letters, accents, leetspeak), and writes one line
of output a case (crisis, category, lang, matches with spans, the classifier's input
words and features; matches over the same span sorted by category, see
:func:`_canonical`). ``compare`` reports the first lines that differ: a speed change
to the lexicon must leave every line as it was.
"""

from __future__ import annotations

import csv
import itertools
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from crisis_bench import make_messages  # noqa: E402

from peerline.crisis import Match, detect, scan_lexicon  # noqa: E402


def texts() -> list[str]:
    """Every text the check runs (the blind set is never read)."""
    out: list[str] = []
    files = sorted((ROOT / "data" / "crisis" / "train").glob("*.csv"))
    files.append(ROOT / "tests" / "data" / "crisis_dev.csv")
    for path in files:
        with path.open(encoding="utf-8", newline="") as fh:
            out.extend(row["text"] for row in csv.DictReader(fh))
    out.extend(make_messages(8000, 0.05))
    return out


def _variants(text: str) -> Iterator[str]:
    yield text
    yield text.upper()
    yield " ".join(text[:40]) + text[40:]
    yield text.replace("a", "á").replace("o", "0").replace("i", "!")
    yield text.replace(" ", "  ").replace("e", "3") + " 💀"


def _canonical(matches: tuple[Match, ...]) -> list[tuple[str, int, int, str]]:
    """Matches in their order, those over the very same span sorted by category: the
    unchanged code left such ties in set order, which varies with ``PYTHONHASHSEED``."""
    out: list[tuple[str, int, int, str]] = []
    for _, group in itertools.groupby(matches, key=lambda m: (m.start, m.end)):
        out.extend(sorted((m.text, m.start, m.end, m.category) for m in group))
    return out


def lines() -> Iterator[str]:
    """One output line a case."""
    all_texts = texts()
    previous = ""
    for n, text in enumerate(all_texts):
        cases = [(v, None, None) for v in _variants(text)] if n % 7 == 0 else [
            (text, None, None)]
        cases.append((text, "es", previous or None))
        for t, hint, prev in cases:
            d = detect(t, hint, prev, model="0")
            p = scan_lexicon(t, hint, prev)
            yield repr((t, hint, prev, d.crisis, d.category, d.lang,
                        _canonical(d.matches),
                        p.words, sorted(p.features)))
        previous = text


def main() -> int:
    mode, path = sys.argv[1], Path(sys.argv[2])
    if mode == "record":
        path.write_text("\n".join(lines()) + "\n", encoding="utf-8")
        return 0
    want = path.read_text(encoding="utf-8").splitlines()
    got = list(lines())
    bad = [i for i, (a, b) in enumerate(zip(want, got, strict=False)) if a != b]
    if len(want) != len(got):
        print(f"line count differs: {len(want)} recorded, {len(got)} now")
    for i in bad[:10]:
        print(f"line {i}:\n  was {want[i]}\n  now {got[i]}")
    print(f"{len(got)} cases, {len(bad)} differ")
    return 1 if bad or len(want) != len(got) else 0


if __name__ == "__main__":
    raise SystemExit(main())
