"""Tests for the crisis-language detector (pure: no app, no database)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from peerline.crisis import (  # noqa: E402
    CATEGORIES,
    Detection,
    LexiconError,
    Match,
    detect,
    guess_language,
    load_lexicons,
)
from peerline.crisis.evaluate import read_rows, run, score  # noqa: E402

DEV_CSV = ROOT / "tests" / "data" / "crisis_dev.csv"


def _spans_ok(text: str, d: Detection) -> None:
    for m in d.matches:
        assert 0 <= m.start < m.end <= len(text)
        assert text[m.start:m.end] == m.text
        assert m.category in CATEGORIES


# ---- positives per category and language ------------------------------------------------

POSITIVES = [
    # English
    ("i want to kill myself", "suicidal_intent"),
    ("honestly I don't want to live anymore", "suicidal_intent"),
    ("everyone would be better off without me", "suicidal_intent"),
    ("thinking about suicide every day", "suicidal_intent"),
    ("I'm going to end my life this weekend", "suicidal_intent"),
    ("I cut myself again last night", "self_harm"),
    ("the urge to self harm is really strong", "self_harm"),
    ("I've been burning myself", "self_harm"),
    ("I took 40 pills", "means"),
    ("i'm going to jump off the bridge", "means"),
    ("i swallowed a whole bottle of tylenol", "means"),
    ("how many xanax would it take to die", "means"),
    ("he's hitting me right now", "imminent_danger"),
    ("he has a knife and is outside my door", "imminent_danger"),
    ("my boyfriend is choking me", "imminent_danger"),
    ("I'm going to kill him when he gets back", "harm_to_others"),
    ("im going to shoot up the school", "harm_to_others"),
    # Spanish
    ("quiero morirme", "suicidal_intent"),
    ("me quiero matar", "suicidal_intent"),
    ("ya no quiero vivir", "suicidal_intent"),
    ("no aguanto mas", "suicidal_intent"),
    ("no aguanto más esta vida", "suicidal_intent"),
    ("me voy a cortar", "self_harm"),
    ("tengo ganas de hacerme daño", "self_harm"),
    ("me tomé todas las pastillas", "means"),
    ("me voy a tirar del puente", "means"),
    ("me está pegando ahora", "imminent_danger"),
    ("mi esposo tiene un cuchillo", "imminent_danger"),
    ("lo voy a matar", "harm_to_others"),
]


@pytest.mark.parametrize(("text", "category"), POSITIVES)
def test_positive(text: str, category: str) -> None:
    d = detect(text)
    assert d.crisis, text
    assert d.category == category, (text, d)
    _spans_ok(text, d)


@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_category_and_language_is_covered(category: str, lang: str) -> None:
    rows = [t for t, c in POSITIVES if c == category and guess_language(t) == lang]
    assert rows, (category, lang)


# ---- benign idioms and non-crisis talk ----------------------------------------------------

NEGATIVES = [
    "my feet are killing me",
    "this homework is killing me",
    "dying to see you!",
    "we were just killing time at the mall",
    "I'd kill for a pizza",
    "I almost died laughing",
    "I used to self harm years ago but I'm doing better",
    "I was suicidal in 2015, therapy helped",
    "did you see the news about the shooting",
    "my mom is going to kill me if I'm late",
    "I cut my hair today",
    "I need to pick up my pills from the pharmacy",
    "I'll catch the bus at 7",
    "shoot me a text when you're home",
    "lol i'm dead 💀",
    "I'm not suicidal, just really tired",
    "me muero de risa",
    "me mata el calor",
    "me muero de hambre",
    "este trabajo me está matando",
    "me corté el pelo",
    "hace años me cortaba pero ya estoy mejor",
    "no aguanto el calor",
    "tengo que tomar mis pastillas",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_negative(text: str) -> None:
    d = detect(text)
    assert not d.crisis, (text, d)
    assert d.category is None and d.matches == ()


def test_relapse_after_past_account_escalates() -> None:
    assert detect("I used to cut and I want to again").crisis
    assert detect("I used to self harm, and the urges are back").crisis
    assert detect("I used to be happy but now I want to kill myself").crisis


# ---- robustness ------------------------------------------------------------------------

ROBUST = [
    "I WANT TO KILL MYSELF",
    "i want to dieeeee",
    "i want to kiiill myself",
    "k1ll mys3lf",
    "su1c1de",
    "thinking about s.u.i.c.i.d.e",
    "k i l l  m y s e l f",
    "dont want to live",
    "im going to kill myself",
    "i've been thinking about sucide",
    "suicidle thoughts",
    "im gonna kil myself",
    "kms",
    "gonna unalive myself",
    "sewerslide",
    "ctb tonight",
    "killmyself",
    "I want to 💊💊💊",
    "🪢",
    "quiero morir",
    "qüiero mórir",
    "ME QUIERO MATAR",
    "ya no quiero vivirrr",
    "me quiero morir",
    "pastillas",
]


@pytest.mark.parametrize("text", ROBUST)
def test_robustness(text: str) -> None:
    d = detect(text)
    assert d.crisis, text
    _spans_ok(text, d)


def test_accents_and_case_do_not_change_the_verdict() -> None:
    for a, b in [("Ya no aguanto más", "ya no aguanto mas"),
                 ("Me voy a quitar la vida", "me voy a quitar la vida")]:
        assert detect(a).category == detect(b).category is not None


def test_catch_the_bus_only_when_clear() -> None:
    assert not detect("I need to catch the bus to work").crisis
    assert detect("I'm ready to catch the bus for good").crisis


# ---- spans -------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "ok so... I want to k i l l  m y s e l f tonight",
    "He’s hitting me right now 😭 please",
    "Qué hago, ya no quiero vivir, me quiero morir",
    "don't want to live, I'll take 30 pills 💊",
    "e\u0301l me está pegando ahora",
    "s.u.i.c.i.d.e",
])
def test_span_text_equals_input_slice(text: str) -> None:
    d = detect(text)
    assert d.crisis
    _spans_ok(text, d)


def test_span_offsets_exact() -> None:
    text = "Hey. I don't want to live anymore."
    d = detect(text)
    assert d.crisis
    m = d.matches[0]
    assert text[m.start:m.end] == m.text
    assert "want to live" in m.text


# ---- previous message --------------------------------------------------------------------

def test_phrase_split_across_two_texts() -> None:
    d = detect("die", previous="I want to")
    assert d.crisis and d.category == "suicidal_intent"
    m = d.matches[0]
    assert (m.start, m.end, m.text) == (0, 3, "die")
    # the lexicon alone finds nothing in "die" by itself (round 8's classifier, trained on
    # one-word texts, flags a lone "die" on its own: a crisis line reads it so too)
    assert not detect("die", model="0").crisis


def test_matches_wholly_in_previous_are_not_reported() -> None:
    d = detect("thanks for listening", previous="I want to kill myself")
    assert not d.crisis and d.matches == ()


def test_previous_spanish() -> None:
    d = detect("matar", previous="me quiero")
    assert d.crisis and d.matches[0].text == "matar"


# ---- API shape ---------------------------------------------------------------------------

def test_to_json_shape() -> None:
    d = detect("I want to die")
    j = d.to_json()
    assert set(j) == {"crisis", "category", "lang", "matches"}
    assert j["crisis"] is True and j["category"] == "suicidal_intent" and j["lang"] == "en"
    assert set(j["matches"][0]) == {"text", "start", "end", "category"}
    assert json.loads(json.dumps(j)) == j
    assert detect("hello").to_json() == {"crisis": False, "category": None, "lang": "en",
                                         "matches": []}


def test_match_and_detection_are_frozen() -> None:
    m = Match("x", 0, 1, "means")
    with pytest.raises(AttributeError):
        m.start = 3  # type: ignore[misc]


def test_severity_picks_most_severe() -> None:
    d = detect("he has a gun and I want to kill myself")
    assert {m.category for m in d.matches} >= {"imminent_danger", "suicidal_intent"}
    assert d.category == "imminent_danger"


@pytest.mark.parametrize(("text", "hint", "lang"), [
    ("hola, necesito hablar con alguien", None, "es"),
    ("hi, I need to talk to someone", None, "en"),
    ("🙂", "es", "es"),
    ("🙂", None, "en"),
    ("", None, "en"),
    ("ok", "es", "es"),
])
def test_guess_language(text: str, hint: str | None, lang: str) -> None:
    assert guess_language(text, hint) == lang
    assert detect(text, lang_hint=hint).lang == lang


@pytest.mark.parametrize("text", ["", " ", "\n", "🙂🙂", "a" * 5000, "k" * 300,
                                  "\u0301\u0301", "'''", "1 2 3 4 5", "ﬁ ﬂ İ"])
def test_odd_inputs_do_not_crash(text: str) -> None:
    d = detect(text)
    _spans_ok(text, d)


# ---- lexicon loading ---------------------------------------------------------------------

def _write(tmp_path: Path, body: str) -> Path:
    d = tmp_path / "lex"
    d.mkdir(exist_ok=True)
    (d / "extra.txt").write_text(body, encoding="utf-8")
    return d


@pytest.mark.parametrize(("body", "needle"), [
    ("not_a_category | hello\n", "unknown category"),
    ("means |   \n", "empty phrase"),
    ("means\n", "expected"),
    ("means | (unclosed group\n", "missing"),
    ("means | {nosuchslot} pills\n", "unknown slot"),
    ("@bad slot line\n", "slot"),
    ("means | [only optional]\n", "empty phrase"),
])
def test_lexicon_validation_errors_name_file_and_line(tmp_path: Path, body: str,
                                                      needle: str) -> None:
    d = _write(tmp_path, "# comment\n\n" + body)
    with pytest.raises(LexiconError) as exc:
        load_lexicons(d)
    msg = str(exc.value)
    assert "extra.txt:3" in msg and needle in msg


def test_missing_extra_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LexiconError):
        load_lexicons(tmp_path / "nope")


def test_extra_dir_extends_the_lexicon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lexicon alone (the classifier has its own tests)."""
    text = "thinking about the purple door tonight"
    assert not detect(text, model="0").crisis
    d = _write(tmp_path, "@door = purple door | violet door\nsuicidal_intent | {door}\n"
                         "benign | purple door paint\n")
    lex = load_lexicons(d)
    assert detect(text, lexicon=lex).category == "suicidal_intent"
    assert not detect("buying purple door paint", lexicon=lex).crisis
    monkeypatch.setenv("PEERLINE_LEXICON_DIR", str(d))
    assert detect(text, model="0").crisis
    monkeypatch.delenv("PEERLINE_LEXICON_DIR")
    assert not detect(text, model="0").crisis


