"""The detector's vocabulary: categories, severity, and the verdict types."""

from __future__ import annotations

from dataclasses import dataclass

CATEGORIES = ("suicidal_intent", "self_harm", "means", "imminent_danger", "harm_to_others")

#: Most severe first: the category reported for a message is the first one matched here.
#: Danger happening now outranks everything (someone may be hurt in minutes); stated
#: suicidal intent next; a method or means (a plan) outranks self-harm without one;
#: harm to others last (it still escalates, but the hotline script differs).
SEVERITY = ("imminent_danger", "suicidal_intent", "means", "self_harm", "harm_to_others")

#: Categories that steer the filters but never raise a crisis on their own.
#: ``benign``: idioms and safe uses that suppress crisis matches they overlap.
#: ``past``: distal time / habit markers ("used to", "years ago", "in 2015") that make a
#: crisis match in the same clause a calm past account.
#: ``recovery``: "doing better", "therapy helped": with a past-tense cue (``pastverb``)
#: in the clause of a match, the match is a past account.
#: ``pastverb``: "was", "tried", "attempted"...
#: ``present``: "again", "relapse", "urge": a calm past account is not calm after all.
#: ``cue``: words that let a *weak* phrase count ("die", "tonight", "enough to").
INTERNAL_CATEGORIES = ("benign", "past", "recovery", "pastverb", "present", "cue")

#: Flags a lexicon line may carry in its third field.
#: ``weak``: counts only with another crisis match or a ``cue`` in the message.
#: ``short``: like ``weak``, but also counts alone in a message of at most 3 words.
FLAGS = ("strong", "weak", "short")


class LexiconError(ValueError):
    """A lexicon data file is malformed (the message names the file and the line)."""


@dataclass(frozen=True)
class Match:
    """One matched phrase: ``text == message[start:end]``."""

    text: str
    start: int
    end: int
    category: str


@dataclass(frozen=True)
class Detection:
    """The verdict for one message."""

    crisis: bool
    category: str | None
    lang: str
    matches: tuple[Match, ...] = ()
    #: not a crisis, but the classifier is uneasy: worth a quiet word to a paired peer
    watch: bool = False
    #: the classifier's P(crisis), when it was asked
    score: float | None = None
    #: who decided: "lexicon", "model" (the lexicon was silent) or "overruled"
    source: str = "lexicon"

    def to_json(self) -> dict:
        """The JSON object of the ``python -m peerline.crisis`` contract."""
        return {
            "crisis": self.crisis,
            "category": self.category,
            "lang": self.lang,
            "matches": [
                {"text": m.text, "start": m.start, "end": m.end, "category": m.category}
                for m in self.matches
            ],
        }
