"""Throughput of the crisis detector on one core, against a naive baseline.

    .venv/bin/python bench/crisis_bench.py [--messages 20000] [--crisis-share 0.05]

Messages are 20-40 words, English and Spanish (about 2:1), built from everyday
peer-support sentences with a share of crisis sentences mixed in, seeded so every run
sees the same texts. The baseline is a plain lower-case substring scan
(``any(p in text.lower() for p in phrases)``) of the same lexicon's crisis phrases,
expanded from the phrase syntax into literal strings. Both run in this process, one
after the other, on one core. Prints messages/s for each and the ratio.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from peerline.crisis import CATEGORIES, classifier, detect, load_lexicons  # noqa: E402
from peerline.crisis.lexicon import _current_lexicon  # noqa: E402

EN = [
    "I had a really long day at work and my manager kept piling things on me",
    "thanks for getting back to me so fast, it means a lot",
    "my sister came over and we cooked dinner together which helped",
    "I keep thinking about what happened last year and it still makes me anxious",
    "therapy has been helping but some weeks are harder than others",
    "I couldn't sleep last night because of the noise upstairs",
    "can we talk about how to set boundaries with my mom",
    "I went for a walk in the park and felt a bit calmer afterwards",
    "honestly I just need someone to listen for a few minutes",
    "my kids are finally asleep so I have some time to text",
    "the group session on tuesday was really good, I want to go again",
    "I feel like nobody at school understands what I went through",
    "I'm nervous about court next week but my advocate will be there",
    "is there a group for survivors that meets on weekends",
    "my landlord still hasn't fixed the heater and it's freezing",
    "I started journaling like you suggested and it helps a little",
    "sometimes I get flashbacks when I hear a car door slam",
    "my best friend moved away and I feel pretty lonely",
    "do you have any tips for grounding when I get overwhelmed",
    "I'm proud of myself for going to the appointment today",
    "the new job is stressful but the people are kind",
    "I had a good conversation with my brother for the first time in years",
    "I'm trying to eat better and drink more water",
    "my dog has been such a comfort these past few months",
    "can I talk to the same person as last time",
    "I don't really know where to start but I want to try",
    "I get really anxious before family holidays",
    "my counselor is on vacation so I thought I'd text here",
    "this homework is killing me and my feet are killing me too",
    "I used to self harm years ago but I'm doing better now",
    "my phone is almost dead so I might stop replying soon",
    "we watched a movie and I laughed so hard I almost died",
]
ES = [
    "hoy fue un dia muy largo en el trabajo y estoy cansada",
    "gracias por contestar tan rapido, de verdad lo aprecio",
    "mi hermana vino a la casa y cocinamos juntas",
    "sigo pensando en lo que paso el ano pasado y me pone nerviosa",
    "la terapia me esta ayudando pero algunas semanas son mas dificiles",
    "no pude dormir anoche por el ruido de los vecinos",
    "necesito hablar con alguien un ratito nada mas",
    "mis hijos ya se durmieron asi que tengo tiempo para escribir",
    "hay algun grupo de apoyo en espanol los fines de semana",
    "me da ansiedad pensar en la audiencia de la proxima semana",
    "fui a caminar al parque y me senti un poco mejor",
    "mi mama no entiende lo que paso y eso me duele",
    "quiero aprender a poner limites con mi familia",
    "me muero de risa con los videos que me mandas",
    "me mata el calor en esta ciudad",
]
CRISIS = [
    "I don't want to live anymore and I have my pills ready",
    "he's hitting me right now please help",
    "i want to k1ll mys3lf tonight",
    "ya no quiero vivir, me quiero morir",
    "me esta pegando ahora y tengo miedo",
    "I've been cutting again and I can't stop",
]


def make_messages(n: int, crisis_share: float, seed: int = 7) -> list[str]:
    """``n`` messages of 20-40 words."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        pool = ES if rng.random() < 1 / 3 else EN
        words: list[str] = []
        target = rng.randint(20, 40)
        if rng.random() < crisis_share:
            words.extend(rng.choice(CRISIS).split())
        while len(words) < target:
            words.extend(rng.choice(pool).split())
        out.append(" ".join(words[:target]))
    return out


