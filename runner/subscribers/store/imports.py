"""Import records from the stage into ``imports`` (``subscribers import``'s consents,
read back by sync) and their citizens into ``citizens``.

Temporary tables, made and dropped here: ``stage_records`` (each staged import line,
read and checked), ``stage_import_ids`` (wa_id, citizen_id: the numbers not known
before, pseudonymised in Python), ``stage_imports`` (the valid lines with their
citizen, but forgotten citizens' up to their erasure). Their citizens go into
``stage_affected`` (:mod:`.subscriber_states`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ...db import temp_table
from ...vocabulary import IMPORT_PREFIX, IMPORT_RECORD
from .erasure import Forget, drop_forgotten

if TYPE_CHECKING:
    import duckdb

# A record's number and file hash as sync checks them (and the command's own reader,
# :func:`runner.subscribers.staff.imports.parse_record`).
WA_ID = re.compile(r"[1-9][0-9]{7,14}")
SHA256 = re.compile(r"[0-9a-f]{64}")


def read_records(con: duckdb.DuckDBPyConnection, timezone: str) -> None:
    """``stage_records``: the staged import lines, read and checked; a line that is not
    a valid record is malformed, like a webhook's. DuckDB reads the lines (a Python
    json.loads of each cost more than the rest of the step)."""
    con.execute(_RECORDS, {"tz": timezone})
    con.execute("INSERT OR REPLACE INTO malformed SELECT file, line, 'wrong_shape', "
                "'import record line without a valid n, wa_id, consented_on, notice_version "
                "or file_sha256' FROM stage_records WHERE NOT valid")


def unknown_numbers(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The numbers of valid records that no citizen has."""
    return [row[0] for row in con.execute(
        "SELECT DISTINCT wa_id FROM stage_records WHERE valid AND wa_id NOT IN "
        "(SELECT wa_id FROM citizens WHERE wa_id IS NOT NULL)").fetchall()]


def insert(con: duckdb.DuckDBPyConnection, numbers: Sequence[str], citizen_ids: Sequence[str],
           forgotten: Sequence[Forget]) -> int:
    """The valid records' consents not stored before into ``imports`` (``numbers`` new,
    with their ``citizen_ids``), their citizens into ``citizens`` and
    ``stage_affected``; what forgotten citizens consented to up to their erasure is left
    out. Returns how many consents were new."""
    temp_table(con, "stage_import_ids", wa_id=("VARCHAR", numbers),
               citizen_id=("VARCHAR", citizen_ids))
    con.execute("""
        CREATE OR REPLACE TEMP TABLE stage_imports AS
        SELECT r.consent_id, coalesce(c.citizen_id, i.citizen_id) AS citizen_id, r.wa_id,
               r.ts, r.notice_version, r.file_sha256, r.file, r.line
        FROM stage_records r
        LEFT JOIN (SELECT wa_id, min(citizen_id) AS citizen_id FROM citizens
                   WHERE wa_id IS NOT NULL GROUP BY wa_id) c USING (wa_id)
        LEFT JOIN stage_import_ids i USING (wa_id)
        WHERE r.valid""")
    drop_forgotten(con, "stage_imports", forgotten)
    new = con.execute("""
        INSERT INTO imports
        SELECT consent_id, citizen_id, ts, notice_version, file_sha256, file, line
        FROM stage_imports WHERE consent_id NOT IN (SELECT consent_id FROM imports)
        QUALIFY row_number() OVER (PARTITION BY consent_id ORDER BY file, line) = 1
        """).fetchall()[0][0]
    con.execute("""
        INSERT INTO citizens (citizen_id, wa_id)
        SELECT citizen_id, min(wa_id) FROM stage_imports
        WHERE citizen_id NOT IN (SELECT citizen_id FROM citizens) GROUP BY citizen_id""")
    con.execute("INSERT INTO stage_affected SELECT DISTINCT citizen_id FROM stage_imports")
    for table in ("stage_records", "stage_import_ids", "stage_imports"):
        con.execute(f"DROP TABLE {table}")
    return new


# The staged import lines, read and checked: the number and the place in the record
# must be JSON of the right kind (a number where the number's digits belong is not
# taken for them), the day a date, the hash 64 hex digits. The consent is given at
# midnight of that day in the town's zone.
_RECORD_TYPE = (f'{{"{IMPORT_RECORD}":{{"n":"JSON","wa_id":"JSON","consented_on":"DATE",'
                '"notice_version":"VARCHAR","file_sha256":"VARCHAR"}}')
_RECORDS = f"""
CREATE OR REPLACE TEMP TABLE stage_records AS
SELECT file, line, wa_id, notice_version, file_sha256,
       '{IMPORT_PREFIX}' || left(file_sha256, 16) || ':' || n AS consent_id,
       timezone($tz, consented_on::TIMESTAMP) AS ts,
       coalesce(n >= 1 AND regexp_full_match(wa_id, '{WA_ID.pattern}')
                AND consented_on IS NOT NULL AND trim(notice_version) <> ''
                AND regexp_full_match(file_sha256, '{SHA256.pattern}'), false) AS valid
FROM (
    SELECT file, line, r.consented_on, r.notice_version, r.file_sha256,
           CASE WHEN json_type(r.n) = 'UBIGINT' THEN r.n::UBIGINT END AS n,
           CASE WHEN json_type(r.wa_id) = 'VARCHAR' THEN r.wa_id ->> '$' END AS wa_id
    FROM (SELECT file, line,
                 try(json_transform(raw, '{_RECORD_TYPE}')).{IMPORT_RECORD} AS r
          FROM stage.stage_items WHERE item = 'import'))
"""
