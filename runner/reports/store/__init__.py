"""The reports' store: every SQL statement of reports/, each a named function in the
module of its concept. The figure modules above it (:mod:`runner.reports.subscriptions`,
:mod:`~runner.reports.deliveries`, :mod:`~runner.reports.lifecycle`,
:mod:`~runner.reports.costs`, :mod:`~runner.reports.reasons`) shape what these return
into the frames the notebooks show, and run no SQL themselves.

- :mod:`.connection`: the database opened read-only in the town's timezone, which
  tables an older database has, the days with data, running a query with the period;
- :mod:`.outcomes`: what became of each delivery (the deliveries report);
- :mod:`.announcements`: chains of corrections, time to alert, weeks of the cap;
- :mod:`.subscriptions`: state changes, moderation, keywords, consents (the subscribers
  report);
- :mod:`.pricing`: what each message cost, and whether anything went out or came back;
- :mod:`.account`: the account's own errors and the templates' states.

Named Python functions rather than one ``queries.sql``, as in the other stages'
stores: the statements are put together from the vocabulary's words and shared pieces.

The store only reads: the connection is read-only. Its one temporary table,
``report_outcomes``, is made by :func:`.outcomes.ensure`, whose module writes its
contract; it lives as long as the report's connection.
"""

from . import account, announcements, connection, outcomes, pricing, subscriptions

__all__ = ["account", "announcements", "connection", "outcomes", "pricing", "subscriptions"]
