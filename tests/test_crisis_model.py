"""The statistical second opinion (``peerline.crisis.model``): loading, determinism,
spans, and that it never overrules the lexicon's idiom / past-account filters.

It is not wired into ``detect()`` (see README, crisis Evaluation); these tests hold
``second_opinion`` and ``train`` to their contracts. No timing asserts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from peerline.crisis import detect
from peerline.crisis import model as crisis_model
from peerline.crisis.detector import _words, normalise
from peerline.crisis.model import (
    MODEL_CATEGORY,
    MODEL_PATH,
    load_model,
    model_from_dict,
    second_opinion,
)

ROOT = Path(__file__).resolve().parent.parent


def _tokens(text: str) -> list[str]:
    return _words(normalise(text)[0])[1]


def test_model_file_is_small_and_loads() -> None:
    assert MODEL_PATH.exists()
    assert MODEL_PATH.stat().st_size < 1_000_000
    m = load_model()
    assert m is not None and m.weights
    assert load_model() is m  # cached
    assert all(isinstance(k, (str, tuple)) for k in m.weights)
    assert all(v != 0 for v in m.weights.values())


def test_import_does_no_work() -> None:
    code = ("import peerline.crisis.model as m; "
            "assert m.load_model.cache_info().currsize == 0; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_bad_format_is_refused() -> None:
    with pytest.raises(ValueError):
        model_from_dict({"format": 99, "bias": 0, "threshold": 0, "weights": {}})


def test_scores_are_deterministic_and_bigrams_count() -> None:
    m = model_from_dict({"format": 1, "bias": -1.0, "threshold": 0.5,
                         "weights": {"gone": 1.0, "be gone": 2.0}})
    assert m.score(_tokens("i will be gone")) == pytest.approx(2.0)
    assert m.flags(_tokens("i will be gone"))
    assert not m.flags(_tokens("gone fishing"))
    assert m.strongest(_tokens("i will be gone")) == 2  # "be" starts the bigram
    real = load_model()
    text = "i keep thinking tonight could be the end of it all"
    assert real.score(_tokens(text)) == real.score(_tokens(text))
    assert 0.0 <= real.probability(_tokens(text)) <= 1.0


def test_training_is_reproducible(tmp_path: Path) -> None:
    out_a, out_b = tmp_path / "a.json", tmp_path / "b.json"
    for out in (out_a, out_b):
        subprocess.run([sys.executable, "-m", "peerline.crisis.train", "--out", str(out),
                        "--holdout", "0"], cwd=ROOT, capture_output=True, check=True)
    assert out_a.read_bytes() == out_b.read_bytes()
    data = json.loads(out_a.read_text())
    shipped = json.loads(MODEL_PATH.read_text())
    assert data["weights"] == shipped["weights"] and data["threshold"] == shipped["threshold"]


@pytest.mark.parametrize("text", [
    "i keep thinking tonight could be the end of it all",
    "i already know how i would do it and when",
])
def test_indirect_phrasings_only_the_model_catches(text: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    assert not detect(text).crisis  # the lexicon alone misses it (the model is off)
    monkeypatch.setenv(crisis_model.ENV_MODEL, "1")
    d = detect(text)  # switched on, detect() asks it when the lexicon finds nothing
    assert d.crisis and d.category == MODEL_CATEGORY
    assert set(d.to_json()) == {"crisis", "category", "lang", "matches"}


@pytest.mark.parametrize("text", [
    "ok so background first.   I keep thinking tonight could be the end of it all!! idk",
    "Ｉ already know how I would do it — and when…",
    "honestly...\n\nI keep thinkiiing tonight could be the end of it all",
])
def test_added_match_is_a_real_span(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(crisis_model.ENV_MODEL, "1")
    d = second_opinion(text)
    assert d.crisis
    (m,) = d.matches
    assert m.text == text[m.start:m.end] and m.text.strip() == m.text and m.text


@pytest.mark.parametrize("text", [
    "this homework is killing me",
    "my feet are killing me after that shift",
    "me muero de risa con tus memes",
    "I used to self harm years ago but I'm doing better now",
    "my car is dying and wont make it to friday",
    "thanks for listening, talk tomorrow",
    "",
])
def test_idioms_and_everyday_texts_stay_clean(text: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(crisis_model.ENV_MODEL, "1")
    assert not second_opinion(text).crisis


def test_lexicon_verdict_is_kept_when_it_fires() -> None:
    text = "I want to kill myself"
    assert second_opinion(text) == detect(text)


def test_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(crisis_model.ENV_MODEL, raising=False)
    assert crisis_model.current_model() is None
    assert not second_opinion("i keep thinking tonight could be the end of it all").crisis
