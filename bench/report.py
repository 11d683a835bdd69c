"""Benchmark: render both reports on a town-sized database with 1,000,000 deliveries.

    .venv/bin/python bench/report.py [--deliveries 1000000] [--keep DIR]
        [--against DIR [--repeat 4]]

Builds the database with SQL (a year of a 20,000-subscriber town: 50
announcements, every status webhook, welcome replies, keyword messages,
moderation, consents), then times ``render_reports`` end to end: two kernels
started, every query, every chart, the HTML export. Prints the figures; it
asserts nothing (a benchmark is not a test).

``--against DIR`` compares with another checkout (``git worktree add DIR <commit>``)
on the same database: each round runs, in a fresh process from this checkout's code
and then from DIR's (alternating which goes first), every figure the notebooks ask
for (the queries and the frames, without kernels), then ``render_reports`` end to end
with that checkout's notebooks; it prints the wall-clock and CPU medians of both and
their ratios (a change that only moves code should print about 1.00; on a loaded
machine the CPU ratio is the steadier one).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from side_by_side import CPU, alternate, measure  # noqa: E402 (bench/side_by_side.py)

from runner import db  # noqa: E402
from runner.config import load_settings  # noqa: E402
from runner.reports import render_reports  # noqa: E402

ANNOUNCEMENTS = 50
CATEGORIES = ["emergenze", "protezione-civile", "allerta-meteo", "viabilita", "scadenze",
              "disservizi", "eventi", "info-comune"]


def build(path: Path, deliveries: int) -> None:
    audience = deliveries // ANNOUNCEMENTS
    citizens = int(audience * 1.25)  # some left, some never got through
    con = db.connect(path)
    con.execute("SET TimeZone = 'Europe/Rome'")
    params = {"citizens": citizens, "audience": audience, "n": ANNOUNCEMENTS,
              "categories": CATEGORIES}

    def sql(text: str) -> None:
        con.execute(text, {k: v for k, v in params.items() if f"${k}" in text})

    con.execute("BEGIN")
    # Citizens: invented numbers, pseudonymous ids. Subscribed over the first weeks
    # of 2024 (the first audience), the rest during the year.
    sql("""
        CREATE TEMP TABLE people AS
        SELECT i, 'c_' || left(md5(i::VARCHAR), 16) AS cid,
               '39333' || lpad(i::VARCHAR, 7, '0') AS wa_id,
               CASE WHEN i <= $audience
                    THEN TIMESTAMPTZ '2024-01-01 08:00:00+01'
                         + to_minutes((hash(i) % 40000)::BIGINT)
                    ELSE TIMESTAMPTZ '2024-02-01 08:00:00+01'
                         + to_minutes((hash(i) % 440000)::BIGINT)
               END AS joined,
               (hash(i * 7) % 100)::INTEGER AS luck
        FROM range(1, $citizens + 1) t(i)
    """)
    sql("INSERT INTO citizens (citizen_id, wa_id) SELECT cid, wa_id FROM people")
    sql("""
        INSERT INTO inbound (wamid, citizen_id, ts, type, text, kind, keyword)
        SELECT 'wamid.s' || i, cid, joined, 'text',
               (['MI ISCRIVO', 'mi iscrivo', 'Mi iscrivo', 'MI ISCRIVO!', 'ISCRIVIMI'])
                   [1 + luck % 5],
               'subscribe', CASE WHEN luck % 5 = 4 THEN 'ISCRIVIMI' ELSE 'MI ISCRIVO' END
        FROM people
        UNION ALL
        SELECT 'wamid.u' || i, cid, joined + INTERVAL 60 DAY, 'text', 'mi cancello',
               'unsubscribe', 'MI CANCELLO'
        FROM people WHERE luck < 8
        UNION ALL
        SELECT 'wamid.n' || i, cid, joined - INTERVAL 1 HOUR, 'text',
               (['mi iscrvo', 'iscrivetemi', 'mi iscrivo grazie mille'])[1 + luck % 3],
               'near_miss', 'MI ISCRIVO'
        FROM people WHERE luck BETWEEN 8 AND 10
        UNION ALL
        SELECT 'wamid.i' || i, cid, joined + INTERVAL 3 DAY, 'text', 'grazie', 'ignored', NULL
        FROM people WHERE luck BETWEEN 11 AND 20
    """)
    # State changes: subscribe; 8% leave after 60 days; 1% blocked after 30 days.
    sql("""
        INSERT INTO subscriber_events
        SELECT cid, joined, NULL, 'active', 'wamid.s' || i FROM people
        UNION ALL
        SELECT cid, joined + INTERVAL 60 DAY, 'active', 'unsubscribed', 'wamid.u' || i
        FROM people WHERE luck < 8
        UNION ALL
        SELECT cid, joined + INTERVAL 30 DAY, 'active', 'blocked', 'decision:block'
        FROM people WHERE luck = 99
    """)
    sql("""
        INSERT INTO subscribers (citizen_id, state, keyword, since, subscribed_at)
        SELECT citizen_id, arg_max(to_state, ts), 'MI ISCRIVO', max(ts), min(ts)
        FROM subscriber_events GROUP BY citizen_id
    """)
    sql("""
        INSERT INTO consents (citizen_id, wamid, ts, text, keyword, notice_version)
        SELECT cid, 'wamid.s' || i, joined, 'MI ISCRIVO', 'MI ISCRIVO',
               CASE WHEN joined < TIMESTAMPTZ '2024-05-01 00:00:00+02' THEN 'sha256:1111aaaa'
                    ELSE 'sha256:2222bbbb' END
        FROM people
    """)
    # Announcements: about one a week, one in ten an emergency.
    sql("""
        INSERT INTO announcements (announcement_id, path, title, category, urgency, publish_at)
        SELECT '2024-' || k || '-avviso', 'announcements/2024/avviso-' || k || '.md',
               'Avviso numero ' || k, $categories[1 + (k % 8)::INTEGER],
               CASE WHEN k % 10 = 3 THEN 'emergency' ELSE 'normal' END,
               TIMESTAMPTZ '2024-02-05 09:00:00+01' + to_days((k * 6)::INTEGER)
        FROM range(1, $n + 1) t(k)
    """)
    # Deliveries: each announcement to an audience of `audience` citizens.
    sql("""
        INSERT INTO deliveries (delivery_id, kind, announcement_id, citizen_id, state, wamid,
                                error_code, created_at, sent_at, updated_at)
        SELECT 'a:' || a.announcement_id || ':' || p.cid, 'announcement', a.announcement_id,
               p.cid,
               CASE WHEN (p.luck + k) % 100 < 3 THEN 'failed'
                    WHEN (p.luck + k) % 100 < 70 THEN 'read'
                    WHEN (p.luck + k) % 100 < 96 THEN 'delivered' ELSE 'sent' END,
               'wamid.a' || k || '.' || p.i, NULL, a.publish_at,
               a.publish_at + to_milliseconds((p.i * 12.5)::BIGINT), NULL
        FROM (SELECT *, row_number() OVER (ORDER BY publish_at) AS k FROM announcements) a
        JOIN people p ON p.i > (a.k - 1) * ($citizens - $audience) // $n
                     AND p.i <= (a.k - 1) * ($citizens - $audience) // $n + $audience
    """)
    # The status webhooks of every one of them, minutes to hours after sending.
    sql("""
        INSERT INTO statuses (wamid, status, ts, sent_at, delivered_at, read_at, failed_at,
                              callback, error_code, error_title, pricing_category)
        SELECT wamid, state, coalesce(rd, dl, fl, sent_at), sent_at,
               dl, rd, fl, 'banditore:' || delivery_id,
               CASE WHEN state = 'failed' THEN
                   ([131026, 131026, 131026, 131049, 131047, 131000])
                       [1 + (hash(wamid) % 6)::INTEGER] END,
               CASE WHEN state = 'failed' THEN 'Message undeliverable.' END, 'utility'
        FROM (
            SELECT *, CASE WHEN state IN ('delivered', 'read')
                        THEN sent_at + to_seconds((1 + hash(wamid) % 900)::BIGINT) END AS dl,
                      CASE WHEN state = 'read'
                        THEN sent_at + to_seconds((600 + hash(wamid) % 20000)::BIGINT) END AS rd,
                      CASE WHEN state = 'failed'
                        THEN sent_at + to_seconds((1 + hash(wamid) % 60)::BIGINT) END AS fl
            FROM deliveries WHERE kind = 'announcement'
        )
    """)
    sql("""
        INSERT INTO deliveries (delivery_id, kind, citizen_id, state, wamid, created_at, sent_at)
        SELECT 'w:wamid.s' || i, 'welcome', cid, 'read', 'wamid.w' || i, joined,
               joined + INTERVAL 5 SECOND
        FROM people
    """)
    con.execute("COMMIT")
    con.close()


# One round in a fresh process, on whichever checkout PYTHONPATH names: every figure the
# two notebooks ask for, then both reports rendered (from that checkout's notebooks:
# the working directory has none). CPU counts DuckDB's threads and the kernels.
MEASURE = CPU + """
import json, sys, time
from runner.config import load_settings
from runner.reports import costs, data, deliveries, lifecycle, reasons, render_reports
from runner.reports import subscriptions

