"""The learned crisis classifier (scikit-learn): it decides where the lexicon is silent.

Two base models and a stacker. (1) N-grams: word 1–2-grams and character 2–5-grams of
the detector's own normalised, letter-collapsed text (``killl mys3lf`` → ``kil
myself``), hashed (scikit-learn's ``HashingVectorizer``: no vocabulary to store), plus
the lexicon's verdict as six indicator features (a kept match in each category; a
phrase an idiom or past-account filter dropped) and the length of a short message (one,
two or three words). A logistic regression scores crisis; a
second one, fitted on the crisis rows only, names the category. (2) Sentence vectors:
the ``wordllama`` wheel's own 256-dimension static embeddings of the raw, lower-cased
text, scored by a small MLP. (3) A stacking logistic regression turns the two scores
(and their Spanish interactions: the static vectors are weaker in Spanish) plus the
lexicon's six indicators into a calibrated ``P(crisis)``. A model file without the
vector head and stacker (``"kind": "ngram"``, the shipped one: it won out of fold) is
the n-gram regression alone, and never imports ``wordllama``.

The weights are data: ``classifier.npz`` (non-zero weights only) and ``classifier.json``
(thresholds, training provenance, figures) beside this module, written by
``python -m peerline.crisis.train`` from the labelled data in the repository. No pickle:
loading never runs code, and the file does not depend on the scikit-learn version.
Loaded once per process, on first use; importing this module does no work.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

MODEL_DIR = Path(__file__).parent
WEIGHTS_FILE = "classifier.npz"
META_FILE = "classifier.json"
FORMAT = 4

#: Hash buckets per n-gram family (word, character).
N_HASH = 2 ** 18
#: The lexicon's verdict as features: a kept match per category, then "filtered".
LEXICON_FEATURES = ("suicidal_intent", "self_harm", "means", "imminent_danger",
                    "harm_to_others", "filtered")
#: The message's length in words as features, one indicator per short length (a text of
#: one to three words has a handful of n-grams, each weighing far more after the L2
#: norm than in a sentence: round 11 read "si", "no" and "ya" as crises at P 0.78-0.80
#: with no such row in training; these columns let each short length have its own
#: intercept). A message of four words or more sets none of them.
LENGTH_FEATURES = ("words:1", "words:2", "words:3")
N_FEATURES = 2 * N_HASH + len(LEXICON_FEATURES) + len(LENGTH_FEATURES)
#: The language guesses with their own operating point.
LANGUAGES = ("en", "es")
#: The stacker's inputs: n-gram logit, vector logit, both again for Spanish, Spanish,
#: then the lexicon indicators.
STACK_INPUTS = ("ngram", "vectors", "ngram*es", "vectors*es", "es", *LEXICON_FEATURES)


@functools.lru_cache(maxsize=1)
def _wordllama() -> Any:
    """The ``wordllama`` wheel's packaged model, loaded once (never downloads)."""
    import wordllama
    from wordllama import WordLlama

    return WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)


def embed(texts: Sequence[str]) -> np.ndarray:
    """Unit-length static sentence vectors of the raw ``texts`` (lower-cased)."""
    if not texts:
        return np.zeros((0, 256), dtype=np.float32)
    vectors = _wordllama().embed([t.lower() for t in texts], norm=True)
    return np.asarray(vectors, dtype=np.float32)


def lexicon_matrix(lexicon: Sequence[Iterable[str]]) -> np.ndarray:
    """The lexicon verdicts as dense 0/1 columns in :data:`LEXICON_FEATURES` order."""
    return np.array([[float(n in set(names)) for n in LEXICON_FEATURES] for names in lexicon],
                    dtype=np.float64).reshape(len(lexicon), len(LEXICON_FEATURES))


def stack_features(ngram: np.ndarray, vectors: np.ndarray, spanish: np.ndarray,
                   lexicon: Sequence[Iterable[str]]) -> np.ndarray:
    """The stacker's input rows (:data:`STACK_INPUTS`) from the two base logits."""
    es = np.asarray(spanish, dtype=np.float64)
    return np.column_stack([ngram, vectors, ngram * es, vectors * es, es,
                            lexicon_matrix(lexicon)])


