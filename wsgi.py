"""The WSGI entry point that gunicorn and ``flask --app wsgi`` load."""

from feedback360 import create_app

app = create_app()