database, out = sys.argv[1], sys.argv[2]
settings = load_settings(database=database, now="2025-01-01T00:00:00+01:00")
began, began_cpu = time.perf_counter(), cpu()
con = data.open_db(database, settings.timezone)
period = data.resolve_period(con, None, None, settings.timezone, settings.current_time())
prices = {"utility": 0.03, "marketing": 0.06}
for figure in (subscriptions.headline, subscriptions.active_over_time,
               subscriptions.daily_changes, subscriptions.moderation,
               subscriptions.moderation_queue, subscriptions.keyword_spellings,
               subscriptions.near_misses, subscriptions.consents_by_notice,
               costs.why_empty, deliveries.headline, deliveries.announcements,
               lifecycle.chains, lifecycle.time_to_alert, deliveries.failure_reasons,
               deliveries.webhook_errors, deliveries.template_changes, reasons.skip_reasons,
               deliveries.reach_times, deliveries.read_rate_by_category,
               deliveries.daily_reach, deliveries.reach_tier):
    figure(con, period)
subscriptions.unreadable_log_lines(con)
lifecycle.topics(con)
deliveries.unsubscriptions_after(con, period, hours=48)
deliveries.weekly_cap_use(con, period, 10)
for cost in (costs.total_cost, costs.cost_by_announcement, costs.cost_by_month):
    cost(con, period, prices)
