"""Every dashboard URL, found from the app's URL map, with values an attacker would try:
an id past the database's integer range is a 404, and a date that is malformed or
outside the years 1900-2999 is a 400 (never a 500, never an exception). Run on
PostgreSQL, whose integer columns overflow where SQLite's do not."""

from __future__ import annotations

import re

import pytest

from .dashboard_helpers import post, signed_in

HUGE_IDS = ("99999999999999999999", "2147483648", "9223372036854775808")
BAD_DATES = ("0001-01-01", "1899-12-31", "3000-01-01", "9999-12-31", "2026-13-01",
             "2026-02-30", "yesterday", "2026-1-1x", "%00")
#: The query parameters the dashboard reads as dates, and the pages that read them.
DATE_PARAMS = ("since", "until", "week")
DATE_PAGES = {"/dashboard/reports": ("since", "until"),
              "/dashboard/reports/contacts.svg": ("since", "until"),
              "/dashboard/reports/contacts.csv": ("since", "until"),
              "/dashboard/escalations": ("since", "until"),
              "/dashboard/schedule": ("week",)}
ARG = re.compile(r"<(?:([a-z]+):)?([a-z_]+)>")


def _rules(app, with_ints: bool):
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("dashboard."):
            continue
        has_int = any(type(c).__name__ != "UnicodeConverter"
                      for c in rule._converters.values())
        if has_int == with_ints:
            yield rule


def _fill(rule_path: str, value: str) -> str:
    return ARG.sub(lambda m: value if m.group(1) == "int" else "contacts", rule_path)


@pytest.fixture
def admin(app, svc):
    return signed_in(app, svc, "admin")


def test_the_walk_finds_the_pages_that_take_ids_and_dates(app):
    with_ids = {r.rule for r in _rules(app, True)}
    assert "/dashboard/roster/<int:volunteer_id>" in with_ids
    assert "/dashboard/escalations/<int:escalation_id>/ack" in with_ids
    plain = {_fill(r.rule, "1") for r in _rules(app, False)}
    assert set(DATE_PAGES) <= plain


def test_an_id_past_the_integer_range_is_a_404_on_every_page(app, svc, admin):
    for rule in _rules(app, True):
        for value in HUGE_IDS:
            path = _fill(rule.rule, value)
            if "GET" in rule.methods:
                assert admin.get(path).status_code == 404, path
            if "POST" in rule.methods:
                assert post(admin, path, {"note": "x", "volunteer": "1", "pin": "2468",
                                          "again": "2468"}).status_code == 404, path
    assert admin.get("/dashboard/roster/2147483647").status_code == 404  # in range: none
    assert admin.get("/dashboard").status_code == 200


def test_a_bad_date_is_a_400_where_a_date_is_read_and_never_a_500(app, svc, admin):
    for rule in _rules(app, False):
        if "GET" not in rule.methods or rule.rule in ("/logout",):
            continue
        path = _fill(rule.rule, "1")
        for name in DATE_PARAMS:
            reads = name in DATE_PAGES.get(path, ())
            for value in BAD_DATES if reads else BAD_DATES[:4]:
                status = admin.get(path, query_string={name: value}).status_code
                if reads:
                    assert status == 400, (path, name, value, status)
                else:
                    assert status < 500, (path, name, value, status)
    for path, names in DATE_PAGES.items():  # the edges of the range are fine
        for name in names:
            for value in ("1900-01-01", "2999-12-31"):
                status = admin.get(path, query_string={name: value}).status_code
                assert status in (200, 400), (path, name, value, status)
