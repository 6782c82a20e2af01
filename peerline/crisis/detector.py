"""Crisis-language detector: a pure function from a text message to crisis matches.

How it works (see ``peerline/crisis/README.md`` for the coordinator's view):

1. **Normalise** the message into a search string while keeping a map back to the
   original character offsets: accents stripped (NFKD), lower case, apostrophes dropped
   (``don't`` → ``dont``), variation selectors / zero-width joiners dropped, spaced or
   dotted single letters joined (``k i l l`` → ``kill``, ``s.u.i.c.i.d.e`` →
   ``suicide``), and leetspeak mapped inside words (``k1ll mys3lf`` → ``kill myself``;
   numbers such as ``30`` or ``500mg`` are left alone).
2. **Match** lexicon phrases. Each letter of a phrase matches one or more copies of
   itself, so ``dieeee`` and ``kiiill`` match; words may be joined or separated by any
   punctuation or white space (``killmyself``, ``kill - myself``, and phrases split
   over two texts when ``previous`` is given). Each phrase is its own regex with a set
   of *anchor* words; only phrases whose anchors occur in the message are tried, which
   keeps the detector fast however large the lexicons grow.
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

from . import classifier

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
#: ``0`` switches the learned classifier off (it is on by default).
ENV_MODEL = "PEERLINE_CRISIS_MODEL"


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
    #: not a crisis, but the classifier is uneasy: worth a quiet word to a paired peer
    watch: bool = False
    #: the classifier's P(crisis), when it was asked
    score: float | None = None
    #: who decided: "lexicon", "model" (the lexicon was silent) or "overruled"
    source: str = "lexicon"

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


#: Spanish SMS spellings (k for qu, abbreviations) read as the words they stand for.
_SMS_ES = {"kiero": "quiero", "kieres": "quieres", "kiere": "quiere", "kisiera": "quisiera",
           "kisieras": "quisieras", "kitar": "quitar", "kitarme": "quitarme",
           "kitarse": "quitarse", "kite": "quite", "ke": "que", "xq": "porque",
           "pq": "porque", "aki": "aqui", "nadien": "nadie"}
_SMS_ES_RE = re.compile(r"(?<![a-z])(?:k(?:i(?:ero|eres?|sieras?|tar(?:me|se)?|te)|e)|xq|pq|aki"
                        r"|nadien)(?![a-z])")
_SMS_ES_HINTS = (" ki", " ke", "xq", "pq", "aki", "nadien")


def _has_sms_es(s: str) -> bool:
    """Cheap pre-check (substring tests) before the regex, which most texts never need."""
    return s.startswith(("ki", "ke")) or any(h in s for h in _SMS_ES_HINTS)


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
    if _has_sms_es(s) and _SMS_ES_RE.search(s):
        s, smap = _edit(s, smap, [(m.start(), m.end(), _SMS_ES[m.group(0)])
                                  for m in _SMS_ES_RE.finditer(s)])
    return s, smap


# --------------------------------------------------------------------------------------
# Lexicon files and the phrase syntax
# --------------------------------------------------------------------------------------

_SEP = r"[\W_]*"
_PHRASE_TOKEN = re.compile(r"\s*(\{[^{}\s]+\}|[()\[\]|]|[^\s()\[\]|{}]+)")
_SLOT_LINE = re.compile(r"@([a-z_][a-z0-9_]*)\s*=\s*(.+)$")
_MAX_SLOT_DEPTH = 8
_HEAD = r"(?<!\w)"
#: "a ... b": up to this many words between a and b
GAP_WORDS = 5
# whole words only, so "he ... kill me" does not read "heat is going to kill me"
_GAP = r"(?:[\W_]+[^\W_]+){0," + str(GAP_WORDS) + r"}[\W_]+"
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
    """Compiled lexicons.

    Each entry has its own regex and a set of *anchor* words; at detection time only
    the entries whose anchors occur in the message are tried, and filter entries only
    when a crisis entry matched.
    """

    entries: tuple[Entry, ...]
    slots: dict[str, str]
    #: every entry, crisis and filter categories alike: (regex, category, flag,
    #: needs a word boundary before the match). The boundary is checked in Python: a
    #: leading look-behind would stop ``re`` from skipping ahead to the first letter.
    crisis: list[tuple[re.Pattern[str], str, str, bool]] = field(default_factory=list)
    #: for each compiled entry: words of which one must also be present (or None)
    second: list[frozenset[str] | None] = field(default_factory=list)
    #: for each compiled entry: "file:line: phrase" (for debugging and reports)
    origins: list[str] = field(default_factory=list)
    always: list[int] = field(default_factory=list)
    word_index: dict[str, list[int]] = field(default_factory=dict)
    stem_index: dict[str, list[int]] = field(default_factory=dict)
    stem_lengths: tuple[int, ...] = ()
    stem_re: re.Pattern[str] | None = None
    emoji_index: dict[str, list[int]] = field(default_factory=dict)
    emoji_re: re.Pattern[str] | None = None
    inner_index: dict[str, list[int]] = field(default_factory=dict)
    inner_re: re.Pattern[str] | None = None


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
    if "?" in word or "*" in word:
        raise LexiconError(f"{where}: misplaced '?' or '*' in {word!r}")
    out: list[str] = []
    prev = ""
    for c in word:
        if "a" <= c <= "z":
            if c == prev:
                out[-1] = c + c + c + "*"  # "ll" matches "ll", "lll"... (not "l": of/off)
                continue
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


Anchors = frozenset  # of (kind, literal): kind "w" word, "s" word prefix, "e" emoji

# Words too common to be a good anchor (an anchor decides whether a phrase is tried).
# Stored collapsed (no doubled letters), as anchors are.
_COMMON = frozenset(_w for _w in """
a about after again all also always am an and any anything are around as ask at away back
bad be because been before being best better big both but by call came can cant come could
day days did didnt do does dont down each even ever every everything feel feeling felt few
find first for friend friends from get gets getting give go goes going gona good got great
had has have having he help her here hers him his home how i id if ill im in into is it its
ive just keep kind know last let life like little long look lot love made make many may me
mean more most much must my myself need never new next night no not nothing now of off oh ok
okay old on once one only or other our out over own people please put really right said same
say see she should so some someone something still such sure take talk tel than thank thanks
that the their them then there these they thing things think this those though thought time
to today told too try trying two u up us very wana want wanted was way we week well went were
what when where which while who why wil with without work would yeah year years yes yet you
your ur thinking drive driving end ending take taking took stop done sleep hurt feel way
al algo algun alguien ano anos antes asi aunque bien cada casa como con cosa cosas cuando de
del desde despues dia dias donde dos el ella ellos en entre era eres es esa ese eso esta
estaba estan estar estas este esto estoy fue ha hace hacer hasta hay hoy la las le les lo los
mal mas me mejor mi mis mucho muy nada nadie ni no nos nunca o otra otro para pero poco por
porque puede puedo que quien quiero se sea ser si siempre sin sobre solo son soy su sus tambien
te tengo tiene todo todos tu tus un una uno va vamos ves vez voy y ya yo vida tiempo hablar
""".split())


_VERY_COMMON = frozenset(
    "i im my me to it the a and you of in on is be no ya en de la el que y mi se lo "
    "al las los he she we they this that for but so".split()
)


def _collapse_word(word: str) -> str:
    out = []
    for c in word:
        if not out or c != out[-1] or not ("a" <= c <= "z"):
            out.append(c)
    return "".join(out)


def _anchor_cost(anchors: frozenset | None) -> float:
    if anchors is None:
        return float("inf")
    cost = 0.0
    for kind, lit in anchors:
        if kind == "w":
            if lit in _VERY_COMMON or len(lit) <= 1:
                cost += 1000
            elif lit in _COMMON or len(lit) <= 2:
                cost += 100
            else:
                cost += 3 if len(lit) <= 3 else 1
        elif kind == "s":
            cost += 100 if len(lit) <= 3 else 2
        else:
            cost += 1
    return cost


def _word_anchors(word: str) -> frozenset | None:
    stem = word.endswith("*") and len(word) > 1
    core = "".join(c for c in word.rstrip("*") if c not in _APOSTROPHES)
    parts = [p for p in core.split("-") if p]
    if not parts:
        return None
    part = max(parts, key=len)
    if "#" in part:
        return None
    if not part[0].isalnum():
        return frozenset({("e", part[0])})
    lit = _collapse_word(part)
    if stem and part == parts[-1]:
        return frozenset({("s", lit)})
    return frozenset({("w", lit)})


class _PhraseParser:
    """Recursive-descent parser for the phrase syntax documented in the lexicon files.

    Each node yields a regex source and its *anchors*: words of which at least one
    occurs in any text the node matches (``None`` when no such set is known).
    """

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

    def parse(self) -> tuple[str, frozenset | None]:
        regex, anchors, self.second = self._alternation()
        if self.pos != len(self.tokens):
            raise LexiconError(f"{self.where}: unexpected {self.tokens[self.pos]!r} "
                               f"in {self.phrase!r}")
        return regex, anchors

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _alternation(self) -> tuple[str, frozenset | None, frozenset | None]:
        """Regex, anchors, and (for a single sequence) the second-best required anchors."""
        alts = [self._sequence()]
        while self._peek() == "|":
            self.pos += 1
            alts.append(self._sequence())
        if len(alts) == 1:
            return alts[0]
        regex = "(?:" + "|".join(r for r, _, _ in alts) + ")"
        if any(a is None for _, a, _ in alts):
            return regex, None, None
        return regex, frozenset().union(*(a for _, a, _ in alts)), None

    def _sequence(self) -> tuple[str, frozenset | None, frozenset | None]:
        items: list[tuple[str, frozenset | None, bool]] = []
        while True:
            tok = self._peek()
            if tok is None or tok in ("|", ")", "]"):
                break
            self.pos += 1
            if tok == "(":
                inner, anchors, _ = self._alternation()
                self._expect(")")
                items.append((inner, anchors, False))
            elif tok == "[":
                inner, anchors, _ = self._alternation()
                self._expect("]")
                items.append((inner, anchors, True))
            elif tok.startswith("{"):
                items.append((*self._slot(tok[1:-1]), False))
            elif tok == "...":
                if not items or items[-1][0] is _GAP:
                    raise LexiconError(f"{self.where}: '...' must follow a word in "
                                       f"{self.phrase!r}")
                items.append((_GAP, None, True))
                continue
            elif tok == "?":
                if not items or items[-1][2]:
                    raise LexiconError(f"{self.where}: '?' follows nothing in {self.phrase!r}")
                items[-1] = (items[-1][0], items[-1][1], True)
                continue
            elif tok.endswith("?") and len(tok) > 1:
                items.append((_word_regex(tok[:-1], self.where), _word_anchors(tok[:-1]),
                              True))
            else:
                items.append((_word_regex(tok, self.where), _word_anchors(tok), False))
            if self._peek() == "?":
                self.pos += 1
                items[-1] = (items[-1][0], items[-1][1], True)
        if not items or all(opt for _, _, opt in items):
            raise LexiconError(f"{self.where}: empty phrase or alternative in "
                               f"{self.phrase!r}")
        if items and items[-1][0] is _GAP:
            raise LexiconError(f"{self.where}: '...' must be followed by a word in "
                               f"{self.phrase!r}")
        out = ""
        need_sep = False
        for regex, _, optional in items:
            if regex is _GAP:
                out += _GAP
                need_sep = False
            elif optional:
                out += f"(?:{_SEP}(?:{regex}))?" if need_sep else f"(?:(?:{regex}){_SEP})?"
            else:
                out += (_SEP if need_sep else "") + f"(?:{regex})"
                need_sep = True
        required = sorted((a for _, a, opt in items if not opt), key=_anchor_cost)
        second = required[1] if len(required) > 1 else None
        if second is not None and not all(kind == "w" for kind, _ in second):
            second = None
        return out, required[0], second

    def _slot(self, name: str) -> tuple[str, frozenset | None]:
        if name == "n":
            return r"\d+", None
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


def compile_phrase(phrase: str, slots: dict[str, str], where: str = "<phrase>"
                   ) -> tuple[str, frozenset | None]:
    """Regex source for one lexicon phrase (with word boundaries where they apply) and
    its anchors (see :class:`_PhraseParser`)."""
    return _compile_phrase(phrase, slots, where)[:2]


def _compile_phrase(phrase: str, slots: dict[str, str], where: str
                    ) -> tuple[str, frozenset | None, frozenset | None]:
    folded = _fold_pattern_text(phrase)
    parser = _PhraseParser(folded, slots, where)
    body, anchors = parser.parse()
    second = parser.second
    edges = [c for c in folded if c not in "()[]|{}? \t"]
    if not edges:
        raise LexiconError(f"{where}: empty phrase")
    head = _HEAD if edges[0].isalnum() else ""
    tail = r"(?!\w)" if edges[-1].isalnum() or edges[-1] in "*" else ""
    return f"{head}(?:{body}){tail}", anchors, second


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


def _alternation_regex(literals: Iterable[str]) -> str:
    """A regex matching any of ``literals``, as a character trie (fast in ``re``)."""
    trie: dict = {}
    for lit in set(literals):
        node = trie
        for ch in lit:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        ends = "" in node
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # longest match first: an end here is only taken when no branch continues
        return f"(?:{body})?" if ends else body

    return emit(trie)


def _top_level_alternatives(entry: Entry) -> list[str]:
    """Split ``a | b c | (d | e)`` into ``a``, ``b c``, ``(d | e)``: each alternative is
    compiled on its own, with its own anchors, so fewer regexes run per message."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in entry.phrase:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "|" and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    if depth != 0 or any(not p for p in parts):
        return [entry.phrase]  # let the parser report the error with its message
    return parts


