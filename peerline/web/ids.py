"""``<int:...>`` in every URL of the app: a whole number the database's integer columns
can hold. A bigger one (``/dashboard/roster/99999999999999999999``) matches no route, so
it is a 404 before any view runs, rather than an integer overflow in PostgreSQL (a 500).
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter

from peerline.telephony.params import DB_INT_MAX


class DatabaseIdConverter(IntegerConverter):
    """Like werkzeug's ``int``, at most :data:`DB_INT_MAX` unless a route says otherwise."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None,  # noqa: A002
                 max: int | None = None, signed: bool = False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits, min, DB_INT_MAX if max is None else max, signed)
