"""Normalising a message into the search string the lexicon and classifier read,
with a map back to the original offsets (accents, case, apostrophes, spaced and dotted
letters, leetspeak, Spanish SMS spellings, repeated letters)."""

from __future__ import annotations

import functools
import re
import unicodedata

_APOSTROPHES = "'`\u2019\u2018\u02bc\u00b4\u2032"
_DROP = {"\ufe0f", "\ufe0e", "\u200d", "\u200b", "\u200c", "\u2060", "\ufeff", "\u00ad"}
_NON_ASCII_OR_APOS = re.compile("[^\x00-\x7f]|['`]")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
                       "@": "a", "$": "s", "!": "i", "|": "l"})
_LEET_HINT = re.compile(r"[a-z][0-9@$!|]|[0-9@$!|][a-z]")
# a leet character at all: a fast scan (``re`` skips ahead on a leading character set)
# that spares most texts the slower _LEET_HINT
_LEET_CHAR = re.compile(r"[0-9@$!|]")
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


def _has_sms_es(s: str) -> bool:
    """Cheap pre-check (substring tests) before the regex, which most texts never need."""
    # written out: ``any()`` over a generator costs more than the six tests
    return (" ki" in s or " ke" in s or "xq" in s or "pq" in s or "aki" in s
            or "nadien" in s or s.startswith(("ki", "ke")))


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
    if _LEET_CHAR.search(s) and _LEET_HINT.search(s):
        s = _TOKEN.sub(_leet_token, s)
    if _has_sms_es(s) and _SMS_ES_RE.search(s):
        s, smap = _edit(s, smap, [(m.start(), m.end(), _SMS_ES[m.group(0)])
                                  for m in _SMS_ES_RE.finditer(s)])
    return s, smap


_COLLAPSE = re.compile(r"([a-z])(?=\1)")  # drop a letter the same letter follows
_ALNUM_RUN = re.compile(r"[a-z0-9]+")


#: ASCII characters other than ``[a-z0-9]`` to a space: an ASCII text's ``[a-z0-9]+``
#: runs are then its ``split()`` (a few times faster than ``findall``)
_ALNUM_ONLY = str.maketrans({chr(_i): chr(_i) if chr(_i) in "abcdefghijklmnopqrstuvwxyz0123456789"
                             else " " for _i in range(128)})


def _words(norm: str) -> tuple[str, list[str]]:
    """``norm`` with doubled letters collapsed, and its ``[a-z0-9]+`` words."""
    col = _COLLAPSE.sub("", norm)
    if col.isascii():
        return col, col.translate(_ALNUM_ONLY).split()
    return col, _ALNUM_RUN.findall(col)


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
