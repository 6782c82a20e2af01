"""Crisis-language detector: a pure function from a text message to crisis matches.

How it works (see ``peerline/crisis/README.md`` for the coordinator's view):

1. **Normalise** the message into a search string while keeping a map back to the
   original character offsets: accents stripped (NFKD), lower case, apostrophes dropped
   (``don't`` → ``dont``), variation selectors / zero-width joiners dropped, spaced or
   dotted single letters joined (``k i l l`` → ``kill``, ``s.u.i.c.i.d.e`` →
   ``suicide``), and leetspeak mapped inside words (``k1ll mys3lf`` → ``kill myself``;
   numbers such as ``30`` or ``500mg`` are left alone).
2. **Match** lexicon phrases, compiled into one alternation regex per category. Each
   letter of a phrase matches one or more copies of itself, so ``dieeee``, ``kiiill``
   and the misspelling ``kil`` all match; words may be joined or separated by any
   punctuation or white space (``killmyself``, ``kill - myself``, and phrases split
   over two texts when ``previous`` is given).
3. **Filter**: benign idioms (``this homework is killing me``) suppress overlapping
   matches; calm accounts of the past (``I used to self harm years ago``) suppress
   matches in the same clause unless the message also shows a present or relapse cue
   (``again``, ``urge``); *weak* phrases (a bare ``noose``, ``💊``) count only next to
   another signal or in a very short message.

Everything is loaded once, lazily, from the data files in ``lexicons/`` (plus the
directory named by ``PEERLINE_LEXICON_DIR``), and cached.
"""

from __future__ import annotations

import bisect
import functools
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "CATEGORIES",
    "SEVERITY",
    "Detection",
    "Lexicon",
    "LexiconError",
    "Match",
    "detect",
    "guess_language",
    "load_lexicons",
    "normalise",
]

#: The crisis categories, in the order of the public API.
CATEGORIES = ("suicidal_intent", "self_harm", "means", "imminent_danger", "harm_to_others")

#: Most severe first: the category reported for a message is the first one matched here.
#: Danger happening now outranks everything (someone may be hurt in minutes); stated
#: suicidal intent next; a method or means (a plan) outranks self-harm without one;
#: harm to others last (it still escalates, but the hotline script differs).
SEVERITY = ("imminent_danger", "suicidal_intent", "means", "self_harm", "harm_to_others")

#: Categories that steer the filters but never raise a crisis on their own.
#: ``benign``: idioms and safe uses that suppress crisis matches they overlap.
#: ``past``: distal time / habit markers ("used to", "years ago", "in 2015") that make a
#: crisis match in the same clause a calm past account.
#: ``recovery``: "doing better", "therapy helped": with a past-tense cue (``pastverb``)
#: in the clause of a match, the match is a past account.
#: ``pastverb``: "was", "tried", "attempted"...
#: ``present``: "again", "relapse", "urge": a calm past account is not calm after all.
#: ``cue``: words that let a *weak* phrase count ("die", "tonight", "enough to").
INTERNAL_CATEGORIES = ("benign", "past", "recovery", "pastverb", "present", "cue")

#: Flags a lexicon line may carry in its third field.
#: ``weak``: counts only with another crisis match or a ``cue`` in the message.
#: ``short``: like ``weak``, but also counts alone in a message of at most 3 words.
FLAGS = ("strong", "weak", "short")

_SHORT_WORDS = 3
_PACKAGE_LEXICON_DIR = Path(__file__).with_name("lexicons")
ENV_LEXICON_DIR = "PEERLINE_LEXICON_DIR"


class LexiconError(ValueError):
    """A lexicon data file is malformed (the message names the file and the line)."""


@dataclass(frozen=True)
class Match:
    """One matched phrase: ``text == message[start:end]``."""

    text: str
    start: int
    end: int
    category: str


@dataclass(frozen=True)
class Detection:
    """The verdict for one message."""

    crisis: bool
    category: str | None
    lang: str
    matches: tuple[Match, ...] = ()

    def to_json(self) -> dict:
        """The JSON object of the ``python -m peerline.crisis`` contract."""
        return {
            "crisis": self.crisis,
            "category": self.category,
            "lang": self.lang,
            "matches": [
                {"text": m.text, "start": m.start, "end": m.end, "category": m.category}
                for m in self.matches
            ],
        }


# --------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------

