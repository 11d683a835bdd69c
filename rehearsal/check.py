"""The final check: every citizen's messages against what they did.

Ground truth is what the loopback Cloud API accepted (each send carries
``biz_opaque_callback_data`` = ``banditore:`` + its delivery id). For each
announcement, the citizens who should get it are those eligible (subscribed,
not paused, of its topic or an emergency) when a send run that had it due
started. Then:

- **missing**: should have got it and never did. A citizen whose phone cannot
  receive is no exception: welcome first is an order, not a gate, so the
  announcement is sent (accepted by the API) and Meta's ``failed`` comes later;
- **duplicates**: the same delivery, or the same announcement to the same
  citizen, accepted more than once;
- **unexpected**: each announcement send is held against the run that made it
  (the one running when the API accepted it): the citizen must have been
  eligible when that run started, so nothing reaches someone who had left or
  paused, or chose another topic;
- every keyword that changed a citizen's state got its reply (a subscription its
  welcome, a pause or resume its acknowledgement...); final states match;
- no phone number in any step's output, step summary or review comment.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from runner.vocabulary import ACTIVE, CALLBACK_PREFIX, FAILED, PAUSED, SKIPPED, SUBSCRIBED, sql


@dataclass
class Sent:
    id: str
    category: str
    due_from: str  # ISO times, as BANDITORE_NOW
    due_until: str


@dataclass
class Outcome:
    expected: int = 0
    reached: int = 0
    missing: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    recorded: Counter = field(default_factory=Counter)  # (state, reason) of unmade deliveries
    states_wrong: list[str] = field(default_factory=list)
    numbers_leaked: list[str] = field(default_factory=list)
    replies: Counter = field(default_factory=Counter)  # keyword kind -> replies accepted
    welcomes: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing or self.duplicates or self.unexpected or self.states_wrong
                    or self.numbers_leaked)


def parse(callback: str | None) -> tuple[str, str]:
    """(kind prefix, key): ("a", announcement id) or ("w", wamid answered), ..."""
    delivery = (callback or "").removeprefix(CALLBACK_PREFIX)
    kind, _, rest = delivery.partition(":")
    if kind == "a":
        return "a", rest.rsplit(":", 1)[0]
    return kind, rest


def check(town, sent: list[Sent], run_times: dict[int, str], sending_runs: set[int],
          database: Path | None) -> Outcome:
    out = Outcome()
    citizens = town.citizens
    people = citizens.by_number()
    accepted = town.cloud.accepted
    by_callback = Counter(m.callback for m in accepted)
    out.duplicates += [f"delivery {parse(c)[0]}:{_who(people, c, accepted)} accepted {n} times"
                       for c, n in by_callback.items() if n > 1]
    to_announcement = Counter((m.to.lstrip("+"), parse(m.callback)[1]) for m in accepted
                              if parse(m.callback)[0] == "a")
    for ann in sent:
        expected: set[str] = set()
        for run_id, states in citizens.snapshots.items():
            at = run_times.get(run_id, "")
            if run_id in sending_runs and ann.due_from <= at < ann.due_until:
                expected |= citizens.eligible(states, ann.category)
        got = {n for (n, a) in to_announcement if a == ann.id}
        out.expected += len(expected)
        out.reached += len(expected & got)
        out.missing += [f"{people[n].label} never got {ann.id}" for n in sorted(expected - got)]
        out.duplicates += [f"{people[n].label} got {a} {k} times"
                           for (n, a), k in to_announcement.items() if a == ann.id and k > 1]
    out.unexpected = _unexpected(town, sent, people)
    # A reply's delivery id is its kind's prefix and the wamid of the message it answers.
    answered = {(parse(m.callback)[0], parse(m.callback)[1]) for m in accepted
                if parse(m.callback)[0] != "a"}
    for c in citizens.people:
        for asked in c.asked:
            if any((prefix, asked.wamid) in answered for prefix in asked.prefixes):
                out.replies[asked.what] += 1
            else:
                out.missing.append(f"{c.label} wrote a {asked.what} keyword and got no reply")
    out.welcomes = out.replies["subscribe"]
    if database is not None and database.exists():
        out.recorded = _unmade(database)
        out.states_wrong = _states(town, database)
    out.numbers_leaked = _leaks(town)
    return out


def _unexpected(town, sent: list[Sent], people) -> list[str]:
    """Each announcement send against the citizen's state when the run that made it started."""
    category = {ann.id: ann.category for ann in sent}
    runs = town.scheduler.runs
    found = []
    for m in town.cloud.accepted:
        kind, ann_id = parse(m.callback)
        if kind != "a":
            continue
        number = m.to.lstrip("+")
        label = people[number].label if number in people else "someone unknown"
        run = next((r for r in runs if r.started <= m.at <= r.ended), None)
        if run is None or run.id not in town.citizens.snapshots:
            found.append(f"{label} got {ann_id} outside any send run")
            continue
        why = town.citizens.why_not(town.citizens.snapshots[run.id], number,
                                    category.get(ann_id, ""))
        if ann_id not in category or why is not None:
            found.append(f"{label} got {ann_id} in run {run.id}, "
                         f"{why or 'an announcement nobody merged'}")
    return found


