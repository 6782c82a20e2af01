"""Every GET page of the dashboard, walked for every role on a line with something on
every page: no 5xx for anyone (with bad query strings too), signed-out people are sent
to /login, and a viewer is never shown a form that would change something.

The pages come from ``app.url_map`` (a new page is walked without touching this file;
a new kind of id in a path fails here until :func:`ids` knows how to fill it)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import url_for
from werkzeug.routing import Rule

from peerline.groups import admin as groups_admin
from peerline.reports import report

from .dashboard_helpers import signed_in
from .schedule_helpers import MONDAY, at, schedule
from .test_dashboard_voicemails import leave_voicemail
from .test_peer_admin import apply_by_text
from .test_text_line import ALEX, SAM, add_volunteer

SURV = "+15550199001"
STATIC = Path(__file__).resolve().parent.parent / "peerline" / "dashboard" / "static"
#: Query strings no page expects to be well-formed: a 400 or the page, never a 500.
JUNK = ("?week=nope&since=x&until=2027-13-45&status=zzz&category=%00&within=-1&target=abc"
        "&page=-5&volunteer=x")
POST_FORM = re.compile(r"<form\b[^>]*\bmethod=\"?post\"?[^>]*>", re.I)
ACTION = re.compile(r"\baction=\"([^\"]*)\"", re.I)
#: The one form a viewer may be shown.
VIEWER_FORMS = {"/logout"}


def seed(svc: Any, phones: Any, clock: Any) -> dict[str, list[Any]]:
    """Something on every page: volunteers (one in a live conversation), a crisis text
    waiting, a shift, a group, a voicemail, an application; returns the ids to walk."""
    clock.now = at(MONDAY, 20)
    alex = add_volunteer(svc, "Alex", ALEX)
    add_volunteer(svc, "Sam", SAM)
    schedule(svc, alex, "18:00", "23:00", day="mon")
    phones.pair(ALEX, "+15550199002", "hi, rough night")
    assert phones.text(SURV, "i want to end it all").status_code == 200
    leave_voicemail(svc, clock)
    apply_by_text(phones)
    with svc.sessions.begin() as session:
        groups_admin.add_group(session, svc.line, topic="Evenings", lang="en", day=0,
                               on_date=None, start="19:00", minutes=60, capacity=8,
                               facilitator_phone=SAM, actor="test")
    return ids(alex)


#: Path values that name nothing (a 404, never a 500).
MISSING = (999_999, "nope")


def ids(volunteer_id: int) -> dict[str, list[Any]]:
    """Values for each path argument: real rows, and one that is not there."""
    return {"volunteer_id": [volunteer_id, MISSING[0]],
            "name": [*report.CHARTS, MISSING[1]],
            "filename": sorted(p.name for p in STATIC.iterdir() if p.is_file())}


def dashboard_rules(app: Any) -> list[Rule]:
    """Every rule under /dashboard that answers GET."""
    rules = [r for r in app.url_map.iter_rules()
             if r.rule.startswith("/dashboard") and "GET" in (r.methods or ())]
    assert len(rules) > 10  # the walk would prove nothing on an empty map
    return sorted(rules, key=lambda r: r.rule)


def urls(app: Any, values: dict[str, list[Any]]) -> list[tuple[str, str, bool]]:
    """(endpoint, path, names real rows) for every GET page, each path argument filled
    every way."""
    found = []
    with app.test_request_context():
        for rule in dashboard_rules(app):
            args = sorted(rule.arguments)
            missing = [a for a in args if a not in values]
            assert not missing, f"{rule.rule}: teach ids() to fill {missing}"
            for combo in itertools.product(*(values[a] for a in args)):
                filled = dict(zip(args, combo, strict=True))
                found.append((rule.endpoint, url_for(rule.endpoint, **filled),
                              not any(v in MISSING for v in combo)))
    return found


def test_every_page_for_every_role_signed_out_to_login_viewers_see_no_forms(
        app, svc, phones, clock):
    pages = urls(app, seed(svc, phones, clock))
    assert ("dashboard.volunteer_edit", "/dashboard/roster/999999", False) in pages
    problems: list[str] = []

    signed_out = app.test_client()
    for endpoint, path, _ in pages:
        response = signed_out.get(path)
        if endpoint == "dashboard.static":  # the stylesheet and script are public
            assert response.status_code == 200, path
            continue
        if response.status_code != 302 or urlsplit(
                response.headers.get("Location", "")).path != "/login":
            problems.append(f"signed out {path}: {response.status_code} "
                            f"{response.headers.get('Location')}")

    for role in ("admin", "coordinator", "viewer"):
        client = signed_in(app, svc, role)
        seen = 0
        for _, path, real in pages:
            for url in (path, path + JUNK):
                response = client.get(url)
                if response.status_code >= 500:
                    problems.append(f"{role} {url}: {response.status_code}")
                if role == "admin" and url == path and real:  # admins read every page
                    assert response.status_code == 200, (url, response.status_code)
                if role != "viewer" or response.status_code != 200 \
                        or not response.mimetype == "text/html":
                    continue
                seen += 1
                html = response.get_data(as_text=True)
                for form in POST_FORM.findall(html):
                    action = ACTION.search(form)
                    target = action.group(1) if action else url
                    if urlsplit(target).path not in VIEWER_FORMS:
                        problems.append(f"viewer {url}: a form that posts to {target}")
        if role == "viewer":
            assert seen >= 8  # the viewer's pages were really read (not all 403)
    assert problems == []


def test_the_walk_sees_a_form_a_viewer_must_not_have(app, svc):
    """The check itself: an editor's roster page has POST forms other than sign-out."""
    coord = signed_in(app, svc, "coordinator")
    html = coord.get("/dashboard/roster").get_data(as_text=True)
    targets = {urlsplit(ACTION.search(f).group(1)).path for f in POST_FORM.findall(html)}
    assert "/dashboard/roster" in targets and "/logout" in targets
