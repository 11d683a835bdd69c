"""Named schema migrations for subscribers.duckdb, applied in order, each in one
transaction together with its record in ``_migrations`` (DuckDB DDL is
transactional), so a crash never leaves a half-applied schema.

Append new migrations at the end; never edit one that has shipped.
"""

from __future__ import annotations

import duckdb

from .transactions import transaction

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_core",
        """
        -- Which webhook log files were read, and how far (incremental sync).
        CREATE TABLE log_files (
            path       VARCHAR PRIMARY KEY,
            size       BIGINT NOT NULL,     -- bytes read so far
            mtime      DOUBLE,
            lines      BIGINT NOT NULL,     -- lines read so far
            synced_at  TIMESTAMPTZ
        );

        -- Lines of the logs that could not be used, kept for review.
        CREATE TABLE malformed (
            file    VARCHAR NOT NULL,
            line    BIGINT NOT NULL,
            -- reason: not_json | truncated | wrong_shape | gzip_truncated | ...
            reason  VARCHAR NOT NULL,
            detail  VARCHAR,
            PRIMARY KEY (file, line)
        );

        -- A citizen known to the service. citizen_id is pseudonymous (a keyed
        -- hash): it is what staff decisions in git and reports refer to.
        CREATE TABLE citizens (
            citizen_id       VARCHAR PRIMARY KEY,
            wa_id            VARCHAR,       -- the number as Meta gives it (digits), or unknown
            user_id          VARCHAR,       -- business-scoped user id (BSUID), when Meta sends one
            profile_name     VARCHAR,
            last_inbound_at  TIMESTAMPTZ    -- opens the 24-hour customer service window
        );

        -- Every inbound message, classified. wamid dedupes Meta's retries.
        CREATE TABLE inbound (
            wamid          VARCHAR PRIMARY KEY,
            citizen_id     VARCHAR NOT NULL,
            ts             TIMESTAMPTZ NOT NULL,
            type           VARCHAR NOT NULL,  -- text | button | interactive | image | ...
            text           VARCHAR,
            kind           VARCHAR NOT NULL,  -- subscribe | unsubscribe | near_miss | ignored
            keyword        VARCHAR,           -- the configured keyword matched (or nearly matched)
            captured_name  VARCHAR,
            file           VARCHAR,
            line           BIGINT
        );

        -- Current state of each subscriber.
        CREATE TABLE subscribers (
            citizen_id     VARCHAR PRIMARY KEY,
            -- state: pending | active | unsubscribed | rejected | blocked
            state          VARCHAR NOT NULL,
            name           VARCHAR,           -- after the keyword, where the town asks for it
            keyword        VARCHAR,
            since          TIMESTAMPTZ NOT NULL,  -- when the current state began
            subscribed_at  TIMESTAMPTZ            -- first time active
        );

        -- Every state change, for the reports' time series.
        CREATE TABLE subscriber_events (
            citizen_id  VARCHAR NOT NULL,
            ts          TIMESTAMPTZ NOT NULL,
            from_state  VARCHAR,
            to_state    VARCHAR NOT NULL,
            cause       VARCHAR NOT NULL      -- the inbound wamid, or decision:<action>
        );

        -- The consent record of every subscription.
        CREATE TABLE consents (
            citizen_id      VARCHAR NOT NULL,
            wamid           VARCHAR PRIMARY KEY,
            ts              TIMESTAMPTZ NOT NULL,
            text            VARCHAR NOT NULL,  -- exactly what the citizen sent
            keyword         VARCHAR NOT NULL,
            notice_version  VARCHAR NOT NULL   -- content hash of the welcome/privacy text in force
        );

        -- Highest status reached by each message we sent (sent < delivered < read;
        -- failed is kept unless a later delivered/read arrives).
        CREATE TABLE statuses (
            wamid             VARCHAR PRIMARY KEY,
            status            VARCHAR NOT NULL,  -- sent | delivered | read | failed | played
            ts                TIMESTAMPTZ NOT NULL,
            sent_at           TIMESTAMPTZ,
            delivered_at      TIMESTAMPTZ,
            read_at           TIMESTAMPTZ,
            failed_at         TIMESTAMPTZ,
            recipient_id      VARCHAR,
            callback          VARCHAR,           -- biz_opaque_callback_data echoed back
            error_code        INTEGER,
            error_title       VARCHAR,
            pricing_category  VARCHAR
        );

        -- Announcements the send engine has planned (a snapshot of their front matter).
        CREATE TABLE announcements (
            -- the file's slug id, e.g. 2024-03-28-servizio-whatsapp
            announcement_id  VARCHAR PRIMARY KEY,
            path             VARCHAR NOT NULL,
            title            VARCHAR NOT NULL,
            category         VARCHAR NOT NULL,
            urgency          VARCHAR NOT NULL,
            publish_at       TIMESTAMPTZ NOT NULL,
            expires_at       TIMESTAMPTZ,
            cancelled        BOOLEAN NOT NULL DEFAULT false,
            planned_at       TIMESTAMPTZ
        );

        -- One row per message to send: an announcement to a subscriber, or a
        -- welcome/goodbye reply. delivery_id is deterministic and travels in
        -- biz_opaque_callback_data, so statuses in the logs find it again even
        -- after the database is rebuilt.
        CREATE TABLE deliveries (
            delivery_id      VARCHAR PRIMARY KEY,
            kind             VARCHAR NOT NULL,  -- runner/vocabulary.py: the kinds
            announcement_id  VARCHAR,
            citizen_id       VARCHAR NOT NULL,
            -- state: runner/vocabulary.py (DELIVERY_STATES)
            state            VARCHAR NOT NULL,
            wamid            VARCHAR,
            attempts         INTEGER NOT NULL DEFAULT 0,
            error_code       INTEGER,
            error_title      VARCHAR,
            created_at       TIMESTAMPTZ NOT NULL,
            sent_at          TIMESTAMPTZ,
            updated_at       TIMESTAMPTZ
        );
        """,
    ),
    (
        "0002_send_media_uploads",
        """
        -- A repo media file is uploaded to /media once and its id reused (Meta keeps
        -- it 30 days); scope = transport and phone number id, which own the id.
        CREATE TABLE media_uploads (
            sha256       VARCHAR NOT NULL,
            scope        VARCHAR NOT NULL,
            path         VARCHAR NOT NULL,
            media_id     VARCHAR NOT NULL,
            uploaded_at  TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (sha256, scope)
        );
        """,
    ),
    (
        "0003_sync",
        """
        -- What a moderated pending request asks for: subscribe | unsubscribe.
        ALTER TABLE subscribers ADD COLUMN pending_action VARCHAR;
        -- played (first play of a voice message) ranks above read.
        ALTER TABLE statuses ADD COLUMN played_at TIMESTAMPTZ;

        -- value.errors[] of the webhooks: system/app/account problems, not tied
        -- to a message (e.g. 130429 rate limit), kept for the reports.
        CREATE TABLE webhook_errors (
            file   VARCHAR NOT NULL,
            line   BIGINT NOT NULL,
            code   INTEGER NOT NULL,
            title  VARCHAR,
            PRIMARY KEY (file, line, code)
        );

        -- What the last sync was computed with (keyword settings, decisions file):
        -- when they change, sync reclassifies and recomputes.
        CREATE TABLE sync_meta (
            key    VARCHAR PRIMARY KEY,
            value  VARCHAR NOT NULL
        );
        """,
    ),
    (
        "0004_send_journal",
        """
        -- The send engine's state transitions (queued -> sending -> sent | failed),
        -- appended in batches while it sends and folded into deliveries every
        -- chunk and at the end. An append costs the same whatever the size of
        -- deliveries; an UPDATE of deliveries scans it (docs/measurements.md).
        -- Rows left by a killed run are folded in at the next start: a last
        -- state of 'sending' is an ambiguous delivery to settle.
        CREATE TABLE send_journal (
            seq          BIGINT NOT NULL,
            delivery_id  VARCHAR NOT NULL,
            state        VARCHAR NOT NULL,
            wamid        VARCHAR,
            error_code   INTEGER,
            error_title  VARCHAR,
            tries        INTEGER NOT NULL,
            journaled_at TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    (
        "0007_templates",
        """
        -- Template status and category changes Meta announced by webhook
        -- (message_template_status_update, template_category_update), one row per
        -- announcement, deduplicated on every column. template_state is the latest
        -- status and category per template: the counts file and the reports read it.
        CREATE TABLE template_updates (
            ts                TIMESTAMPTZ NOT NULL,  -- entry.time
            field             VARCHAR NOT NULL,
            template_id       VARCHAR,
            name              VARCHAR NOT NULL,
            language          VARCHAR NOT NULL,
            status            VARCHAR,   -- the event: APPROVED, PAUSED, DISABLED...
            category          VARCHAR,   -- new_category
            previous_category VARCHAR,
            reason            VARCHAR
        );
        CREATE VIEW template_state AS
        SELECT name, language,
               arg_max(CASE status WHEN 'REINSTATED' THEN 'APPROVED' ELSE status END, ts)
                   FILTER (status IS NOT NULL) AS status,
               arg_max(category, ts) FILTER (category IS NOT NULL) AS category,
               max(ts) AS changed_at
        FROM template_updates GROUP BY name, language;
        """,
    ),
    (
        "0009_topics",
        """
        -- The topic a keyword names (MI ISCRIVO EVENTI) or a menu row picks ('*': all).
        ALTER TABLE inbound ADD COLUMN topic VARCHAR;
        -- The topics a subscriber chose, sorted; NULL: every topic (the plain keyword).
        -- Emergency and mandatory categories reach everyone whatever this says.
        ALTER TABLE subscribers ADD COLUMN topics VARCHAR[];
        -- The topics the subscription asked for (NULL: every topic).
        ALTER TABLE consents ADD COLUMN topics VARCHAR[];

        -- The lifecycle, as the front matter says: updates / cancels name an earlier
        -- announcement; status actual | exercise | test.
        ALTER TABLE announcements ADD COLUMN updates VARCHAR;
        ALTER TABLE announcements ADD COLUMN cancels VARCHAR;
        ALTER TABLE announcements ADD COLUMN status VARCHAR DEFAULT 'actual';

        -- A correction or withdrawal quotes the original message the citizen got:
        -- its wamid (context.message_id). NULL: no quote.
        ALTER TABLE deliveries ADD COLUMN reply_to VARCHAR;
        -- The body a reply uses when it is not its kind's own (the topic menu headed
        -- by what changed: topics-added-eventi). NULL: the kind's.
        ALTER TABLE deliveries ADD COLUMN payload VARCHAR;
        """,
    ),
    (
        "0006_sync_logs",
        """
        -- log_files rows used to be written with lines and mtime swapped, so lines
        -- read incrementally were numbered from the file's mtime (malformed,
        -- webhook_errors, inbound.line) and re-read ranges missed their old
        -- malformed rows. Forgetting how far each file was read makes the next
        -- sync read every file again (everything is keyed, nothing doubles) and
        -- record each line at its right number; inbound keeps the lowest.
        DELETE FROM log_files;
        DELETE FROM malformed;
        DELETE FROM webhook_errors;
        """,
    ),
    (
        "0010_channels",
        """
        -- Posts to the public channels (Telegram), one row per announcement and part
        -- (0: the photo or the text; 1: the text after a photo whose caption would be
        -- too long). 'posting' is committed before the request leaves, so a run
        -- killed mid-request leaves a row that says so: it becomes 'unknown' and is
        -- never posted again by itself (runner.channels.store explains the states).
        CREATE TABLE channel_posts (
            channel          VARCHAR NOT NULL,  -- telegram
            announcement_id  VARCHAR NOT NULL,
            part             INTEGER NOT NULL,
            state            VARCHAR NOT NULL,  -- posting | posted | pending | failed | unknown
            message_id       BIGINT,
            attempts         INTEGER NOT NULL DEFAULT 0,
            error            VARCHAR,
            updated_at       TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (channel, announcement_id, part)
        );
        """,
    ),
    (
        "0008_rights",
        """
        -- What a message that is not a keyword looked like, masked (names, numbers,
        -- e-mails gone): kept when its text is dropped after retention_days.
        ALTER TABLE inbound ADD COLUMN form VARCHAR;
        -- The price Meta charges depends on these (status webhooks' pricing);
        -- pricing_type: regular | free_customer_service | free_entry_point.
        ALTER TABLE statuses ADD COLUMN pricing_type VARCHAR;
        ALTER TABLE statuses ADD COLUMN billable BOOLEAN;

        -- Each privacy notice version and when it came into force: a consent is
        -- given under the version in force at its time; reports name versions by date.
        CREATE TABLE notices (
            version        VARCHAR PRIMARY KEY,
            in_force_from  TIMESTAMPTZ NOT NULL
        );
        INSERT INTO notices SELECT notice_version, min(ts) FROM consents GROUP BY 1;
        """,
    ),
    (
        "0005_send_log",
        """
        -- The send journal is now a file beside the database (<database>.sendlog),
        -- written as each answer arrives. Each file names itself with a random id;
        -- this is how far each was folded into deliveries, recorded in the same
        -- transaction as the fold, so a file folded again never counts twice.
        -- send_journal stays: the fold stages the file's rows in it.
        CREATE TABLE send_log_folded (
            log_id        VARCHAR PRIMARY KEY,
            folded_bytes  BIGINT NOT NULL,
            folded_at     TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    (
        "0011_log_tails",
        """
        -- Bytes of an unterminated last line already parsed (the receiver may still
        -- be writing it): a file unchanged since is then not read again for it.
        ALTER TABLE log_files ADD COLUMN tail BIGINT NOT NULL DEFAULT 0;
        """,
    ),
    (
        "0012_imports",
        """
        -- Consents moved in from a list the town kept before (`subscribers import`),
        -- read from the import records in the webhook logs folder: one row per number.
        -- The replay takes a citizen's first one, when nothing they wrote came before
        -- it, as their subscription.
        CREATE TABLE imports (
            consent_id      VARCHAR PRIMARY KEY,   -- import:<file sha256, 16 hex>:<n>
            citizen_id      VARCHAR NOT NULL,
            ts              TIMESTAMPTZ NOT NULL,  -- --consented-on, 00:00 in the town's zone
            notice_version  VARCHAR NOT NULL,
            file_sha256     VARCHAR NOT NULL,      -- of the imported file (not kept)
            file            VARCHAR,               -- the record's line in the logs folder
            line            BIGINT
        );
        -- An imported consent names the file it came from (its SHA-256); NULL: a keyword.
        ALTER TABLE consents ADD COLUMN imported_from VARCHAR;
        """,
    ),
    (
        "0013_planned_audience",
        """
        -- An announcement's audience at its latest planning while due (NULL: never
        -- planned while due), and how many of them could be reached: with the
        -- deliveries, this tells "nobody to send it to" from "not sent".
        ALTER TABLE announcements ADD COLUMN audience INTEGER;
        ALTER TABLE announcements ADD COLUMN reachable INTEGER;
        """,
    ),
]


def applied_migrations(con: duckdb.DuckDBPyConnection) -> list[str]:
    con.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMPTZ)"
    )
    return [row[0] for row in con.execute("SELECT name FROM _migrations ORDER BY name").fetchall()]


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply every migration not yet recorded, each with its record in one transaction."""
    done = set(applied_migrations(con))
    applied = []
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        with transaction(con):
            con.execute(sql)
            con.execute("INSERT INTO _migrations VALUES (?, now())", [name])
        applied.append(name)
    return applied
