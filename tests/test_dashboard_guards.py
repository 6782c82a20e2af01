"""Every POST the dashboard has, found from the app's URL map (so a new page cannot slip
by): a viewer gets 403, a missing or forged CSRF token 400, and nothing is changed."""

from __future__ import annotations

import re

from sqlalchemy import select

from peerline.models import AuditEntry

from .dashboard_helpers import post, signed_in

#: POSTs that change nothing a viewer may not change (signing in and out).
NOT_CHANGES = {"/login", "/logout"}


def dashboard_posts(app):
    paths = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("dashboard.") and "POST" in rule.methods:
            paths.add(re.sub(r"<(?:int:)?[a-z_]+>", "1", rule.rule))
    return sorted(paths)


def audit_actions(svc):
    with svc.sessions() as session:
        return list(session.scalars(select(AuditEntry.action)))


def test_the_map_holds_every_page_that_changes_something(app):
    posts = dashboard_posts(app)
    for path in ("/dashboard/roster", "/dashboard/roster/1/pin", "/dashboard/roster/1/reveal",
                 "/dashboard/escalations/1/ack", "/dashboard/voicemails/1/assign",
                 "/dashboard/voicemails/1/done", "/dashboard/users/1/deactivate"):
        assert path in posts, path


def test_a_viewer_gets_403_on_every_change(app, svc):
    viewer = signed_in(app, svc, "viewer")
    before = audit_actions(svc)
    for path in dashboard_posts(app):
        if path in NOT_CHANGES:
            continue
        assert post(viewer, path, {"note": "x", "volunteer": "1", "pin": "2468",
                                   "again": "2468"}).status_code == 403, path
    assert audit_actions(svc) == before


def test_every_post_without_a_valid_token_gets_400(app, svc):
    admin = signed_in(app, svc, "admin")
    before = audit_actions(svc)
    for path in dashboard_posts(app):
        assert admin.post(path, data={"note": "x"}).status_code == 400, path
        assert admin.post(path, data={"note": "x", "csrf_token": "forged"}).status_code \
            == 400, path
    assert audit_actions(svc) == before
    assert admin.get("/dashboard").status_code == 200  # still signed in