_APOSTROPHES = "'`\u2019\u2018\u02bc\u00b4\u2032"
_DROP = {"\ufe0f", "\ufe0e", "\u200d", "\u200b", "\u200c", "\u2060", "\ufeff", "\u00ad"}
_NON_ASCII_OR_APOS = re.compile("[^\x00-\x7f]|['`]")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
                       "@": "a", "$": "s", "!": "i", "|": "l"})
_LEET_HINT = re.compile(r"[a-z][0-9@$!|]|[0-9@$!|][a-z]")
_TOKEN = re.compile(r"\S+")
_NUMBER_TOKEN = re.compile(
    r"\d+(?:[.,]\d+)?(st|nd|rd|th|mg|mcg|ml|g|gr|mm|cm|x|k|kg|lbs?|hrs?|h|mins?|am|pm"
    r"|s|yo|yrs?|m)?"
)
_SYMBOL_LEET = "@$!|"
_SPACED = re.compile(
    r"(?<![a-z0-9])[a-z0-9@$](?:(?:[ .\-*,_/]| {2,})[a-z0-9@$](?![a-z0-9])){2,}"
)
_SPACED_HINT = re.compile(r"(?<![a-z0-9])[a-z0-9][ .\-*,_/][a-z0-9][ .\-*,_/][a-z0-9](?![a-z0-9])")


@functools.lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    """Accent-stripped, lower-cased form of one non-ASCII character (may be empty)."""
    if ch in _APOSTROPHES or ch in _DROP:
        return ""
    decomposed = unicodedata.normalize("NFKD", ch)
    out = "".join(c for c in decomposed if not unicodedata.combining(c))
    out = out.lower()
    if out in _APOSTROPHES:
        return ""
    return out


def _edit(s: str, smap: list[int] | None, edits: list[tuple[int, int, str]]
          ) -> tuple[str, list[int]]:
    """Apply sorted, non-overlapping ``(start, end, replacement)`` edits to ``s``.

    ``smap[i]`` is the original offset of ``s[i]`` (``None`` = identity); the returned
    map does the same for the new string. Replacement characters map to the offset of
    the first replaced character.
    """
    parts: list[str] = []
    newmap: list[int] = []
    last = 0
    for start, end, rep in edits:
        parts.append(s[last:start])
        newmap.extend(smap[last:start] if smap is not None else range(last, start))
        if rep:
            parts.append(rep)
            origin = smap[start] if smap is not None else start
            newmap.extend([origin] * len(rep))
        last = end
    parts.append(s[last:])
    newmap.extend(smap[last:] if smap is not None else range(last, len(s)))
    return "".join(parts), newmap


def _leet_token(m: re.Match[str]) -> str:
    tok = m.group(0)
    if not any("a" <= c <= "z" for c in tok):
        return tok
    core = tok.strip(".,;:!?()\"'")
    num = _NUMBER_TOKEN.fullmatch(core)
    if num:
        suffix = num.group(1)
        if suffix not in ("st", "nd", "rd", "th"):
            return tok
        digits = core[: -len(suffix)]
        last = digits[-1]
        tens = digits[-2:-1]
        want = "th" if tens == "1" else {"1": "st", "2": "nd", "3": "rd"}.get(last, "th")
        if suffix == want:
            return tok
    out = []
    n = len(tok)
    for i, c in enumerate(tok):
        if c in _SYMBOL_LEET:
            # a symbol stands for a letter only inside a word ("k!ll", "h@ng", "$uicide")
            nxt = tok[i + 1] if i + 1 < n else ""
            if nxt.isalnum() or (nxt in _SYMBOL_LEET and i + 2 < n and tok[i + 2].isalnum()):
                out.append(c.translate(_LEET))
            else:
                out.append(c)
        else:
            out.append(c.translate(_LEET))
    return "".join(out)


