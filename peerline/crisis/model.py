"""A small linear "second opinion" for the crisis detector (pure Python, no numpy).

Binary logistic regression over word unigrams and bigrams of the detector's own
normalised, letter-collapsed tokens (``detector._words``: ``"killl"`` → ``"kil"``,
``"ya no"`` → ``("ya", "no")``). The weights are data, ``model.json`` next to this file,
written by ``python -m peerline.crisis.train`` (only non-zero weights are kept) and
loaded lazily on first use; importing this module does no work.

``detect()`` asks it (``model_match``) only when the lexicon found nothing: it may only
*add* an escalation the lexicon missed, and only when no lexicon phrase matched at all,
not even one a benign idiom, past-account or weak-phrase filter then suppressed (so
"this homework is killing me" and "me muero de risa" stay the lexicon's call).
Replayed against the lexicons of earlier commits on the batches written after them it
added +8 and +21 points of recall at +1.7 and +5.0 points of false alarms (see
``README.md``, crisis Evaluation). **It is off by default** (``PEERLINE_CRISIS_MODEL=1``
switches it on): trained on ~1,150 rows it still flags everyday openers such as "i just
want to go home", which on a peer line would teach volunteers to ignore alerts. It is
kept, with its training command, for the day the labelled set is large enough.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

from .detector import Detection, Match

MODEL_PATH = Path(__file__).with_name("model.json")
#: set to "1" to switch the model on (it is off by default: see the module docstring)
ENV_MODEL = "PEERLINE_CRISIS_MODEL"
#: category reported for an escalation the model adds (the lexicon had no guess)
MODEL_CATEGORY = "suicidal_intent"
FORMAT = 1

_ALNUM_RUN = re.compile(r"[a-z0-9]+")  # as detector._ALNUM_RUN
_SENTENCE = re.compile(r"[^.!?\n]+")


@dataclass(frozen=True)
class Model:
    """Loaded weights: ``score = bias + Σ weights[feature]`` over the features present."""

    bias: float
    threshold: float  # on the raw score (log-odds), as chosen by cross-validation
    weights: dict  # str (unigram) or tuple[str, str] (bigram) -> float
    meta: dict

    def score(self, tokens: list[str]) -> float:
        """Log-odds that a message with these (collapsed) tokens is a crisis."""
        get = self.weights.get
        s = self.bias + sum(map(get, tokens, repeat(0.0)))
        if len(tokens) > 1:
            s += sum(map(get, zip(tokens, tokens[1:], strict=False), repeat(0.0)))
        return s

    def probability(self, tokens: list[str]) -> float:
        """``score`` through the logistic function."""
        z = self.score(tokens)
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    def flags(self, tokens: list[str]) -> bool:
        """True when the score reaches the threshold."""
        return self.score(tokens) >= self.threshold

    def strongest(self, tokens: list[str]) -> int:
        """Index of the token carrying the largest positive weight (itself or its bigram)."""
        get = self.weights.get
        best, best_i = -math.inf, 0
        for i, tok in enumerate(tokens):
            w = get(tok, 0.0)
            if i + 1 < len(tokens):
                w = max(w, get((tok, tokens[i + 1]), 0.0))
            if w > best:
                best, best_i = w, i
        return best_i


def features(tokens: list[str]) -> list:
    """The features a message contributes (unigram strings, bigram tuples)."""
    return list(tokens) + list(zip(tokens, tokens[1:], strict=False))


def key_to_json(key: str | tuple[str, ...]) -> str:
    """A feature as stored in ``model.json`` (a bigram as ``"a b"``)."""
    return key if isinstance(key, str) else " ".join(key)


def _key_from_json(key: str) -> str | tuple[str, ...]:
    parts = key.split(" ")
    return parts[0] if len(parts) == 1 else tuple(parts)


def model_from_dict(data: dict) -> Model:
    """Build a :class:`Model` from the JSON object ``train`` writes."""
    if data.get("format") != FORMAT:
        raise ValueError(f"crisis model: unsupported format {data.get('format')!r}")
    weights = {_key_from_json(k): float(v) for k, v in data["weights"].items()}
    return Model(float(data["bias"]), float(data["threshold"]), weights,
                 dict(data.get("meta", {})))


@functools.lru_cache(maxsize=4)
def load_model(path: str | None = None) -> Model | None:
    """The model in ``path`` (default ``model.json``), loaded once; None when absent."""
    p = Path(path) if path else MODEL_PATH
    if not p.exists():
        return None
    with open(p, encoding="utf-8") as fh:
        return model_from_dict(json.load(fh))


def current_model() -> Model | None:
    """The model ``detect()`` uses, or None when switched off (the default) or missing."""
    if os.environ.get(ENV_MODEL, "0").strip().lower() not in ("1", "on", "true", "yes"):
        return None
    return load_model(None)


def sentence_span(text: str, pos: int) -> tuple[int, int]:
    """Bounds of the sentence of ``text`` around offset ``pos``, white space trimmed."""
    for m in _SENTENCE.finditer(text):
        if m.start() <= pos < m.end():
            start, end = m.start(), m.end()
            break
    else:
        start, end = 0, len(text)
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start == end:  # pragma: no cover - pos always lies on a token character
        start, end = 0, len(text)
    return start, end


def model_match(text: str,
                normalised: tuple[str, list[int] | None, list[str]] | None = None
                ) -> Match | None:
    """The model's match for ``text`` (the sentence around its strongest word), if any.

    ``normalised`` is ``(norm, smap, tokens)`` of ``text`` when the caller has them.
    """
    model = current_model()
    if model is None:
        return None
    from .detector import _to_original, _words, normalise

    if normalised is None:
        norm, smap = normalise(text)
        tokens = _words(norm)[1]
    else:
        norm, smap, tokens = normalised
    if not tokens or not model.flags(tokens):
        return None
    i = model.strongest(tokens)
    # collapsing doubled letters never splits or joins a run of [a-z0-9], so token i
    # of the collapsed string is run i of ``norm``
    run = next(m for k, m in enumerate(_ALNUM_RUN.finditer(norm)) if k == i)
    pos = _to_original(text, smap, run.start(), run.end())[0]
    start, end = sentence_span(text, pos)
    return Match(text[start:end], start, end, MODEL_CATEGORY)


def second_opinion(text: str, lang_hint: str | None = None) -> Detection:
    """``detect(text)``: the lexicon, and the model where the lexicon found nothing."""
    from .detector import detect

    return detect(text, lang_hint)
