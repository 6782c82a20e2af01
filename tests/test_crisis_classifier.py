"""The learned classifier: on by default, switched off by setting, loaded without pickle,
and held to its recorded figures on the committed blind set (the regression guard)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from peerline.crisis import classifier, detect
from peerline.crisis.evaluate import read_rows, run, score
from peerline.models import Escalation

ROOT = Path(__file__).resolve().parent.parent
BLIND_DIR = ROOT / "data" / "crisis" / "blind"
#: The blind sets the suite guards (A-K spent; L and M reported, errors not studied), with
#: their size and slices (G, I, K and M: turns in the middle of a conversation).
FOUR = ("direct_en", "direct_es", "indirect_en", "indirect_es")
SHAPES = {"2026-12-04-a": (880, FOUR), "2026-12-04-b": (880, FOUR),
          "2026-12-04-c": (880, FOUR), "2026-12-05-d": (880, FOUR),
          "2026-12-05-e": (880, FOUR), "2026-12-05-f": (880, FOUR),
          "2026-12-05-g": (800, ("chat_en", "chat_es")),
          "2026-12-05-h": (880, FOUR), "2026-12-05-i": (800, ("chat_en", "chat_es")),
          "2026-12-05-j": (880, FOUR), "2026-12-05-k": (800, ("chat_en", "chat_es")),
          "2026-12-06-l": (880, FOUR), "2026-12-06-m": (800, ("chat_en", "chat_es")),
          "2026-12-06-n": (880, FOUR), "2026-12-06-o": (800, ("chat_en", "chat_es")),
          "2026-12-06-p": (880, FOUR), "2026-12-06-q": (800, ("chat_en", "chat_es")),
          "2026-12-06-r": (880, FOUR), "2026-12-06-s": (800, ("chat_en", "chat_es")),
          "2026-12-06-t": (880, FOUR), "2026-12-06-u": (800, ("chat_en", "chat_es")),
          "2026-12-06-v": (880, FOUR), "2026-12-06-w": (800, ("chat_en", "chat_es")),
          "2026-12-06-x": (880, FOUR), "2026-12-06-y": (800, ("chat_en", "chat_es")),
          "2026-12-06-z": (880, FOUR), "2026-12-06-aa": (800, ("chat_en", "chat_es"))}
GUARDED = tuple(SHAPES)
#: A plan with no crisis word in it: the lexicon is silent, the classifier is not.
INDIRECT = "i already wrote letters for my kids and put them in my drawer"


@pytest.mark.parametrize("name", GUARDED)
def test_the_blind_sets_hold_their_recorded_figures(name: str) -> None:
    """Recall may not drop more than 0.02, nor false alarms rise more than 0.02, on any
    slice of a committed blind set (written by someone who never saw the rules)."""
    recorded = json.loads((BLIND_DIR / f"{name}.figures.json").read_text(encoding="utf-8"))
    table = score(run(read_rows(BLIND_DIR / f"{name}.csv")))
    assert set(recorded) <= set(table)
    for key, figures in recorded.items():
        now = table[key]
        assert now.positives == figures["crisis_rows"] and now.negatives == figures[
            "benign_rows"], key
        assert now.recall >= figures["recall"] - 0.02, (key, now.recall, figures)
        assert now.fpr <= figures["fpr"] + 0.02, (key, now.fpr, figures)


@pytest.mark.parametrize("name", GUARDED)
def test_the_blind_sets_are_the_size_the_readme_says(name: str) -> None:
    rows = read_rows(BLIND_DIR / f"{name}.csv")
    size, slices = SHAPES[name]
    assert len(rows) == size
    assert {r[3] for r in rows} == set(slices)


def test_the_classifier_is_on_by_default_and_catches_what_the_lexicon_cannot() -> None:
    lexicon_only = detect(INDIRECT, model="0")
    assert not lexicon_only.crisis
    d = detect(INDIRECT)
    assert d.crisis and d.source == "model" and d.category == "suicidal_intent"
    assert d.matches[0].text == INDIRECT  # volunteers see what it read
    assert d.to_json()["crisis"] is True


@pytest.mark.parametrize("off", ["0", "off", False])
def test_it_can_be_switched_off(off, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not detect(INDIRECT, model=off).crisis
    monkeypatch.setenv("PEERLINE_CRISIS_MODEL", "0")
    assert not detect(INDIRECT).crisis


def test_a_lexicon_match_stands_unless_the_classifier_finds_it_unlikely() -> None:
    """Each lexicon category has its own overrule level, never above a language's
    threshold; a plain crisis phrase stands, with its matched words."""
    model = classifier.shipped()
    assert model is not None
    assert set(model.threshold) == set(classifier.LANGUAGES) == set(model.watch)
    for lang in classifier.LANGUAGES:
        assert model.watch_for(lang) <= model.threshold_for(lang)
        for category in model.overrule:
            assert 0.0 <= model.overrule_for(category, lang) <= model.threshold_for(lang)
    for text in ("i want to kill myself tonight", "me quiero matar esta noche"):
        d = detect(text)
        assert d.crisis and d.source == "lexicon" and d.matches, text


def test_a_lexicon_match_the_classifier_finds_unlikely_is_dropped_to_a_watch() -> None:
    """An idiom the lexicon takes at its word ("kill me now" in a meeting) is dropped by
    the classifier: no crisis, but a quiet watch note, and never for a split phrase."""
    text = "kill me now, 3 more hours of this meeting"
    assert detect(text, model="0").crisis
    d = detect(text)
    assert not d.crisis and d.source == "overruled" and d.watch
    assert detect(text, previous="ugh").source == "lexicon"


@pytest.mark.parametrize("text", [
    "i wanna die lol but like actually", "me quiero morir jaja pero en serio",
    "kill me now lol, im not joking", "me quiero matar jajaja no es broma"])
def test_a_joke_taken_back_is_never_overruled(text: str, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    """Round 8 (sets B and J): "lol but actually" takes the joke back; the lexicon's
    match stands however unlikely the classifier finds it, while the same joke not
    taken back is still dropped to a watch."""
    _stands_however_unlikely(text, "suicidal_intent", monkeypatch)
    joke = text.split(" lol")[0].split(" jaja")[0] + " lol"
    assert not detect(joke).crisis and detect(joke).source == "overruled"


def test_no_training_text_is_in_a_committed_blind_set() -> None:
    """A text a blind set scores is never one the model learnt (same words, case and
    spacing aside): round 8 removed 474 such rows, most of them one to four words long."""
    from peerline.crisis.examples import read_csv, training_files

    def key(text: str) -> str:
        return " ".join(text.lower().split())

    blind = {key(row["text"]) for path in BLIND_DIR.glob("*.csv") for row in read_csv(path)}
    assert len(blind) > 8000
    shared = [(path.name, row["text"]) for path in training_files()
              for row in read_csv(path) if key(row["text"]) in blind]
    assert not shared, shared[:10]
    # the sets waiting unread for a later headline: counts only, so no one reads them
    waiting = {key(row["text"]) for path in (BLIND_DIR / "unscored").glob("*.csv")
               for row in read_csv(path)}
    overlap = sum(1 for path in training_files() for row in read_csv(path)
                  if key(row["text"]) in waiting)
    assert overlap == 0, f"{overlap} training rows share a text with an unscored blind set"


def test_the_model_files_load_without_pickle_and_once() -> None:
    model = classifier.load()
    assert model is not None
    assert model.coef.shape == (classifier.N_FEATURES, 1 + len(model.classes))
    with np.load(classifier.MODEL_DIR / classifier.WEIGHTS_FILE, allow_pickle=False) as z:
        assert "data" in z
    assert classifier.shipped() is classifier.shipped()
    meta = model.meta
    assert meta["rows"] >= 8000 and meta["trained_on"]
    assert not any("blind" in f["file"] for f in meta["trained_on"])
    if meta["kind"] == "stack":
        assert model.head is not None and model.stack is not None
        assert len(model.stack) == len(classifier.STACK_INPUTS) + 1


def test_a_stacked_model_is_built_saved_and_loaded_as_plain_arrays(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``train.build`` on a small labelled file writes npz/json only; the loaded stack
    gives the same P(crisis) as computing it from its parts, and reads the raw text."""
    from peerline.crisis import train

    monkeypatch.setattr(train, "FOLDS", 2)  # small and quick: the method, not the figures
    monkeypatch.setattr(train, "INNER_FOLDS", 2)
    rows = (ROOT / "tests" / "data" / "crisis_dev.csv").read_text(encoding="utf-8")
    small = tmp_path / "small.csv"
    small.write_text("\n".join(rows.splitlines()[:401]) + "\n", encoding="utf-8")
    meta = train.build([small], tmp_path, kind="stack")
    assert meta["stack_inputs"] == list(classifier.STACK_INPUTS)
    model = classifier.load(tmp_path)
    assert model is not None and model.meta["kind"] == "stack" and model.head is not None
    with np.load(tmp_path / classifier.WEIGHTS_FILE, allow_pickle=False) as z:
        assert {"stack", "head_w0", "head_b0", "head_w1", "head_b1"} <= set(z.files)
    text, raw = "i want to die", "I want to DIE"
    got = model.predict(text, ("suicidal_intent",), raw=raw, lang="en").probability
    ngram = (classifier.featurise([text], [("suicidal_intent",)]) @ model.coef
             ).toarray()[0, 0] + model.intercept[0]
    vectors = model.head.logit(classifier.embed([raw]))
    x = classifier.stack_features(np.array([ngram]), vectors, np.array([False]),
                                  [("suicidal_intent",)])
    expected = 1 / (1 + np.exp(-(x @ model.stack[:-1] + model.stack[-1])))
    assert got == pytest.approx(float(expected[0]), abs=1e-6)
    assert 0.0 <= got <= 1.0


