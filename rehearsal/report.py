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


def welcome_lines(delays: list[float], dispatched: bool) -> list[str]:
    if not delays:
        return ["keyword -> welcome accepted: no welcome measured"]
    how = ("with the receiver's dispatch" if dispatched else
           "WITHOUT the dispatch (not in this version: the scenario started the run "
           "itself, at once, as the schedule would at best)")
    verdict = "within" if max(delays) <= WELCOME_TARGET else "OVER"
    return [f"keyword -> welcome accepted ({how}): median {median(delays):.1f} s, "
            f"longest {max(delays):.1f} s over {len(delays)} citizens; target <= "
            f"{WELCOME_TARGET:.0f} s: {verdict}"]


def outcome_lines(outcome) -> list[str]:
    lines = [f"citizens' announcements: {outcome.reached} of {outcome.expected} expected "
             f"reached; {len(outcome.missing)} missing, {len(outcome.duplicates)} duplicates, "
             f"{len(outcome.unexpected)} to someone who should not get them",
             f"welcome replies accepted: {outcome.welcomes}"]
    for title, items in (("MISSING", outcome.missing), ("DUPLICATE", outcome.duplicates),
                         ("UNEXPECTED", outcome.unexpected),
                         ("WRONG STATE", outcome.states_wrong),
                         ("PHONE NUMBERS PRINTED", outcome.numbers_leaked)):
        lines += [f"  {title}: {item}" for item in items]
    for what, count in sorted(outcome.recorded.items()):
        lines.append(f"  not made, recorded with its reason: {count} {what}")
    return lines
