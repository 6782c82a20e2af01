"""WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi …``."""

from peerline import create_app

app = create_app()
