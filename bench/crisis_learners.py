"""Candidate crisis learners (issue 10) against the shipped one, scored alike.

Out of fold on the training rows (the project's folds) and, fitted on every training
row, on the pooled spent blind sets A-M; the line's whole decision (lexicon unless P <
overrule, else P >= t). Never reads data/crisis/blind/unscored/. Results in README.md,
"The learned classifier". Cache: $CRISIS_LEARNERS_CACHE (default /tmp/crisis_learners).

    python bench/crisis_learners.py prep              # examples + feature blocks (~2 min)
    python bench/crisis_learners.py prep2             # the extra `char` blocks
    python bench/crisis_learners.py screen NAME...    # fit on folds 1-4: fold 0 and A-M
    python bench/crisis_learners.py full NAME...      # 5 folds + fit on all: A-M
    python bench/crisis_learners.py table screen|full NAME...
    python bench/crisis_learners.py perset NAME...    # per set, each slice at its aim
"""

from __future__ import annotations

import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize

from peerline.crisis import classifier
from peerline.crisis.examples import ROOT, load_examples, training_files
from peerline.crisis.learners import SEED, folds
from peerline.crisis.operating import (
    OVERRULE_LOSS,
    decide,
    operating_point,
    probability,
    safe_overrules,
)

CACHE = Path(os.environ.get("CRISIS_LEARNERS_CACHE", "/tmp/crisis_learners"))
CACHE.mkdir(exist_ok=True)
BLIND = sorted((ROOT / "data/crisis/blind").glob("2026-12-0*-[a-m].csv"))


def prep() -> None:
    t0 = time.time()
    ex = load_examples(training_files())
    bl = []
    for p in BLIND:
        assert "unscored" not in str(p)
        bl += load_examples([p], dedupe=False)
    pickle.dump((ex, bl), open(CACHE / "examples.pkl", "wb"))
    allx = ex + bl
    texts = [e.words for e in allx]
    common = {"alternate_sign": False, "norm": None, "lowercase": False, "dtype": np.float32}
    blocks = {
        "W": HashingVectorizer(
            analyzer="word",
            ngram_range=(1, 2),
            token_pattern=r"[a-z0-9]+",
            n_features=2**18,
            **common,
        ),
        "Cwb": HashingVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), n_features=2**18, **common
        ),
        "Cc": HashingVectorizer(analyzer="char", ngram_range=(2, 5), n_features=2**18, **common),
        "W20": HashingVectorizer(
            analyzer="word",
            ngram_range=(1, 2),
            token_pattern=r"[a-z0-9]+",
            n_features=2**20,
            **common,
        ),
        "Cwb20": HashingVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), n_features=2**20, **common
        ),
        "W13": HashingVectorizer(
            analyzer="word",
            ngram_range=(1, 3),
            token_pattern=r"[a-z0-9]+",
            n_features=2**18,
            **common,
        ),
        "Cwb16": HashingVectorizer(
            analyzer="char_wb", ngram_range=(1, 6), n_features=2**18, **common
        ),
    }
    for k, v in blocks.items():
        sparse.save_npz(CACHE / f"{k}.npz", v.transform(texts).tocsr())
        print(k, time.time() - t0, flush=True)
    L = classifier.lexicon_matrix([e.lexicon for e in allx]).astype(np.float32)
    np.save(CACHE / "L.npy", L)
    # check: baseline blocks == shipped featurise
    ref = classifier.featurise(texts[:500], [e.lexicon for e in allx[:500]])
    mine = base_x()[:500]
    assert abs(ref - mine).max() < 1e-5
    try:
        np.save(CACHE / "V.npy", classifier.embed([e.text for e in allx]))
    except Exception as exc:  # noqa: BLE001
        print("no wordllama", exc)
    print("prep done", len(ex), len(bl), time.time() - t0)


_blk: dict = {}


def blk(k: str):
    if k not in _blk:
        _blk[k] = (
            np.load(CACHE / f"{k}.npy") if k in ("L", "V") else sparse.load_npz(CACHE / f"{k}.npz")
        )
    return _blk[k]