@dataclass(frozen=True)
class VectorHead:
    """A multi-layer perceptron on sentence vectors (ReLU between layers; the output is
    a logit)."""

    layers: tuple[tuple[np.ndarray, np.ndarray], ...]

    def logit(self, x: np.ndarray) -> np.ndarray:
        """The crisis logit of each row of ``x``."""
        for i, (w, b) in enumerate(self.layers):
            x = x @ w + b
            if i < len(self.layers) - 1:
                x = np.maximum(x, 0.0)
        return x[:, 0]


@functools.lru_cache(maxsize=1)
def _vectorisers() -> tuple[Any, Any]:
    """The two stateless hashing vectorisers (built once, on first use)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    common = {"n_features": N_HASH, "alternate_sign": False, "norm": "l2",
              "lowercase": False, "dtype": np.float32}
    words = HashingVectorizer(analyzer="word", ngram_range=(1, 2),
                              token_pattern=r"[a-z0-9]+", **common)
    chars = HashingVectorizer(analyzer="char_wb", ngram_range=(2, 5), **common)
    return words, chars


def featurise(texts: Sequence[str], lexicon: Sequence[Iterable[str]]) -> sparse.csr_matrix:
    """Feature rows for normalised ``texts`` and each one's lexicon verdict (a set of
    :data:`LEXICON_FEATURES` names)."""
    words, chars = _vectorisers()
    rows, cols = [], []
    index = {name: i for i, name in enumerate(LEXICON_FEATURES)}
    for r, names in enumerate(lexicon):
        for name in names:
            rows.append(r)
            cols.append(index[name])
    for r, text in enumerate(texts):
        bucket = length_bucket(text)
        if bucket is not None:
            rows.append(r)
            cols.append(len(LEXICON_FEATURES) + bucket)
    lex = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                            shape=(len(texts), len(LEXICON_FEATURES) + len(LENGTH_FEATURES)))
    return sparse.hstack([words.transform(texts), chars.transform(texts), lex],
                         format="csr", dtype=np.float32)


def length_bucket(text: str) -> int | None:
    """The :data:`LENGTH_FEATURES` column of normalised ``text`` (None: four words or
    more). An empty text (emoji alone, say) counts as one word."""
    n = len(text.split())
    return max(n, 1) - 1 if n <= len(LENGTH_FEATURES) else None


@dataclass(frozen=True)
class Verdict:
    """The classifier's view of one message."""

    probability: float  # P(crisis)
    category: str  # the most likely crisis category (even when below the threshold)


