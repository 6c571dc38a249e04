"""gunicorn's settings for feedback360; gunicorn reads this file from the directory it starts in.

With the README's command (``gunicorn -w … -b 127.0.0.1:8000 wsgi:app``, run from the project
root):

* responses carry no ``Server`` header: gunicorn names itself and its version in one on every
  response and has no setting to leave it out, which tells a scanner what to try;
* the access log is on (stdout, for the service manager's journal), and every record gunicorn
  writes, access and error log alike, passes through the app's token redaction
  (``feedback360/log_redaction.py``), in the master and in every worker forked from it.

Settings given on the command line or in ``GUNICORN_CMD_ARGS`` override these.
"""

from gunicorn.http import wsgi

from feedback360.log_redaction import install_redacting_record_factory

accesslog = "-"

install_redacting_record_factory()

_default_headers = wsgi.Response.default_headers


def _default_headers_without_server(self):  # type: ignore[no-untyped-def]
    return [line for line in _default_headers(self) if not line.lower().startswith("server:")]


wsgi.Response.default_headers = _default_headers_without_server
