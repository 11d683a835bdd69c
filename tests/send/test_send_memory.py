"""The memory-bounded paths of the send engine, on real DuckDB files.

Chunks are taken one group at a time from a sampled citizen range, and planning
inserts in citizen ranges: the order and the exactly-once promise must be those
of sorting the whole queue. The figures are in bench/send_memory.py.
"""

import json

import pytest

from runner.announcements.reading import load_all
from runner.config import Settings
from runner.db import connect
from runner.errors import BanditoreError
from runner.send import send
from tests.support.announcement_repo import write_announcement
from tests.support.sending import add_citizens, engine_settings, run

CITIZENS = 21_000  # more than twice the outbox chunk (10,000): the sampled bound


@pytest.fixture
def big_town(town):
    settings = engine_settings(town, rate_per_second=80, templates={},
                               default_template=None)
    ann = settings.announcements_dir
    write_announcement(ann, "2024-04-03-via-roma")
    write_announcement(ann, "2024-04-03-allerta", category="allerta-meteo", urgency="emergency",
                       publish_at="2024-04-03T09:30:00+02:00")
    add_citizens(settings.database, CITIZENS)
    return settings


def sent_ids(settings) -> list[str]:
    lines = settings.outbox.read_text().splitlines()
    return [json.loads(line)["biz_opaque_callback_data"].removeprefix("banditore:")
            for line in lines]


def test_chunks_keep_the_order_and_send_each_delivery_once(big_town):
    summary = run(big_town)
    assert summary.sent == 2 * CITIZENS
    ids = sent_ids(big_town)
    citizens = [f"c_{i:05d}" for i in range(CITIZENS)]
    # the emergency first, then the other; within each, citizen by citizen
    assert ids == ([f"a:2024-04-03-allerta:{c}" for c in citizens]
                   + [f"a:2024-04-03-via-roma:{c}" for c in citizens])
    assert run(big_town).sent == 0


def test_a_lost_database_sends_nothing_again_under_the_memory_limit(big_town):
    run(big_town)
    big_town.database.unlink()
    add_citizens(big_town.database, CITIZENS)  # as `sync --rebuild` would bring them back
    summary = run(big_town)
    assert (summary.sent, summary.settled.from_outbox) == (0, 2 * CITIZENS)
    assert len(sent_ids(big_town)) == 2 * CITIZENS


def test_the_send_connection_caps_duckdb_memory(tmp_path):
    settings = Settings(database=tmp_path / "db.duckdb")
    con = connect(settings.database, memory_limit=f"{settings.send_memory_mb}MB")
    try:
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    finally:
        con.close()
    assert limit == "122.0 MiB"  # 128 MB as DuckDB reports it (SI units in, binary out)


def test_too_little_memory_is_a_clear_error_and_loses_nothing(big_town):
    starved = big_town.model_copy(update={"send_memory_mb": 4})
    with pytest.raises(BanditoreError, match="BANDITORE_SEND_MEMORY_MB") as exc:
        send(starved, load_all(starved))
    assert "4 MB" in str(exc.value) and "8" in str(exc.value)
    assert run(big_town).sent == 2 * CITIZENS  # with the default, everything goes, once
    assert len(set(sent_ids(big_town))) == len(sent_ids(big_town)) == 2 * CITIZENS