def test_import_does_no_work() -> None:
    code = ("import peerline.crisis.lexicon as d; "
            "assert d._cached_lexicon.cache_info().currsize == 0; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "ok"


# ---- CLI ---------------------------------------------------------------------------------

def test_cli_reads_lines_and_writes_json() -> None:
    lines = ["I want to die", "my feet are killing me", "me está pegando ahora", "",
             "ok so k1ll mys3lf"]
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONIOENCODING="utf-8")
    env.pop("PEERLINE_LEXICON_DIR", None)
    proc = subprocess.run([sys.executable, "-m", "peerline.crisis"], cwd=ROOT, env=env,
                          input="\n".join(lines) + "\n", capture_output=True, text=True,
                          encoding="utf-8", check=True)
    out = [json.loads(x) for x in proc.stdout.splitlines()]
    assert len(out) == len(lines)
    assert out[0]["crisis"] and out[0]["category"] == "suicidal_intent"
    assert not out[1]["crisis"] and out[1]["category"] is None and out[1]["matches"] == []
    assert out[2]["category"] == "imminent_danger" and out[2]["lang"] == "es"
    assert not out[3]["crisis"]
    for line, obj in zip(lines, out, strict=True):
        assert list(obj) == ["crisis", "category", "lang", "matches"]
        for m in obj["matches"]:
            assert line[m["start"]:m["end"]] == m["text"]


