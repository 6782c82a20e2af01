"""Key rotation: re-encrypt every stored number and every sealed word under the newest key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Text, column, select, table
from sqlalchemy.orm import Session

from peerline.models import Base, Call, LocalMessage, OutboundMessage, Survivor, Volunteer
from peerline.privacy.sealed import sealed_columns
from peerline.privacy.vault import PhoneVault

ENCRYPTED = ((Volunteer, "phone_enc"), (Survivor, "phone_enc"),
             (OutboundMessage, "to_enc"), (LocalMessage, "to_enc"), (Call, "from_enc"))


def _encrypted_columns() -> list[tuple[str, str]]:
    """(table, column) of every column holding a token: numbers, then sealed words."""
    numbers = [(model.__tablename__, name) for model, name in ENCRYPTED]
    words = [(name, col.name) for name, col in sealed_columns(Base.metadata)]
    return numbers + words


def rotate_all(session: Session, vault: PhoneVault, batch: int = 500) -> int:
    """Re-encrypt every encrypted column with the vault's first key; returns values changed.

    Works on the stored tokens themselves (no decrypt-and-compare through the ORM), so
    every value is rewritten. Hashes do not change (the hash key is separate), so
    lookups keep working throughout.
    """
    changed = 0
    for table_name, column_name in _encrypted_columns():
        raw: Any = table(table_name, column("id", Integer), column(column_name, Text))
        value = raw.c[column_name]
        last_id = 0
        while True:
            rows = session.execute(select(raw.c.id, value).where(raw.c.id > last_id)
                                   .order_by(raw.c.id).limit(batch)).all()
            if not rows:
                break
            for row_id, token in rows:
                if token:
                    session.execute(raw.update().where(raw.c.id == row_id)
                                    .values({column_name: vault.rotate(token)}))
                    changed += 1
            last_id = rows[-1][0]
    return changed