def l2(m, binary=False, sub=False):
    m = m.copy()
    if binary:
        m.data[:] = 1
    if sub:
        m.data = np.log1p(m.data)
    return normalize(m, norm="l2", copy=False)


def hs(*ms):
    return sparse.hstack(
        [m if sparse.issparse(m) else sparse.csr_matrix(m) for m in ms],
        format="csr",
        dtype=np.float32,
    )


def base_x(w="W", c="Cwb", binary=False, sub=False):
    return hs(l2(blk(w), binary, sub), l2(blk(c), binary, sub), blk("L"))


def lr(C=32.0):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, solver="liblinear", max_iter=1000, random_state=SEED)


def simple(make_x, make_model):
    """learner(train_idx, test_idx_list) -> list of decision arrays"""

    def run(tr, tests, y):
        x = make_x()
        m = make_model().fit(x[tr], y[tr])
        return [m.decision_function(x[t]) for t in tests]

    return run


def nbsvm(C=32.0, alpha=1.0, binary=True):
    def run(tr, tests, y):
        x = base_x()
        xb = base_x(binary=True) if binary else x
        xt = xb[tr]
        p = alpha + np.asarray(xt[y[tr]].sum(0)).ravel()
        q = alpha + np.asarray(xt[~y[tr]].sum(0)).ravel()
        r = np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)
        xs = x @ sparse.diags(r)
        xs = xs.tocsr()
        m = lr(C).fit(xs[tr], y[tr])
        return [m.decision_function(xs[t]) for t in tests]

    return run


def sgd(penalty="elasticnet", alpha=1e-6, l1=0.15):
    from sklearn.linear_model import SGDClassifier

    def make():
        return SGDClassifier(
            loss="log_loss",
            penalty=penalty,
            alpha=alpha,
            l1_ratio=l1,
            max_iter=50,
            tol=1e-4,
            random_state=SEED,
        )

    return simple(base_x, make)


def avg_wc(C=32.0):
    def run(tr, tests, y):
        xw = hs(l2(blk("W")), blk("L"))
        xc = hs(l2(blk("Cwb")), blk("L"))
        mw, mc = lr(C).fit(xw[tr], y[tr]), lr(C).fit(xc[tr], y[tr])
        return [(mw.decision_function(xw[t]) + mc.decision_function(xc[t])) / 2 for t in tests]

    return run


def svm(C=1.0):
    from sklearn.svm import LinearSVC

    return simple(base_x, lambda: LinearSVC(C=C, random_state=SEED, max_iter=5000))


def wllama(scale=1.0, C=32.0):
    return simple(lambda: hs(base_x(), blk("V") * scale), lambda: lr(C))


def perlang(C=32.0):
    def run(tr, tests, y):
        x = base_x()
        es = np.array([e.guess == "es" for e in ALL])
        out = [np.zeros(len(t)) for t in tests]
        for flag in (False, True):
            trl = tr[es[tr] == flag]
            m = lr(C).fit(x[trl], y[trl])
            for o, t in zip(out, tests, strict=True):
                sel = es[t] == flag
                if sel.any():
                    o[sel] = m.decision_function(x[t[sel]])
        return out

    return run


def both_lang(C=32.0, w=0.5):
    """one pooled model plus per-language model, logits averaged"""

    def run(tr, tests, y):
        a = simple(base_x, lambda: lr(C))(tr, tests, y)
        b = perlang(C)(tr, tests, y)
        return [w * u + (1 - w) * v for u, v in zip(a, b, strict=True)]

    return run


