"""Keyword classification: is this inbound text a subscription, an unsubscription,
something staff should look at (a near miss), or chatter to ignore?

A keyword followed by a topic (``MI ISCRIVO EVENTI``, ``JESI OFF VIABILITA``) is
a subscription or unsubscription *for that topic* (``Match.topic``); a keyword
followed by anything else is a near miss, never a subscription to everything.
Where the town captures a name after the keyword, no topic is read there (the
words are the name): topics are then chosen through the menu. The menu keyword
(``ARGOMENTI``) is kind ``topics``, and the pause and resume keywords (``PAUSA``,
``RIPRENDI``) kinds ``pause`` and ``resume``: each matched exactly and never a near
miss, being everyday words.

People type and paste keywords in every way: lower case, accents, non-breaking
or repeated spaces, the curly quotes of the town's web page (“MI ISCRIVO”),
trailing punctuation and emoji, fullwidth or Cyrillic/Greek look-alike letters,
zero-width characters. All of that is folded away by ``fold``. What is never
folded away is the rule that a message must BE the keyword (plus a name where
the town captures one): "Buongiorno, vorrei iscrivermi" is a near miss for
staff, never a subscription, and near misses are never answered.

Classification is pure Python and runs once per DISTINCT text (sync joins the
result back in DuckDB), so it is written for speed: one ``str.translate`` and
one ``unicodedata.normalize`` per text, dictionary look-ups, and an edit
distance only for texts whose length is close to a keyword's.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .topics import Topics

if TYPE_CHECKING:
    from ...config import Settings


Kind = Literal["subscribe", "unsubscribe", "topics", "pause", "resume", "near_miss", "ignored"]

# Look-alikes that NFKC does not fold: Cyrillic and Greek capitals and small
# letters that render like Latin ones ("МI ISCRIVO" with a Cyrillic M).
_HOMOGLYPHS = {
    # Cyrillic
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "Х": "X", "У": "Y", "І": "I", "Ј": "J", "Ѕ": "S", "Ԛ": "Q",
    "Ԝ": "W", "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y",
    "і": "i", "ј": "j", "ѕ": "s", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "Ӏ": "I",
    # Greek
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "ο": "o", "ι": "i",
    "κ": "k", "ν": "v", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "α": "a",
}
# Invisible characters people paste without knowing: zero-width space/joiners,
# word joiner, BOM, soft hyphen, bidi marks.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f\u202a\u202b\u202c\u202d\u202e"

_TABLE = str.maketrans({**_HOMOGLYPHS, **{c: None for c in _INVISIBLE}})
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_NAME_WORD = re.compile(r"^[^\W\d_]+(?:['’\-.][^\W\d_]*)*$")

# Words that show an intent to join or leave even when the keyword is wrong:
# staff should see "vorrei iscrivermi" and "cancellatemi".
_INTENT_STEMS = ("iscriv", "cancell", "disiscriv", "annull")
# Whole words that mean "leave" in any town ("STOP" is what people send to
# every sender): never an unsubscription unless configured, but worth a look.
_INTENT_WORDS = frozenset({"stop", "basta", "unsubscribe", "disdetta"})
# Words people write around a keyword that tell nothing about who they are: a near
# miss is shown with these (and the keywords' own words); any other word could be a
# name or an address, and is masked (:func:`runner.subscribers.privacy.masked_form`).
_PLAIN_WORDS = frozenset("""
    buongiorno buonasera buonanotte salve ciao grazie prego per favore cortesia piacere
    vorrei voglio volevo vorremmo desidero desidera posso possiamo potete potrei come si no
    ok okay info informazioni servizio notizie avvisi avviso messaggi messaggio whatsapp
    comune ricevere ricevo essere non piu mi ti ci vi a al alla allo ai agli alle il la lo
    le i gli un una uno di del della dello dei degli delle da dal dalla e ed o che anche in
    nel nella su sul con sono io noi attiva attivare attivo disattiva disattivare
    hello hi please thanks thank you yes subscribe
    """.split())
_NEAR_MISS_MAX_WORDS = 12
_NAME_MAX_WORDS = 5


def fold(text: str) -> str:
    """The comparable form of a text: ``“Mì  Iscrivo!!” 🙏`` -> ``mi iscrivo``."""
    text = unicodedata.normalize("NFKC", text.translate(_TABLE))  # fullwidth -> ASCII
    text = unicodedata.normalize("NFKD", text.casefold())  # accents -> base + combining mark
    return " ".join(_NOT_WORD.split(text.encode("ascii", "ignore").decode())).strip()


def _compact(folded: str) -> str:
    return folded.replace(" ", "")


@dataclass(frozen=True)
class Match:
    kind: Kind
    keyword: str | None = None  # the configured keyword, as the town wrote it
    name: str | None = None  # captured after the keyword, as the citizen wrote it
    topic: str | None = None  # the topic id named after the keyword


IGNORED = Match("ignored")


class KeywordError(ValueError):
    """The keyword configuration is ambiguous (the same words mean join and leave)."""


class Classifier:
    """Classifies texts against one town's keywords."""

    def __init__(self, subscribe: Sequence[str], unsubscribe: Sequence[str],
                 capture_name: bool = False, topics: dict[str, str] | None = None,
                 menu: Sequence[str] = (), pause: Sequence[str] = (),
                 resume: Sequence[str] = ()) -> None:
        """``topics``: what may follow a keyword to name a topic -> the topic's id;
        ``menu``: the keywords that ask for the topic menu; ``pause``/``resume``: the
        keywords that suspend and restore deliveries."""
        self.capture_name = capture_name
        self._exact: dict[str, Match] = {}  # compact folded keyword -> match
        self._tokens: list[tuple[tuple[str, ...], Match]] = []
        joining: list[tuple[Kind, Sequence[str]]] = [("subscribe", subscribe),
                                                     ("unsubscribe", unsubscribe)]
        for kind, words in joining:
            for keyword in words:
                folded = fold(keyword)
                if not folded:
                    raise KeywordError(f"keyword {keyword!r} has no letters or digits")
                key = _compact(folded)
                other = self._exact.get(key)
                if other and other.kind != kind:
                    raise KeywordError(
                        f"{keyword!r} and {other.keyword!r} read the same once spaces, case "
                        "and accents are ignored, but one subscribes and the other unsubscribes"
                    )
                self._exact[key] = Match(kind, keyword)
                self._tokens.append((tuple(folded.split()), Match(kind, keyword)))
        # Longest keywords first, so "servizio info on" wins over a shorter prefix.
        self._tokens.sort(key=lambda item: -len(item[0]))
        stems = set(_INTENT_STEMS)
        for tokens, _ in self._tokens:
            stems.update(word[:6] for word in tokens if len(word) >= 6)
        self._stems = tuple(sorted(stems))
        self._lengths = {len(key) for key in self._exact}
        self._plain = dict(self._exact)  # the edit distance is measured against these only
        self._topics: dict[str, str] = {}
        if topics and not capture_name:
            self._add_topics(topics)
        exact_only: list[tuple[Kind, Sequence[str]]] = [("topics", menu), ("pause", pause),
                                                        ("resume", resume)]
        for kind, words in exact_only:
            for keyword in words:
                if fold(keyword):
                    self._add(_compact(fold(keyword)), Match(kind, keyword))

        self._keyword_words = {w for tokens, _ in self._tokens for w in tokens}
        self._words = (_PLAIN_WORDS | _INTENT_WORDS | self._keyword_words | set(self._topics)
                       | {w for _, words in exact_only for k in words for w in fold(k).split()})

    def _add(self, key: str, match: Match) -> None:
        other = self._exact.get(key)
        if other and (other.kind, other.topic) != (match.kind, match.topic):
            raise KeywordError(f"{match.keyword!r} and {other.keyword!r} read the same once "
                               "spaces, case and accents are ignored, but mean different things")
        self._exact[key] = match

    def _add_topics(self, topics: dict[str, str]) -> None:
        """Every keyword followed by every way of naming a topic, as one exact key: a
        dictionary look-up, whatever the number of topics."""
        for alias, topic in topics.items():
            folded = _compact(fold(alias))
            if not folded:
                continue
            if self._topics.get(folded, topic) != topic:
                raise KeywordError(f"{alias!r} names two topics")
            self._topics[folded] = topic
        for key, match in list(self._plain.items()):
            for alias, topic in self._topics.items():
                self._add(key + alias, Match(match.kind, match.keyword, topic=topic))
        self._topic_lengths = sorted({len(alias) for alias in self._topics})

    def known_word(self, word: str) -> bool:
        """A folded word that may be shown from what a citizen wrote: a keyword's word
        or a typo of one (``iscrvo``), a topic's, a word of intent or courtesy.
        Anything else could be a name."""
        return word in self._words or word.startswith(self._stems) or (
            len(word) >= 5 and any(abs(len(word) - len(k)) <= 1 and _distance(word, k) <= 1
                                   for k in self._keyword_words))

    def classify(self, text: str | None) -> Match:
        if not text:
            return IGNORED
        folded = fold(text)
        if not folded:
            return IGNORED
        compact = _compact(folded)
        exact = self._exact.get(compact)
        if exact:
            return exact
        tokens = folded.split()
        if self.capture_name:
            captured = self._with_name(text, tokens)
            if captured:
                return captured
        return self._near_miss(compact, tokens)

    def _with_name(self, text: str, tokens: list[str]) -> Match | None:
        """"Servizio Info ON Paolo Rossi" -> subscribe, name "Paolo Rossi"."""
        for kw_tokens, match in self._tokens:
            n = len(kw_tokens)
            if tuple(tokens[:n]) != kw_tokens or len(tokens) == n:
                continue
            name = _name_after(text, n)
            if name and len(name.split()) <= _NAME_MAX_WORDS:
                return Match(match.kind, match.keyword, name)
        return None

    def _near_miss(self, compact: str, tokens: list[str]) -> Match:
        for kw_tokens, match in self._tokens:
            if _contains(tokens, kw_tokens):
                return Match("near_miss", match.keyword)
        if self._topics:  # a misspelt keyword before a topic: "MI ISCRVO EVENTI"
            for n in self._topic_lengths:
                if len(compact) > n and compact[-n:] in self._topics:
                    close = self._close_to(compact[:-n])
                    if close.kind == "near_miss":
                        return close
        return self._close_to(compact, tokens)

    def _close_to(self, compact: str, tokens: list[str] | None = None) -> Match:
        """A near miss when ``compact`` is within an edit or two of a keyword, or (given
        its ``tokens``) when a word shows the intent to join or leave."""
        if any(abs(len(compact) - n) <= 2 for n in self._lengths):
            close: dict[int, set[str | None]] = {}
            for key, match in self._plain.items():
                limit = 1 if len(key) < 8 else 2
                if abs(len(compact) - len(key)) <= limit:
                    d = _distance(compact, key)
                    if d <= limit:
                        close.setdefault(d, set()).add(match.keyword)
            if close:
                # "JESI OF" is as close to JESI ON as to JESI OFF: name neither.
                best = close[min(close)]
                return Match("near_miss", next(iter(best)) if len(best) == 1 else None)
        if tokens is not None and len(tokens) <= _NEAR_MISS_MAX_WORDS:
            for word in tokens:
                if word.startswith(self._stems) or word in _INTENT_WORDS:
                    return Match("near_miss")
        return IGNORED