def normalise(text: str) -> tuple[str, list[int] | None]:
    """Normalised search string for ``text`` and a map of offsets back into ``text``.

    The map is ``None`` when the two strings are aligned one to one; otherwise
    ``map[i]`` is the offset in ``text`` of the character that produced ``norm[i]``.
    """
    smap: list[int] | None = None
    if text.isascii():
        s = text.lower()
        if "'" in s or "`" in s:
            edits = [(m.start(), m.end(), "") for m in _NON_ASCII_OR_APOS.finditer(s)]
            s, smap = _edit(s, None, edits)
    else:
        edits = []
        for m in _NON_ASCII_OR_APOS.finditer(text):
            ch = m.group(0)
            folded = "" if ch in "'`" else _fold_char(ch)
            if folded != ch:
                edits.append((m.start(), m.end(), folded))
        s, smap = _edit(text, None, edits) if edits else (text, None)
        lowered = s.lower()
        if len(lowered) == len(s):
            s = lowered
        else:  # pragma: no cover - exotic case mappings; fold char by char instead
            s, smap = _edit(s, smap, [(i, i + 1, c.lower()[:1]) for i, c in enumerate(s)])
    if _SPACED_HINT.search(s):
        edits = []
        for m in _SPACED.finditer(s):
            base = m.start()
            chunk = m.group(0)
            i = 0
            while i < len(chunk):
                c = chunk[i]
                if c.isalnum() or c in "@$":
                    i += 1
                    continue
                j = i
                while j < len(chunk) and not (chunk[j].isalnum() or chunk[j] in "@$"):
                    j += 1
                gap = chunk[i:j]
                edits.append((base + i, base + j, " " if gap.count(" ") >= 2 else ""))
                i = j
        if edits:
            s, smap = _edit(s, smap, edits)
    if _LEET_HINT.search(s):
        s = _TOKEN.sub(_leet_token, s)
    return s, smap


# --------------------------------------------------------------------------------------
# Lexicon files and the phrase syntax
# --------------------------------------------------------------------------------------

_SEP = r"[\W_]*"
_PHRASE_TOKEN = re.compile(r"\s*(\{[^{}\s]+\}|[()\[\]|]|[^\s()\[\]|{}]+)")
_SLOT_LINE = re.compile(r"@([a-z_][a-z0-9_]*)\s*=\s*(.+)$")
_MAX_SLOT_DEPTH = 8
_FLAG_FIELD = re.compile(r"\|\s*(strong|weak|short)\s*$")


@dataclass(frozen=True)
class Entry:
    """One lexicon line."""

    category: str
    phrase: str
    flag: str
    source: str  # "file:line"


@dataclass
class Lexicon:
    """Compiled lexicons: one alternation regex per category and strength."""

    entries: tuple[Entry, ...]
    slots: dict[str, str]
    gate: re.Pattern[str] | None = None
    strong: dict[str, re.Pattern[str]] = field(default_factory=dict)
    weak: dict[str, re.Pattern[str]] = field(default_factory=dict)
    short: dict[str, re.Pattern[str]] = field(default_factory=dict)
    internal: dict[str, re.Pattern[str]] = field(default_factory=dict)
    phrases: dict[str, list[str]] = field(default_factory=dict)


def _fold_pattern_text(s: str) -> str:
    return "".join(_fold_char(c) if not c.isascii() else c for c in s).lower()


def _word_regex(word: str, where: str) -> str:
    """Regex for one word of a phrase: each letter matches one or more copies."""
    stem = word.endswith("*") and len(word) > 1
    if stem:
        word = word[:-1]
    word = "".join(c for c in word if c not in _APOSTROPHES)
    if not word:
        raise LexiconError(f"{where}: empty word")
    out: list[str] = []
    prev = ""
    for c in word:
        if "a" <= c <= "z":
            if c == prev:
                continue  # "ll" is one unit: l+ matches "l", "ll", "lll"
            out.append(c + c + "*")
        elif c == "-":
            out.append(_SEP)
        elif c == "#":
            out.append(r"\d")
        else:
            out.append(re.escape(c))
        prev = c
    if stem:
        out.append(r"\w*")
    return "".join(out)


