"""Configurations that would fail open: production refuses to start, and says why in one line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from peerline.app import create_app
from peerline.config import DEV_AUTH_TOKEN, DEV_SECRET_KEY, ConfigError, finalise, from_environment
from peerline.telephony.signature import sign

from .helpers import BASE_URL, LINE, new_sid
from .test_text_line import SURV

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACCOUNT = "AC" + "1" * 32
PRODUCTION = {
    "PEERLINE_GATEWAY": "twilio",
    "SECRET_KEY": "a-long-random-production-secret",
    "TWILIO_ACCOUNT_SID": ACCOUNT,
    "TWILIO_AUTH_TOKEN": "real-auth-token",
    "PUBLIC_BASE_URL": "https://line.example.org",
    "PEERLINE_NUMBERS": "+15550000001,+15550000002",
    "DATABASE_URL": "postgresql+psycopg://db.example.org/peerline",
    "REDIS_URL": "redis://redis.example.org:6379/0",
}
REQUIRED = ("SECRET_KEY", "TWILIO_AUTH_TOKEN", "TWILIO_ACCOUNT_SID", "PUBLIC_BASE_URL",
            "PEERLINE_NUMBERS", "DATABASE_URL", "REDIS_URL")


def check(**values: str) -> dict:
    return finalise({**from_environment({}), **values})


def refusal(**values: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        check(**values)
    assert "\n" not in str(caught.value)
    return caught.value


# --- production refuses to start -------------------------------------------------------

def test_a_complete_production_config_starts_and_signs_with_the_real_token():
    values = check(**PRODUCTION)
    assert values["PEERLINE_GATEWAY"] == "twilio"
    assert values["SIGNING_TOKEN"] == "real-auth-token"
    assert values["PEERLINE_NUMBERS"] == ["+15550000001", "+15550000002"]


def test_the_twilio_gateway_alone_names_every_missing_setting_in_one_line():
    error = refusal(PEERLINE_GATEWAY="twilio")
    line = str(error)
    assert line.startswith("peerline will not start: ")
    for name in REQUIRED:
        assert f"{name} is missing" in line, name
    assert len(error.problems) == len(REQUIRED)


@pytest.mark.parametrize("name", REQUIRED)
def test_each_required_setting_is_named_when_missing(name):
    error = refusal(**{**PRODUCTION, name: ""})
    assert error.problems == [f"{name} is missing"]


@pytest.mark.parametrize("secret, why", [
    (DEV_SECRET_KEY, "built-in dev key"),
    (DEV_AUTH_TOKEN, "built-in dev key"),
    ("short", "shorter than 16"),
])
def test_an_unsafe_secret_key_is_refused(secret, why):
    [problem] = refusal(**{**PRODUCTION, "SECRET_KEY": secret}).problems
    assert problem.startswith("SECRET_KEY") and why in problem


def test_the_dev_signing_token_is_never_a_production_token():
    [problem] = refusal(**{**PRODUCTION, "TWILIO_AUTH_TOKEN": DEV_AUTH_TOKEN}).problems
    assert "TWILIO_AUTH_TOKEN" in problem and "dev" in problem


def test_a_public_base_url_must_be_a_url():
    [problem] = refusal(**{**PRODUCTION, "PUBLIC_BASE_URL": "line.example.org"}).problems
    assert problem.startswith("PUBLIC_BASE_URL")


def test_a_bad_line_number_is_named_without_echoing_it():
    error = refusal(**{**PRODUCTION, "PEERLINE_NUMBERS": "+15550000001,+1 555 01"})
    assert error.problems == ["PEERLINE_NUMBERS entry 2 is not a phone number"]


def test_credentials_imply_the_twilio_gateway_and_its_requirements():
    implied = {k: v for k, v in PRODUCTION.items() if k != "PEERLINE_GATEWAY"}
    assert check(**implied)["PEERLINE_GATEWAY"] == "twilio"
    for credential in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        error = refusal(**{credential: implied[credential]})
        assert "SECRET_KEY is missing" in error.problems
        assert "PUBLIC_BASE_URL is missing" in error.problems


@pytest.mark.parametrize("name", ["Twilio", "TWILIO", "twillio", " twilio", "locale", "prod"])
def test_an_unknown_gateway_name_is_an_error_not_a_quiet_local_gateway(name):
    error = refusal(**{**PRODUCTION, "PEERLINE_GATEWAY": name})
    assert any(p.startswith("PEERLINE_GATEWAY must be") for p in error.problems)


def test_a_token_without_an_account_sid_is_an_error_on_any_gateway():
    error = refusal(PEERLINE_GATEWAY="local", TWILIO_AUTH_TOKEN="real-auth-token")
    assert error.problems == ["TWILIO_AUTH_TOKEN is set without TWILIO_ACCOUNT_SID"]
    error = refusal(**{**PRODUCTION, "TWILIO_ACCOUNT_SID": ""})
    assert error.problems == ["TWILIO_ACCOUNT_SID is missing"]


def test_a_setting_that_is_not_a_number_is_named():
    error = refusal(PEERLINE_OFFER_TIMEOUT_S="soon", TWILIO_TIMEOUT_S="10s")
    assert set(error.problems) == {"PEERLINE_OFFER_TIMEOUT_S must be a number",
                                   "TWILIO_TIMEOUT_S must be a number"}
    assert check(PEERLINE_OFFER_TIMEOUT_S=" 45 ")["PEERLINE_OFFER_TIMEOUT_S"] == 45


def test_the_embedded_default_still_needs_nothing():
    values = check()
    assert values["PEERLINE_GATEWAY"] == "local"
    assert values["SIGNING_TOKEN"] == DEV_AUTH_TOKEN and values["USING_DEV_SECRET"]


@pytest.mark.parametrize("deployed", [
    {"DATABASE_URL": "postgresql+psycopg://db.example.org/peerline"},
    {"PUBLIC_BASE_URL": "https://line.example.org"},
])
def test_missing_twilio_settings_on_a_deployment_never_fall_back_to_the_dev_line(deployed):
    """Secrets that failed to load: no quiet local gateway (dev token, simulator)."""
    with pytest.raises(ConfigError) as err:
        finalise(from_environment(deployed))
    assert "PEERLINE_GATEWAY=local on purpose" in str(err.value)
    values = finalise(from_environment({**deployed, "PEERLINE_GATEWAY": "local"}))
    assert values["PEERLINE_GATEWAY"] == "local"  # asked for by name: a test deployment


def test_create_app_refuses_too(settings, clock):
    with pytest.raises(ConfigError, match="SECRET_KEY is missing"):
        create_app({**settings, "PEERLINE_GATEWAY": "twilio", "SECRET_KEY": ""}, clock=clock)


# --- every entry point: one line, non-zero exit, no traceback --------------------------

def _env(**extra: str) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(PYTHONPATH=ROOT, PYTHONUNBUFFERED="1", **extra)
    return env


def _bin(name: str) -> str:
    return os.path.join(os.path.dirname(sys.executable), name)


def _run(args: list[str], **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, env=_env(**extra), capture_output=True, text=True,
                          timeout=60)


def _assert_one_clear_line(result: subprocess.CompletedProcess[str],
                           names: tuple[str, ...] = REQUIRED) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if "peerline will not start" in line]
    assert len(set(lines)) == 1, output
    for name in names:
        assert name in lines[0], (name, lines[0])


def test_flask_worker_refuses_to_start_with_one_line(tmp_path):
    result = _run([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"],
                  PEERLINE_GATEWAY="twilio", PEERLINE_INSTANCE_DIR=str(tmp_path))
    _assert_one_clear_line(result)
    assert result.stderr.count("peerline will not start") == 1


def test_flask_db_upgrade_refuses_an_unknown_gateway(tmp_path):
    result = _run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
                  PEERLINE_GATEWAY="Twilio", PEERLINE_INSTANCE_DIR=str(tmp_path))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "PEERLINE_GATEWAY must be 'twilio' or 'local'" in result.stderr
    assert not (tmp_path / "peerline.db").exists()


def test_gunicorn_refuses_to_start_with_one_line(tmp_path):
    result = _run([_bin("gunicorn"), "--workers", "2", "--bind", "127.0.0.1:0", "wsgi:app"],
                  TWILIO_ACCOUNT_SID=ACCOUNT, PEERLINE_INSTANCE_DIR=str(tmp_path))
    # The account SID alone implies the Twilio gateway: every other requirement is named.
    _assert_one_clear_line(result, tuple(n for n in REQUIRED if n != "TWILIO_ACCOUNT_SID"))
    assert "Booting worker" not in result.stdout + result.stderr  # checked before forking


def test_gunicorn_without_our_config_file_still_stops(tmp_path):
    """``-c`` elsewhere skips gunicorn.conf.py: wsgi.py's exit status stops the arbiter."""
    result = _run([_bin("gunicorn"), "-c", os.devnull, "--workers", "1", "--bind",
                   "127.0.0.1:0", "wsgi:app"],
                  PEERLINE_GATEWAY="twilio", PEERLINE_INSTANCE_DIR=str(tmp_path))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "App failed to load" in output and "peerline will not start" in output


