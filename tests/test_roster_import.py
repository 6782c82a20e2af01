"""Roster CSV import: every row checked first, all added or none, one audit row; on the
dashboard (coordinators and admins, CSRF) and from the CLI."""

from __future__ import annotations

import io

from sqlalchemy import select

from peerline.models import AuditEntry
from peerline.people import roster, roster_import

from .dashboard_helpers import signed_in, token

GOOD = ("name,phone,languages,capacity\n"
        "Ana,(555) 010-0042,en,3\n"
        "\n"
        'Bea,+1 555 010 0043,"en,es",2\n')
TWO_BAD = ("name,phone,languages,capacity\n"
           "Ana,(555) 010-0042,en,3\n"
           ",+15550100043,fr,2\n"
           "Cy,+15550100044,es,1\n"
           "Dee,12,en,11\n")


def names(svc):
    with svc.sessions() as session:
        return sorted(v.name for v in roster.list_volunteers(session))


def imports(svc):
    with svc.sessions() as session:
        return [(a.actor, a.detail) for a in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "roster.import"))]


def upload(client, text, with_token=True):
    data = {"file": (io.BytesIO(text.encode()), "roster.csv")}
    if with_token:
        data["csrf_token"] = token(client, "/dashboard/roster")
    return client.post("/dashboard/roster/import", data=data,
                       content_type="multipart/form-data")


# --- the domain function -------------------------------------------------------------

def test_a_valid_file_is_imported_and_audited_once(svc):
    with svc.sessions.begin() as session:
        result = roster_import.import_csv(session, svc.line, "ana@example.org", GOOD)
    assert result.added == 2
    with svc.sessions() as session:
        people = {v.name: v for v in roster.list_volunteers(session)}
        assert svc.line.vault.decrypt(people["Ana"].phone_enc) == "+15550100042"
        assert (people["Bea"].languages, people["Bea"].capacity) == ("en,es", 2)
        assert people["Ana"].active and not people["Ana"].on_shift
    assert imports(svc) == [("ana@example.org", "imported 2 volunteers")]


def test_two_bad_rows_import_nothing_and_both_are_named(svc):
    with svc.sessions.begin() as session:
        rows, errors = roster_import.check(session, svc.line, TWO_BAD)
    text = [str(e) for e in errors]
    assert {(e.row, e.line) for e in errors} == {(2, 3), (4, 5)}
    assert "row 2 (line 3): a name is needed" in text
    assert any(t.startswith("row 2 (line 3): languages") for t in text)
    assert "row 4 (line 5): phone •••• 12 is not a possible phone number" in text
    assert "row 4 (line 5): capacity must be a whole number from 1 to 10" in text
    try:
        with svc.sessions.begin() as session:
            roster_import.import_csv(session, svc.line, "x", TWO_BAD)
    except roster_import.ImportRejected as exc:
        assert [str(e) for e in exc.errors] == text
    else:
        raise AssertionError("a file with bad rows was imported")
    assert names(svc) == [] and imports(svc) == []


def test_a_duplicate_phone_in_the_file_or_on_the_roster_is_refused(svc):
    with svc.sessions.begin() as session:
        roster.add_volunteer(session, svc.line, "Old", "+15550100099")
    dup = ("name,phone,languages,capacity\n"
           "Ana,+15550100042,en,3\n"
           "Ana again,555-010-0042,en,3\n"
           "Zed,(555) 010-0099,en,2\n")
    with svc.sessions() as session:
        _, errors = roster_import.check(session, svc.line, dup)
    assert [str(e) for e in errors] == [
        "row 2 (line 3): phone •••• 0042 is also in row 1",
        "row 3 (line 4): phone •••• 0099 is already on the roster"]
    assert not any("555" in str(e) for e in errors)  # never a full number
    assert names(svc) == ["Old"]


def test_the_header_is_required(svc):
    with svc.sessions() as session:
        _, errors = roster_import.check(session, svc.line, "Ana,+15550100042,en,3\n")
        assert "header" in str(errors[0]) and len(errors) == 1
        _, errors = roster_import.check(session, svc.line, "")
        assert "empty" in str(errors[0])
        _, errors = roster_import.check(session, svc.line, "name,phone,languages,capacity\n")
        assert "no volunteers" in str(errors[0])


# --- the dashboard -------------------------------------------------------------------

def test_a_coordinator_imports_on_the_roster_page(app, svc):
    client = signed_in(app, svc, "coordinator", "coord@example.org")
    page = client.get("/dashboard/roster").get_data(as_text=True)
    assert 'action="/dashboard/roster/import"' in page and 'enctype="multipart/form-data"' in page
    response = upload(client, GOOD)
    assert response.status_code == 302
    assert names(svc) == ["Ana", "Bea"]
    assert imports(svc) == [("coord@example.org", "imported 2 volunteers")]
    page = client.get("/dashboard/roster").get_data(as_text=True)
    assert "Imported 2 volunteers." in page and '<td class="name">Bea</td>' in page


def test_a_bad_file_on_the_dashboard_lists_the_rows_and_adds_nothing(app, svc):
    client = signed_in(app, svc, "admin")
    response = upload(client, TWO_BAD)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Nothing was imported" in page
    assert "row 2 (line 3): a name is needed" in page and "row 4 (line 5)" in page
    assert "010" not in page.split("Import a CSV")[1]  # no number echoed
    assert names(svc) == [] and imports(svc) == []


def test_a_viewer_gets_403_and_a_missing_token_400(app, svc):
    viewer = signed_in(app, svc, "viewer")
    assert upload(viewer, GOOD).status_code == 403
    coordinator = signed_in(app, svc, "coordinator")
    assert upload(coordinator, GOOD, with_token=False).status_code == 400
    forged = coordinator.post("/dashboard/roster/import", content_type="multipart/form-data",
                              data={"file": (io.BytesIO(GOOD.encode()), "r.csv"),
                                    "csrf_token": "forged"})
    assert forged.status_code == 400
    assert names(svc) == [] and imports(svc) == []


# --- the CLI -------------------------------------------------------------------------

def test_roster_import_from_the_cli(app, svc, tmp_path):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(GOOD, encoding="utf-8")
    bad.write_text(TWO_BAD.replace("Ana,", "Ann,").replace("0042", "0052"), encoding="utf-8")
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["roster", "import", str(bad)])
    assert refused.exit_code != 0
    assert "row 2 (line 3)" in refused.output and "row 4 (line 5)" in refused.output
    assert "nothing imported" in refused.output and names(svc) == []
    result = runner.invoke(args=["roster", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "imported 2 volunteers" in result.output
    assert names(svc) == ["Ana", "Bea"]
    assert imports(svc) == [("cli", "imported 2 volunteers")]
    again = runner.invoke(args=["roster", "import", str(good)])
    assert again.exit_code != 0 and "already on the roster" in again.output
    assert "0100042" not in again.output and "010-0042" not in again.output