@dataclass(frozen=True)
class Classifier:
    """Loaded weights and the operating points chosen at training time."""

    coef: sparse.csr_matrix  # (n_features, 1 + n_categories): crisis, then categories
    intercept: np.ndarray  # (1 + n_categories,)
    classes: tuple[str, ...]  # the categories, in the order of the columns after the first
    threshold: dict[str, float]  # per language guess: P(crisis) at or above which a
    # lexicon-silent message is a crisis
    watch: dict[str, float]  # per language: P(crisis) worth a quiet word to the peer
    overrule: dict[str, float]  # per lexicon category: P(crisis) below which its match
    # is dropped (0: never; never above the language's threshold)
    meta: dict
    head: VectorHead | None = None  # the sentence-vector model (None: n-grams alone)
    stack: np.ndarray | None = None  # stacker weights over STACK_INPUTS, then intercept

    def threshold_for(self, lang: str) -> float:
        """The crisis threshold for a message whose language guess is ``lang``."""
        return self.threshold.get(lang, self.threshold["en"])

    def watch_for(self, lang: str) -> float:
        """The watch level for a message whose language guess is ``lang``."""
        return self.watch.get(lang, self.watch["en"])

    def overrule_for(self, category: str | None, lang: str = "en") -> float:
        """The P(crisis) below which a lexicon match of ``category`` is dropped (never
        above the language's threshold; 0: never)."""
        return min(self.overrule.get(category or "", 0.0), self.threshold_for(lang))

    def predict_many(self, texts: Sequence[str], lexicon: Sequence[Iterable[str]],
                     raw: Sequence[str] | None = None,
                     langs: Sequence[str] | None = None) -> list[Verdict]:
        """Verdicts for normalised ``texts`` with their lexicon verdicts; the vector head
        reads the ``raw`` texts (default: ``texts``), the stacker their ``langs``."""
        lexicon = [tuple(names) for names in lexicon]
        scores = (featurise(texts, lexicon) @ self.coef).toarray() + self.intercept
        logit = scores[:, 0]
        if self.head is not None and self.stack is not None:
            vectors = self.head.logit(embed(list(raw if raw is not None else texts)))
            spanish = np.array([lang == "es" for lang in (langs or ["en"] * len(texts))])
            x = stack_features(logit, vectors, spanish, lexicon)
            logit = x @ self.stack[:-1] + self.stack[-1]
        crisis = 1.0 / (1.0 + np.exp(-np.clip(logit, -50, 50)))
        best = scores[:, 1:].argmax(axis=1)
        return [Verdict(float(p), self.classes[int(k)]) for p, k in zip(crisis, best,
                                                                          strict=True)]

    def predict(self, text: str, lexicon: Iterable[str] = (), raw: str | None = None,
                lang: str = "en") -> Verdict:
        """The verdict for one normalised message (``raw``: as the person wrote it), the
        webhook's path.

        For the n-gram model, the same arithmetic as :meth:`predict_many` without
        building sparse matrices: the hashed n-grams' counts, L2-normalised per family,
        times the rows of the weights they hit (``tests/test_crisis_classifier.py`` checks
        both agree). About a tenth of the time of scikit-learn's ``transform`` for one
        message.
        """
        dense = self._dense() if self.stack is None else None
        if dense is None:  # a stacked model, or another scikit-learn: the long way
            return self.predict_many([text], [tuple(lexicon)],
                                     [raw if raw is not None else text], [lang])[0]
        scores = self.intercept.copy()
        for offset, vectoriser in zip((0, N_HASH), _vectorisers(), strict=True):
            index = _hashed(vectoriser, text)
            if index.size:
                index, counts = np.unique(index, return_counts=True)
                values = counts.astype(np.float32)
                values /= np.sqrt(np.dot(values, values))
                scores += values @ dense[offset + index]
        for name in lexicon:
            scores += dense[2 * N_HASH + LEXICON_FEATURES.index(name)]
        bucket = length_bucket(text)
        if bucket is not None:
            scores += dense[2 * N_HASH + len(LEXICON_FEATURES) + bucket]
        crisis = 1.0 / (1.0 + np.exp(-np.clip(scores[0], -50, 50)))
        return Verdict(float(crisis), self.classes[int(scores[1:].argmax())])

    def _dense(self) -> np.ndarray | None:
        """The weights as a dense float32 array (~12 MB), made once; None without the
        hashing internals (another scikit-learn): :meth:`predict` then goes the long way."""
        if _hash_tokens is None:
            return None
        held = self.__dict__.get("_dense_coef")
        if held is None:
            held = np.ascontiguousarray(self.coef.toarray(), dtype=np.float32)
            object.__setattr__(self, "_dense_coef", held)
        return held


try:  # FeatureHasher's own loop: the same hashes HashingVectorizer.transform makes
    from sklearn.feature_extraction._hashing_fast import transform as _hash_tokens
except ImportError:  # pragma: no cover - another scikit-learn layout
    _hash_tokens = None


def _hashed(vectoriser: Any, text: str) -> np.ndarray:
    """The bucket of each n-gram of ``text`` (repeats kept), as ``transform`` hashes them."""
    analyse = _analysers()[id(vectoriser)]
    indices, _, _ = _hash_tokens([[(token, 1) for token in analyse(text)]], N_HASH,
                                 np.float32, False, 0)
    return np.asarray(indices, dtype=np.intp)


