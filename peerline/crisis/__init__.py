"""Crisis-language detection for peerline (English and Spanish).

``detect(text, lang_hint=None, previous=None, model=None)`` is a pure function: the
lexicons (data files under ``lexicons/``, plus ``$PEERLINE_LEXICON_DIR/*.txt``) and the
learned classifier (``classifier.npz``) are loaded once on first use and cached. Nothing
is loaded at import time, and nothing here imports Flask, a database or Redis.

Modules: ``verdict`` (categories, ``Match``, ``Detection``), ``normalise`` (the search
string), ``phrases`` (the phrase language and its compiler), ``lexicon`` (files, anchor
index, cache), ``language`` (en/es guess), ``filters`` (candidates, idioms, past
accounts, weak phrases), ``classifier`` (the learned model), ``detector`` (``detect``).
"""

from .detector import detect, model_enabled, scan_lexicon
from .language import guess_language
from .lexicon import Lexicon, load_lexicons
from .verdict import CATEGORIES, SEVERITY, Detection, LexiconError, Match

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
    "model_enabled",
    "scan_lexicon",
]