def load_lexicons(extra_dir: str | os.PathLike[str] | None = None) -> Lexicon:
    """Read, validate and compile the package lexicons plus ``extra_dir/*.txt``.

    Raises :class:`LexiconError` naming the file and line of the first bad entry.
    """
    entries, slots = _parse_files(_lexicon_files(extra_dir))
    lex = Lexicon(entries=tuple(entries), slots=slots)
    for e, phrase in [(entry, alt) for entry in entries
                      for alt in _top_level_alternatives(entry)]:
        regex, anchors, second = _compile_phrase(phrase, slots, e.source)
        head = regex.startswith(_HEAD)
        if head:
            regex = regex[len(_HEAD):]
        try:
            pattern = re.compile(regex)
        except re.error as exc:  # pragma: no cover - the syntax escapes everything
            raise LexiconError(f"{e.source}: invalid phrase {e.phrase!r}: {exc}") from exc
        if pattern.fullmatch("") is not None:
            raise LexiconError(f"{e.source}: phrase {e.phrase!r} matches empty text")
        index = len(lex.crisis)
        lex.crisis.append((pattern, e.category, e.flag, head))
        lex.second.append(frozenset(lit for _, lit in second) if second else None)
        lex.origins.append(f"{e.source}: {phrase}")
        if anchors is None:
            lex.always.append(index)
            continue
        for kind, lit in anchors:
            table = {"w": lex.word_index, "s": lex.stem_index, "e": lex.emoji_index}[kind]
            table.setdefault(lit, []).append(index)
            if kind != "e" and len(lit) >= 4:
                lex.inner_index.setdefault(lit, []).append(index)
    if lex.stem_index:
        lex.stem_re = re.compile(r"\b(?:" + _alternation_regex(lex.stem_index) + ")")
        lex.stem_lengths = tuple(sorted({len(x) for x in lex.stem_index}))
    if lex.emoji_index:
        lex.emoji_re = re.compile("[" + "".join(re.escape(x) for x in lex.emoji_index) + "]")
    if lex.inner_index:
        lex.inner_re = re.compile(_alternation_regex(lex.inner_index))
    return lex


