"""The crisis decision for one message: the lexicon, then the learned classifier.

1. **Normalise** (``normalise.py``) the message into a search string with a map back to
   the original offsets.
2. **Match** lexicon phrases (``phrases.py`` compiles them, ``lexicon.py`` indexes them
   by anchor words so only phrases whose anchors occur are tried; before that, one RE2
   search of every crisis phrase, ``Lexicon.may_match``, rules out most messages).
3. **Filter** (``filters.py``): benign idioms, calm past accounts, weak phrases alone.
4. **Classify** (``classifier.py``): where the lexicon is silent the classifier decides
   and names the category; it may drop a lexicon match only below the ``overrule``
   level of its category, chosen at training time to silence at most 0.5% of that
   category's lexicon-caught crises out of fold (none of danger now).

Everything is loaded once, lazily, and cached; ``detect`` itself does no I/O.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

from . import classifier
from .filters import _find
from .language import _guess, guess_language
from .lexicon import Lexicon, _current_lexicon
from .normalise import _to_original, _words, normalise
from .verdict import SEVERITY, Detection, Match

#: ``0`` switches the learned classifier off (it is on by default).
ENV_MODEL = "PEERLINE_CRISIS_MODEL"


_RANK = {cat: i for i, cat in enumerate(SEVERITY)}

#: A joke taken back ("i wanna die lol but like actually", "me quiero morir jaja pero en
#: serio", "no es broma"), read on the normalised, letter-collapsed words: the classifier
#: may not overrule a lexicon match in such a message, whose "lol" or "jaja" it weighs as
#: a joke (round 8: sets B and J lost both to the overrule at P 0.01-0.09).
_TAKEN_BACK = re.compile(
    r"\b(?:but|pero|bt)\s+(?:like\s+|lik\s+|lo digo\s+)?(?:actual+y|for real|fr|seriously"
    r"|serious|srsly|deadas+|en serio|enserio|de verdad|neta|de veras)\b"
    r"|\bno (?:es|estoy) (?:broma|bromeando|jugando|chiste)\b|\bnot (?:joking|joke|kiding)\b"
    r"|\bno joke\b|\bim (?:serious|not joking|not kiding)\b|\b(?:hablo|lo digo) en serio\b"
)
#: A relapse said outright ("the urges are back", "relapsed", "recaí"): the lexicon
#: already judged the match present over a past account; round 10's model overruled
#: "I used to self harm, and the urges are back", so it never may.
_RELAPSE = re.compile(
    r"\b(?:urges?|it|the thoughts|thoughts|the cutting|cutting) (?:is|are|s|re) back\b"
    r"|\brelaps(?:ed|ing|e)\b|\breca(?:i|ido|yendo)\b|\bvolvieron las ganas\b"
    r"|\bvolvi a (?:cortarme|lastimarme|hacerme dano)\b"
)
#: The fewest words a message needs before the classifier may overrule a lexicon match:
#: a phrase with no context around it ("me autolesiono", "fatal dose?") gives the
#: n-grams too little to weigh, and training has almost no crisis rows that short
#: (on sets A-Q the overrule was wrong both times it dropped a text of three words or
#: fewer, and never right).
MIN_WORDS_TO_OVERRULE = 4
_NO_FEATURES: frozenset[str] = frozenset()


def _drop_contained(matches: list[Match]) -> list[Match]:
    """Drop a match lying inside another match of the same or a more severe category."""
    rank = {cat: i for i, cat in enumerate(SEVERITY)}
    out = []
    for m in matches:
        inside = any(
            o is not m and o.start <= m.start and m.end <= o.end
            and (o.start, o.end) != (m.start, m.end) and rank[o.category] <= rank[m.category]
            for o in matches
        )
        if not inside:
            out.append(m)
    return out


@dataclass(frozen=True)
class LexiconPass:
    """What the lexicon made of a message, and what the classifier reads of it."""

    lang: str
    matches: tuple[Match, ...]
    category: str | None
    words: str  # the message's normalised, letter-collapsed text (the classifier's input)
    features: frozenset[str]  # the lexicon's verdict as classifier features


def scan_lexicon(text: str, lang_hint: str | None = None, previous: str | None = None,
                 *, lexicon: Lexicon | None = None,
                 lexicon_dir: str | None = None) -> LexiconPass:
    """The lexicon half of :func:`detect` (pure, no classifier)."""
    lex = lexicon if lexicon is not None else _current_lexicon(lexicon_dir)
    if previous:
        combined = previous + "\n" + text
        offset = len(previous) + 1
    else:
        combined = text
        offset = 0
    norm, smap = normalise(combined)
    col, tokens = _words(norm)
    lang = _guess(set(tokens), text, lang_hint) if not offset else guess_language(
        text, lang_hint)
    if not lex.may_match(norm):
        # most messages: no crisis phrase can match (one RE2 search said so), so no
        # anchor look-ups, phrase searches or filters
        return LexiconPass(lang, (), None, _words(normalise(text)[0])[0] if offset else col,
                           _NO_FEATURES)
    cands, any_phrase = _find(lex, norm, text, col, tokens)
    matches: list[Match] = []
    strong: set[Match] = set()
    seen: set[tuple[int, int, str]] = set()
    # the same span in two categories: the more severe first (the candidates come in
    # set order, which is not stable from one process to the next)
    for c in sorted(cands, key=lambda c: (c.start, -c.end, c.flag != "strong",
                                          _RANK[c.category])):
        o_start, o_end = _to_original(combined, smap, c.start, c.end)
        if o_end <= offset:
            continue  # wholly inside the previous message
        start = max(0, o_start - offset)
        end = o_end - offset
        key = (start, end, c.category)
        if key in seen:
            continue
        seen.add(key)
        match = Match(text[start:end], start, end, c.category)
        matches.append(match)
        if c.flag == "strong":
            strong.add(match)
    matches = _drop_contained(matches)
    category = None
    if matches:
        # weak phrases only choose the category when no strong phrase matched
        found = {m.category for m in matches if m in strong} or {m.category for m in matches}
        category = next(cat for cat in SEVERITY if cat in found)
    words = _words(normalise(text)[0])[0] if offset else col
    return LexiconPass(lang, tuple(matches), category, words,
                       lexicon_features(matches, any_phrase))


def model_enabled(setting: str | bool | None = None) -> bool:
    """Whether the learned classifier takes part: on unless switched off by ``setting``
    (a config value) or, when that is None, by ``PEERLINE_CRISIS_MODEL=0``."""
    if isinstance(setting, bool):
        return setting
    raw = os.environ.get(ENV_MODEL, "1") if setting is None else setting
    return str(raw).strip().lower() not in ("0", "off", "false", "no")


def detect(text: str, lang_hint: str | None = None, previous: str | None = None,
           *, lexicon: Lexicon | None = None, model: str | bool | None = None,
           lexicon_dir: str | None = None) -> Detection:
    """Scan one message for crisis language: the lexicon, then the learned classifier.

    ``previous`` is the same person's previous message: a phrase split across the two
    ("I want to" / "die") is caught, and matches are reported with offsets into
    ``text`` (spans that begin in ``previous`` are clipped to start at 0).

    The classifier (on unless ``model`` or ``PEERLINE_CRISIS_MODEL`` says ``0``; never
    with a custom ``lexicon``) decides where the lexicon is silent, names the category,
    and may drop a lexicon match it finds unlikely (below the ``overrule`` level of the
    match's category, chosen at training time to give up at most a small share of
    that category's lexicon-caught crises out of fold). The app
    passes its settings in (``model``, ``lexicon_dir``); when they are None the
    environment is read (the shell tools).
    """
    lexicon_pass = scan_lexicon(text, lang_hint, previous, lexicon=lexicon,
                                lexicon_dir=lexicon_dir)
    lang, matches, category = lexicon_pass.lang, lexicon_pass.matches, lexicon_pass.category
    clf = _classifier() if lexicon is None and model_enabled(model) else None
    if clf is None:
        return Detection(bool(matches), category, lang, matches)
    verdict = clf.predict(lexicon_pass.words, lexicon_pass.features, raw=text, lang=lang)
    if matches:
        # A phrase split over two texts is the lexicon's call: the classifier reads only
        # the new text ("die"), so it must not overrule what the two say together; nor a
        # joke the message itself takes back.
        if (verdict.probability < clf.overrule_for(category, lang) and not previous
                and len(lexicon_pass.words.split()) >= MIN_WORDS_TO_OVERRULE
                and not _TAKEN_BACK.search(lexicon_pass.words)
                and not _RELAPSE.search(lexicon_pass.words)):
            return Detection(False, None, lang, (), watch=True, score=verdict.probability,
                             source="overruled")
        return Detection(True, category, lang, matches, score=verdict.probability)
    if verdict.probability >= clf.threshold_for(lang):
        whole = _trimmed(text)
        return Detection(True, verdict.category, lang,
                         (Match(text[whole[0]:whole[1]], *whole, verdict.category),),
                         score=verdict.probability, source="model")
    return Detection(False, None, lang, (), watch=verdict.probability >= clf.watch_for(lang),
                     score=verdict.probability, source="model")


def lexicon_features(matches: Iterable[Match], any_phrase: bool) -> frozenset[str]:
    """The lexicon's verdict as the classifier's indicator features."""
    kept = frozenset(m.category for m in matches)
    return kept if kept or not any_phrase else frozenset({"filtered"})


def _trimmed(text: str) -> tuple[int, int]:
    """Bounds of ``text`` without surrounding white space."""
    start, end = 0, len(text)
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _classifier() -> classifier.Classifier | None:
    return classifier.shipped()