def _contains(tokens: list[str], sub: tuple[str, ...]) -> bool:
    n = len(sub)
    return any(tuple(tokens[i : i + n]) == sub for i in range(len(tokens) - n + 1))


def _name_after(text: str, n_keyword_tokens: int) -> str | None:
    """The words of the original text after the keyword's, cleaned of quotes and
    punctuation; None when they do not look like a name (digits, links...)."""
    words = []
    for raw in text.translate(_TABLE).split():
        word = unicodedata.normalize("NFKC", raw)
        if fold(word):
            words.append(word)
    # The keyword may have been typed glued to punctuation ("ON,Paolo"): fall
    # back to None rather than guess where the name starts.
    folded_words = [fold(w) for w in words]
    if any(" " in w for w in folded_words[:n_keyword_tokens]):
        return None
    rest = [w.strip("\"'“”‘’«»()[]{}.,;:!?-–—") for w in words[n_keyword_tokens:]]
    rest = [w for w in rest if w]
    if not rest or not all(_NAME_WORD.match(w) for w in rest):
        return None
    return " ".join(rest)


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (short strings only: callers check lengths first)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def classifier(settings: Settings) -> Classifier:
    """The classifier for the town's settings (its topics included)."""
    return Classifier(
        list(settings.subscribe_keywords),
        list(settings.unsubscribe_keywords),
        settings.capture_name,
        Topics(settings).aliases(),
        list(settings.topics_keywords) if settings.topics_menu else (),
        list(settings.pause_keywords),
        list(settings.resume_keywords),
    )