def test_evaluate_cli_exits_zero() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "peerline.crisis.evaluate", str(DEV_CSV)],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert "recall" in proc.stdout and "lang:es" in proc.stdout


# ---- the labelled development set --------------------------------------------------------

def test_dev_set_is_broad() -> None:
    rows = read_rows(DEV_CSV)
    assert len(rows) >= 250
    labels = {(lang, label) for _, lang, label, _ in rows}
    for lang in ("en", "es"):
        for cat in (*CATEGORIES, "none"):
            assert (lang, cat) in labels


def test_dev_set_recall_and_false_positive_rate() -> None:
    table = score(run(read_rows(DEV_CSV)))
    overall = table["all"]
    assert overall.recall is not None and overall.recall >= 0.97
    assert overall.fpr is not None and overall.fpr <= 0.05
    for lang in ("en", "es"):
        assert table[f"lang:{lang}"].recall >= 0.95


# ---- properties --------------------------------------------------------------------------

_PIECES = st.sampled_from([
    "kill", "myself", "i want to", "die", "dieee", "k1ll", "s.u.i.c.i.d.e", "k i l l",
    "me quiero", "morir", "más", "é", "\u0301", "\ufe0f", "💊", "🪢", "'", "’", " ", "  ",
    ".", "\n", "İ", "ﬁ", "ß", "30", "pills", "he", "is", "hitting", "me", "used to", "again",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=5)), max_size=12),
       st.one_of(st.none(), st.text(max_size=20)))
