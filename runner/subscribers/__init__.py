"""Subscribers: from the logged webhooks to who receives announcements.

- :mod:`.logs` finds the webhook log files and cuts them into numbered lines;
- :mod:`.staging` has DuckDB parse them; :mod:`.inbound` and :mod:`.statuses`
  store messages and delivery statuses; :mod:`.sync` runs the whole step;
- :mod:`.keywords` classifies what citizens wrote; :mod:`.privacy` masks and
  pseudonymises their numbers;
- :mod:`.replay` is the pure state machine, :mod:`.states` stores its outcome;
- :mod:`.decisions` are staff decisions kept in the repository, :mod:`.staff`
  the commands that make them; :mod:`.notices` the welcome and goodbye texts;
- :mod:`.imports` moves a town's existing list in (``subscribers import``):
  :mod:`.contacts` reads a vCard or CSV, :mod:`.numbers` every spelling of a
  number, and the import record it writes beside the logs is read back by sync.
"""