_TOKEN = re.compile(r"\s*(\{[^{}\s]+\}|[()\[\]|]|[^\s()\[\]|{}]+)")


def _expand(phrase: str, slots: dict[str, str], cap: int, depth: int = 0) -> list[str]:
    """Literal strings for a lexicon phrase (alternatives multiplied out, capped)."""
    tokens = _TOKEN.findall(phrase)
    pos = 0

    def alternation() -> list[str]:
        nonlocal pos
        alts = sequence()
        while pos < len(tokens) and tokens[pos] == "|":
            pos += 1
            alts += sequence()
        return alts[:cap]

    def sequence() -> list[str]:
        nonlocal pos
        parts: list[list[str]] = []
        while pos < len(tokens) and tokens[pos] not in ("|", ")", "]"):
            tok = tokens[pos]
            pos += 1
            if tok in ("(", "["):
                inner = alternation()
                pos += 1
                parts.append(inner + ([""] if tok == "[" else []))
            elif tok == "?":
                parts[-1] = parts[-1] + [""]
            elif tok.startswith("{"):
                name = tok[1:-1]
                body = slots.get(name, "20") if name != "n" else "20"
                parts.append(_expand(body, slots, cap, depth + 1) if depth < 6 else [body])
            else:
                optional = tok.endswith("?")
                word = tok.rstrip("?*").replace("#", "1").replace("-", " ")
                parts.append([word, ""] if optional else [word])
        out = []
        for combo in itertools.islice(itertools.product(*parts), cap):
            out.append(" ".join(w for w in combo if w))
        return out

    return alternation()


def baseline_phrases() -> list[str]:
    lex = load_lexicons(os.environ.get("PEERLINE_LEXICON_DIR") or None)
    phrases: set[str] = set()
    for e in lex.entries:
        if e.category in CATEGORIES:
            phrases.update(p.lower() for p in _expand(e.phrase, lex.slots, cap=200) if p)
    return sorted(phrases)


def baseline(text: str, phrases: list[str]) -> bool:
    low = text.lower()
    return any(p in low for p in phrases)


def rate(fn, messages: list[str], repeat: int) -> float:
    best = 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        for m in messages:
            fn(m)
        best = max(best, len(messages) / (time.perf_counter() - t0))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--crisis-share", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    messages = make_messages(args.messages, args.crisis_share)
    words = sum(len(m.split()) for m in messages) / len(messages)
    t0 = time.perf_counter()
    _current_lexicon()
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = classifier.shipped()
    detect("warm up")  # the sentence-vector model loads on first use too
    model_s = time.perf_counter() - t0
    phrases = baseline_phrases()
    def lexicon_only(m: str) -> object:
        return detect(m, model="0")

    flagged = sum(lexicon_only(m).crisis for m in messages)
    both_flagged = sum(detect(m).crisis for m in messages)
    base_flagged = sum(baseline(m, phrases) for m in messages)
    ours = rate(lexicon_only, messages, args.repeat)
    both = rate(detect, messages[: max(1, len(messages) // 4)], args.repeat)
    naive = rate(lambda m: baseline(m, phrases), messages, args.repeat)
    print(f"python {sys.version.split()[0]}, one core, {len(messages)} messages, "
          f"{words:.1f} words on average, crisis share {args.crisis_share:.0%}")
    print(f"lexicon load + compile (once per process): {load_s * 1000:.0f} ms")
    kind = model.meta.get("kind", "ngram") if model is not None else "none"
    print(f"classifier load ({kind}, once per process): {model_s * 1000:.0f} ms")
    print(f"lexicon  : {ours:10,.0f} messages/s  (flagged {flagged})")
    print(f"lexicon + classifier (the default): {both:10,.0f} messages/s  "
          f"(flagged {both_flagged} of all)")
    print(f"baseline : {naive:10,.0f} messages/s  (flagged {base_flagged}; "
          f"{len(phrases)} literal phrases, substring scan)")
    print(f"ratio lexicon/baseline: {ours / naive:.2f}x; "
          f"lexicon+classifier/baseline: {both / naive:.3f}x")


if __name__ == "__main__":
    main()