def test_spans_always_slice_the_input(parts: list[str], previous: str | None) -> None:
    text = "".join(parts)
    d = detect(text, previous=previous)
    _spans_ok(text, d)
    assert d.crisis == bool(d.matches)
    assert d.lang in ("en", "es")
    assert (d.category is None) == (not d.crisis)


def test_fullwidth_and_ligatures() -> None:
    assert detect("ｋｉｌｌ ｍｙｓｅｌｆ").crisis
    d = detect("I want to die ﬁnally")
    _spans_ok("I want to die ﬁnally", d)


def test_span_starting_in_previous_is_clipped_to_zero() -> None:
    d = detect("myself tonight", previous="im going to kill")
    assert d.crisis
    assert d.matches[0].start == 0 and d.matches[0].text.startswith("myself")


# ---- indirect ideation: finality, rehearsal, researching means, burden, preparing -------

INDIRECT_CRISES = [
    "i looked up how many of my meds it would take",
    "tonight im going to make the pain stop for good",
    "i dont see myself making it to next week",
    "i stood on the roof for an hour tonight thinking about it",
    "i gave my guitar to my cousin, told him i dont need them where im headed",
    "im just a burden, id be doing them a favor by leaving",
    "told my best friend she can have my dog if anything happens to me",
    "busqué cuántas pastillas de clonazepam se necesitan",
    "voy a hacer que el dolor pare para siempre",
    "no creo llegar a la próxima semana",
    "estuve en la azotea pensando en eso una hora",
    "escribí cartas para mis hijos por si algo pasa",
]

INDIRECT_LOOKALIKES = [
    "my phone wont make it to tonight lol",
    "my grandma probably wont make it to next week, the nurse said",
    "i googled how much tylenol for a headache",
    "for my essay i had to look up how many pills count as an overdose",
    "my friend said she looked up how many pills it would take, how do i help her",
    "i stood on the bridge for an hour taking photos of the sunset",
    "tonight im going to make the pain stop with an ice pack, my back is wrecked",
    "the pain in my knee is so bad i want it to stop forever",
    "mi celular no creo que llegue a la noche",
    "regalé mis cosas viejas a la iglesia porque me voy a mudar",
    "hice un testamento con el abogado porque acabo de tener a mi bebé",
]


@pytest.mark.parametrize("text", INDIRECT_CRISES)
def test_indirect_crisis(text: str) -> None:
    assert detect(text).crisis, text


@pytest.mark.parametrize("text", INDIRECT_LOOKALIKES)
def test_indirect_lookalike_is_benign(text: str) -> None:
    """The lexicon's filters; the classifier is measured on blind sets instead."""
    d = detect(text, model="0")
    assert not d.crisis, (text, d.matches)


@pytest.mark.parametrize("text", [
    "me kiero matar", "me voy a kitar la vida", "🔪 my wrists again",
    "someone broke in and is in my house", "theres someone in my house and im hiding",
])
def test_sms_spellings_emoji_means_and_break_ins(text):
    assert detect(text).crisis


@pytest.mark.parametrize("text", ["ke onda", "kiero ir al cine", "i broke my arm",
                                  "someone is in my room, its my sister"])
