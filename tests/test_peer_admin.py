"""Peer support for coordinators (issue 15): VOLUNTEER applications by text and their
approval (dashboard and CLI), lived-experience tags (CLI and dashboard, audited), the
feedback page, and what a quick exit erases of it all."""

from __future__ import annotations

from sqlalchemy import select, text

from peerline.models import Application, AuditEntry, Feedback, PeerChoice, Volunteer
from peerline.peer import applications
from peerline.privacy.purge import purge_expired

from .dashboard_helpers import post, signed_in
from .helpers import Phones
from .test_text_line import ALEX, add_volunteer

APPLICANT = "+15550199601"
OTHER = "+15550199602"


def apply_by_text(phones: Phones, number: str = APPLICANT) -> list[list[str]]:
    return [phones.replies(phones.text(number, body)) for body in
            ("VOLUNTEER", "Jordan", "English and Spanish", "weekday evenings")]


def test_volunteer_asks_three_questions_one_at_a_time_and_seals_the_answers(phones, svc):
    replies = apply_by_text(phones)
    assert "what name" in replies[0][0]
    assert "Which languages" in replies[1][0]
    assert "when could you" in replies[2][0]
    assert "coordinator will look" in replies[3][0]
    with svc.sessions() as session:
        row = session.scalar(select(Application))
        assert (row.status, row.name, row.languages, row.availability) == (
            "submitted", "Jordan", "English and Spanish", "weekday evenings")
        raw = session.execute(text("SELECT name, availability FROM applications")).one()
        assert "Jordan" not in raw[0] and "evenings" not in raw[1]
        assert session.execute(text("SELECT count(*) FROM conversations")).scalar() == 0
    assert "already have your application" in phones.replies(
        phones.text(APPLICANT, "volunteer"))[0]


def test_crisis_words_drop_the_application_and_go_the_crisis_way(phones, svc):
    phones.text(APPLICANT, "VOLUNTEER")
    reply = phones.replies(phones.text(APPLICANT, "I want to kill myself"))
    assert "988" in reply[0]
    with svc.sessions() as session:
        assert session.scalar(select(Application.status)) == "cancelled"
        assert session.execute(text("SELECT count(*) FROM conversations")).scalar() == 1


def test_an_application_lapses_after_its_window(phones, svc, clock):
    phones.text(APPLICANT, "VOLUNTEER")
    clock.advance(3601)
    reply = phones.replies(phones.text(APPLICANT, "sorry, I need to talk"))
    assert "peer support line" in reply[0]


def test_dashboard_approval_puts_them_on_the_roster_and_texts_them(app, phones, svc):
    apply_by_text(phones)
    viewer = signed_in(app, svc, "viewer", "viewer@example.org")
    assert viewer.get("/dashboard/applications").status_code == 403
    client = signed_in(app, svc, "coordinator", "coord@example.org")
    page = client.get("/dashboard/applications").get_data(as_text=True)
    assert "Jordan" in page and "weekday evenings" in page and APPLICANT not in page
    with svc.sessions() as session:
        app_id = session.scalar(select(Application.id))
    response = post(client, f"/dashboard/applications/{app_id}/approve",
                    {f"a{app_id}-languages": "en,es"}, page="/dashboard/applications")
    assert response.status_code == 302
    phones.work()
    assert "application to be a peer volunteer was approved" in phones.bodies(APPLICANT)[-1]
    with svc.sessions() as session:
        volunteer = session.scalar(select(Volunteer))
        assert (volunteer.name, volunteer.languages, volunteer.active, volunteer.on_shift,
                volunteer.pin_hash) == ("Jordan", "en,es", True, False, None)
        actions = session.scalars(select(AuditEntry.action)).all()
    assert "application.approve" in actions
    assert "on shift" in phones.replies(phones.text(APPLICANT, "ON"))[0]


def test_cli_lists_approves_and_declines(app, phones, svc):
    apply_by_text(phones)
    apply_by_text(phones, OTHER)
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["applications", "list"]).output
    assert "Jordan" in listing and APPLICANT not in listing
    with svc.sessions() as session:
        first, second = session.scalars(select(Application.id).order_by(Application.id))
    result = runner.invoke(args=["applications", "approve", str(first)])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["applications", "approve", str(first)]).exit_code != 0
    assert runner.invoke(args=["applications", "decline", str(second)]).exit_code == 0
    phones.work()
    assert "can't take you on" in phones.bodies(OTHER)[-1]
    with svc.sessions() as session:
        assert session.scalar(select(Volunteer.languages)) == "en,es"  # from the answer


def test_roster_tags_cli_checks_and_audits(app, svc):
    add_volunteer(svc, "Alex", ALEX)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["roster", "tags", "--phone", ALEX, "--tags", "Loss,combat",
                                 "--no-match-tags", "combat"])
    assert result.exit_code == 0, result.output
    assert "tags: loss,combat; not matched on: combat" in result.output
    bad = runner.invoke(args=["roster", "tags", "--phone", ALEX, "--tags", "cooking"])
    assert bad.exit_code != 0 and "unknown tag" in bad.output
    stray = runner.invoke(args=["roster", "tags", "--phone", ALEX, "--tags", "loss",
                                "--no-match-tags", "combat"])
    assert stray.exit_code != 0
    listing = runner.invoke(args=["roster", "list"]).output
    assert "loss, combat (not matched)" in listing
    with svc.sessions() as session:
        audits = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "volunteer.tags")).all()
        assert len(audits) == 1 and audits[0].actor == "cli"


