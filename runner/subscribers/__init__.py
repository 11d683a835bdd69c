"""Subscribers: from the logged webhooks to who receives announcements, in rooms by job.

- :mod:`.logs` reads the webhook logs into the database: which files and lines are
  new, the stage DuckDB parses them into, the messages, the delivery statuses, the
  template changes and the import records they hold;
- :mod:`.lifecycle` is what a citizen's messages and the staff decisions mean:
  keywords, topics, the pure state machine, its outcome replayed and stored, the
  replies and notices due;
- :mod:`.staff` holds the staff's tools: the list, the decisions staff make, the near
  misses, and moving a town's existing list in (``subscribers import``);
- :mod:`.rights` holds the citizens' rights: whom staff mean, access to what is held,
  erasure of their lines here and the commands for the copies out of reach;
- :mod:`.store` runs every SQL statement of the stage, each a named function; the
  contract of its temporary tables is written there.

Beside the rooms: :mod:`.sync`, the manager that runs the steps and adds up their
results into a :mod:`.summary`; :mod:`.privacy`, how numbers and texts are masked
and pseudonymised, which every room (and later stages) use; :mod:`.repository`,
where a database's decisions file, logs and outbox are.

Imports go down this order, type-only ones included (tests/test_architecture.py):
store, lifecycle, privacy and repository, logs, rights, staff, then summary and sync.
"""