@functools.lru_cache(maxsize=8)
def _cached_lexicon(extra_dir: str | None) -> Lexicon:
    return load_lexicons(extra_dir)


def _current_lexicon() -> Lexicon:
    return _cached_lexicon(os.environ.get(ENV_LEXICON_DIR) or None)


# --------------------------------------------------------------------------------------
# Language guess
# --------------------------------------------------------------------------------------

_ES_WORDS = frozenset("""
el la los las que y en un una es esta estoy estas por para con pero mas muy yo mi mis tu te se
lo le les nos del al como porque quiero puedo tengo ya nada nadie todo hoy ahora aqui donde
cuando bien mal si soy eres hola gracias ayuda ayudame vida morir matar siento necesito hablar
voy va vez solo sola mucho casa tiene hace favor noche miedo esto eso algo alguien mejor peor
otra otro ella ellos usted ustedes estar ser hacer buenas buenos dias tardes tambien aun sin
sobre entre hasta desde contra nunca siempre estaba tenia muero quiere dijo mama papa novio
esposo pastillas cortar aguanto puedo hermana hermano trabajo escuela anoche ayer manana
""".split())
_EN_WORDS = frozenset("""
the and is are was were i im you he she it they we my your to of in on at for with this that
what how why want dont cant can will just like have has had be been not so but if or do does
did am hi hello hey help please need feel know really today now here there who when would could
should out up about all going gonna get got anymore life die kill myself thanks thank talk
someone him her them our its ive ill id wanna been being from after before again never always
tonight night day week work school home mom dad sister brother friend friends boyfriend
""".split())
_ES_MARKS = re.compile("[ñáéíóú¿¡]")
# the same lists with doubled letters collapsed ("all" -> "al"), as the detector's word
# sets are; words that collapse into the other language's list are dropped
_EN_C = {_w: "".join(c for i, c in enumerate(_w) if i == 0 or c != _w[i - 1])
         for _w in _EN_WORDS}
