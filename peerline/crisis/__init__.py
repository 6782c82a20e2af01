"""Crisis-language detection for peerline (English and Spanish).

``detect(text, lang_hint=None, previous=None)`` is a pure function: lexicons are data
files under ``peerline/crisis/lexicons/`` (plus ``$PEERLINE_LEXICON_DIR/*.txt``), loaded
once on first use and cached. Nothing is loaded at import time.
"""

from .detector import (
    CATEGORIES,
    SEVERITY,
    Detection,
    Lexicon,
    LexiconError,
    Match,
    detect,
    guess_language,
    load_lexicons,
)

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
]
