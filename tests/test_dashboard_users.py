"""Users on the dashboard: admins deactivate them (not themselves, never the last admin),
audited; the CLI keeps the same rule."""

from __future__ import annotations

from sqlalchemy import select

from peerline.models import AuditEntry, User

from .dashboard_helpers import make_user, post, sign_in, signed_in


def audit_rows(svc):
    with svc.sessions() as session:
        return [(a.actor, a.action, a.target) for a in
                session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def user_id(svc, email):
    with svc.sessions() as session:
        return session.scalars(select(User.id).where(User.email == email)).one()


def test_an_admin_deactivates_a_user_on_the_dashboard(app, svc):
    admin = signed_in(app, svc, "admin")
    coord = signed_in(app, svc, "coordinator", "coord@example.org")
    cid = user_id(svc, "coord@example.org")
    page = admin.get("/dashboard/users").get_data(as_text=True)
    assert f"/dashboard/users/{cid}/deactivate" in page
    response = post(admin, f"/dashboard/users/{cid}/deactivate", page="/dashboard/users")
    assert response.status_code == 302
    assert ("admin@example.org", "user.deactivate", f"user #{cid} coord@example.org") \
        in audit_rows(svc)
    assert coord.get("/dashboard").status_code == 302  # signed out at the next request
    assert sign_in(app.test_client(), "coord@example.org").status_code == 401
    again = post(admin, f"/dashboard/users/{cid}/deactivate", page="/dashboard/users")
    assert again.status_code == 400
    assert post(admin, "/dashboard/users/999/deactivate", page="/dashboard/users") \
        .status_code == 404


def test_not_yourself_and_never_the_last_admin(app, svc):
    admin = signed_in(app, svc, "admin")
    aid = user_id(svc, "admin@example.org")
    mine = post(admin, f"/dashboard/users/{aid}/deactivate", page="/dashboard/users")
    assert mine.status_code == 400 and "yourself" in mine.get_data(as_text=True)
    runner = app.test_cli_runner()
    last = runner.invoke(args=["users", "deactivate", "--email", "admin@example.org"])
    assert last.exit_code != 0 and "last active admin" in last.output
    make_user(svc, "second@example.org", "admin")
    ok = runner.invoke(args=["users", "deactivate", "--email", "admin@example.org"])
    assert ok.exit_code == 0, ok.output
    assert ("cli", "user.deactivate", f"user #{aid} admin@example.org") in audit_rows(svc)


def test_only_admins_deactivate_users(app, svc):
    make_user(svc, "someone@example.org", "viewer")
    sid = user_id(svc, "someone@example.org")
    for role in ("coordinator", "viewer"):
        client = signed_in(app, svc, role)
        assert post(client, f"/dashboard/users/{sid}/deactivate").status_code == 403
    admin = signed_in(app, svc, "admin")
    assert admin.post(f"/dashboard/users/{sid}/deactivate").status_code == 400  # no token
    with svc.sessions() as session:
        assert session.get(User, sid).active
