"""Lexicon files: parsing, the anchor index, and the process-wide cache."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import re2

from .phrases import _FLAG_FIELD, _HEAD, _SLOT_LINE, compile_phrase
from .verdict import CATEGORIES, INTERNAL_CATEGORIES, LexiconError

_PACKAGE_LEXICON_DIR = Path(__file__).with_name("lexicons")
ENV_LEXICON_DIR = "PEERLINE_LEXICON_DIR"


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
    #: every crisis entry in one RE2 regex, for ASCII search strings: when it finds
    #: nothing no crisis entry matches (see :meth:`may_match`); None if RE2 cannot
    #: compile an entry
    prefilter: _Prefilter | None = field(default=None, repr=False, compare=False)
    #: per-token anchor look-ups, filled at detection time (see
    #: ``filters._token_entries``); bounded by ``TOKEN_CACHE_SIZE``
    token_cache: dict[str, TokenEntries] = field(default_factory=dict, repr=False,
                                                 compare=False)

    def may_match(self, norm: str) -> bool:
        """False only when no crisis entry matches the search string ``norm``.

        One linear-time RE2 search instead of the anchor look-ups and ``re`` searches:
        most messages stop here. Only for ASCII ``norm`` (RE2's ``\\w`` is ASCII;
        Python's is Unicode); anything else is left to the full scan (True).
        """
        if self.prefilter is None or not norm.isascii():
            return True
        return self.prefilter.found(norm.encode())


#: Most tokens a lexicon remembers the anchor look-ups of (cleared when full).
TOKEN_CACHE_SIZE = 50_000


@dataclass(frozen=True)
class TokenEntries:
    """What one token contributes to the candidate entries of a message.

    ``free``: entries it anchors (as a word or a word prefix) that need nothing else;
    ``paired``: entries it anchors that run only when one of their second words is in
    the message too; ``inner``: entries whose anchor occurs inside the token (only for
    long tokens, words run together such as "killmyself").
    """

    free: frozenset[int]
    paired: tuple[tuple[int, frozenset[str]], ...]
    inner: frozenset[int]


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


#: A word character before or after a match, in ASCII (all :meth:`Lexicon.may_match` sees).
_ASCII_NON_WORD = "[^0-9A-Za-z_]"
_TAIL = r"(?!\w)"
#: RE2's memory budget for the prefilter: its lazily built DFA grows up to this, once
#: per process (smaller budgets flush the DFA's states more often and run slower)
PREFILTER_MAX_MEM = 512 << 20


class _Prefilter:
    """An RE2 regex asked only whether it occurs in a byte string."""

    def __init__(self, regex: re2._Regexp):
        self.regex = regex
        # the compiled RE2 itself: ``regex.search`` spends most of its time in Python
        # (offsets from UTF-8 back to characters, a match object) on top of the search
        self._match = regex._regexp.Match
        self._anchor = re2._Anchor.UNANCHORED

    def found(self, data: bytes) -> bool:
        """Whether the regex matches somewhere in ``data``."""
        return self._match(self._anchor, data, 0, len(data))[0] != re2._NULL_SPAN


def _prefilter(entries: Iterable[tuple[re.Pattern[str], bool]]) -> _Prefilter | None:
    r"""One RE2 regex that matches an ASCII text exactly when one of ``entries`` (regex
    without its leading look-behind, needs a word boundary before it) would.

    RE2 has no look-arounds, so the two the phrase compiler writes become a consumed
    character or a string edge: ``(?<!\w)X`` matches at ``p`` exactly when
    ``(?:^|[^0-9A-Za-z_])X`` matches at ``p`` or ``p - 1``, and ``X(?!\w)`` likewise
    with ``X(?:$|[^0-9A-Za-z_])``. Anything else RE2 does not take (a custom lexicon's
    odd phrase): None, and every message gets the full scan.
    """
    parts = []
    for pattern, head in entries:
        body = pattern.pattern
        tail = body.endswith(_TAIL)
        if tail:
            body = body[: -len(_TAIL)]
        if "(?<" in body or "(?=" in body or "(?!" in body:
            return None
        parts.append((f"(?:^|{_ASCII_NON_WORD})" if head else "") + f"(?:{body})"
                     + (f"(?:$|{_ASCII_NON_WORD})" if tail else ""))
    if not parts:
        return None
    options = re2.Options()
    options.max_mem = PREFILTER_MAX_MEM
    options.never_capture = True
    options.log_errors = False
    try:
        return _Prefilter(re2.compile("|".join(parts), options))
    except re2.error:
        return None


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
        regex, anchors, second = compile_phrase(phrase, slots, e.source)
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
    lex.prefilter = _prefilter((pattern, head) for pattern, category, _, head in lex.crisis
                               if category in CATEGORIES)
    return lex


@functools.lru_cache(maxsize=8)
def _cached_lexicon(extra_dir: str | None) -> Lexicon:
    return load_lexicons(extra_dir)


def _current_lexicon(extra_dir: str | None = None) -> Lexicon:
    """The lexicons with ``extra_dir`` (the app's ``PEERLINE_LEXICON_DIR``; ``""`` for
    none); when it is None (the shell tools), ``$PEERLINE_LEXICON_DIR`` is read."""
    if extra_dir is None:
        extra_dir = os.environ.get(ENV_LEXICON_DIR)
    return _cached_lexicon(extra_dir or None)
