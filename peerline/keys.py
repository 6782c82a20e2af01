"""Key rotation: re-encrypt every stored phone number under the newest key."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import LocalMessage, OutboundMessage, Survivor, Volunteer
from .models_voice import Call
from .vault import PhoneVault

ENCRYPTED = ((Volunteer, "phone_enc"), (Survivor, "phone_enc"),
             (OutboundMessage, "to_enc"), (LocalMessage, "to_enc"), (Call, "from_enc"))


def rotate_all(session: Session, vault: PhoneVault, batch: int = 500) -> int:
    """Re-encrypt every encrypted column with the vault's first key; returns rows changed.

    Hashes do not change (the hash key is separate), so lookups keep working throughout.
    """
    changed = 0
    for model, column in ENCRYPTED:
        last_id = 0
        while True:
            rows = session.scalars(select(model).where(model.id > last_id)
                                   .order_by(model.id).limit(batch)).all()
            if not rows:
                break
            for row in rows:
                token = getattr(row, column)
                if token:
                    setattr(row, column, vault.rotate(token))
                    changed += 1
            last_id = rows[-1].id
            session.flush()
    return changed
