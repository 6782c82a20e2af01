"""gunicorn settings read from the project root (``gunicorn wsgi:app`` finds this file).

The settings are checked once in the arbiter before any worker is forked, so a line
that must not start (see ``peerline.config.finalise``) prints one line and exits 1
instead of booting workers that each fail.
"""


def on_starting(server: object) -> None:
    """Refuse to start with unusable settings (one line naming each one)."""
    from peerline.config import ConfigError, finalise, from_environment

    try:
        finalise(from_environment())
    except ConfigError as error:
        raise SystemExit(str(error)) from None