# --- signatures: the real token whenever it is set --------------------------------------

def _signed_text(client, token: str):  # noqa: ANN001, ANN202
    params = {"MessageSid": new_sid(), "From": SURV, "To": LINE, "Body": "hi",
              "NumMedia": "0"}
    signature = sign(BASE_URL + "/sms/inbound", params, token)
    return client.post("/sms/inbound", data=params, headers={"X-Twilio-Signature": signature})


def test_the_local_gateway_with_a_real_token_checks_signatures_with_it(app):
    assert app.config["PEERLINE_GATEWAY"] == "local"
    client = app.test_client()
    assert _signed_text(client, DEV_AUTH_TOKEN).status_code == 403
    assert _signed_text(client, "test-auth-token").status_code == 200


def test_the_twilio_gateway_never_accepts_the_dev_token(settings, clock):
    app = create_app({**settings, "PEERLINE_GATEWAY": "twilio"}, clock=clock)
    try:
        assert app.config["SIGNING_TOKEN"] == settings["TWILIO_AUTH_TOKEN"]
        assert _signed_text(app.test_client(), DEV_AUTH_TOKEN).status_code == 403
    finally:
        app.extensions["peerline"].engine.dispose()


# --- the simulator exists only with the local gateway -----------------------------------

def _sample_path(rule) -> str:  # noqa: ANN001
    values = {name: ("simulator.js" if name == "filename" else "1")
              for name in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


def test_every_simulator_route_is_a_404_on_the_twilio_gateway(app, settings, clock):
    simulator_rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/simulator")]
    assert len(simulator_rules) >= 6  # the text and call simulators, their APIs, static
    twilio_app = create_app({**settings, "PEERLINE_GATEWAY": "twilio"}, clock=clock)
    try:
        assert not [r.rule for r in twilio_app.url_map.iter_rules()
                    if r.rule.startswith("/simulator")]
        client = twilio_app.test_client()
        for rule in simulator_rules:
            path = _sample_path(rule)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(path, method=method, json={})
                assert response.status_code == 404, (method, path, response.status_code)
    finally:
        twilio_app.extensions["peerline"].engine.dispose()


@pytest.mark.parametrize(("overrides", "named"), [
    ({"SECRET_KEY": " " * 20}, "SECRET_KEY is missing"),
    ({"TWILIO_AUTH_TOKEN": " " * 32}, "TWILIO_AUTH_TOKEN is missing"),
    ({"TWILIO_ACCOUNT_SID": "\t \n"}, "TWILIO_ACCOUNT_SID is missing"),
    ({"PEERLINE_HASH_KEY": " " * 20}, "PEERLINE_HASH_KEY is shorter than 16"),
    ({"PEERLINE_HASH_KEY": "changeme"}, "PEERLINE_HASH_KEY is shorter than 16"),
    ({"PUBLIC_BASE_URL": "http://line.example.org"}, "PUBLIC_BASE_URL must be https"),
    ({"PUBLIC_BASE_URL": "https://me:pw@line.example.org"}, "user name or password"),
    ({"PEERLINE_NUMBERS": " , "}, "PEERLINE_NUMBERS is missing"),
    ({"PEERLINE_PIN_LOCK_S": "-5"}, "PEERLINE_PIN_LOCK_S must not be negative"),
])
def test_settings_that_look_set_but_are_unsafe_are_refused(overrides, named):
    """Found in an attack review: blank secrets, plain http, a comma for numbers and a
    negative lock time that switched the PIN lock off."""
    base = {"PEERLINE_GATEWAY": "twilio", "SECRET_KEY": "a-real-secret-0123456789",
            "TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "t" * 32,
            "PUBLIC_BASE_URL": "https://line.example.org", "PEERLINE_NUMBERS": LINE,
            "DATABASE_URL": "sqlite:///line.db", "REDIS_URL": "redis://127.0.0.1:6379/0"}
    finalise(from_environment(base))  # the base itself is fine
    with pytest.raises(ConfigError) as err:
        finalise(from_environment({**base, **overrides}))
    assert named in str(err.value)


def test_plain_http_is_fine_on_loopback_for_a_local_fake_twilio():
    values = finalise(from_environment({
        "PEERLINE_GATEWAY": "twilio", "SECRET_KEY": "a-real-secret-0123456789",
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "t" * 32,
        "PUBLIC_BASE_URL": "http://127.0.0.1:8000", "PEERLINE_NUMBERS": LINE,
        "DATABASE_URL": "sqlite:///line.db", "REDIS_URL": "redis://127.0.0.1:6379/0"}))
    assert values["PUBLIC_BASE_URL"] == "http://127.0.0.1:8000"


@pytest.mark.parametrize("keys", [
    "not-a-key", "c2hvcnQ=", "=" * 44, "a" * 43 + "!",
    Fernet.generate_key().decode() + ",oops",
])
def test_a_malformed_encryption_key_is_one_line_without_the_key(keys):
    """Found in an attack review: a bad PEERLINE_ENCRYPTION_KEYS stopped the app with a
    traceback (and the key in it) instead of the usual one-line refusal."""
    error = refusal(PEERLINE_ENCRYPTION_KEYS=keys)
    assert "PEERLINE_ENCRYPTION_KEYS entry" in str(error)
    for key in keys.split(","):
        assert key not in str(error)


def test_good_encryption_keys_start(settings, clock):
    keys = f"{Fernet.generate_key().decode()} , {Fernet.generate_key().decode()}"
    assert check(PEERLINE_ENCRYPTION_KEYS=keys)["PEERLINE_ENCRYPTION_KEYS"] == keys


def test_gunicorn_refuses_a_malformed_encryption_key_with_one_line(tmp_path):
    secret = "s3cr3t-but-not-a-fernet-key"
    result = _run([_bin("gunicorn"), "--workers", "1", "--bind", "127.0.0.1:0", "wsgi:app"],
                  PEERLINE_ENCRYPTION_KEYS=secret, PEERLINE_INSTANCE_DIR=str(tmp_path))
    _assert_one_clear_line(result, ("PEERLINE_ENCRYPTION_KEYS",))
    assert secret not in result.stdout + result.stderr