class _PhraseParser:
    """Recursive-descent parser for the phrase syntax documented in the lexicon files."""

    def __init__(self, phrase: str, slots: dict[str, str], where: str, depth: int = 0):
        self.where = where
        self.slots = slots
        self.depth = depth
        self.tokens = [t for t in _PHRASE_TOKEN.findall(phrase) if t]
        rest = _PHRASE_TOKEN.sub("", phrase).strip()
        if rest:
            raise LexiconError(f"{where}: cannot parse {rest!r} in {phrase!r}")
        self.pos = 0
        self.phrase = phrase

    def parse(self) -> str:
        regex = self._alternation()
        if self.pos != len(self.tokens):
            raise LexiconError(f"{self.where}: unexpected {self.tokens[self.pos]!r} "
                               f"in {self.phrase!r}")
        return regex

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _alternation(self) -> str:
        alts = [self._sequence()]
        while self._peek() == "|":
            self.pos += 1
            alts.append(self._sequence())
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    def _sequence(self) -> str:
        items: list[tuple[str, bool]] = []
        while True:
            tok = self._peek()
            if tok is None or tok in ("|", ")", "]"):
                break
            self.pos += 1
            if tok == "(":
                inner = self._alternation()
                self._expect(")")
                items.append((inner, False))
            elif tok == "[":
                inner = self._alternation()
                self._expect("]")
                items.append((inner, True))
            elif tok.startswith("{"):
                items.append((self._slot(tok[1:-1]), False))
            elif tok == "?":
                if not items or items[-1][1]:
                    raise LexiconError(f"{self.where}: '?' follows nothing in {self.phrase!r}")
                items[-1] = (items[-1][0], True)
                continue
            elif tok.endswith("?") and len(tok) > 1:
                items.append((_word_regex(tok[:-1], self.where), True))
            else:
                items.append((_word_regex(tok, self.where), False))
            if self._peek() == "?":
                self.pos += 1
                items[-1] = (items[-1][0], True)
        if not items or all(opt for _, opt in items):
            raise LexiconError(f"{self.where}: empty phrase or alternative in "
                               f"{self.phrase!r}")
        out = ""
        need_sep = False
        for regex, optional in items:
            if optional:
                out += f"(?:{_SEP}(?:{regex}))?" if need_sep else f"(?:(?:{regex}){_SEP})?"
            else:
                out += (_SEP if need_sep else "") + f"(?:{regex})"
                need_sep = True
        return out

    def _slot(self, name: str) -> str:
        if name == "n":
            return r"\d+"
        if name not in self.slots:
            raise LexiconError(f"{self.where}: unknown slot {{{name}}}")
        if self.depth >= _MAX_SLOT_DEPTH:
            raise LexiconError(f"{self.where}: slots nested too deep at {{{name}}}")
        return _PhraseParser(self.slots[name], self.slots, self.where,
                             self.depth + 1).parse()

    def _expect(self, tok: str) -> None:
        if self._peek() != tok:
            raise LexiconError(f"{self.where}: missing {tok!r} in {self.phrase!r}")
        self.pos += 1


def compile_phrase(phrase: str, slots: dict[str, str], where: str = "<phrase>") -> str:
    """Regex source for one lexicon phrase (with word boundaries where they apply)."""
    folded = _fold_pattern_text(phrase)
    body = _PhraseParser(folded, slots, where).parse()
    edges = [c for c in folded if c not in "()[]|{} \t"]
    if not edges:
        raise LexiconError(f"{where}: empty phrase")
    head = r"(?<!\w)" if edges[0].isalnum() else ""
    tail = r"(?!\w)" if edges[-1].isalnum() or edges[-1] in "*" else ""
    return f"{head}(?:{body}){tail}"


def _iter_lexicon_lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise LexiconError(f"{path}: cannot read: {exc}") from exc
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#"):
            yield number, line


def _lexicon_files(extra_dir: str | os.PathLike[str] | None) -> list[Path]:
    files = sorted(_PACKAGE_LEXICON_DIR.glob("*.txt"))
    if extra_dir:
        extra = Path(extra_dir)
        if not extra.is_dir():
            raise LexiconError(f"{extra}: lexicon directory does not exist")
        files.extend(sorted(extra.glob("*.txt")))
    return files


def _parse_files(files: Iterable[Path]) -> tuple[list[Entry], dict[str, str]]:
    entries: list[Entry] = []
    slots: dict[str, str] = {}
    valid = set(CATEGORIES) | set(INTERNAL_CATEGORIES)
    for path in files:
        for number, line in _iter_lexicon_lines(path):
            where = f"{path}:{number}"
            if line.startswith("@"):
                m = _SLOT_LINE.match(line)
                if not m:
                    raise LexiconError(f"{where}: bad slot definition {line!r} "
                                       "(expected '@name = alternatives')")
                name, body = m.group(1), m.group(2).strip()
                slots[name] = f"{slots[name]} | {body}" if name in slots else body
                continue
            category, sep, rest = line.partition("|")
            if not sep:
                raise LexiconError(f"{where}: expected 'category | phrase', got {line!r}")
            category = category.strip()
            flag = "strong"
            m = _FLAG_FIELD.search(rest)
            if m:
                flag = m.group(1)
                rest = rest[: m.start()]
            phrase = rest.strip()
            if category not in valid:
                raise LexiconError(f"{where}: unknown category {category!r} "
                                   f"(expected one of {', '.join(sorted(valid))})")
            if not phrase:
                raise LexiconError(f"{where}: empty phrase")
            entries.append(Entry(category, phrase, flag, where))
    return entries, slots


