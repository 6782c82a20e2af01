"""A row read or written by a Core statement, as the ORM object a query would give.

The ORM's per-statement work (a unit-of-work flush for one INSERT, a ``select(Model)``
for one row) was most of the webhook's Python. Where later code changes the object, a
Core statement does the round trip and :func:`attached` makes the object: the one the
session holds already if any (never a second copy), else one built from every column
with no history and attached, so a later change is flushed as an ``UPDATE``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import bindparam, inspect, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.base import instance_state
from sqlalchemy.orm.util import identity_key

T = TypeVar("T")


@cache
def columns(model: type) -> tuple[str, ...]:
    """The model's attributes that are table columns (all of them, by key); a model with
    a ``column_property`` or a renamed column is refused."""
    names = tuple(attr.key for attr in inspect(model).column_attrs)
    if {c.key for c in model.__table__.c} != set(names):  # type: ignore[attr-defined]
        raise RuntimeError(f"{model.__name__}'s mapped attributes are not its table's columns")
    return names


def attached(session: Session, model: type[T], row: Mapping[str, Any], *,
             some: tuple[str, ...] | None = None) -> T:
    """The persistent ``model`` object for ``row`` (every column of the table, by key).

    ``some``: only these columns (``id`` among them) are in ``row``; the others are
    expired, so the first read of one loads them all (one ``SELECT``), as for an object
    the session expired. For rows whose other columns are seldom read.
    """
    key = identity_key(model, row["id"])
    held = session.identity_map.get(key)
    if held is not None:
        return held  # type: ignore[no-any-return]
    mapper = inspect(model)
    obj = mapper.class_manager.new_instance()  # as a query's loader makes it: no __init__,
    instance_state(obj).dict.update(  # no events
        {name: row[name] for name in (columns(model) if some is None else some)})
    make_transient_to_detached(obj)  # (expires what is not loaded)
    session.add(obj)
    return obj


def unflushed(session: Session, *models: type) -> bool:
    """True when the session holds a new or changed object of one of ``models``: a Core
    statement reading their tables must flush first (as a query's autoflush would)."""
    return any(isinstance(obj, models) for obj in (*session.new, *session.dirty))


def write_now(session: Session, obj: Any, values: Mapping[str, Any]) -> None:
    """Set ``values`` (columns) on a persistent object and write them at once: one
    prebuilt Core ``UPDATE`` of its row, the attributes set as committed, so no
    unit-of-work flush is left to do for them. A pending object just gets them set."""
    if not values:
        return
    state = instance_state(obj)
    if state.key is None:
        for name, value in values.items():
            setattr(obj, name, value)
        return
    names = tuple(sorted(values))
    session.connection().execute(_update_row(type(obj), names), {
        "row_id": state.key[1][0], **{f"v_{name}": values[name] for name in names}})
    for name in names:
        set_committed_value(obj, name, values[name])


@cache
def _update_row(model: type, names: tuple[str, ...]) -> Any:
    """``UPDATE table SET name = :v_name, ... WHERE id = :row_id`` (one per set of names)."""
    table = model.__table__  # type: ignore[attr-defined]
    return (update(table).where(table.c.id == bindparam("row_id"))
            .values({table.c[name]: bindparam(f"v_{name}", type_=table.c[name].type)
                     for name in names}))