_ES_C = {_w: "".join(c for i, c in enumerate(_w) if i == 0 or c != _w[i - 1])
         for _w in _ES_WORDS}
_EN_WORDS_C = frozenset(_EN_C.values()) - frozenset(_ES_C.values())
_ES_WORDS_C = frozenset(_ES_C.values()) - frozenset(_EN_C.values())


def guess_language(text: str, lang_hint: str | None = None) -> str:
    """Guess ``"en"`` or ``"es"`` from common function words; ``lang_hint`` (or
    ``"en"``) breaks ties, e.g. for an empty or emoji-only text."""
    words = set(_ALNUM_RUN.findall(_COLLAPSE.sub("", normalise(text)[0])))
    return _guess(words, text, lang_hint)


def _guess(words: set[str], text: str, lang_hint: str | None) -> str:
    """Language from the message's collapsed words (see :func:`guess_language`)."""
    es = len(words & _ES_WORDS_C)
    en = len(words & _EN_WORDS_C)
    if not text.isascii() and _ES_MARKS.search(text.lower()):
        es += 2
    if es > en:
        return "es"
    if en > es:
        return "en"
    return lang_hint if lang_hint in ("en", "es") else "en"


# --------------------------------------------------------------------------------------
# Detection
# --------------------------------------------------------------------------------------

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
_COLLAPSE = re.compile(r"([a-z])(?=\1)")  # drop a letter the same letter follows
_ALNUM_RUN = re.compile(r"[a-z0-9]+")
_LONG_TOKEN = 8


