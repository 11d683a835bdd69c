"""gunicorn settings for the receiver: ``gunicorn -c python:runner.webhook.gunicorn_conf``.

Event-loop workers (gevent), not threads: a connection costs a greenlet, not a
thread, while it sends its headers and body, so clients that send slowly (a
flaky mobile network, or someone holding connections open on purpose) cannot
occupy every worker: with ``gthread``, a few dozen slow clients stopped every
normal POST; with these settings normal POSTs stay fast with a thousand slow
clients open (``bench/receiver.py --slow``; the figures:
docs/whatsapp-webhook-measurements.md).

gevent makes the log writer's thread and its waits cooperative; fsync still
blocks a worker's loop for the time of one disk flush, shared by the whole
group commit. Each worker holds up to ``worker_connections`` connections (and
as many file descriptors: raise the service's LimitNOFILE above it).

A Content-Length is refused (400) unless spelt ``Content-Length: <digits>``,
as under ``webhook serve``: :mod:`.gunicorn_length` says why and how. A body
must arrive in time, each read of a connection giving up after 10 s without a
byte, as under ``webhook serve`` (:mod:`.body`).

Do not add ``preload_app``: each worker builds the receiver itself, and with it
its GitHub dispatcher's thread (:mod:`.dispatch`; the workers agree on when to
dispatch through a file beside the logs).
"""

from runner.webhook.body import install_read_timeout
from runner.webhook.gunicorn_length import install

worker_class = "gevent"
workers = 2
worker_connections = 4000
timeout = 30  # seconds a worker may stay unresponsive before it is restarted
graceful_timeout = 30  # on SIGTERM, let requests in flight finish
# With gevent workers this is also how long a client has to send a request's
# headers (the first request's too): one that trickles them is cut after 5 s.
keepalive = 5
# Meta's bodies are at most 3 MB and their headers a few hundred bytes.
limit_request_line = 8190
limit_request_fields = 100
# Never log query strings: Meta's handshake carries the verify token there.
accesslog = None
# gunicorn's Python parser, the one whose header lines the receiver checks
# (gunicorn_length): gunicorn_h1c's C parser, if installed, would skip them.
http_parser = "python"


def post_worker_init(worker):
    install(worker)
    install_read_timeout(worker)
