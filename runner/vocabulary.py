"""The data's words: the values the database, the webhook logs and the code share,
each written once. A set of states spelt in several modules drifts (``'played'``
went missing from one of them); every module imports it from here instead.

Nothing here imports anything of the project: any layer may use it.
"""

from __future__ import annotations

from collections.abc import Iterable

# --- deliveries.kind ------------------------------------------------------------------
ANNOUNCEMENT = "announcement"
# The reply a subscription earns, with the privacy notice and how to leave: the one
# a citizen's announcements are ordered after (welcome first).
WELCOME = "welcome"
# The replies the service sends besides announcements: a keyword earns a welcome or a
# goodbye (and, where staff moderate, an acknowledgement; a topic menu where asked),
# a citizen back under the privacy notice they were welcomed with a short "di nuovo
# iscritto" (rejoined), a pause or resume keyword its acknowledgement, a near miss a
# hint, a new privacy notice reaches earlier subscribers, and a citizen moved in from
# the town's old list (``subscribers import``) learns of the move.
REPLY_KINDS = ("welcome", "goodbye", "ack_subscribe", "ack_unsubscribe", "topics", "hint",
               "notice", "rejoined", "pause", "resume", "migration")
# The replies that are one text, sent as a template outside the 24-hour window where
# the town has one (<kind>_template); a topic menu is an interactive list, only inside it.
TEXT_REPLY_KINDS = ("welcome", "goodbye", "ack_subscribe", "ack_unsubscribe", "hint", "notice",
                    "rejoined", "pause", "resume", "migration")
# The delivery id of a reply the state machine derives from a keyword (or an imported
# consent): this prefix and the wamid of the message it answers, or the imported
# consent's id (a topic menu headed by a change: "t").
REPLY_PREFIX = {"welcome": "w", "goodbye": "g", "ack_subscribe": "r", "ack_unsubscribe": "l",
                "topics": "m", "rejoined": "d", "pause": "p", "resume": "u", "migration": "x"}

# --- deliveries.state -----------------------------------------------------------------
# queued -> sending -> sent -> delivered -> read (played: a voice or video message);
# failed (with Meta's code), skipped (with a reason: SKIP_REASONS), cancelled.
QUEUED, SENDING, SENT, FAILED, SKIPPED, CANCELLED = (
    "queued", "sending", "sent", "failed", "skipped", "cancelled")
DELIVERED, READ, PLAYED = "delivered", "read", "played"
# Accepted by Meta at least: what reached the citizen (or is on its way to them).
REACHED = (SENT, DELIVERED, READ, PLAYED)
# On the citizen's phone.
ARRIVED = (DELIVERED, READ, PLAYED)
# Not decided yet: waiting in the queue or in a worker's hands.
OPEN = (QUEUED, SENDING)
# Never made: out of the audience's count of who was reached, with their reason.
NOT_MADE = (SKIPPED, CANCELLED)
DELIVERY_STATES = (QUEUED, SENDING, *REACHED, FAILED, SKIPPED, CANCELLED)

# --- statuses.status: what a status webhook says -------------------------------------
STATUS_VALUES = (SENT, DELIVERED, READ, FAILED, PLAYED)

# --- deliveries.error_title of a skipped delivery: why it was not made -----------------
# (a failed one has Meta's error code and title instead). Staff read each word as
# ``send.reason.<word>`` in the message catalogue.
OUTSIDE_WINDOW = "outside_24h_window"        # a reply with no template, the window closed
NO_PHONE_NUMBER = "no_phone_number"          # neither a number nor a business-scoped id
NOT_SUBSCRIBED = "not_subscribed"            # left, asked to leave, or blocked meanwhile
CITIZEN_PAUSED = "paused"                    # the citizen paused (pause keyword) meanwhile
EXPIRED = "expired"                          # the announcement expired before it went out
# Older databases only: announcements once waited behind a welcome that could not go.
# Welcome first is an order now, never a gate; the next run sends those still current.
WELCOME_NOT_DELIVERED = "welcome_not_delivered"
SKIP_REASONS = (OUTSIDE_WINDOW, NO_PHONE_NUMBER, NOT_SUBSCRIBED, CITIZEN_PAUSED, EXPIRED,
                WELCOME_NOT_DELIVERED)
# Why a member of an announcement's audience cannot be reached at all (no address).
UNREACHABLE_REASONS = (NO_PHONE_NUMBER,)

# --- consents moved in from a list the town kept before (subscribers import) ------------
# The replay's event kind and the consent's keyword of an imported consent; its id is
# IMPORT_PREFIX + the imported file's SHA-256 (16 hex) + ":" + its place in the record.
IMPORT = "import"
IMPORT_PREFIX = "import:"
# The key of an import record's line in the webhook logs (no Meta webhook has it).
IMPORT_RECORD = "banditore_import"

# --- inbound.kind: what a citizen's message is -----------------------------------------
SUBSCRIBE, UNSUBSCRIBE, NEAR_MISS, IGNORED = "subscribe", "unsubscribe", "near_miss", "ignored"
# the menu keyword, a pick in the menu, the pause and resume keywords
TOPICS, TOPIC, PAUSE, RESUME = "topics", "topic", "pause", "resume"
KEYWORDS = (SUBSCRIBE, UNSUBSCRIBE)
# The messages the state machine replays: a citizen's history is these, in time order.
REPLAYED_KINDS = (*KEYWORDS, TOPICS, TOPIC, PAUSE, RESUME)

# --- subscribers.state ------------------------------------------------------------------
# paused: the citizen's pause keyword; nothing reaches them until they resume, and
# their consent and topics stand.
PENDING, ACTIVE, PAUSED, UNSUBSCRIBED, REJECTED, BLOCKED = (
    "pending", "active", "paused", "unsubscribed", "rejected", "blocked")
SUBSCRIBER_STATES = (PENDING, ACTIVE, PAUSED, UNSUBSCRIBED, REJECTED, BLOCKED)
# Subscribed, receiving or not: whoever may leave (or ask staff to).
SUBSCRIBED = (ACTIVE, PAUSED)

# --- biz_opaque_callback_data ----------------------------------------------------------
# Every send carries CALLBACK_PREFIX + delivery_id; status webhooks echo it, so the
# logs tie each status to its delivery even after the database is rebuilt.
CALLBACK_PREFIX = "banditore:"


def sql(values: Iterable[str]) -> str:
    """A tuple of words as an SQL list: ``('sent', 'delivered')``."""
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"
