"""The learned crisis classifier (scikit-learn): it decides where the lexicon is silent.

Features: word 1–2-grams and character 2–5-grams of the detector's own normalised,
letter-collapsed text (``killl mys3lf`` → ``kil myself``), hashed (scikit-learn's
``HashingVectorizer``: no vocabulary to store), plus the lexicon's verdict as six
indicator features (a kept match in each category; a phrase an idiom or past-account
filter dropped). A logistic regression gives ``P(crisis)``; a second one, fitted on the
crisis rows only, names the category.

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
FORMAT = 2

#: Hash buckets per n-gram family (word, character).
N_HASH = 2 ** 18
#: The lexicon's verdict as features: a kept match per category, then "filtered".
LEXICON_FEATURES = ("suicidal_intent", "self_harm", "means", "imminent_danger",
                    "harm_to_others", "filtered")
N_FEATURES = 2 * N_HASH + len(LEXICON_FEATURES)


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
    lex = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                            shape=(len(texts), len(LEXICON_FEATURES)))
    return sparse.hstack([words.transform(texts), chars.transform(texts), lex],
                         format="csr", dtype=np.float32)


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
    threshold: float  # P(crisis) at or above which a lexicon-silent message is a crisis
    watch: float  # P(crisis) at or above which it is worth a quiet word to the peer
    overrule: float  # P(crisis) below which a lexicon match is dropped (0: never)
    meta: dict

    def predict_many(self, texts: Sequence[str],
                     lexicon: Sequence[Iterable[str]]) -> list[Verdict]:
        """Verdicts for normalised ``texts`` with their lexicon verdicts."""
        scores = (featurise(texts, lexicon) @ self.coef).toarray() + self.intercept
        crisis = 1.0 / (1.0 + np.exp(-np.clip(scores[:, 0], -50, 50)))
        best = scores[:, 1:].argmax(axis=1)
        return [Verdict(float(p), self.classes[int(k)]) for p, k in zip(crisis, best,
                                                                          strict=True)]

    def predict(self, text: str, lexicon: Iterable[str] = ()) -> Verdict:
        """The verdict for one normalised message (the webhook's path).

        The same arithmetic as :meth:`predict_many` without building sparse matrices: the
        hashed n-grams' counts, L2-normalised per family, times the rows of the weights
        they hit (``tests/test_crisis_classifier.py`` checks both agree). About a tenth of
        the time of going through scikit-learn's ``transform`` for a single message.
        """
        dense = self._dense()
        if dense is None:
            return self.predict_many([text], [tuple(lexicon)])[0]
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
         meta: dict) -> None:
    """Write the model files: ``coef`` is ``(1 + n_categories, n_features)`` (the crisis
    row, then one row per category of ``classes``), as scikit-learn lays weights out."""
    weights = sparse.csr_matrix(np.asarray(coef, dtype=np.float32).T)
    weights.eliminate_zeros()
    np.savez_compressed(directory / WEIGHTS_FILE, data=weights.data, indices=weights.indices,
                        indptr=weights.indptr, shape=np.array(weights.shape),
                        intercept=np.asarray(intercept, dtype=np.float64))
    body = {"format": FORMAT, "classes": list(classes), **meta}
    (directory / META_FILE).write_text(json.dumps(body, indent=1, sort_keys=True) + "\n",
                                       encoding="utf-8")


def load(directory: Path = MODEL_DIR) -> Classifier | None:
    """The model in ``directory``, or None when its files are absent."""
    weights_path, meta_path = directory / WEIGHTS_FILE, directory / META_FILE
    if not weights_path.exists() or not meta_path.exists():
        return None
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise ValueError(f"crisis classifier: unsupported format {meta.get('format')!r}")
    with np.load(weights_path, allow_pickle=False) as z:
        shape = tuple(int(x) for x in z["shape"])
        if shape[0] != N_FEATURES:
            raise ValueError("crisis classifier: feature space does not match this code")
        coef = sparse.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=shape)
        intercept = np.array(z["intercept"])
    op = meta["operating_point"]
    return Classifier(coef, intercept, tuple(meta["classes"]), float(op["threshold"]),
                      float(op["watch"]), float(op["overrule"]), meta)


@functools.lru_cache(maxsize=1)
def shipped() -> Classifier | None:
    """The packaged model, loaded once per process."""
    return load(MODEL_DIR)
