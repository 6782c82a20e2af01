"""WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi …``."""

from peerline import create_app
from peerline.crisis import detect

app = create_app()
# Compile the crisis lexicons now, so that no survivor's first text pays for it.
detect("warm up")
