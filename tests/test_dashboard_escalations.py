"""Escalations on the dashboard and the CLI: filters (state, category, days), an
acknowledgement with a note (audited), and matched words only for coordinators and
admins, gone once the retention purge or a quick exit removes them."""

from __future__ import annotations

from sqlalchemy import select

from peerline.models import AuditEntry, Escalation
from peerline.privacy.purge import purge_expired

from .dashboard_helpers import post, signed_in
from .helpers import new_sid

SURV = "+15550199001"
SURV2 = "+15550199002"


def escalation_ids(svc):
    with svc.sessions() as session:
        return list(session.scalars(select(Escalation.id).order_by(Escalation.id)))


def audit_rows(svc):
    with svc.sessions() as session:
        return [(a.actor, a.action, a.target, a.detail) for a in
                session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def shown(page, eid):
    return f'data-escalation="{eid}"' in page.get_data(as_text=True)


def test_filter_by_days_both_ends_included(app, svc, phones, clock):
    phones.text(SURV, "i want to kms")
    first_day = clock().date()
    clock.advance(3 * 86400)
    phones.text(SURV2, "i am going to hurt myself tonight")
    first, second = escalation_ids(svc)
    second_day = clock().date()
    coord = signed_in(app, svc, "coordinator")
    page = coord.get(f"/dashboard/escalations?status=all&since={first_day}&until={first_day}")
    assert page.status_code == 200 and shown(page, first) and not shown(page, second)
    page = coord.get(f"/dashboard/escalations?status=all&since={second_day}")
    assert shown(page, second) and not shown(page, first)
    page = coord.get(f"/dashboard/escalations?status=all&until={second_day}")
    assert shown(page, second) and shown(page, first)
    assert f'value="{second_day}"' in page.get_data(as_text=True)  # the form keeps it


def test_a_bad_filter_is_a_clear_400(app, svc, phones):
    phones.text(SURV, "i want to kms")
    viewer = signed_in(app, svc, "viewer")
    for query in ("since=yesterday", "status=maybe", "category=sadness",
                  "since=2026-12-05&until=2026-12-01"):
        page = viewer.get("/dashboard/escalations?" + query)
        assert page.status_code == 400, query
        assert 'data-filter="error"' in page.get_data(as_text=True), query


def test_the_note_shows_with_the_acknowledgement(app, svc, phones):
    phones.text(SURV, "i want to kms")
    (eid,) = escalation_ids(svc)
    coord = signed_in(app, svc, "coordinator", "coord@example.org")
    post(coord, f"/dashboard/escalations/{eid}/ack", {"note": "  called   her back "},
         page="/dashboard/escalations")
    page = coord.get("/dashboard/escalations?status=acknowledged").get_data(as_text=True)
    assert '<q class="note">called her back</q>' in page
    assert ("coord@example.org", "escalation.ack", f"escalation #{eid}",
            "called her back") in audit_rows(svc)


def test_matched_words_are_gone_after_the_retention_purge(app, svc, phones, clock):
    phones.text(SURV, "i want to kms")
    admin = signed_in(app, svc, "admin")
    assert "kms" in admin.get("/dashboard/escalations").get_data(as_text=True)
    clock.advance(31 * 86400)
    with svc.sessions.begin() as session:
        purge_expired(session, svc.line)
    page = admin.get("/dashboard/escalations").get_data(as_text=True)
    assert "kms" not in page and "(removed)" in page


def test_matched_words_are_gone_after_a_quick_exit(app, svc, phones, fake):
    phones.text(SURV, "i want to kms")
    phones.text(SURV2, "i want to die tonight")
    coord = signed_in(app, svc, "coordinator")
    page = coord.get("/dashboard/escalations").get_data(as_text=True)
    assert "kms" in page and "want to die" in page
    erase_sid = new_sid()
    fake.add_inbound(erase_sid, SURV, "+15550000001", "#ERASE")
    phones.text(SURV, "#ERASE", sid=erase_sid)
    phones.work()
    page = coord.get("/dashboard/escalations").get_data(as_text=True)
    assert "kms" not in page and "(removed)" in page
    assert "want to die" in page  # another survivor's record stays


def test_the_cli_filters_and_acknowledges_with_a_note(app, svc, phones, clock):
    phones.text(SURV, "i want to kms")
    clock.advance(2 * 86400)
    phones.text(SURV2, "i am going to hurt myself tonight")
    first, second = escalation_ids(svc)
    runner = app.test_cli_runner()
    day = clock().date()
    out = runner.invoke(args=["escalations", "list", "--since", str(day)]).output
    assert f"#{second}\t" in out and f"#{first}\t" not in out
    out = runner.invoke(args=["escalations", "list", "--category", "suicidal_intent"]).output
    assert f"#{first}\t" in out and f"#{second}\t" not in out
    assert "kms" not in out and "0199001" not in out
    bad = runner.invoke(args=["escalations", "list", "--since", "soon"])
    assert bad.exit_code != 0 and "not a date" in bad.output
    done = runner.invoke(args=["escalations", "ack", str(first), "--by", "Dana",
                               "--note", "called back"])
    assert done.exit_code == 0, done.output
    with svc.sessions() as session:
        assert session.get(Escalation, first).acknowledged_by == "Dana"
    assert ("cli", "escalation.ack", f"escalation #{first}", "called back") in audit_rows(svc)
    out = runner.invoke(args=["escalations", "list", "--status", "acknowledged"]).output
    assert f"#{first}\t" in out and "ack by Dana" in out and f"#{second}\t" not in out
    again = runner.invoke(args=["escalations", "ack", str(first), "--by", "Dana"])
    assert again.exit_code != 0
    assert sum(1 for r in audit_rows(svc) if r[1] == "escalation.ack") == 1
