"""Out-of-fold figures are honest only if a writer's twin pair never straddles two folds."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from peerline.crisis.examples import load_examples
from peerline.crisis.learners import folds


def _write(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("text,lang,label\n" + "".join(f"{t},en,{lab}\n" for t, lab in rows),
                    encoding="utf-8")
    return path


def test_neighbouring_rows_across_the_line_are_one_group(tmp_path: Path) -> None:
    """A row and the next one on the other side of the line are twins; a third row, or a
    neighbour on the same side, starts a group of its own; files never share a group."""
    first = _write(tmp_path / "a.csv", [
        ("1 year clean today", "none"), ("1 year clean and i cut tonight", "self_harm"),
        ("my room is 45", "none"), ("i have 45 pills saved", "means"),
        ("i want to die", "suicidal_intent"), ("i want to disappear forever", "suicidal_intent"),
        ("lunch was good", "none")])
    second = _write(tmp_path / "b.csv", [("going to bed", "none")])
    groups = [e.group for e in load_examples([first, second])]
    assert groups[0] == groups[1] and groups[2] == groups[3]
    assert len({groups[0], groups[2], groups[4], groups[5], groups[7]}) == 5
    assert groups[6] == groups[5]  # the last crisis row's twin is the benign row after it
    assert groups[7] != groups[6]


def test_a_group_never_straddles_two_folds_and_folds_stay_balanced() -> None:
    """200 twin pairs and 100 lone crisis rows over 5 folds: each pair in one fold, each
    fold with 40 pairs and 20 lone rows (stratified by the group's labels)."""
    labels, groups = [], []
    for g in range(200):
        labels += ["none", "suicidal_intent"]
        groups += [g, g]
    for g in range(200, 300):
        labels.append("means")
        groups.append(g)
    fold = folds(labels, 5, groups=groups)
    for g in range(200):
        rows = [i for i, x in enumerate(groups) if x == g]
        assert len({int(fold[i]) for i in rows}) == 1
    assert Counter(int(fold[i]) for i in range(400)) == {k: 80 for k in range(5)}
    assert Counter(int(fold[i]) for i in range(400, 500)) == {k: 20 for k in range(5)}
    ungrouped = folds(labels, 5)
    assert any(ungrouped[2 * g] != ungrouped[2 * g + 1] for g in range(200))


def test_folds_by_writer_keep_each_writer_whole(tmp_path: Path) -> None:
    """``--folds-by writer``: every row one writer wrote shares a fold (so out-of-fold
    scores are those of a writer the model never read); by pair, a writer spans folds."""
    from peerline.crisis.train import fold_groups

    paths = []
    for w in range(10):
        paths.append(_write(tmp_path / f"w{w}.csv", [
            (f"writer {w} row {i} {'ok' if i % 2 else 'i want to die'}",
             "none" if i % 2 else "suicidal_intent") for i in range(20)]))
    examples = load_examples(paths)
    labels = [e.label for e in examples]
    by_writer = folds(labels, groups=fold_groups(examples, "writer"))
    by_pair = folds(labels, groups=fold_groups(examples, "pair"))
    for w in range(10):
        rows = [i for i, e in enumerate(examples) if e.source == f"w{w}"]
        assert len(rows) == 20 and len({int(by_writer[i]) for i in rows}) == 1
    assert any(len({int(by_pair[i]) for i, e in enumerate(examples) if e.source == f"w{w}"})
               > 1 for w in range(10))
    assert len(set(by_writer.tolist())) == 5