@functools.lru_cache(maxsize=1)
def _analysers() -> dict[int, Any]:
    """Each vectoriser's analyser (tokenising and n-grams), built once."""
    return {id(v): v.build_analyzer() for v in _vectorisers()}


def save(directory: Path, coef: np.ndarray, intercept: np.ndarray, classes: Sequence[str],
         meta: dict, head: Sequence[tuple[np.ndarray, np.ndarray]] = (),
         stack: np.ndarray | None = None) -> None:
    """Write the model files: ``coef`` is ``(1 + n_categories, n_features)`` (the crisis
    row, then one row per category of ``classes``), as scikit-learn lays weights out;
    ``head`` the vector MLP's ``(W, b)`` layers and ``stack`` the stacker's weights
    (intercept last), both or neither."""
    weights = sparse.csr_matrix(np.asarray(coef, dtype=np.float32).T)
    weights.eliminate_zeros()
    directory.mkdir(parents=True, exist_ok=True)
    extra: dict[str, np.ndarray] = {}
    for i, (w, b) in enumerate(head):
        extra[f"head_w{i}"] = np.asarray(w, dtype=np.float32)
        extra[f"head_b{i}"] = np.asarray(b, dtype=np.float32)
    if stack is not None:
        extra["stack"] = np.asarray(stack, dtype=np.float64)
    np.savez_compressed(directory / WEIGHTS_FILE, data=weights.data, indices=weights.indices,
                        indptr=weights.indptr, shape=np.array(weights.shape),
                        intercept=np.asarray(intercept, dtype=np.float64), **extra)
    kind = "stack" if stack is not None else "ngram"
    body = {"format": FORMAT, "kind": kind, "classes": list(classes), **meta}
    (directory / META_FILE).write_text(json.dumps(body, indent=1, sort_keys=True) + "\n",
                                       encoding="utf-8")


def load(directory: Path = MODEL_DIR) -> Classifier | None:
    """The model in ``directory``, or None when its files are absent."""
    weights_path, meta_path = directory / WEIGHTS_FILE, directory / META_FILE
    if not weights_path.exists() or not meta_path.exists():
        return None
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:  # 4: with the length columns
        raise ValueError(f"crisis classifier: unsupported format {meta.get('format')!r}")
    with np.load(weights_path, allow_pickle=False) as z:
        shape = tuple(int(x) for x in z["shape"])
        if shape[0] != N_FEATURES:
            raise ValueError("crisis classifier: feature space does not match this code")
        coef = sparse.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=shape)
        intercept = np.array(z["intercept"])
        layers = tuple((np.array(z[f"head_w{i}"]), np.array(z[f"head_b{i}"]))
                       for i in range(len(z.files)) if f"head_w{i}" in z.files)
        stack = np.array(z["stack"]) if "stack" in z.files else None
    if meta.get("kind", "ngram") == "stack" and (not layers or stack is None
                                                  or len(stack) != len(STACK_INPUTS) + 1):
        raise ValueError("crisis classifier: the stacked model's weights are incomplete")
    op = meta["operating_point"]
    # older model files: one level for every category, one threshold for every language
    levels = _per_key(op["overrule"], LEXICON_FEATURES[:-1])
    return Classifier(coef, intercept, tuple(meta["classes"]),
                      _per_key(op["threshold"], LANGUAGES), _per_key(op["watch"], LANGUAGES),
                      levels, meta,
                      VectorHead(layers) if layers else None, stack)


def _per_key(value: float | dict, keys: Sequence[str]) -> dict[str, float]:
    """A per-key setting from a model file (a single number counts for every key)."""
    if isinstance(value, dict):
        return {str(k): float(v) for k, v in value.items()}
    return {k: float(value) for k in keys}


@functools.lru_cache(maxsize=1)
def shipped() -> Classifier | None:
    """The packaged model, loaded once per process."""
    return load(MODEL_DIR)
