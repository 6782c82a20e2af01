"""Finding crisis candidates and filtering them: benign idioms, calm past accounts,
weak phrases that need another signal."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass

from .lexicon import TOKEN_CACHE_SIZE, Lexicon, TokenEntries
from .normalise import _ALNUM_RUN
from .verdict import CATEGORIES, INTERNAL_CATEGORIES

_SHORT_WORDS = 3


_SENTENCE_END = re.compile(r"[.!?;\n]+")
_PRESENT_REACH = 60  # characters between a past account and a relapse cue after it
_PAST_REACH = 50  # characters between a past marker and the match it makes past
_PASTVERB_REACH = 30
_INTENT_WINDOW = 25  # characters before a match searched for present intent
_INTENT = re.compile(
    r"\b(?:want|wanna|wana|gonna|going to|finna|will|ll|im|i am|about to|ready to|need to"
    r"|plan(?:ning)? to|tonight|right now|rn|keep|cant|cannot|quiero|quisiera|voy a"
    r"|tengo ganas|ahora|hoy|esta noche|sigo|todavia)\b"
)
_HABIT = re.compile(r"\b(?:used to|use to|solia|antes)\b")


def _is_past_account(c: _Cand, norm: str, markers: list[tuple[int, int, int]],
                     present: list[tuple[int, int]], clauses: list[int],
                     sentences: list[int]) -> bool:
    """Whether a crisis match is part of a calm account of the past.

    It is when a past marker sits in the same clause, close to the match; unless the
    words just before the match state present intent ("I want to...", "quiero") or a
    present / relapse cue ("again", "urges") follows close by in the same sentence.
    """
    clause = _segment(clauses, c.start)
    if not any(_segment(clauses, s) == clause
               and (c.start - reach <= e and s <= c.end + reach)
               for s, e, reach in markers):
        return False
    window = norm[max(0, c.start - _INTENT_WINDOW):c.end]
    if _INTENT.search(window) and not _HABIT.search(window):
        return False
    sentence = _segment(sentences, c.start)
    return not any(_segment(sentences, s) == sentence
                   and c.start <= s <= c.end + _PRESENT_REACH for s, _ in present)
_CLAUSE_SPLIT = re.compile(
    r"[.!?;\n]+|\b(?:but|pero|however|sin embargo|aunque|though|although|now|ahora"
    r"|(?<!ago )(?<!ago, )today"  # "two years ago today i tried...": one clause, a past one
    r"|hoy|tonight|esta noche|lately|recently|ultimamente|these days|estos dias)\b"
)
_WORD = re.compile(r"\w+")


@dataclass
class _Cand:
    start: int
    end: int
    category: str
    flag: str
    keep: bool = True


def _bounds(pattern: re.Pattern[str], norm: str) -> list[int]:
    return [0] + [m.end() for m in pattern.finditer(norm)] + [len(norm) + 1]


def _segment(bounds: list[int], pos: int) -> int:
    return bisect.bisect_right(bounds, pos)


def _matches(pattern: re.Pattern[str], head: bool, norm: str) -> Iterator[tuple[int, int]]:
    """Non-empty matches of ``pattern``; with ``head``, only those at a word start."""
    pos = 0
    n = len(norm)
    while pos <= n:
        m = pattern.search(norm, pos)
        if m is None:
            return
        start, end = m.span()
        if head and start > 0 and (norm[start - 1].isalnum() or norm[start - 1] == "_"):
            pos = start + 1
            continue
        if end > start:
            yield start, end
            pos = end
        else:
            pos = start + 1


def _spans(patterns: list[tuple[re.Pattern[str], bool]], norm: str
           ) -> list[tuple[int, int]]:
    return [span for p, head in patterns for span in _matches(p, head, norm)]


def _overlaps(a: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(s < a[1] and a[0] < e for s, e in spans)


_CRISIS_SET = frozenset(CATEGORIES)


_LONG_TOKEN = 8


def _candidate_entries(lex: Lexicon, norm: str, tokens: list[str], col: str) -> set[int]:
    """Indices of the entries whose anchor words occur in ``norm``.

    ``col`` is ``norm`` with doubled letters collapsed and ``tokens`` its words. In an
    ASCII ``col`` without ``_`` every token starts at a word boundary, so the look-ups
    are done per token and cached (:func:`_token_entries`); otherwise the message is
    scanned as a whole (:func:`_candidate_entries_scan`), with the same result.
    """
    if not col.isascii() or "_" in col:
        return _candidate_entries_scan(lex, norm, tokens, col)
    tokset = set(tokens)
    ids: set[int] = set(lex.always)
    paired: list[tuple[int, frozenset[str]]] = []
    cache = lex.token_cache
    for tok in tokset:
        hit = cache.get(tok)
        if hit is None:
            hit = _token_entries(lex, tok)
        if hit is _NO_ENTRIES:
            continue  # most words anchor nothing
        ids |= hit.free
        ids |= hit.inner
        if hit.paired:
            paired.extend(hit.paired)
    # a phrase with two required words runs only when the second is here too
    for i, second in paired:
        if i not in ids and not second.isdisjoint(tokset):
            ids.add(i)
    return ids


_NO_ENTRIES = TokenEntries(frozenset(), (), frozenset())


def _token_entries(lex: Lexicon, tok: str) -> TokenEntries:
    """The entries ``tok`` anchors (cached on ``lex``); ``tok`` starts a word."""
    hit = lex.token_cache.get(tok)
    if hit is not None:
        return hit
    found: set[int] = set(lex.word_index.get(tok, ()))
    if lex.stem_re is not None and lex.stem_re.match(tok):
        for length in lex.stem_lengths:
            found.update(lex.stem_index.get(tok[:length], ()))
    inner: set[int] = set()
    if lex.inner_re is not None and len(tok) >= _LONG_TOKEN:
        for m in lex.inner_re.finditer(tok):
            inner.update(lex.inner_index[m.group(0)])
    second = lex.second
    hit = TokenEntries(
        frozenset(i for i in found if second[i] is None),
        tuple((i, s) for i in sorted(found) if (s := second[i]) is not None),
        frozenset(inner)) if found or inner else _NO_ENTRIES
    if len(lex.token_cache) >= TOKEN_CACHE_SIZE:
        lex.token_cache.clear()
    lex.token_cache[tok] = hit
    return hit


def _candidate_entries_scan(lex: Lexicon, norm: str, tokens: list[str], col: str
                            ) -> set[int]:
    """:func:`_candidate_entries` by scanning the whole message (any text)."""
    ids: set[int] = set()
    word_index = lex.word_index
    tokset = set(tokens)
    for tok in word_index.keys() & tokset:
        ids.update(word_index[tok])
    if lex.stem_re is not None:
        for m in lex.stem_re.finditer(col):
            word = _ALNUM_RUN.match(col, m.start())
            tok = word.group(0) if word else m.group(0)
            for length in lex.stem_lengths:
                hit = lex.stem_index.get(tok[:length])
                if hit:
                    ids.update(hit)
    if lex.emoji_re is not None and not norm.isascii():
        for ch in lex.emoji_re.findall(norm):
            ids.update(lex.emoji_index[ch])
    if ids:
        # a phrase with two required words runs only when the second is here too
        second = lex.second
        ids = {i for i in ids if second[i] is None or not second[i].isdisjoint(tokset)}
    ids.update(lex.always)
    if lex.inner_re is not None:
        # words run together ("killmyself", "wanttodie"): look inside long tokens
        joined = " ".join([t for t in tokens if len(t) >= _LONG_TOKEN])
        if joined:
            for m in lex.inner_re.finditer(joined):
                ids.update(lex.inner_index[m.group(0)])
    return ids


def _find(lex: Lexicon, norm: str, text: str, col: str, tokens: list[str]
          ) -> tuple[list[_Cand], bool]:
    """Crisis candidates in ``norm`` after the benign / past / weak filters.

    The flag says whether any crisis phrase matched before the filters: then the
    lexicon has made its call (the classifier may overrule it only at its ``overrule``
    level; see ``detector.detect``).
    """
    cands: list[_Cand] = []
    filters: list[int] = []
    compiled = lex.crisis
    for index in _candidate_entries(lex, norm, tokens, col):
        pattern, category, flag, head = compiled[index]
        if category not in _CRISIS_SET:
            filters.append(index)
            continue
        if pattern.search(norm) is None:
            continue  # the usual case: no generator for a phrase that is not there
        for start, end in _matches(pattern, head, norm):
            cands.append(_Cand(start, end, category, flag))
    if not cands:
        return cands, False
    internal: dict[str, list[tuple[re.Pattern[str], bool]]] = {
        c: [] for c in INTERNAL_CATEGORIES}
    for index in filters:
        pattern, category, _, head = compiled[index]
        internal[category].append((pattern, head))
    benign = _spans(internal["benign"], norm)
    present = [p for p in _spans(internal["present"], norm) if not _overlaps(p, benign)]
    for c in cands:
        if benign and _overlaps((c.start, c.end), benign):
            c.keep = False
    past = _spans(internal["past"], norm)
    recovery = _spans(internal["recovery"], norm)
    if past or recovery:
        clauses = _bounds(_CLAUSE_SPLIT, norm)
        sentences = _bounds(_SENTENCE_END, norm)
        markers = [(s, e, _PAST_REACH) for s, e in past]
        if recovery:
            markers += [(s, e, _PASTVERB_REACH) for s, e in _spans(internal["pastverb"], norm)]
        for c in cands:
            if c.keep and _is_past_account(c, norm, markers, present, clauses, sentences):
                c.keep = False
    kept = [c for c in cands if c.keep]
    weak = [c for c in kept if c.flag != "strong"]
    if weak:
        strong_kept = any(c.flag == "strong" for c in kept)
        cues = _spans(internal["cue"], norm)
        for c in weak:
            if strong_kept or len(weak) > 1:
                continue
            if any(s >= c.end or e <= c.start for s, e in cues):
                continue
            if c.flag == "short" and len(text.split()) <= _SHORT_WORDS:
                continue
            c.keep = False
    return [c for c in cands if c.keep], True
