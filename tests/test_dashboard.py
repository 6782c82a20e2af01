"""The coordinators' dashboard: sign-in, CSRF, roles, lock-out, audit, masking, board."""

from __future__ import annotations

import re

from sqlalchemy import select

from peerline.models import AuditEntry, Conversation, Escalation, User
from peerline.people import roster
from peerline.staff import accounts

from .dashboard_helpers import PASSWORD, make_user, post, sign_in, signed_in

SURV = "+15550199001"
ALEX = "+15550100001"
ALEX_FULL_FORMS = ("+15550100001", "5550100001", "555-010-0001", "(555) 010-0001")


def add_volunteer(svc, name="Alex", phone=ALEX, lang="en"):
    with svc.sessions.begin() as session:
        return roster.add_volunteer(session, svc.line, name, phone, lang).id


def audit_rows(svc):
    with svc.sessions() as session:
        return [(a.actor, a.action, a.target, a.detail) for a in
                session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def board_count(html, name):
    match = re.search(rf'data-board="{name}">(\d+)<', html)
    assert match, f"no data-board={name}"
    return int(match.group(1))


# --- sign-in -------------------------------------------------------------------------

def test_the_dashboard_needs_a_session(app):
    client = app.test_client()
    response = client.get("/dashboard")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    for path in ("/dashboard/roster", "/dashboard/escalations", "/dashboard/board",
                 "/dashboard/audit", "/dashboard/roster.csv"):
        assert client.get(path).headers["Location"] == "/login", path


def test_login_form_has_the_pinned_labels(app):
    html = app.test_client().get("/login").get_data(as_text=True)
    assert re.search(r'<label for="email">Email</label>', html)
    assert re.search(r'<label for="password">Password</label>', html)
    assert re.search(r'<input[^>]*type="submit"[^>]*value="Sign in"', html)


def test_sign_in_lands_on_the_board_and_sign_out_ends_it(app, svc):
    make_user(svc, "Ana@Example.org", "coordinator")
    client = app.test_client()
    response = sign_in(client, "  ana@example.org ")
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" in cookie  # PUBLIC_BASE_URL is https in the suite
    page = client.get("/dashboard")
    assert page.status_code == 200 and "Live board" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"

    assert post(client, "/logout").status_code == 302
    assert client.get("/dashboard").headers["Location"] == "/login"


def test_a_wrong_password_is_refused(app, svc):
    make_user(svc, "ana@example.org", "admin")
    client = app.test_client()
    response = sign_in(client, "ana@example.org", "not the password")
    assert response.status_code == 401
    assert "Wrong email or password" in response.get_data(as_text=True)
    assert sign_in(client, "nobody@example.org").status_code == 401
    assert client.get("/dashboard").status_code == 302


def test_lock_out_after_repeated_failures(app, svc, clock):
    make_user(svc, "ana@example.org", "admin")
    client = app.test_client()
    for _ in range(accounts.MAX_FAILURES):
        assert sign_in(client, "ana@example.org", "guess guess guess").status_code == 401
    # Locked: even the right password is refused for a while.
    assert sign_in(client, "ana@example.org").status_code == 401
    with svc.sessions() as session:
        user = session.scalars(select(User)).one()
        assert user.locked_until is not None and user.locked_until > clock()
    clock.advance(accounts.LOCK_SECONDS + 1)
    assert sign_in(client, "ana@example.org").status_code == 302


def test_a_deactivated_user_is_signed_out(app, svc):
    client = signed_in(app, svc, "coordinator", "ana@example.org")
    with svc.sessions.begin() as session:
        accounts.deactivate_user(session, svc.line, "ana@example.org", "test")
    assert client.get("/dashboard").status_code == 302
    assert sign_in(client, "ana@example.org").status_code == 401


def test_passwords_are_stored_hashed(app, svc):
    make_user(svc, "ana@example.org", "admin")
    with svc.sessions() as session:
        stored = session.scalars(select(User.password_hash)).one()
    assert PASSWORD not in stored and stored.startswith("scrypt:")


# --- CSRF and roles ------------------------------------------------------------------

def test_a_post_without_a_valid_csrf_token_gets_400(app, svc):
    make_user(svc, "ana@example.org", "admin")
    client = app.test_client()
    client.get("/login")
    assert client.post("/login", data={"email": "ana@example.org",
                                       "password": PASSWORD}).status_code == 400
    client = signed_in(app, svc, "coordinator")
    for path in ("/dashboard/roster", "/logout", "/dashboard/roster/1/deactivate",
                 "/dashboard/escalations/1/ack", "/dashboard/users"):
        assert client.post(path, data={"name": "X", "phone": ALEX}).status_code == 400, path
        assert client.post(path, data={"name": "X", "csrf_token": "forged"}).status_code == 400
    with svc.sessions() as session:
        assert roster.list_volunteers(session) == []


def test_a_viewer_reads_but_changes_nothing(app, svc, phones):
    vid = add_volunteer(svc)
    phones.text(SURV, "i want to kms")
    with svc.sessions() as session:
        eid = session.scalars(select(Escalation.id)).one()
    client = signed_in(app, svc, "viewer")
    for path in ("/dashboard", "/dashboard/board", "/dashboard/roster",
                 "/dashboard/escalations"):
        assert client.get(path).status_code == 200, path
    changes = [("/dashboard/roster", {"name": "Sam", "phone": "+15550100002",
                                      "languages": "en"}),
               (f"/dashboard/roster/{vid}", {"name": "Renamed", "languages": "en",
                                             "capacity": "3"}),
               (f"/dashboard/roster/{vid}/deactivate", {}),
               (f"/dashboard/escalations/{eid}/ack", {"note": "seen"}),
               ("/dashboard/users", {"email": "x@example.org", "password": "x" * 12,
                                     "role": "admin"})]
    for path, data in changes:
        assert post(client, path, data).status_code == 403, path
    for path in ("/dashboard/audit", "/dashboard/users", f"/dashboard/roster/{vid}",
                 "/dashboard/roster.csv"):
        assert client.get(path).status_code == 403, path
    with svc.sessions() as session:
        assert [v.name for v in roster.list_volunteers(session)] == ["Alex"]
        assert session.get(Escalation, eid).acknowledged_at is None
        assert len(accounts.list_users(session)) == 1
    assert [r[1] for r in audit_rows(svc)] == ["user.add"]  # the viewer, made by the test
    assert post(client, "/logout").status_code == 302  # signing out changes no data


# --- roster and audit ----------------------------------------------------------------

def test_roster_add_edit_deactivate_each_audited(app, svc):
    add_volunteer(svc, "Alex")
    client = signed_in(app, svc, "coordinator", "coord@example.org")
    page = client.get("/dashboard/roster").get_data(as_text=True)
    assert '<td class="name">Alex</td>' in page

    response = post(client, "/dashboard/roster", {"name": "Sam", "phone": "(555) 010-0002",
                                                  "languages": "en,es", "capacity": "3"},
                    page="/dashboard/roster")
    assert response.status_code == 302
    bad = post(client, "/dashboard/roster", {"name": "Bad", "phone": "12",
                                             "languages": "en"}, page="/dashboard/roster")
    assert bad.status_code == 400 and "phone number" in bad.get_data(as_text=True)
    with svc.sessions() as session:
        sam = next(v for v in roster.list_volunteers(session) if v.name == "Sam")
    assert (sam.languages, sam.capacity) == ("en,es", 3)

    response = post(client, f"/dashboard/roster/{sam.id}",
                    {"name": "Sam R", "languages": "es", "capacity": "2"},
                    page=f"/dashboard/roster/{sam.id}")
    assert response.status_code == 302
    response = post(client, f"/dashboard/roster/{sam.id}/deactivate", {},
                    page="/dashboard/roster")
    assert response.status_code == 302
    page = client.get("/dashboard/roster").get_data(as_text=True)
    assert '<td class="name">Alex</td>' in page
    assert '<td class="name">Sam R</td>' not in page

    rows = [r for r in audit_rows(svc) if r[0] == "coord@example.org"]
    assert [r[1] for r in rows] == ["volunteer.add", "volunteer.edit", "volunteer.deactivate"]
    assert all(r[2] == f"volunteer #{sam.id}" for r in rows)
    assert "name: Sam → Sam R" in rows[1][3] and "capacity: 3 → 2" in rows[1][3]
    assert not any("555" in r[3] for r in rows)  # no number in the log

    # Admins see the log; coordinators do not.
    assert client.get("/dashboard/audit").status_code == 403
    admin = signed_in(app, svc, "admin")
    log_page = admin.get("/dashboard/audit").get_data(as_text=True)
    assert "volunteer.deactivate" in log_page and "coord@example.org" in log_page


def test_a_deactivated_volunteer_holding_a_conversation_hands_it_back(app, svc, phones):
    add_volunteer(svc, "Alex")
    phones.pair(ALEX, SURV)
    with svc.sessions() as session:
        vid = session.scalars(select(Conversation.volunteer_id)).one()
    client = signed_in(app, svc, "coordinator")
    assert post(client, f"/dashboard/roster/{vid}/deactivate").status_code == 302
    with svc.sessions() as session:
        conversation = session.scalars(select(Conversation)).one()
    assert conversation.status == "waiting" and conversation.volunteer_id is None


def test_roster_csv_export(app, svc):
    add_volunteer(svc, "Alex", lang="en,es")
    client = signed_in(app, svc, "coordinator")
    response = client.get("/dashboard/roster.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "id,name,phone,languages,capacity,on_shift"
    assert lines[1].split(",", 1)[1] == 'Alex,•••• 0001,"en,es",2,no'


def test_the_roster_export_never_hands_a_spreadsheet_a_formula(app, svc):
    add_volunteer(svc, '=HYPERLINK("http://evil.example","click")')
    client = signed_in(app, svc, "coordinator")
    body = client.get("/dashboard/roster.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in body and ',"=HYPERLINK' not in body


def test_no_page_shows_a_full_number(app, svc, phones):
    add_volunteer(svc, "Alex")
    phones.pair(ALEX, SURV, "i want to kms")
    phones.text("+15550199002", "hello?")
    admin = signed_in(app, svc, "admin")
    with svc.sessions() as session:
        vid = roster.list_volunteers(session)[0].id
    pages = ["/dashboard", "/dashboard/board", "/dashboard/roster", f"/dashboard/roster/{vid}",
             "/dashboard/escalations?status=all", "/dashboard/audit", "/dashboard/users",
             "/dashboard/roster.csv"]
    for path in pages:
        html = admin.get(path).get_data(as_text=True)
        for number in (ALEX, SURV, "+15550199002"):
            digits = number[2:]
            for form in (number, digits, f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"):
                assert form not in html, (path, form)
    roster_page = admin.get("/dashboard/roster").get_data(as_text=True)
    assert "•••• 0001" in roster_page


# --- the live board ------------------------------------------------------------------

def test_the_board_counts_waiting_and_live_without_words(app, svc, phones, clock):
    add_volunteer(svc, "Alex", lang="en,es")
    client = signed_in(app, svc, "viewer")
    html = client.get("/dashboard").get_data(as_text=True)
    assert board_count(html, "waiting") == 0 and board_count(html, "live") == 0
    assert 'data-poll="/dashboard/board"' in html and "dashboard.js" in html

    phones.text(SURV, "I had a rough night and nobody listens")
    clock.advance(90)
    phones.text("+15550199002", "i want to kms")  # later, but crisis: first in line
    fragment = client.get("/dashboard/board").get_data(as_text=True)
    assert board_count(fragment, "waiting") == 2 and board_count(fragment, "live") == 0
    assert "<html" not in fragment
    rows = re.findall(r'<tr class="(crisis|)">.*?<td>(C\d+)</td><td>([^<]+)</td>', fragment,
                      re.S)
    assert [r[0] for r in rows[:2]] == ["crisis", ""]
    assert rows[1][2] == "1 min"
    for words in ("rough night", "nobody listens", "kms"):
        assert words not in fragment

    phones.text(ALEX, "ON")
    phones.work()
    offer_line = phones.received(ALEX)[-1][0]
    phones.text(ALEX, "YES", to=offer_line)
    phones.work()
    html = client.get("/dashboard").get_data(as_text=True)
    assert board_count(html, "waiting") == 1 and board_count(html, "live") == 1
    assert board_count(html, "on-shift") == 1
    assert "Alex" in html and "crisis" in html
    assert "rough night" not in html


# --- escalations ---------------------------------------------------------------------

def test_escalations_filter_and_acknowledge_with_a_note(app, svc, phones):
    phones.text(SURV, "i want to kms")
    with svc.sessions() as session:
        eid = session.scalars(select(Escalation.id)).one()
    viewer = signed_in(app, svc, "viewer")
    page = viewer.get("/dashboard/escalations").get_data(as_text=True)
    assert f'data-escalation="{eid}"' in page and "suicidal intent" in page
    assert "kms" not in page  # the matched words: coordinators and admins only

    coord = signed_in(app, svc, "coordinator", "coord@example.org")
    page = coord.get("/dashboard/escalations").get_data(as_text=True)
    assert "kms" in page and "Acknowledge" in page
    response = post(coord, f"/dashboard/escalations/{eid}/ack", {"note": "called her back"},
                    page="/dashboard/escalations")
    assert response.status_code == 302
    assert f'data-escalation="{eid}"' not in coord.get("/dashboard/escalations").get_data(
        as_text=True)
    acked = coord.get("/dashboard/escalations?status=acknowledged").get_data(as_text=True)
    assert f'data-escalation="{eid}"' in acked and "coord@example.org" in acked
    for category, shown in (("suicidal_intent", True), ("self_harm", False)):
        page = coord.get(f"/dashboard/escalations?status=all&category={category}")
        assert (f'data-escalation="{eid}"' in page.get_data(as_text=True)) is shown
    with svc.sessions() as session:
        record = session.get(Escalation, eid)
    assert record.acknowledged_by == "coord@example.org"
    assert ("coord@example.org", "escalation.ack", f"escalation #{eid}",
            "called her back") in audit_rows(svc)
    # A second acknowledgement changes nothing and adds no row.
    post(coord, f"/dashboard/escalations/{eid}/ack", {}, page="/dashboard/escalations")
    assert sum(1 for r in audit_rows(svc) if r[1] == "escalation.ack") == 1


# --- users ---------------------------------------------------------------------------

def test_users_add_from_the_cli_then_sign_in(app, svc):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "add", "--email", "Boss@Example.org", "--password",
                                 PASSWORD, "--role", "admin"])
    assert result.exit_code == 0, result.output
    assert "added admin" in result.output
    bad = runner.invoke(args=["users", "add", "--email", "x@example.org", "--password",
                              "short", "--role", "admin"])
    assert bad.exit_code != 0 and "10 characters" in bad.output
    bad = runner.invoke(args=["users", "add", "--email", "x@example.org", "--password",
                              PASSWORD, "--role", "owner"])
    assert bad.exit_code != 0
    assert "boss@example.org\tadmin\tactive" in runner.invoke(args=["users", "list"]).output
    client = app.test_client()
    assert sign_in(client, "boss@example.org").headers["Location"] == "/dashboard"
    assert ("cli", "user.add") == audit_rows(svc)[0][:2]


def test_an_admin_adds_a_user_on_the_dashboard(app, svc):
    admin = signed_in(app, svc, "admin")
    response = post(admin, "/dashboard/users", {"email": "new@example.org",
                                                "password": PASSWORD, "role": "viewer"},
                    page="/dashboard/users")
    assert response.status_code == 302
    assert sign_in(app.test_client(), "new@example.org").status_code == 302
    assert ("admin@example.org", "user.add") in [r[:2] for r in audit_rows(svc)]
    coord = signed_in(app, svc, "coordinator")
    assert post(coord, "/dashboard/users", {"email": "x@example.org", "password": PASSWORD,
                                            "role": "admin"}).status_code == 403


def test_the_full_number_only_on_a_deliberate_audited_click(app, svc):
    vid = add_volunteer(svc, "Alex")
    client = signed_in(app, svc, "coordinator", "coord@example.org")
    page = client.get(f"/dashboard/roster/{vid}").get_data(as_text=True)
    assert ALEX not in page and "•••• 0001" in page and "Show full number" in page
    assert client.post(f"/dashboard/roster/{vid}/reveal").status_code == 400  # no token
    response = post(client, f"/dashboard/roster/{vid}/reveal", page=f"/dashboard/roster/{vid}")
    assert response.status_code == 200 and ALEX in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert ("coord@example.org", "volunteer.reveal_phone", f"volunteer #{vid}", "") \
        in audit_rows(svc)
    viewer = signed_in(app, svc, "viewer")
    assert post(viewer, f"/dashboard/roster/{vid}/reveal").status_code == 403


def test_cookie_flags_follow_the_public_url(settings, clock):
    from peerline import create_app

    for base, override, secure in (("http://127.0.0.1:5000", "", False),
                                   ("https://line.example.org", "", True),
                                   ("https://line.example.org", "0", False)):
        app = create_app({**settings, "PUBLIC_BASE_URL": base,
                          "PEERLINE_COOKIE_SECURE": override}, clock=clock)
        assert app.config["SESSION_COOKIE_SECURE"] is secure
        assert app.config["SESSION_COOKIE_HTTPONLY"] is True
        assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
        app.extensions["peerline"].engine.dispose()
