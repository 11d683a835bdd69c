"""Topics: the town's categories as citizens choose them.

A topic is one category, or a friendlier label over several (``topic_groups``);
its id is the label or the category name, and that id is what a citizen's
choice stores. Emergency and mandatory categories are no topic: they reach
every subscriber whatever they chose.

A citizen's choice is ``None`` (every topic: what the plain subscribe keyword
gives, and what anyone who subscribed before topics existed has) or a sorted
list of topic ids (possibly empty: only the mandatory categories). A list that
names every topic is folded back to ``None``, so a topic the town adds later
reaches those who wanted everything.

:meth:`Topics.choose` is the one rule for changing a choice; the replay applies
it to each topic keyword or menu pick, in time order. Each change is answered
with the menu again, headed by what changed (the ``ack`` payload key).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ...errors import ConfigError
from ...messages import t
from ..store import citizens

if TYPE_CHECKING:
    import duckdb

    from ...config import Settings

# What the menu's rows answer (interactive.list_reply.id): the prefix and a topic id,
# or EVERY_TOPIC for "all topics". Only ids with this prefix are menu picks.
PICK_PREFIX = "banditore:topic:"
EVERY_TOPIC = "*"
MENU_ROWS = 10  # WhatsApp: at most 10 rows in a list message, sections included
ROW_TITLE_MAX = 24

Action = Literal["add", "remove", "pick"]
Choice = list[str] | None


@dataclass(frozen=True)
class Topic:
    id: str
    label: str  # as citizens read it (a menu row's title)
    categories: tuple[str, ...]


class Topics:
    """The town's topics, from its settings; ConfigError when they do not add up."""

    def __init__(self, settings: Settings) -> None:
        categories = list(settings.categories)
        self.mandatory = frozenset(settings.emergency_categories) | frozenset(
            settings.mandatory_categories)
        grouped: dict[str, str] = {}
        topics: list[Topic] = []
        for label, members in settings.topic_groups.items():
            for category in members:
                if category not in categories:
                    raise ConfigError(t("topics.group-unknown", group=label, category=category,
                                        allowed=", ".join(categories)))
                if category in self.mandatory or category in grouped:
                    raise ConfigError(t("topics.group-twice", group=label, category=category))
                grouped[category] = label
            topics.append(Topic(label, label, tuple(members)))
        for category in categories:
            if category not in grouped and category not in self.mandatory:
                topics.append(Topic(category, _label(category), (category,)))
        unknown = sorted(set(settings.mandatory_categories) - set(categories))
        if unknown:
            raise ConfigError(t("topics.mandatory-unknown", categories=", ".join(unknown),
                                allowed=", ".join(categories)))
        self.topics = tuple(topics)
        self.ids = tuple(topic.id for topic in topics)
        self._by_id = {topic.id: topic for topic in topics}
        self._of_category = {c: topic.id for topic in topics for c in topic.categories}
        if settings.topics_menu:
            self._check_menu()

    def _check_menu(self) -> None:
        if len(self.topics) + 1 > MENU_ROWS:
            raise ConfigError(t("topics.too-many", count=len(self.topics), most=MENU_ROWS - 1))
        for topic in self.topics:
            if len(topic.label) > ROW_TITLE_MAX:
                raise ConfigError(t("topics.label-too-long", label=topic.label,
                                    most=ROW_TITLE_MAX))

    def of_category(self, category: str) -> str | None:
        """The topic an announcement of ``category`` goes to; None: to everyone."""
        return self._of_category.get(category)

    def label(self, topic_id: str) -> str:
        return self._by_id[topic_id].label

    def aliases(self) -> dict[str, str]:
        """What a citizen may write after a keyword to name each topic -> its id: the
        label, and each of its categories (spelt with spaces for hyphens)."""
        found: dict[str, str] = {}
        for topic in self.topics:
            for alias in (topic.label, topic.id, *topic.categories):
                found.setdefault(alias.replace("-", " "), topic.id)
        return found

    def pick_id(self, topic_id: str) -> str:
        """The id of the menu row for ``topic_id`` (or EVERY_TOPIC)."""
        return PICK_PREFIX + topic_id

    def picked(self, reply_id: str | None) -> str | None:
        """The topic id (or EVERY_TOPIC) a menu reply names; None if it is no pick of ours."""
        if not reply_id or not reply_id.startswith(PICK_PREFIX):
            return None
        topic = reply_id[len(PICK_PREFIX):]
        return topic if topic == EVERY_TOPIC or topic in self._by_id else None

    def choose(self, current: Choice, action: Action, topic: str) -> tuple[Choice, str]:
        """A choice after a topic keyword or a menu pick, and the payload key of the
        answer (``topics-added-<id>``, ``-removed-``, ``-only-``, or ``topics-all``).

        - add (``<subscribe keyword> <TOPIC>`` while subscribed): the topic joins the choice;
        - remove (``<unsubscribe keyword> <TOPIC>``): the topic leaves it (from every topic:
          every other one stays);
        - pick (a menu row): "all topics" chooses everything; from everything, a topic
          means "only this one"; otherwise a pick turns its topic on or off.
        """
        if topic == EVERY_TOPIC:
            return None, "topics-all"
        chosen = set(self.ids if current is None else current)
        if action == "pick" and current is None:
            chosen, ack = {topic}, "only"
        elif action == "remove" or (action == "pick" and topic in chosen):
            chosen.discard(topic)
            ack = "removed"
        else:
            chosen.add(topic)
            ack = "added"
        return self.normal(chosen), f"topics-{ack}-{topic}"

    def normal(self, chosen: Iterable[str]) -> Choice:
        """A set of topic ids as stored: None when it is every topic, else sorted."""
        kept = sorted(set(chosen) & set(self.ids))
        return None if set(kept) == set(self.ids) else kept

    def fingerprint(self) -> list:
        """What classification and replay depend on (sync replays everything when it changes)."""
        return [[(t.id, list(t.categories)) for t in self.topics], sorted(self.mandatory)]


def _label(category: str) -> str:
    return category.replace("-", " ").capitalize()


ACK_KINDS = ("added", "removed", "only")


@dataclass
class Counts:
    """Active subscribers by choice: every topic, only the mandatory categories, and
    how many chose each topic by name (everyone with every topic receives it too)."""

    every: int = 0
    none: int = 0
    chose: dict[str, int] | None = None

    def receiving(self, topic_id: str) -> int:
        return self.every + (self.chose or {}).get(topic_id, 0)


def counts(con: duckdb.DuckDBPyConnection) -> Counts:
    """How the active subscribers chose, from subscribers.topics."""
    return Counts(*citizens.topic_choices(con))


def ack_keys(topics: Topics) -> list[str]:
    """Every answer's payload key: the plain menu, and each change of each topic."""
    return ["topics", "topics-all",
            *(f"topics-{kind}-{topic}" for kind in ACK_KINDS for topic in topics.ids)]
