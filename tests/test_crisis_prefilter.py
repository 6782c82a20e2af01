"""The lexicon's RE2 prefilter (``Lexicon.may_match``) never rules out a message the full
scan would find a crisis phrase in (pure: no app, no database).

Texts come from the lexicon's own phrases (multiplied out from the phrase syntax, as
``bench/crisis_bench.py`` does for its baseline) in the spellings the detector reads:
upper case, leetspeak, repeated letters, accents, spaced letters, words run together,
apostrophes, inside other text and glued to other letters.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
for _p in (ROOT, ROOT / "bench"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from crisis_bench import _expand, make_messages  # noqa: E402

from peerline.crisis import CATEGORIES, load_lexicons, scan_lexicon  # noqa: E402
from peerline.crisis.filters import _matches  # noqa: E402
from peerline.crisis.lexicon import Lexicon, _current_lexicon  # noqa: E402
from peerline.crisis.normalise import _ALNUM_RUN, _COLLAPSE, _words, normalise  # noqa: E402

LEX = _current_lexicon("")


def _crisis_entries(lex: Lexicon) -> list[int]:
    return [i for i, (_, category, _, _) in enumerate(lex.crisis) if category in CATEGORIES]


def _full_scan_finds(lex: Lexicon, index: int, norm: str) -> bool:
    """Whether entry ``index`` matches ``norm`` as the full scan (``filters._find``)
    searches it: the Python regex, with the word-start check."""
    pattern, _, _, head = lex.crisis[index]
    return next(_matches(pattern, head, norm), None) is not None


def _any_full_scan(lex: Lexicon, norm: str) -> bool:
    return any(_full_scan_finds(lex, i, norm) for i in _crisis_entries(lex))


_LEET = str.maketrans({"o": "0", "e": "3", "i": "1", "a": "4", "s": "$"})
_ACCENT = str.maketrans({"a": "á", "e": "é", "i": "í", "o": "ó", "u": "ú", "n": "ñ"})


def _spellings(phrase: str) -> list[str]:
    """``phrase`` as people type it, in the ways the detector reads."""
    words = phrase.split()
    return [
        phrase,
        phrase.upper(),
        phrase.translate(_LEET),
        "".join(c * 3 if c in "aeiouy" else c for c in phrase),
        phrase.translate(_ACCENT),
        " ".join(phrase[:12]) + phrase[12:],
        ".".join(words[0]) + " " + " ".join(words[1:]) if words else phrase,
        phrase.replace(" ", ""),
        phrase.replace(" ", "  ").replace("i ", "i'"),
        f"ok so honestly, {phrase} tonight!!",
        f"x{phrase}",
        f"{phrase}s and more",
        f"{phrase}_",
        f"_{phrase}",
        f"{phrase} 💀",
    ]


def _phrase_samples(lex: Lexicon, entry_index: int, per_entry: int = 6) -> list[str]:
    entry_phrases = _expand(lex.entries[entry_index].phrase, lex.slots, cap=200)
    step = max(1, len(entry_phrases) // per_entry)
    return [p for p in entry_phrases[::step] if p][:per_entry]


def test_shipped_lexicon_has_a_prefilter_that_rules_out_plain_texts() -> None:
    assert LEX.prefilter is not None
    assert not LEX.may_match(normalise("we watched a movie and cooked dinner together")[0])
    assert LEX.may_match(normalise("i want to kill myself")[0])
    # not ASCII after normalising: left to the full scan
    assert LEX.may_match(normalise("nice day 🙂")[0])


def test_every_crisis_phrase_in_every_spelling_passes_the_prefilter() -> None:
    """For each crisis entry of the lexicon files: its phrases, in each spelling, pass
    whenever the full scan finds the entry in them; and (ASCII texts) pass only when
    the full scan finds some crisis entry (the prefilter is exact, not just safe)."""
    checked = 0
    exact_checked = 0
    for entry_index, entry in enumerate(LEX.entries):
        if entry.category not in CATEGORIES:
            continue
        for phrase in _phrase_samples(LEX, entry_index):
            for text in _spellings(phrase):
                norm = normalise(text)[0]
                passes = LEX.may_match(norm)
                for i in _crisis_entries(LEX):
                    if LEX.origins[i].startswith(entry.source + ":") and _full_scan_finds(
                            LEX, i, norm):
                        assert passes, (LEX.origins[i], text, norm)
                        checked += 1
                if norm.isascii() and entry_index % 5 == 0:
                    assert passes == _any_full_scan(LEX, norm), (text, norm)
                    exact_checked += 1
    assert checked > 5000 and exact_checked > 1000


def test_bench_messages_pass_exactly_when_the_full_scan_finds_a_phrase() -> None:
    for text in make_messages(400, 0.2, seed=11):
        norm = normalise(text)[0]
        assert LEX.may_match(norm) == _any_full_scan(LEX, norm), text


_PIECES = st.sampled_from(sorted({
    p for i, e in enumerate(LEX.entries) if e.category in CATEGORIES
    for p in _phrase_samples(LEX, i, per_entry=2)}))
_FILLER = st.sampled_from(["so", "i", "he", "me", "my", "the", "tonight", "hoy", "ya",
                           "really", "and", "but", "x", "4", "k1ll", "'", "...", "!!"])
_SPELLING = st.sampled_from(range(15))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.tuples(_PIECES, _SPELLING), _FILLER), min_size=1, max_size=6),
       st.sampled_from([" ", "", "  ", ". ", "-", "_", "\n"]))
def test_composed_texts_scan_the_same_with_and_without_the_prefilter(
        parts: list, sep: str) -> None:
    text = sep.join(_spellings(p[0])[p[1]] if isinstance(p, tuple) else p for p in parts)
    norm = normalise(text)[0]
    if _any_full_scan(LEX, norm):
        assert LEX.may_match(norm)
    with_prefilter = scan_lexicon(text, lexicon=LEX)
    saved = LEX.prefilter
    LEX.prefilter = None
    try:
        without = scan_lexicon(text, lexicon=LEX)
    finally:
        LEX.prefilter = saved
    assert with_prefilter == without


def test_a_custom_lexicon_gets_its_own_prefilter(tmp_path: Path) -> None:
    (tmp_path / "extra.txt").write_text(
        "suicidal_intent | zorbify my (tentacles | flumps)\n", encoding="utf-8")
    lex = load_lexicons(tmp_path)
    assert lex.prefilter is not None
    assert lex.may_match(normalise("I will ZORBIFY my flummmps")[0])
    assert not lex.may_match(normalise("unzorbify my tentacles")[0])
    assert scan_lexicon("I will zorbify my tentacles", lexicon=lex).category == (
        "suicidal_intent")


@pytest.mark.parametrize("norm", ["", "a", "_", "kill", "i want to die", "x" * 5000])
def test_odd_search_strings(norm: str) -> None:
    assert LEX.may_match(norm) == _any_full_scan(LEX, norm)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x2FF), max_size=60))
def test_words_split_as_the_alnum_regex_finds_them(text: str) -> None:
    """``_words``' ASCII shortcut (translate + split) gives ``[a-z0-9]+``'s words."""
    norm = normalise(text)[0]
    col, tokens = _words(norm)
    assert col == _COLLAPSE.sub("", norm)
    assert tokens == _ALNUM_RUN.findall(col)
