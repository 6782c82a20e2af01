"""WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi …``."""

import sys

from peerline.app import create_app
from peerline.config import ConfigError
from peerline.crisis import detect

#: gunicorn's "App failed to load" exit status: the arbiter stops instead of forking
#: worker after worker; any other entry point just sees a non-zero exit.
APP_LOAD_ERROR = 4

try:
    app = create_app()
except ConfigError as error:  # fail closed: one line naming every setting, no traceback
    print(error, file=sys.stderr, flush=True)
    sys.exit(APP_LOAD_ERROR)
# Compile the crisis lexicons now, so that no survivor's first text pays for it.
detect("warm up")