CANDS = {
    "base": simple(base_x, lambda: lr(32)),
    "C8": simple(base_x, lambda: lr(8)),
    "C16": simple(base_x, lambda: lr(16)),
    "C64": simple(base_x, lambda: lr(64)),
    "C128": simple(base_x, lambda: lr(128)),
    "binary": simple(lambda: base_x(binary=True), lambda: lr(32)),
    "sublin": simple(lambda: base_x(sub=True), lambda: lr(32)),
    "char": simple(lambda: base_x(c="Cc"), lambda: lr(32)),
    "hash2^20": simple(lambda: base_x(w="W20", c="Cwb20"), lambda: lr(32)),
    "w13": simple(lambda: base_x(w="W13"), lambda: lr(32)),
    "cwb16": simple(lambda: base_x(c="Cwb16"), lambda: lr(32)),
    "nbsvm": nbsvm(32),
    "nbsvm8": nbsvm(8),
    "nbsvm_C4": nbsvm(4),
    "sgd_en": sgd("elasticnet", 1e-6, 0.15),
    "sgd_l2": sgd("l2", 1e-6, 0.0),
    "avg_w_c": avg_wc(32),
    "svm1": svm(1.0),
    "svm03": svm(0.3),
    "wllama": wllama(1.0),
    "perlang": perlang(32),
    "char_C64": simple(lambda: base_x(c="Cc"), lambda: lr(64)),
    "char_C16": simple(lambda: base_x(c="Cc"), lambda: lr(16)),
    "char_svm": simple(
        lambda: base_x(c="Cc"),
        lambda: __import__("sklearn.svm").svm.LinearSVC(C=1.0, random_state=SEED, max_iter=5000),
    ),
    "char20": simple(lambda: base_x(w="W20", c="Cc20"), lambda: lr(32)),
    "char26": simple(lambda: base_x(c="Cc26"), lambda: lr(32)),
    "char15": simple(lambda: base_x(c="Cc15"), lambda: lr(32)),
    "pooled+perlang": both_lang(32),
}


def load():
    global EX, BL, ALL
    EX, BL = pickle.load(open(CACHE / "examples.pkl", "rb"))
    ALL = EX + BL


def prep2():
    load()
    texts = [e.words for e in ALL]
    common = {"alternate_sign": False, "norm": None, "lowercase": False, "dtype": np.float32}
    for k, (nf, rng) in {
        "Cc20": (2**20, (2, 5)),
        "Cc26": (2**18, (2, 6)),
        "Cc15": (2**18, (1, 5)),
    }.items():
        v = HashingVectorizer(analyzer="char", ngram_range=rng, n_features=nf, **common)
        sparse.save_npz(CACHE / f"{k}.npz", v.transform(texts).tocsr())
        print(k, flush=True)


def levels(rows, p, ov):
    return np.array([ov.get(e.category, 0.0) if e.category else np.inf for e in rows])


def flag(p, lev, t):
    return p >= np.minimum(lev, t)


def at_fpr(p, lev, truth, mask, target):
    """lowest t with FPR(mask) <= target -> flagged"""
    neg = mask & ~truth
    cands = np.unique(np.concatenate([p[neg], [1.0 + 1e-9]]))
    lo, hi = 0, len(cands) - 1  # hi always feasible
    while lo < hi:
        mid = (lo + hi) // 2
        f = flag(p, lev, cands[mid])
        if f[neg].mean() <= target:
            hi = mid
        else:
            lo = mid + 1
    return flag(p, lev, cands[lo])


def slice_of(e, blind):
    return e.slice if blind else f"{e.kind}_{e.lang}"


