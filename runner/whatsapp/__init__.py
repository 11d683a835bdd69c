"""WhatsApp: everything that speaks to Meta's Cloud API, and its stand-in.

- :mod:`.bodies`: the request bodies, serialised once per broadcast;
- :mod:`.client` (with :mod:`.http1`, its lean hot path) and :mod:`.outbox`,
  chosen by :mod:`.transport`;
- :mod:`.answers`: what an answer means, the one owner of Meta's error codes;
- :mod:`.pacing`: one rate for the number, found from Meta's 130429 answers,
  and one accepted message per 6 s per citizen;
- :mod:`.templates`: the town's templates as Meta has them (the catalogue), and
  :mod:`.template_state`: their status changes as the latest sync stored them (the
  one module here that reads the database).

The outbox's file is read back for settling with the query of its format,
:func:`.outbox.delivered_ids_sql`, which the send stage's store runs.
"""