def _who(people, callback, accepted) -> str:
    for m in accepted:
        if m.callback == callback:
            return people[m.to.lstrip("+")].label if m.to.lstrip("+") in people else "?"
    return "?"


def _unmade(database: Path) -> Counter:
    con = duckdb.connect(str(database), read_only=True)
    try:
        rows = con.execute("SELECT kind, state, coalesce(error_title, ''), count(*) "
                           f"FROM deliveries WHERE state IN {sql((FAILED, SKIPPED))} "
                           "GROUP BY ALL").fetchall()
    finally:
        con.close()
    return Counter({f"{kind} {state} ({reason})": n for kind, state, reason, n in rows})


def _states(town, database: Path) -> list[str]:
    """Final subscriber states, read as staff read them (``subscribers list``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANDITORE_")}
    env.update(PYTHONPATH=str(town.source), BANDITORE_DATABASE=str(database),
               BANDITORE_PSEUDONYM_KEY=town.repo_secrets["BANDITORE_PSEUDONYM_KEY"])
    done = subprocess.run([sys.executable, "-m", "runner", "subscribers", "list", "--format",
                           "json", "--unmasked"], cwd=town.source, env=env, capture_output=True,
                          text=True)
    if done.returncode:
        return [f"subscribers list failed: {done.stderr.strip()[-300:]}"]
    listed = {row["number"].lstrip("+"): row for row in json.loads(done.stdout)}
    wrong = []
    for c in town.citizens.people:
        row = listed.get(c.number)
        state = row["state"] if row else None
        should = (PAUSED if c.paused else ACTIVE) if c.active else None
        if should and state != should:
            wrong.append(f"{c.label}: {state}, should be {should}")
        if not should and state in SUBSCRIBED:
            wrong.append(f"{c.label}: {state}, should not be subscribed")
        if c.active and row and c.topics != row.get("topics"):
            wrong.append(f"{c.label}: topics {row.get('topics')}, should be {c.topics}")
    return wrong


def _leaks(town) -> list[str]:
    numbers = {c.number for c in town.citizens.people}
    pattern = re.compile(r"\d{8,}")
    leaks = []
    texts = []
    for run in town.scheduler.runs:
        texts += [(f"run {run.id} output", "\n".join(run.output)),
                  (f"run {run.id} step summary", "\n".join(run.summary))]
    for issue, comments in town.github.comments.items():
        texts += [(f"pull request {issue}'s comment", c["body"]) for c in comments]
    for where, text in texts:
        found = {n for n in pattern.findall(text) if any(n.endswith(x[2:]) for x in numbers)}
        if found:
            leaks.append(f"{where}: {len(found)} phone numbers")
    return leaks