def load_lexicons(extra_dir: str | os.PathLike[str] | None = None) -> Lexicon:
    """Read, validate and compile the package lexicons plus ``extra_dir/*.txt``.

    Raises :class:`LexiconError` naming the file and line of the first bad entry.
    """
    entries, slots = _parse_files(_lexicon_files(extra_dir))
    lex = Lexicon(entries=tuple(entries), slots=slots)
    groups: dict[tuple[str, str], list[str]] = {}
    for e in entries:
        regex = compile_phrase(e.phrase, slots, e.source)
        try:
            re.compile(regex)
        except re.error as exc:
            raise LexiconError(f"{e.source}: invalid phrase {e.phrase!r}: {exc}") from exc
        key = (e.category, e.flag if e.category in CATEGORIES else "strong")
        groups.setdefault(key, []).append(regex)
    crisis_sources: list[str] = []
    for (category, flag), regexes in groups.items():
        # longer alternatives first, so the longest phrase wins at the same start
        regexes = sorted(set(regexes), key=len, reverse=True)
        pattern = re.compile("|".join(regexes))
        lex.phrases[f"{category}:{flag}"] = regexes
        if category in CATEGORIES:
            {"strong": lex.strong, "weak": lex.weak, "short": lex.short}[flag][category] = (
                pattern)
            crisis_sources.extend(regexes)
        else:
            lex.internal[category] = pattern
    if crisis_sources:
        lex.gate = re.compile("|".join(sorted(set(crisis_sources), key=len, reverse=True)))
    return lex


@functools.lru_cache(maxsize=8)
def _cached_lexicon(extra_dir: str | None) -> Lexicon:
    return load_lexicons(extra_dir)


def _current_lexicon() -> Lexicon:
    return _cached_lexicon(os.environ.get(ENV_LEXICON_DIR) or None)


# --------------------------------------------------------------------------------------
# Language guess
# --------------------------------------------------------------------------------------

_ES_WORDS = re.compile(
    r"\b(?:el|la|los|las|que|y|en|un|una|es|esta|estoy|estas|por|para|con|pero|mas|muy"
    r"|yo|mi|mis|tu|te|se|lo|le|les|nos|del|al|como|porque|quiero|puedo|tengo|ya|nada"
    r"|nadie|todo|hoy|ahora|aqui|donde|cuando|bien|mal|si|soy|eres|hola|gracias|ayuda"
    r"|ayudame|vida|morir|matar|siento|necesito|hablar|voy|va|vez|solo|sola|mucho|casa"
    r"|tengo|tiene|hace|favor|noche|miedo|esto|eso|algo|alguien|mejor|peor|otra|otro"
    r"|ella|ellos|usted|ustedes|estar|ser|hacer|buenas|buenos|dias|tardes|sí|también"
    r"|tambien|aun|sin|sobre|entre|hasta|desde|contra|nunca|siempre)\b"
)
_EN_WORDS = re.compile(
    r"\b(?:the|and|is|are|was|were|i|im|you|he|she|it|they|we|my|your|to|of|in|on|at"
    r"|for|with|this|that|what|how|why|want|dont|cant|can|will|just|like|have|has|had"
    r"|be|been|not|so|but|if|or|do|does|did|am|hi|hello|hey|help|please|need|feel|know"
    r"|really|today|now|here|there|who|when|would|could|should|me|out|up|about|all"
    r"|going|gonna|get|got|anymore|life|die|kill|myself|thanks|thank|talk|someone)\b"
)
_ES_MARKS = re.compile("[ñáéíóú¿¡]")


def guess_language(text: str, lang_hint: str | None = None) -> str:
    """Guess ``"en"`` or ``"es"`` from common function words; ``lang_hint`` (or
    ``"en"``) breaks ties, e.g. for an empty or emoji-only text."""
    low = text.lower()
    es = len(_ES_WORDS.findall(low)) + (2 if _ES_MARKS.search(low) else 0)
    en = len(_EN_WORDS.findall(low))
    if es > en:
        return "es"
    if en > es:
        return "en"
    return lang_hint if lang_hint in ("en", "es") else "en"