def _candidate_entries(lex: Lexicon, norm: str, tokens: list[str], col: str) -> set[int]:
    """Indices of the entries whose anchor words occur in ``norm``.

    ``col`` is ``norm`` with doubled letters collapsed and ``tokens`` its words.
    """
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


def _words(norm: str) -> tuple[str, list[str]]:
    col = _COLLAPSE.sub("", norm)
    return col, _ALNUM_RUN.findall(col)


def _find(lex: Lexicon, norm: str, text: str, col: str, tokens: list[str]
          ) -> tuple[list[_Cand], bool]:
    """Crisis candidates in ``norm`` after the benign / past / weak filters.

    The flag says whether any crisis phrase matched before the filters: then the
    lexicon has made its call (``model.second_opinion`` is only asked otherwise).
    """
    cands: list[_Cand] = []
    filters: list[int] = []
    compiled = lex.crisis
    for index in _candidate_entries(lex, norm, tokens, col):
        pattern, category, flag, head = compiled[index]
        if category not in _CRISIS_SET:
            filters.append(index)
            continue
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


@dataclass(frozen=True)
class LexiconPass:
    """What the lexicon made of a message, and what the classifier reads of it."""

    lang: str
    matches: tuple[Match, ...]
    category: str | None
    words: str  # the message's normalised, letter-collapsed text (the classifier's input)
    features: frozenset[str]  # the lexicon's verdict as classifier features


