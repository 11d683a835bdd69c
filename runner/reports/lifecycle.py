"""Figures for topics and the alert lifecycle: who chose which topic, each chain of
corrections and withdrawals with its reach, and the time from publication to first
delivery.

Time to alert runs from ``publish_at``, when the town said citizens should know,
to the first delivery: a send job that starts late is late for citizens, and
shows. How much of it the send stage was not yet at work is its own figure, the
job's delay: from ``publish_at`` to ``planned_at``, when the send job first saw
the file (a merge after its publication time, or a job that started late; zero
for a file merged ahead of its time). The reports read the database alone, and
the CI checkout is shallow (a file's commit is not there to read): ``planned_at``
is the closest the database holds to the merge. A first delivery before
publication is not a measurement, nor is a ``planned_at`` after the first delivery
(a database rebuilt after the fact): left empty.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ..subscribers.lifecycle.topics import counts
from .period import Period
from .store import announcements


def topics(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """topic, receiving, chose: active subscribers now, per topic named in anyone's
    choice (receiving counts those with every topic too), and the two special
    choices, every topic and only the mandatory categories, as ``*`` and ``-``."""
    found = counts(con)
    rows = [(topic, found.receiving(topic), n) for topic, n in (found.chose or {}).items()]
    rows.sort(key=lambda row: (-row[1], row[0]))
    rows += [("*", found.every, found.every), ("-", found.none, found.none)]
    return pd.DataFrame(rows, columns=["topic", "receiving", "chose"])


def chains(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """chain (the original's id), step (alert, update, cancel), announcement_id, title,
    publish_at, audience, sent, delivered, read, skipped: each original that was
    corrected or withdrawn, then its corrections and withdrawal, in order; reach from
    the deliveries and the status webhooks, the audience counted as in the deliveries
    report (those not reached, skipped, included). Chains whose original is in the
    period."""
    return announcements.chains(con, period)


def time_to_alert(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """announcement_id, title, urgency, status, publish_at, planned_at,
    first_delivered_at, minutes_to_alert (publish_at to the first delivery),
    job_delay_minutes (publish_at to planned_at, zero if planned before): per
    announcement published in the period and sent, newest last (see the module
    docstring)."""
    return announcements.time_to_alert(con, period)
