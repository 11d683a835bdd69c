"""SQL pieces several of the store's queries share, each written once.

These are parts of statements, never run on their own: the named queries of the
other store modules put them together.
"""

from __future__ import annotations

from ...vocabulary import NO_PHONE_NUMBER

# The urgency that goes before everything and never waits (announcements.urgency).
EMERGENCY = "emergency"
# The status of an announcement that is not a drill (announcements.status; NULL: older
# rows, before drills existed). Anything else, an exercise or a test, is a drill.
ACTUAL = "actual"


def drill(announcements: str = "a") -> str:
    """Whether an announcement row (alias ``announcements``) is a drill: it goes to the
    staff test group alone."""
    return f"coalesce({announcements}.status, '{ACTUAL}') <> '{ACTUAL}'"


def address(citizens: str = "c") -> str:
    """Where a citizen row (alias ``citizens``) is reached, their number or else their
    business-scoped id; NULL when neither is known."""
    return f"coalesce(nullif({citizens}.wa_id, ''), nullif({citizens}.user_id, ''))"


def unreachable(citizens: str = "c") -> str:
    """Why a citizen (alias ``citizens``, possibly NULL: never known) cannot be reached,
    one of UNREACHABLE_REASONS; NULL when they can."""
    return f"CASE WHEN {address(citizens)} IS NULL THEN '{NO_PHONE_NUMBER}' END"


# The announcements that never wait for a welcome and go before everything else: the
# emergencies, their corrections and withdrawals.
URGENT = f"""
    SELECT a.announcement_id FROM announcements a
    LEFT JOIN announcements o ON o.announcement_id = coalesce(a.updates, a.cancels)
    WHERE a.urgency = '{EMERGENCY}' OR o.urgency = '{EMERGENCY}'"""