def scan_lexicon(text: str, lang_hint: str | None = None, previous: str | None = None,
                 *, lexicon: Lexicon | None = None) -> LexiconPass:
    """The lexicon half of :func:`detect` (pure, no classifier)."""
    lex = lexicon if lexicon is not None else _current_lexicon()
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
    cands, any_phrase = _find(lex, norm, text, col, tokens)
    matches: list[Match] = []
    strong: set[Match] = set()
    seen: set[tuple[int, int, str]] = set()
    for c in sorted(cands, key=lambda c: (c.start, -c.end, c.flag != "strong")):
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
           *, lexicon: Lexicon | None = None, model: str | bool | None = None) -> Detection:
    """Scan one message for crisis language: the lexicon, then the learned classifier.

    ``previous`` is the same person's previous message: a phrase split across the two
    ("I want to" / "die") is caught, and matches are reported with offsets into
    ``text`` (spans that begin in ``previous`` are clipped to start at 0).

    The classifier (on unless ``model`` or ``PEERLINE_CRISIS_MODEL`` says ``0``; never
    with a custom ``lexicon``) decides where the lexicon is silent, names the category,
    and may drop a lexicon match it finds very unlikely (``overrule``, chosen at training
    time only where that lost no recall).
    """
    lexicon_pass = scan_lexicon(text, lang_hint, previous, lexicon=lexicon)
    lang, matches, category = lexicon_pass.lang, lexicon_pass.matches, lexicon_pass.category
    clf = _classifier() if lexicon is None and model_enabled(model) else None
    if clf is None:
        return Detection(bool(matches), category, lang, matches)
    verdict = clf.predict(lexicon_pass.words, lexicon_pass.features)
    if matches:
        if verdict.probability < clf.overrule:
            return Detection(False, None, lang, (), watch=True, score=verdict.probability,
                             source="overruled")
        return Detection(True, category, lang, matches, score=verdict.probability)
    if verdict.probability >= clf.threshold:
        whole = _trimmed(text)
        return Detection(True, verdict.category, lang,
                         (Match(text[whole[0]:whole[1]], *whole, verdict.category),),
                         score=verdict.probability, source="model")
    return Detection(False, None, lang, (), watch=verdict.probability >= clf.watch,
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