def test_dashboard_roster_form_sets_tags_audited(app, svc):
    vid = add_volunteer(svc, "Alex", ALEX)
    client = signed_in(app, svc, "coordinator", "coord@example.org")
    page = client.get(f"/dashboard/roster/{vid}").get_data(as_text=True)
    assert 'value="sexual violence"' in page
    response = post(client, f"/dashboard/roster/{vid}",
                    {"name": "Alex", "languages": "en", "capacity": "2",
                     "experience": ["loss", "combat"], "not_matched": ["combat"]},
                    page=f"/dashboard/roster/{vid}")
    assert response.status_code == 302
    with svc.sessions() as session:
        volunteer = session.get(Volunteer, vid)
        assert (volunteer.tags, volunteer.no_match_tags) == ("loss,combat", "combat")
        assert session.scalar(select(AuditEntry.detail).where(
            AuditEntry.action == "volunteer.tags")).startswith("tags: - → loss,combat")
    bad = post(client, f"/dashboard/roster/{vid}",
               {"name": "Alex", "languages": "en", "capacity": "2",
                "experience": ["loss"], "not_matched": ["combat"]},
               page=f"/dashboard/roster/{vid}")
    assert bad.status_code == 400
    roster_page = client.get("/dashboard/roster").get_data(as_text=True)
    assert "combat (not matched)" in roster_page


def test_feedback_page_shows_counts_only(app, phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    number = phones.pair(ALEX, APPLICANT)
    phones.text(ALEX, "#END", to=number)
    phones.work()
    phones.text(APPLICANT, "5 wonderful")
    client = signed_in(app, svc, "viewer", "viewer@example.org")
    page = client.get("/dashboard/feedback").get_data(as_text=True)
    assert 'data-feedback="asked">1<' in page and 'data-score="5">1<' in page
    assert "wonderful" not in page


def test_quick_exit_erases_choice_feedback_words_and_applications(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    number = phones.pair(ALEX, APPLICANT)
    phones.text(APPLICANT, "PEER")  # relayed in a live conversation
    phones.text(ALEX, "#END", to=number)
    phones.work()
    phones.text(APPLICANT, "4 kind")
    phones.text(APPLICANT, "PEER")
    phones.text(APPLICANT, "2")
    phones.text(APPLICANT, "VOLUNTEER")
    phones.text(APPLICANT, "Jordan")
    with svc.sessions() as session:
        assert session.scalar(select(PeerChoice.tag)) == "sexual violence"
    phones.text(APPLICANT, "#ERASE")
    with svc.sessions() as session:
        assert session.scalars(select(PeerChoice)).all() == []
        row = session.scalar(select(Feedback))
        assert (row.score, row.words) == (4, None)
        application = session.scalar(select(Application))
        assert (application.status, application.name) == ("cancelled", None)


def test_no_approval_while_the_applicant_is_in_a_conversation(app, phones, svc):
    apply_by_text(phones)
    phones.text(APPLICANT, "hello, can I talk to someone?")
    with svc.sessions() as session:
        app_id = session.scalar(select(Application.id))
    result = app.test_cli_runner().invoke(args=["applications", "approve", str(app_id)])
    assert result.exit_code != 0 and "in a conversation" in result.output
    with svc.sessions() as session:
        assert session.scalars(select(Volunteer)).all() == []


def test_retention_blanks_feedback_words_and_decided_applications(app, phones, svc, clock):
    add_volunteer(svc, "Alex", ALEX)
    number = phones.pair(ALEX, OTHER)
    phones.text(ALEX, "#END", to=number)
    phones.work()
    phones.text(OTHER, "5 thanks")
    apply_by_text(phones)
    with svc.sessions.begin() as session:
        applications.decline(session, svc.line, "test", session.scalar(select(Application.id)))
    clock.advance(31 * 86400)
    with svc.sessions.begin() as session:
        purge_expired(session, svc.line)
    with svc.sessions() as session:
        assert session.scalar(select(Feedback.words)) is None
        assert session.scalar(select(Feedback.score)) == 5
        assert session.scalar(select(Application.name)) is None


def test_retention_deletes_an_application_abandoned_half_way(phones, svc, clock):
    for body in ("VOLUNTEER", "Jordan", "English and Spanish"):
        phones.text(APPLICANT, body)  # never answers the availability question
    clock.advance(29 * 86400)
    phones.text(OTHER, "VOLUNTEER")
    phones.text(OTHER, "Sam")  # will lapse too, but is younger than the retention period
    clock.advance(2 * 86400)
    with svc.sessions.begin() as session:
        purge_expired(session, svc.line)
    with svc.sessions() as session:
        rows = session.scalars(select(Application)).all()
        assert [(row.status, row.name) for row in rows] == [("asking", "Sam")]
