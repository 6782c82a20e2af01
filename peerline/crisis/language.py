"""A cheap English/Spanish guess from function words."""

from __future__ import annotations

import re

from .normalise import _ALNUM_RUN, _COLLAPSE, normalise

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