def table(mode, names):
    rows_md = []
    for name in names:
        z = np.load(CACHE / f"{mode}-{name}.npz")
        oof, bl = z["oof"], z["blind"]
        keep = ~np.isnan(oof)
        tr = [e for e, k in zip(EX, keep, strict=True) if k]
        p_tr, p_bl = probability(oof[keep]), probability(bl)
        ov = safe_overrules(tr, p_tr, OVERRULE_LOSS)
        res = {}
        for tag, rows, p, blind in (("oof", tr, p_tr, False), ("AM", BL, p_bl, True)):
            truth = np.array([e.crisis for e in rows])
            lev = levels(rows, p, ov)
            sl = np.array([slice_of(e, blind) for e in rows])
            allm = np.ones(len(rows), bool)
            for tgt in (0.05, 0.09):
                f = at_fpr(p, lev, truth, allm, tgt)
                res[f"{tag}R@{tgt}"] = f[truth].mean()
                if tgt == 0.05:
                    for s in (
                        "direct_en",
                        "direct_es",
                        "indirect_en",
                        "indirect_es",
                        "chat_en",
                        "chat_es",
                    ):
                        m = (sl == s) & truth
                        if m.any():
                            res[f"{tag}:{s}@.05"] = f[m].mean()
            if blind:  # per-slice curve vs the aim
                for s, tgt in (
                    ("direct_en", 0.05),
                    ("direct_es", 0.05),
                    ("indirect_en", 0.10),
                    ("indirect_es", 0.10),
                ):
                    m = sl == s
                    f = at_fpr(p, lev, truth, m, tgt)
                    res[f"aim:{s}"] = f[m & truth].mean()
                t, _, o, _ = operating_point(tr, p_tr, 0.09)
                f = decide(rows, p, t, o)
                for s in (
                    "direct_en",
                    "direct_es",
                    "indirect_en",
                    "indirect_es",
                    "chat_en",
                    "chat_es",
                ):
                    m = sl == s
                    res[f"op:{s}"] = f"{f[m & truth].mean():.3f}/{f[m & ~truth].mean():.3f}"
                res["op:t"] = f"{t['en']:.2f}/{t['es']:.2f}"
        rows_md.append((name, res))
    keys = list(rows_md[0][1])
    groups = [
        [k for k in keys if k.startswith("oof")],
        [k for k in keys if k.startswith("AM")],
        [k for k in keys if k.startswith("aim")],
        [k for k in keys if k.startswith("op")],
    ]
    for g in groups:
        print(
            "| cand | "
            + " | ".join(
                k.replace("oof", "").replace("AM", "").replace("aim:", "").replace("op:", "")
                for k in g
            )
            + " |"
        )
        print("|---" * (len(g) + 1) + "|")
        for name, res in rows_md:
            print(
                f"| {name} | "
                + " | ".join(res[k] if isinstance(res[k], str) else f"{res[k]:.3f}" for k in g)
                + " |"
            )
        print()


def perset(names):
    sizes = [880 if p.stem[-1] in "abcdefhjl" else 800 for p in BLIND]
    assert sum(sizes) == len(BL)
    for name in names:
        z = np.load(CACHE / f"full-{name}.npz")
        ov = safe_overrules(EX, probability(z["oof"]), OVERRULE_LOSS)
        p = probability(z["blind"])
        lev = levels(BL, p, ov)
        truth = np.array([e.crisis for e in BL])
        sl = np.array([e.slice for e in BL])
        out, start = [], 0
        for path, n in zip(BLIND, sizes, strict=True):
            m0 = np.zeros(len(BL), bool)
            m0[start : start + n] = True
            start += n
            cells = []
            for s, tgt in (
                ("direct_en", 0.05),
                ("direct_es", 0.05),
                ("indirect_en", 0.10),
                ("indirect_es", 0.10),
            ):
                m = m0 & (sl == s)
                if m.any():
                    f = at_fpr(p, lev, truth, m, tgt)
                    cells.append(f"{f[m & truth].mean():.3f}")
            if cells:
                out.append(path.stem[-1] + " " + "/".join(cells))
        print(name, "|", "; ".join(out))


def main():
    mode, names = sys.argv[1], sys.argv[2:]
    if mode == "prep":
        return prep()
    if mode == "prep2":
        return prep2()
    load()
    if mode == "table":
        return table(names[0], names[1:])
    if mode == "perset":
        return perset(names)
    n = len(EX)
    y = np.array([e.crisis for e in ALL])
    fold = folds([e.label for e in EX], groups=[e.group for e in EX])
    blind = np.arange(n, len(ALL))
    for name in names:
        t0 = time.time()
        learner = CANDS[name]
        if mode == "screen":
            tr, te = np.flatnonzero(fold != 0), np.flatnonzero(fold == 0)
            s_te, s_bl = learner(tr, [te, blind], y)
            oof = np.full(n, np.nan)
            oof[te] = s_te
        else:
            oof = np.zeros(n)
            for k in range(int(fold.max()) + 1):
                tr, te = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
                oof[te] = learner(tr, [te], y)[0]
            s_bl = learner(np.arange(n), [blind], y)[0]
        np.savez(CACHE / f"{mode}-{name}.npz", oof=oof, blind=s_bl)
        print(
            name,
            mode,
            f"{time.time() - t0:.0f}s",
            "load",
            open("/proc/loadavg").read().split()[:3],
            flush=True,
        )


if __name__ == "__main__":
    main()
