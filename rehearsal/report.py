"""What the rehearsal prints at the end: the time of every step, the two targets, the check.

Targets are printed, never asserted (the figures depend on the machine):

- merge -> first accepted message <= 30 s of local step time, package
  installation left out;
- keyword -> welcome accepted <= 60 s with the receiver's dispatch to GitHub.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import median

MERGE_TARGET = 30.0
WELCOME_TARGET = 60.0


def step_table(runs) -> list[str]:
    """Each workflow's steps: how many times, median and longest, installation marked."""
    times = defaultdict(list)
    installs = {}
    for run in runs:
        for t in run.times:
            key = (t.workflow, t.job, t.step)
            times[key].append(t.seconds)
            installs[key] = t.install
    lines = [f"{'workflow / job / step':70s} {'runs':>4s} {'median':>7s} {'max':>7s}"]
    for (workflow, job, step), values in times.items():
        name = f"{workflow} / {job} / {step}"[:69]
        mark = "  (installation)" if installs[(workflow, job, step)] else ""
        lines.append(f"{name:70s} {len(values):4d} {median(values):6.1f}s {max(values):6.1f}s"
                     + mark)
    return lines


def install_between(runs, start: float, end: float) -> float:
    return sum(min(t.started + t.seconds, end) - max(t.started, start)
               for run in runs for t in run.times
               if t.install and t.started < end and t.started + t.seconds > start)


def merge_line(runs, merged: float, first: float | None) -> list[str]:
    if first is None:
        return ["merge -> first accepted message: nothing accepted (see the check)"]
    wall = first - merged
    steps = wall - install_between(runs, merged, first)
    verdict = "within" if steps <= MERGE_TARGET else "OVER"
    return [f"merge -> first accepted message: {steps:.1f} s of step time without "
            f"installation ({wall:.1f} s in all); target <= {MERGE_TARGET:.0f} s: {verdict}"]


def dispatch_lines(town, runs, enabled: int) -> list[str]:
    """The receiver's dispatch as it went: how many GitHub took and what they started;
    keyword -> dispatch; keyword -> welcome accepted, counting only the welcomes sent
    by a run a dispatch started (the others are said apart, never mixed in)."""
    dispatched = sorted(town.dispatched)
    calls = [(m, p.rsplit("/", 1)[-1], s) for m, p, s in town.github.requests
             if "/actions/workflows/" in p and m in ("POST", "PUT")]
    refused = sum(1 for m, p, s in calls if p == "dispatches" and s != 204)
    started = [r for r in runs if r.event_name == "workflow_dispatch"]
    if not dispatched:
        return ["DISPATCH NOT EXERCISED: GitHub's API took no dispatch from the receiver"]
    lines = [f"dispatch exercised: {len(dispatched)} dispatches taken by GitHub's API "
             f"({refused} refused), {len(started)} send.yml runs started by them; send.yml "
             f"enabled {enabled} time(s) after GitHub disabled it for inactivity"]
    asked = [a for c in town.citizens.people for a in c.asked]
    waits = [next(d for d in dispatched if d >= a.at) - a.at for a in asked
             if any(d >= a.at for d in dispatched)]
    if waits:
        lines.append(f"keyword -> dispatch: median {median(waits):.1f} s, longest "
                     f"{max(waits):.1f} s over {len(waits)} keywords (one dispatch a minute "
                     "at most, and one after the last message of a burst)")
    if started:
        queued = [r.started - r.queued for r in started]
        lines.append(f"dispatch -> run started: median {median(queued):.1f} s, longest "
                     f"{max(queued):.1f} s (runs go one at a time here: a dispatched run "
                     "waits for the one in progress, whatever its workflow)")
    first: dict[str, object] = {}  # the citizen's wamid -> the first reply accepted
    for m in town.cloud.accepted:
        first.setdefault((m.callback or "").rsplit(":", 1)[-1], m)
    by_dispatch, otherwise = [], 0
    for a in (a for c in town.citizens.people for a in c.subscriptions()):
        reply = first.get(a.wamid)
        if reply is None:
            continue
        run = next((r for r in runs if r.started <= reply.at <= r.ended), None)
        if run is not None and run.event_name == "workflow_dispatch":
            by_dispatch.append(reply.at - a.at)
        else:
            otherwise += 1
    if not by_dispatch:
        return [*lines, "keyword -> welcome accepted with the dispatch: NONE measured"]
    verdict = "within" if max(by_dispatch) <= WELCOME_TARGET else "OVER"
    lines.append(f"keyword -> welcome accepted with the dispatch: median "
                 f"{median(by_dispatch):.1f} s, longest {max(by_dispatch):.1f} s over "
                 f"{len(by_dispatch)} citizens; target <= {WELCOME_TARGET:.0f} s: {verdict}"
                 + (f" ({otherwise} more welcomed by a push or scheduled run)"
                    if otherwise else ""))
    return lines


def outcome_lines(outcome) -> list[str]:
    lines = [f"citizens' announcements: {outcome.reached} of {outcome.expected} expected "
             f"reached; {len(outcome.missing)} missing, {len(outcome.duplicates)} duplicates, "
             f"{len(outcome.unexpected)} to someone who should not get them",
             "replies accepted, by the keyword they answer: " + ", ".join(
                 f"{what} {outcome.replies[what]}" for what in
                 ("subscribe", "unsubscribe", "topics", "pause", "resume"))]
    for title, items in (("MISSING", outcome.missing), ("DUPLICATE", outcome.duplicates),
                         ("UNEXPECTED", outcome.unexpected),
                         ("WRONG STATE", outcome.states_wrong),
                         ("PHONE NUMBERS PRINTED", outcome.numbers_leaked)):
        lines += [f"  {title}: {item}" for item in items]
    for what, count in sorted(outcome.recorded.items()):
        lines.append(f"  not made, recorded with its reason: {count} {what}")
    return lines