def test_their_look_alikes_stay_clean(text):
    assert not detect(text, model="0").crisis


# ---- round 5: set E's false-alarm families as general rules, each with a crisis twin ---------

FALSE_ALARM_TWINS = [
    # (crisis kept, look-alike dropped by the lexicon)
    ("i keep playing that song on repeat and i want to die",
     "in the song he says i want to die but its actually about love"),
    ("im suicidal and writing is the only thing keeping me here",
     "im writing a story where the main character is suicidal, is that ok"),
    ("quiero suicidarme y nadie lo sabe",
     "estoy escribiendo una novela donde la protagonista quiere suicidarse"),
    ("my thesis is due and all i think about is suicide",
     "my thesis is on veteran suicide, any good sources"),
    ("im writing a presentation on suicide because i want to die",
     "im writing a presentation on youth suicide for my psych class"),
    ("ya no aguanto la tesis, pienso en el suicidio todo el dia",
     "estoy investigando estadisticas de suicidio para mi tesis"),
    ("im going to overdose tonight",
     "we had a patient with an overdose today, hard to switch off"),
    ("me voy a dar una sobredosis esta noche",
     "hoy tuvimos un paciente con sobredosis en urgencias"),
    ("a year ago i tried to kill myself and tonight im going to finish it",
     "three years ago today i tried to kill myself. i have a job and a dog now"),
    ("hace dos años intente quitarme la vida y hoy quiero volver a hacerlo",
     "hoy hace dos años intente quitarme la vida. ahora tengo trabajo y una perrita"),
    ("de chamaca me cortaba y anoche volvi a cortarme",
     "de chamaca me cortaba, ya tengo 32 y eso quedo atras"),
    ("my buddy says hes thinking of ending it tonight",
     "my buddy was thinking of ending it last month, hes doing good now"),
    ("estoy en peligro, ya me encontro",
     "no estoy en peligro ni nada, solo queria desahogarme"),
    ("i want to die",
     "my therapist says it doesnt mean i want to die, and i dont"),
    ("im going to kill my brother when he gets home",
     "gonna kill my brother if he eats my leftovers again"),
    ("mi padrastro me va a matar",
     "esta materia me va a matar, mañana es el parcial"),
    ("nobody would notice if i was gone",
     "nobody would notice if i skipped the party so im staying home"),
    ("i want everything to stop forever",
     "i want everything to stop for just one day so im taking a mental health day"),
    ("les escribi cartas a mis hijos por si algo pasa",
     "le escribo cartas a mi difunto esposo, me ayuda con el duelo"),
    ("i know the code to my husbands gun safe and i opened it tonight",
     "i bought a gun safe so my kids can never get to my hunting rifles"),
    ("ya tengo la soga lista",
     "ya pusieron el columpio de soga en el rio"),
    ("me volvi a cortar los brazos",
     "me lastime la espalda cargando cajas"),
    ("im gonna die tonight, i have the pills",
     "my friend texted im gonna die because her crush saw her old tiktoks"),
    ("i wont be around much longer, i wrote letters to everyone",
     "i wont be around this weekend, visiting my parents upstate"),
    ("im done with everything, goodbye forever",
     "im done. done with dating apps forever lol"),
]


@pytest.mark.parametrize(("crisis", "lookalike"), FALSE_ALARM_TWINS)
def test_false_alarm_family_dropped_and_its_crisis_twin_kept(crisis: str,
                                                             lookalike: str) -> None:
    """Fiction and lyrics, research and work, anniversaries and people doing well now,
    negated danger, idioms, everyday plans, means in safe use, literal injuries: the
    lexicon lets the look-alike go and still catches the crisis that shares its words."""
    assert detect(crisis, model="0").crisis, crisis
    d = detect(lookalike, model="0")
    assert not d.crisis, (lookalike, d.matches)


# ---- round 7: sets H and I's false-alarm families as general rules, each with a crisis twin ---

