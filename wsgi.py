"""WSGI entry point for gunicorn: `gunicorn wsgi:app` (settings from CRUX_* variables)."""
from crux import create_app

app = create_app()