def test_the_line_takes_the_setting_from_its_config(settings, clock) -> None:  # noqa: ANN001
    """``create_app({"PEERLINE_CRISIS_MODEL": "0"})`` leaves the classifier out of the
    webhook's scan; the default keeps it in."""
    from peerline.app import create_app

    from .helpers import Phones

    for value, crisis in (("1", True), ("0", False)):
        app = create_app({**settings, "PEERLINE_CRISIS_MODEL": value}, clock=clock)
        from .conftest import _wipe

        _wipe(app)
        with app.app_context():
            phones = Phones(app, app.test_client())
            assert phones.text("+15550107777", INDIRECT).status_code == 200
            with app.extensions["peerline"].sessions() as session:
                escalated = session.scalar(select(func.count()).select_from(Escalation))
            assert escalated == (1 if crisis else 0), value
        app.extensions["peerline"].engine.dispose()


def test_danger_the_lexicon_cannot_see_gets_the_domestic_violence_line_too(phones) -> None:
    """The classifier names the category, so danger in progress caught by it alone gets
    the DV hotline as well as 988, in the very reply."""
    text = "the guy from tonight wont leave my apartment and i locked myself in my room"
    assert not detect(text, model="0").crisis
    assert detect(text).category == "imminent_danger"
    replies = " ".join(phones.replies(phones.text("+15550107778", text)))
    assert "1-800-799-7233" in replies and "988" in replies