ROUND7_TWINS = [
    # (crisis kept, look-alike dropped by the lexicon)
    ("my therapist asked if im having thoughts of suicide and i said yes, every day",
     "my therapist asked if im having thoughts of suicide and i said no and meant it"),
    ("i told my counselor im thinking about killing myself tonight",
     "im not thinking about killing myself or anything, i just need to vent about my landlord"),
    ("la psicologa me pregunto si tengo ideas suicidas y le dije que si, todos los dias",
     "la psicologa me pregunto si tengo ideas suicidas y le dije que no, y era verdad"),
    ("estoy pensando en matarme esta noche",
     "no estoy pensando en matarme ni nada, solo necesito desahogarme"),
    ("i cant stop having suicidal thoughts since group tonight",
     "our support group talked about suicidal thoughts and how we got through them"),
    ("im on the bridge, they havent put up the suicide barriers yet and im going to jump",
     "the bridge near my house is getting new suicide barriers, glad the city did it"),
    ("quiero suicidarme, el puente todavia no tiene barreras",
     "en el puente de mi ciudad pusieron barreras anti suicidio, ya era hora"),
    ("i have 30 pills saved up and im taking them all tonight",
     "i have 30 pills left in my prescription, need a refill before friday"),
    ("tengo 30 pastillas guardadas y me las voy a tomar todas",
     "me quedan 30 pastillas de la receta, tengo que ir a la farmacia"),
    ("i took the blade out of my razor to cut myself",
     "i need a new blade for my razor, any brand recs"),
    ("i bought rope to hang myself",
     "i bought rope for the clothesline finally"),
    ("ya tengo la soga para ahorcarme",
     "compre una soga para tender la ropa en el patio"),
    ("im going to the gun show tomorrow to buy a gun and end it",
     "gun show was packed this weekend, so many people"),
    ("wrote a goodbye letter to my kids, im done",
     "wrote a goodbye letter to my abuser that i will never send, then burned it"),
    ("les escribi una carta de despedida a mis hijos, ya me voy",
     "le escribi una carta de despedida a mi agresor que nunca voy a mandar"),
    ("im not going to be here tomorrow, i have the pills ready",
     "im not going to be here tomorrow, its my day off"),
    ("its my last night alive",
     "its my last night in the dorm, moving back home tomorrow"),
    ("ya no aguanto, me quiero morir",
     "ya no aguanto matematicas, el examen es mañana"),
    ("mi ex me amenaza con matarme, esta afuera",
     "mi ex me amenazaba con matarme. se fue a otro pais, ya me siento segura"),
    ("a los 17 intente suicidarme y hoy lo voy a volver a intentar",
     "a los 17 intente suicidarme. hoy tengo 35, dos hijos y una vida que me gusta"),
    ("todos estarian mejor sin mi",
     "antes pensaba que todos estarian mejor sin mi pero ya no pienso eso"),
    ("me volvi a hacer autolesiones anoche",
     "la terapeuta dice que mi historia de autolesiones no me define"),
    ("las pastillas de mi mama, me las voy a tomar todas",
     "las pastillas me dan sueño en la tarde, voy a preguntar si las cambio de hora"),
]


ROUND8_TWINS = [
    # (crisis caught by the lexicon, look-alike it lets go): sets J and K, studied
    ("i'm going to shoot the guy who raped my daughter, i know where he works",
     "the guy who raped my daughter got 12 years today, i cried the whole drive home"),
    ("i'm going to kill the coach who abused me, i know where he parks",
     "the coach who abused me finally got banned from the league"),
    ("the girl who spread the video is getting acid in her face, i know her bus stop",
     "the girl who spread the video got suspended, my mum talked to the school"),
    ("she keeps screaming and i dont trust myself with the baby right now",
     "i dont trust myself with the baby's bath yet, my mom helps me"),
    ("i'm in the shower cutting, can't stop", "i'm in the shower, text you in 10"),
    ("voy a matar al que me violo, ya se donde vive",
     "quiero matar al que invento los lunes"),
    ("estoy a punto de golpear a mi hija de 4 años",
     "estoy a punto de llevar a mi hija de 4 años al kinder"),
    ("me tiene agarrada del pelo, escribo como puedo",
     "mi bebe me tiene agarrada del pelo jaja le estan saliendo los dientes"),
    ("rayitas otra vez", "le pinte rayitas de colores al cuaderno de mi hija"),
    ("solo el dolor fisico me calma, ahorita voy a buscarlo",
     "el dolor de espalda no me calma con nada, voy al medico"),
    ("se sufre mucho si uno se toma el liquido de limpiar la piscina?",
     "el liquido de limpiar la piscina mancha la ropa?"),
    # after the round-8 headline: set L's misses (L spent)
    ("honestly mate i'm going to top myself, can't cope since the court case fell through",
     "gonna top myself up with credit before the bus"),
    ("my dad said he was gonna shoot himself and went out to the barn. what do i do",
     "the character is going to kill himself in the last chapter, too dark?"),
    ("estoy parada en el balcón, es un piso 11, quiero tirarme",
     "en el balcón quiero tirarme una foto con la vista"),
]

