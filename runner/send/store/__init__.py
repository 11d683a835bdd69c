"""The send stage's store: every SQL statement of send/, each a named function in the
module of its concept. The logic of send/ (planning, settling, the audience, welcome
first, the queue, the counts, left out) calls them and runs no SQL itself.

- :mod:`.transitions`: every change of a delivery's state, the one place
  ``deliveries.state`` is updated (the journal folded, settling, requeues, skips);
- :mod:`.planning`: the announcements as the repository has them, new deliveries;
- :mod:`.audiences`: who an announcement goes to, and the figures of who;
- :mod:`.selection`: which queued deliveries go next, in the run's tables;
- :mod:`.figures`: what a send reads back (queued, in flight, the run's table, left out);
- :mod:`.uploads`: media files uploaded once; :mod:`.fragments`: SQL pieces the others share.

Named Python functions rather than one ``queries.sql`` (listmonk's way): the statements
are put together from the vocabulary's words and from shared pieces (an audience, a
citizen's address); in Python those are imports the linter checks, where a ``.sql``
file would need a template language of its own.

Temporary tables. They live on the connection a send opens and closes
(:func:`runner.send.send`); each is made and dropped by one store module, and
``CREATE OR REPLACE`` means a stale one is never read:

- ``plan_received`` (citizen_id, reply_to): the recipients of the original of a
  correction or withdrawal, made by :func:`.audiences.recipients_of` for each one
  planned; read by that audience's SELECT (planning's inserts and figures); dropped
  by :func:`.audiences.forget` at the end of planning.
- ``plan_staff`` (citizen_id, wa_id): the staff test group of a drill, made by
  :func:`.audiences.staff_group`; the same reader and end.
- ``sendable`` (announcement_id), ``sendable_kinds`` (kind): what this run may send,
  made by :func:`.selection.prepare`; a body Meta refused is taken out
  (:func:`.selection.stop_announcement`, :func:`.selection.stop_kind`).
- ``held`` (delivery_id): the deliveries in the engine's hands or waiting for a retry,
  made empty by :func:`.selection.prepare`, refilled before each chunk
  (:func:`.selection.hold`).
- ``urgent`` (announcement_id): the emergencies and their corrections and withdrawals
  as the run starts, made by :func:`.selection.prepare`. These four are read by the
  chunk queries (welcome first included) and dropped by :func:`.selection.forget`
  when the run is done.
- ``left_out_watched`` (announcement_id), ``left_out_before`` (h, state, attempts):
  the snapshot of the emergencies' deliveries before the run changes anything, made
  by :func:`.figures.watch_emergencies`, read by :func:`.figures.left_out_rows`,
  dropped by :func:`.figures.forget_watched` once read.
- ``outbox_delivered`` (delivery_id): the delivery ids of the bodies in the outbox
  file, read with the query of the outbox's format
  (:func:`runner.whatsapp.outbox.delivered_ids_sql`); made, read and dropped by
  :func:`.transitions.settle_from_outbox`.

``send_journal`` and ``send_log_folded`` are tables of the schema, not temporary: the
journal's rows on their way into ``deliveries``, and how far each journal was folded.
"""