def test_a_watch_level_message_quietly_tells_the_paired_peer_only(phones, svc) -> None:
    """Uneasy but not a crisis: a marked note to the peer before the words, no hotline
    to the survivor, no escalation; repeated at most once per gap."""
    from .test_text_line import ALEX, add_volunteer

    text = "everything is too much lately"
    d = detect(text)
    assert d.watch and not d.crisis
    add_volunteer(svc, "Alex", ALEX)
    survivor = "+15550107779"
    phones.pair(ALEX, survivor, "hi")
    replies = phones.replies(phones.text(survivor, text))
    phones.replies(phones.text(survivor, text))  # the same unease again: no second note
    phones.work()
    assert not any("988" in r for r in replies)
    bodies = phones.bodies(ALEX)
    notes = [b for b in bodies if b.startswith("Note (not a crisis alert)")]
    assert len(notes) == 1
    assert bodies.index(notes[0]) < bodies.index(text)  # the note comes first
    assert not any("Note (not" in b for b in phones.bodies(survivor))
    with svc.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Escalation)) == 0


def test_the_app_passes_its_lexicon_dir_to_the_detector(settings, clock, tmp_path) -> None:
    """``create_app({"PEERLINE_LEXICON_DIR": ...})`` extends the lexicon for the line,
    with nothing in the environment (the detector reads the app's settings)."""
    from peerline import create_app

    from .conftest import _wipe
    from .helpers import Phones

    (tmp_path / "extra.txt").write_text("suicidal_intent | purple door\n", encoding="utf-8")
    text = "thinking about the purple door tonight"
    for extra, escalates in (("", False), (str(tmp_path), True)):
        app = create_app({**settings, "PEERLINE_CRISIS_MODEL": "0",
                          "PEERLINE_LEXICON_DIR": extra}, clock=clock)
        _wipe(app)
        with app.app_context():
            Phones(app, app.test_client()).text("+15550107780", text)
            with app.extensions["peerline"].sessions() as session:
                count = session.scalar(select(func.count()).select_from(Escalation))
            assert count == (1 if escalates else 0), extra
        app.extensions["peerline"].engine.dispose()


