"""The gate for race tests: they prove something only on PostgreSQL."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

NEEDS_POSTGRES = (
    "race test: needs DATABASE_URL (or TEST_DATABASE_URL) pointing at PostgreSQL, e.g. "
    "postgresql+psycopg://postgres@127.0.0.1:5432/test; SQLite runs writes one at a "
    "time and hides races")


def needs_postgres(svc) -> None:  # noqa: ANN001
    """Skip (locally) or fail (in CI) unless the suite runs on PostgreSQL."""
    if svc.engine.dialect.name == "postgresql":
        return
    if os.environ.get("CI"):
        pytest.fail(NEEDS_POSTGRES)
    pytest.skip(NEEDS_POSTGRES)


def waiting_on_a_lock(svc) -> bool:  # noqa: ANN001
    """True while some session of this database waits on a lock."""
    with svc.engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'")).scalar())


def second_while_first_holds(svc, first_work: Callable[[Any], object],  # noqa: ANN001
                             second_work: Callable[[], object],
                             then: Callable[[Any], object] | None = None
                             ) -> list[BaseException]:
    """``first_work(session)`` in a transaction that stays open while ``second_work`` runs
    in another thread, until that is done or waits on a lock; then ``then(session)`` in
    the same transaction (a next lock, say), and the first commits. Returns what ``then``
    raised (the first transaction then rolled back; a deadlock shows here), else []."""
    errors: list[BaseException] = []
    first = svc.sessions()
    thread = threading.Thread(target=second_work)
    try:
        with first.begin():
            first_work(first)
            first.flush()
            thread.start()
            for _ in range(600):  # until the second is done or waits on a lock
                if not thread.is_alive() or waiting_on_a_lock(svc):
                    break
                time.sleep(0.05)
            if then is not None:
                try:
                    then(first)
                except Exception as exc:
                    errors.append(exc)
                    raise  # rolls the first back
    except Exception:
        if not errors:
            raise
    finally:
        if thread.ident is not None:
            thread.join()  # after the first's commit or rollback: the second may wait on it
        first.close()
    return errors


def at_once(count: int, work) -> list[BaseException]:  # noqa: ANN001
    """Run ``work(i)`` in ``count`` threads released together; return what they raised."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            work(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
