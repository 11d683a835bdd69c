"""The webhook receiver: where Meta posts citizens' messages and delivery statuses.

- :mod:`.app`: the WSGI application (handshake, signature check, health);
- :mod:`.logwriter`: durable, line-atomic appends to the daily log files;
- :mod:`.server`: the small built-in server behind ``webhook serve``;
- :mod:`.oauth`: the staff form's GitHub login (``/auth``, ``/callback``), in front
  of the receiver when the town set up its OAuth app;
- :mod:`.gunicorn_conf`, :mod:`.gunicorn_length`: the documented gunicorn
  deployment's settings and its Content-Length check (``receiver`` extra only).

``gunicorn -c python:runner.webhook.gunicorn_conf 'runner.webhook:create_app()'`` serves it.
"""

from .app import create_app

__all__ = ["create_app"]
