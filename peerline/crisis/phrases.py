"""The lexicon phrase language (``[optional]``, ``(a | b)``, ``x?``, ``{slot}``,
``word*``, ``#``, ``a ... b``) and its compiler to regexes with anchor words."""

from __future__ import annotations

import re

from .normalise import _APOSTROPHES, _fold_char
from .verdict import LexiconError

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


def compile_phrase(phrase: str, slots: dict[str, str], where: str
                   ) -> tuple[str, frozenset | None, frozenset | None]:
    """Regex source for one lexicon phrase (with word boundaries where they apply), its
    anchor words and the words of which one must also be present (see
    :class:`_PhraseParser`)."""
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
