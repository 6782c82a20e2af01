"""The gate for race tests: they prove something only on PostgreSQL."""

from __future__ import annotations

import os

import pytest

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
