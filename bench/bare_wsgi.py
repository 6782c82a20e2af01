"""The bare route, served by gunicorn the way the line is (``bench/load_bench.py``)."""

from webhook_bench import bare_app

app = bare_app()