ROUND9_TWINS = [
    # set M's misses (M spent 2026-12-06): a third party's words reported, and whether a
    # pension or policy pays "if it's self inflicted"
    ("my coach wrote that she's going to kill herself tonight",
     "my coach wrote that she's going to kill it at the meet tonight"),
    ("my brother keeps threatening to kill himself and he's locked in the bathroom",
     "my brother keeps threatening to sell his xbox, he's locked in his room sulking"),
    ("does the pension still go to the kids if it's, you know, self inflicted",
     "does the pension still go to the kids if i remarry"),
    ("mi hermano dice que se va a matar y no contesta",
     "mi hermano dice que se va a matar estudiando para el examen jaja"),
    ("mi papá amenaza con matarse si mi mamá lo deja",
     "mi papá amenaza con irse de la casa si mi mamá no lo deja ver el fútbol"),
    # after the round-9 headline: set N's direct misses (N spent)
    ("tengo ideas suicidas desde hace meses y hoy están muy fuertes",
     "tuve ideas suicidas hace meses, ya pasó, hoy estoy bien"),
    ("barcode arms again tonight", "scanned the barcode on my arm at the festival gate"),
    ("bought 6 packets of paracetamol from 3 different shops today",
     "bought paracetamol from the shop for my mum's headache"),
    ("si me inyecto toda la insulina de mi abuelo me muero?",
     "me pongo toda la insulina que me recetó el doctor, como dijo"),
    ("¿cuánta hay que tomar para dormirse del todo?",
     "¿cuánta melatonina hay que tomar para dormir bien?"),
    # the attack review of 2026-12-06: "she'll" and an author reported
    ("my mom said she'll kill herself if dad leaves",
     "the author wrote that she wanted to kill herself, the book is about her recovery"),
]


@pytest.mark.parametrize(("crisis", "lookalike"), ROUND7_TWINS + ROUND8_TWINS + ROUND9_TWINS)
def test_round7_family_dropped_and_its_crisis_twin_kept(crisis: str, lookalike: str) -> None:
    """A counsellor's question answered no, a denial said outright, a group that talked
    about getting through, suicide barriers built, a prescription counted for a refill, a
    razor blade or a rope for the washing, a gun show, a goodbye letter to an abuser, a
    day off, a last night in the dorm, a subject one cannot stand, an old threat or an
    old attempt at an age now past, a history of self-harm: the lexicon lets the
    look-alike go and still catches the crisis that shares its words. Round 8 (from sets J
    and K): revenge on the one who hurt them or their child, acid, a parent who does not
    trust their hands, self-harm where they are now, about to hit a child, held by the
    hair, self-harm slang and pain sought, whether a poison hurts, each beside a
    look-alike sharing its words. Round 9 (set M): a third party's words reported
    ("wrote that she's going to kill herself", "dice que se va a matar"), and a pension
    that pays "if it's self inflicted"."""
    assert detect(crisis, model="0").crisis, crisis
    d = detect(lookalike, model="0")
    assert not d.crisis, (lookalike, d.matches)


@pytest.mark.parametrize("text", [
    "my therapist asked if im having thoughts of suicide and i said no. that was a lie, "
    "i think about it every day",
    "el medico me pregunto si pensaba en hacerme daño y le dije que no. mentira, lo pienso "
    "to los dias",
    "my abuser just broke in",
    "my ex is breaking in through the back door",
])
def test_a_denial_taken_back_and_an_abuser_breaking_in_are_caught(text: str) -> None:
    """Round 7's denial filter must not swallow a denial the writer takes back, and a
    known abuser breaking in is danger now (the lexicon knew only strangers)."""
    assert detect(text, model="0").crisis, text
