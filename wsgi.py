"""Web entry point: `flask --app wsgi run` or `gunicorn wsgi:app`."""
from api import create_app

app = create_app()