# --------------------------------------------------------------------------------------
# Detection
# --------------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"[.!?;\n]+")
_CLAUSE_SPLIT = re.compile(
    r"[.!?;\n]+|\b(?:but|pero|however|sin embargo|aunque|though|although|now|ahora|today"
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


def _spans(pattern: re.Pattern[str] | None, norm: str) -> list[tuple[int, int]]:
    if pattern is None:
        return []
    return [(m.start(), m.end()) for m in pattern.finditer(norm) if m.end() > m.start()]


def _overlaps(a: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(s < a[1] and a[0] < e for s, e in spans)


def _find(lex: Lexicon, norm: str, n_words: int) -> list[_Cand]:
    """Crisis candidates in ``norm`` after the benign / past / weak filters."""
    cands: list[_Cand] = []
    for flag, table in (("strong", lex.strong), ("weak", lex.weak), ("short", lex.short)):
        for category, pattern in table.items():
            for m in pattern.finditer(norm):
                if m.end() > m.start():
                    cands.append(_Cand(m.start(), m.end(), category, flag))
    if not cands:
        return cands
    internal = lex.internal
    benign = _spans(internal.get("benign"), norm)
    for c in cands:
        if benign and _overlaps((c.start, c.end), benign):
            c.keep = False
    past = _spans(internal.get("past"), norm)
    recovery = _spans(internal.get("recovery"), norm)
    if (past or recovery) and not _spans(internal.get("present"), norm):
        clauses = _bounds(_CLAUSE_SPLIT, norm)
        past_clauses = {_segment(clauses, s) for s, _ in past}
        if recovery:
            past_clauses |= {_segment(clauses, s)
                             for s, _ in _spans(internal.get("pastverb"), norm)}
        for c in cands:
            if c.keep and _segment(clauses, c.start) in past_clauses:
                c.keep = False
    kept = [c for c in cands if c.keep]
    weak = [c for c in kept if c.flag != "strong"]
    if weak:
        strong_kept = any(c.flag == "strong" for c in kept)
        cues = _spans(internal.get("cue"), norm)
        for c in weak:
            if strong_kept or len(weak) > 1:
                continue
            if any(s >= c.end or e <= c.start for s, e in cues):
                continue
            if c.flag == "short" and n_words <= _SHORT_WORDS:
                continue
            c.keep = False
    return [c for c in cands if c.keep]


_TRAILING_MARKS = {"\ufe0f", "\ufe0e", "\u200d"}


def _to_original(text: str, smap: list[int] | None, start: int, end: int) -> tuple[int, int]:
    if smap is None:
        return start, end
    o_start = smap[start]
    o_end = smap[end - 1] + 1
    # keep trailing combining accents / emoji variation selectors inside the span
    while o_end < len(text) and (text[o_end] in _TRAILING_MARKS
                                 or unicodedata.combining(text[o_end])):
        o_end += 1
    return o_start, o_end


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


def detect(text: str, lang_hint: str | None = None, previous: str | None = None,
           *, lexicon: Lexicon | None = None) -> Detection:
    """Scan one message for crisis language.

    ``previous`` is the same person's previous message: a phrase split across the two
    ("I want to" / "die") is caught, and matches are reported with offsets into
    ``text`` (spans that begin in ``previous`` are clipped to start at 0).
    """
    lang = guess_language(text, lang_hint)
    lex = lexicon if lexicon is not None else _current_lexicon()
    if previous:
        combined = previous + "\n" + text
        offset = len(previous) + 1
    else:
        combined = text
        offset = 0
    norm, smap = normalise(combined)
    if lex.gate is None or lex.gate.search(norm) is None:
        return Detection(False, None, lang, ())
    n_words = len(text.split())
    cands = _find(lex, norm, n_words)
    matches: list[Match] = []
    seen: set[tuple[int, int, str]] = set()
    for c in sorted(cands, key=lambda c: (c.start, -c.end)):
        o_start, o_end = _to_original(combined, smap, c.start, c.end)
        if o_end <= offset:
            continue  # wholly inside the previous message
        start = max(0, o_start - offset)
        end = o_end - offset
        key = (start, end, c.category)
        if key in seen:
            continue
        seen.add(key)
        matches.append(Match(text[start:end], start, end, c.category))
    matches = _drop_contained(matches)
    if not matches:
        return Detection(False, None, lang, ())
    found = {m.category for m in matches}
    category = next(cat for cat in SEVERITY if cat in found)
    return Detection(True, category, lang, tuple(matches))
