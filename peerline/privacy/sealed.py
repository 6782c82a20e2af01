"""Words at rest: a column type that stores text encrypted with the line's vault.

Code reads and writes plain ``str`` attributes; the database holds only Fernet tokens.
The vault belongs to the engine (each app builds its own engine and binds its vault to
it with :func:`bind_vault`), so two apps with different keys in one process each read
their own rows, and nothing depends on Flask globals. An engine with no vault bound
refuses to store or read a sealed column: words are never written in clear by accident.

Sealed values cannot be compared in SQL (the same text encrypts differently each
time): ``IS NULL`` works, ``==`` and ``LIKE`` do not; compare in Python after reading.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Column, MetaData, Text
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.types import TypeDecorator

from peerline.privacy.vault import PhoneVault

_VAULTS: weakref.WeakKeyDictionary[Dialect, PhoneVault] = weakref.WeakKeyDictionary()


class NoVault(LookupError):
    """A sealed column was used on an engine with no vault bound to it."""


def bind_vault(engine: Engine, vault: PhoneVault) -> None:
    """Seal and open this engine's sealed columns with ``vault``."""
    _VAULTS[engine.dialect] = vault


def vault_for(dialect: Dialect) -> PhoneVault:
    """The vault bound to the engine of ``dialect``; :class:`NoVault` if none is."""
    try:
        return _VAULTS[dialect]
    except KeyError:
        raise NoVault("no vault is bound to this database engine; sealed columns "
                      "(message bodies, transcripts…) are never stored in clear") from None


def find_vault(dialect: Dialect) -> PhoneVault | None:
    """The vault bound to the engine of ``dialect``, or None."""
    return _VAULTS.get(dialect)


class SealedText(TypeDecorator[str]):
    """Text stored as a Fernet token (``None`` stays NULL)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        """Encrypt on the way in."""
        if value is None:
            return None
        return vault_for(dialect).encrypt(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        """Decrypt on the way out."""
        if value is None:
            return None
        return vault_for(dialect).decrypt(value)


def sealed_columns(metadata: MetaData) -> Iterator[tuple[str, Column[Any]]]:
    """(table name, column) of every sealed column, for key rotation and checks."""
    for table in metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, SealedText):
                yield table.name, column