def test_one_message_scores_as_the_batch_path_scores_it() -> None:
    """``predict`` (the webhook's fast path, no sparse matrices) agrees with
    ``predict_many`` (scikit-learn's transform) on every blind-set text, with and without
    lexicon features: same category, P(crisis) equal to float32 rounding."""
    from peerline.crisis.detector import scan_lexicon

    clf = classifier.shipped()
    assert clf is not None
    texts = [row[0] for row in read_rows(BLIND_DIR / "2026-12-04-a.csv")]
    texts += ["", "   ", "a", "killl mys3lf", "ñandú ¿qué?"]
    for text in texts:
        scanned = scan_lexicon(text, "en", None)
        for lexicon in (scanned.features, (), ("means", "means", "filtered")):
            fast = clf.predict(scanned.words, lexicon)
            slow = clf.predict_many([scanned.words], [tuple(lexicon)])[0]
            assert fast.category == slow.category, text
            assert abs(fast.probability - slow.probability) < 1e-5, text
            t = clf.threshold_for("en")
            assert (fast.probability >= t) == (slow.probability >= t)


def test_the_overrule_level_gives_up_at_most_its_share_and_never_danger_now() -> None:
    """Round 5: a lexicon category's overrule level may silence at most ``loss`` of the
    crisis rows the lexicon caught in it (out of fold); danger happening now gives up
    none; the shipped model records the share it was built with."""
    from peerline.crisis.examples import Example
    from peerline.crisis.operating import safe_overrules

    def row(category: str, crisis: bool) -> Example:
        return Example("x", "en", category if crisis else "none", "", "", "x",
                       frozenset({category}), "en", category=category)

    rows, scores = [], []
    for category in ("suicidal_intent", "imminent_danger"):
        for i in range(400):  # 400 crisis rows scoring 0.001, 0.002, ... 0.400
            rows.append(row(category, True))
            scores.append((i + 1) / 1000)
        rows.append(row(category, False))
        scores.append(0.5)
    levels = safe_overrules(rows, np.array(scores), loss=0.005)
    assert levels["suicidal_intent"] == pytest.approx(0.003)  # silences 2 of 400
    assert levels["imminent_danger"] == pytest.approx(0.001)  # silences none
    assert safe_overrules(rows, np.array(scores))["suicidal_intent"] == pytest.approx(0.001)
    op = classifier.shipped().meta["operating_point"]  # type: ignore[union-attr]
    assert 0 < op["overrule_loss"] <= 0.01 and "imminent_danger" in op["overrule_no_loss"]


@pytest.mark.parametrize("text", ["I used to self harm, and the urges are back",
                                  "antes me cortaba y ayer recaí, volví a cortarme"])
def test_a_relapse_said_outright_is_never_overruled(text: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Round 10's model overruled "the urges are back" (its self-harm overrule level
    rose): a relapse the lexicon judged present stands however unlikely the classifier
    finds it."""
    _stands_however_unlikely(text, "self_harm", monkeypatch)


def _stands_however_unlikely(text: str, category: str,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    """With the classifier saying P(crisis) = 0, the lexicon's match still stands."""
    model = classifier.shipped()
    assert model is not None
    unlikely = classifier.Verdict(probability=0.0, category=category)
    monkeypatch.setattr(type(model), "predict", lambda *a, **k: unlikely)
    d = detect(text)
    assert d.crisis and d.source == "lexicon" and d.matches, text


@pytest.mark.parametrize("text", ["me autolesiono", "fatal dose?", "cutting myself rn",
                                  "quiero morirme"])
def test_a_match_with_no_words_around_it_is_never_overruled(
        text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Set P's "me autolesiono" was overruled (P 0.095): three words or fewer give the
    n-grams too little to weigh, so the lexicon's match stands; with a fourth word the
    classifier may overrule again (the joke test above)."""
    _stands_however_unlikely(text, "self_harm", monkeypatch)  # P(crisis) = 0 from here
    assert detect(text + " jaja lol").source == "overruled"


#: Replies a survivor sends many times a day; none of them is a crisis alone.
ORDINARY_REPLIES = ("si", "sí", "siii", "no", "ya", "ok", "dale", "bye", "gracias", "yes",
                    "sure", "nope", "vale")


@pytest.mark.parametrize("text", ORDINARY_REPLIES)
def test_a_one_word_reply_is_not_read_as_a_crisis(text: str) -> None:
    """Round 11 escalated "si", "no" and "ya" (P 0.78-0.80): one word has a handful of
    n-grams, each weighing far more after the L2 norm than inside a sentence. The length
    columns (``LENGTH_FEATURES``) give each short length its own intercept."""
    d = detect(text)
    assert not d.crisis, (text, d.score)


def test_a_short_message_sets_its_length_column_and_a_long_one_none() -> None:
    x = classifier.featurise(["si", "ya me voy", "i am going to be fine"], [(), (), ()])
    base = 2 * classifier.N_HASH + len(classifier.LEXICON_FEATURES)
    assert x.shape[1] == classifier.N_FEATURES
    assert x[0, base] == 1 and x[1, base + 2] == 1
    assert x[2, base:].nnz == 0