con.close()
figures, figures_cpu = time.perf_counter() - began, cpu() - began_cpu
began, began_cpu = time.perf_counter(), cpu()
render_reports(settings, out, progress=lambda line: None)
print(json.dumps({"figures": figures, "figures CPU": figures_cpu,
                  "render": time.perf_counter() - began, "render CPU": cpu() - began_cpu}))
"""
KEYS = ("figures", "figures CPU", "render", "render CPU")


def side_by_side(database: Path, against: Path, repeat: int) -> None:
    """This checkout's figures and reports and ``against``'s, alternating, in fresh
    processes, on the same database."""

    def render(name: str, env: dict[str, str]) -> dict:
        with tempfile.TemporaryDirectory() as work:
            return measure(MEASURE, str(database), str(Path(work) / "reports"), cwd=work,
                           env=env)

    alternate(against, repeat, KEYS, render).print_summary()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="build and render into this folder")
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="another checkout to compare with, side by side")
    parser.add_argument("--repeat", type=int, default=4,
                        help="rounds with --against (even: each side goes first as often)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        where = args.keep or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        database = where / "bench.duckdb"
        database.unlink(missing_ok=True)
        started = time.perf_counter()
        build(database, args.deliveries)
        built = time.perf_counter() - started
        con = db.connect(database, read_only=True)
        counts = {table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                  for table in ("deliveries", "statuses", "subscriber_events", "inbound")}
        con.close()
        print(f"database: {database.stat().st_size / 1e6:.0f} MB in {built:.1f} s; "
              + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        if args.against:
            side_by_side(database, args.against, args.repeat)
            return 0
        settings = load_settings(database=database, now="2025-01-01T00:00:00+01:00")
        started = time.perf_counter()
        written = render_reports(settings, where / "reports", progress=print)
        took = time.perf_counter() - started
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 1e3:.0f} kB" for p in written)
        print(f"both reports rendered in {took:.1f} s ({sizes})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
