"""Reading the webhook logs (the source of truth) into the database: which files and
lines are new (:mod:`.files`), the stage DuckDB parses them into (:mod:`.staging`),
and the steps that store what the stage holds: messages and their senders
(:mod:`.inbound`), delivery statuses (:mod:`.delivery_statuses`), template changes
(:mod:`.template_updates`), consents moved in by ``subscribers import``
(:mod:`.import_records`). Each step returns what it did; :mod:`..sync` runs them."""
