"""A town's week, played: citizens, staff, GitHub and Meta, with the bad days.

1. (logs from git) Citizens subscribe: plainly, in lower case, to one topic, with a
   typo, in a sentence, one whose phone never receives. The receiver dispatches
   send.yml through GitHub's API, which starts the run. Staff open a pull request
   (validate, the review comment) and merge it; Meta throttles mid-broadcast (130429).
2. (ssh) One leaves, one asks for the topic menu, one pauses (each answered by a
   dispatched run); an announcement for one topic; the receiver restarts while
   status webhooks arrive.
3. (s3) GitHub evicts the state cache: rebuilt from the logs. Sixty quiet days:
   GitHub disabled send.yml for inactivity, so the schedule starts nothing; a new
   citizen writes, and the receiver enables send.yml and dispatches it. The paused
   citizen resumes; an emergency.
4. (ssh) The log source is down: the dispatched run fails and says where; back
   up, the next run catches up.
5-7. (s3, git; the full week only) More citizens and one more announcement, the
   weekly reports, a last run.

Every step of every workflow runs as written (:mod:`.jobs`); at the end,
:mod:`.check` holds each citizen's messages against what they did.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from runner.webhook.coalesce import WINDOW

from .check import Sent, check
from .report import dispatch_lines, merge_line, outcome_lines, step_table

# How long a citizen's message may wait for the receiver's dispatch: its window
# (at most one a minute, the last message of a burst after it), and some slack.
DISPATCH_WAIT = WINDOW + 30


@dataclass
class Options:
    short: bool = False
    citizens: int = 40


class Week:
    def __init__(self, town, options: Options):
        self.town, self.options = town, options
        self.log = town.log
        self.sent: list[Sent] = []
        self.run_times: dict[int, str] = {}
        self.sending_runs: set[int] = set()
        self.merges: list[tuple[str, float]] = []  # (announcement id, merge time)
        self.notes: list[str] = []
        self.failures: list[str] = []
        self.who: dict[str, object] = {}  # the named citizens
        self.enabled = 0  # times the receiver enabled send.yml, disabled for inactivity
        self.restart_span: tuple[float, float] | None = None  # the receiver's restart
        town.on_run_start.append(self._run_started)

    # --- bookkeeping --------------------------------------------------------------------------

    def _run_started(self, run) -> None:
        self.run_times[run.id] = self.town.clock.now().isoformat(timespec="seconds")
        self.town.citizens.snapshot(run.id)

    def runs(self) -> list:
        done = self.town.scheduler.run_pending()
        for run in done:
            if any("runner run" in script for script in run.scripts):
                self.sending_runs.add(run.id)
        return done

    def expect(self, condition: bool, what: str) -> None:
        self.log(("  ok: " if condition else "  FAILED: ") + what)
        if not condition:
            self.failures.append(what)

    # --- what the people do ---------------------------------------------------------------------

    def answer_citizens(self, before: int, why: str) -> None:
        """The receiver's dispatch: GitHub's API queues send.yml, and it runs.

        ``before``: the dispatches GitHub had taken before the citizens wrote. If
        none comes, that is a failure; the 15-minute schedule then answers them."""
        town = self.town
        deadline = time.monotonic() + DISPATCH_WAIT
        while len(town.dispatched) <= before and time.monotonic() < deadline:
            time.sleep(0.1)
        came = len(town.dispatched) > before
        self.expect(came, f"the receiver dispatched send.yml ({why})")
        if not came:
            town.scheduler.schedule("send.yml")
        self.runs()

    def dispatches_settled(self) -> None:
        """Wait until the receiver has nothing left to ask GitHub (the last dispatch of
        a burst comes up to a window after the first), then run what it started."""
        town = self.town
        deadline = time.monotonic() + DISPATCH_WAIT
        while (not town.receiver.dispatch_settled(town.citizens.written)
               and time.monotonic() < deadline):
            time.sleep(0.2)
        self.expect(town.receiver.dispatch_settled(town.citizens.written),
                    "every citizen's message is covered by a dispatch")
        self.runs()

    def announce(self, slug: str, title: str, category: str, urgency: str = "normal",
                 days: int = 2, fix: bool = False) -> str:
        """Staff open a pull request with an announcement; CI reviews it; a reviewer merges."""
        town = self.town
        now = town.clock.now()
        ann_id = f"{now:%Y-%m-%d}-{slug}"
        publish = now.replace(hour=8, minute=0, second=0, microsecond=0)
        expires = publish.replace(hour=23, minute=0) + timedelta(days=days)
        text = (f"---\ntitle: {title}\ncategory: {category}\nurgency: {urgency}\n"
                f"publish_at: {publish.isoformat()}\nexpires_at: {expires.isoformat()}\n---\n"
                f"{title}. Il Comune informa i cittadini: maggiori dettagli presso "
                f"l'Ufficio relazioni con il pubblico, aperto dal lunedì al venerdì.\n")
        path = f"announcements/{now:%Y}/{ann_id}.md"
        pr = town.remote.open_pull_request(f"annuncio-{slug}", {path: text}, title)
        self.log(f"pull request #{pr.number}: {title}")
        town.scheduler.pull_request(pr)
        reviewed = self.runs()
        if fix:  # a second push: the review comment is updated in place, not repeated
            town.remote.push_to_pull_request(pr, {path: text.replace("Il Comune informa",
                                                                     "Il Comune avvisa")},
                                             "Una parola più chiara")
            self.log(f"pull request #{pr.number}: staff push a fix")
            town.scheduler.pull_request(pr, "synchronize")
            reviewed += self.runs()
            patched = [s for m, p, s in town.github.requests
                       if m == "PATCH" and "/issues/comments/" in p]
            self.expect(len(town.github.comments.get(pr.number, [])) == 1 and patched == [200],
                        "the second push updated the one review comment in place")
        comments = town.github.comments.get(pr.number, [])
        self.expect(any(r.workflow.file == "validate.yml" and r.conclusion == "success"
                        for r in reviewed), f"validate.yml passed on pull request #{pr.number}")
        self.expect(any("".join(r.summary).strip() for r in reviewed
                        if r.workflow.file == "validate.yml"),
                    "validate.yml wrote the step summary")
        self.expect(bool(town.artifacts.find(next((r.id for r in reviewed
                                                   if r.workflow.file == "validate.yml"), 0))),
                    "validate.yml uploaded the review artifact")
        self.expect(len(comments) == 1 and comments[0]["body"].startswith("<!--"),
                    f"one review comment on pull request #{pr.number}")
        before, after = town.remote.merge(pr)
        merged = time.monotonic()
        self.merges.append((ann_id, merged))
        self.log(f"merged #{pr.number} into main")
        town.scheduler.push("main", before, after)
        self.sent.append(Sent(ann_id, category, publish.isoformat(timespec="seconds"),
                              expires.isoformat(timespec="seconds")))
        return ann_id

    def settle(self, most: int = 3) -> None:
        """Meta's last status webhooks reach the receiver; the schedule's next runs sync
        them and send what is still due, until a run sends nothing new."""
        self.dispatches_settled()
        for _ in range(most):
            self.drained("every status webhook got its 200")
            before = len(self.town.cloud.accepted)
            self.town.scheduler.schedule("send.yml")
            self.runs()
            if len(self.town.cloud.accepted) == before:
                return

    def drained(self, what: str) -> None:
        poster = self.town.poster
        ok = self.town.cloud.drain(120)
        self.expect(ok, what if ok else f"{what} ({poster.pending()} still refused: "
                    f"{poster.last_refusal})")

    # --- the days -------------------------------------------------------------------------------

    def day1(self) -> None:
        town, c, who = self.town, self.town.citizens, self.who
        self.log("\n=== Day 1 (logs from git): citizens subscribe, the first announcement")
        town.use_source("git")
        kw = town.settings.subscribe_keywords[0]
        for key, label, extra in (
                ("anna", "Anna", {}), ("bruno", "Bruno", {}),
                ("carla", "Carla (one topic)", {}), ("dario", "Dario (writes a sentence)", {}),
                ("elena", "Elena (a typo)", {}),
                ("franco", "Franco (his phone never receives)", {"unreachable": True}),
                ("giulia", "Giulia (never reads)", {"reads": False}),
                ("hugo", "Hugo (pauses)", {})):
            who[key] = c.new(label, **extra)
        before = len(town.dispatched)
        c.write(who["anna"], kw)
        c.write(who["bruno"], kw.lower())
        topic = "eventi" if "eventi" in c.topic_ids() else c.topic_ids()[0]
        c.write(who["carla"], f"{kw} {topic.upper()}")
        c.write(who["dario"], "Buongiorno, vorrei iscrivermi al servizio")
        c.write(who["elena"], kw[:-1] + ("A" if kw[-1] != "A" else "E"))
        for key in ("franco", "giulia", "hugo"):
            c.write(who[key], kw)
        for i in range(self.options.citizens):
            c.write(c.new(f"Citizen {i + 1}", reads=i % 3 != 0), kw)
        self.answer_citizens(before, "the first keywords")
        town.cloud.throttle_after(max(3, self.options.citizens // 3), 12)
        self.announce("lavori-via-roma", "Via Roma chiusa per lavori", "viabilita", fix=True)
        self.runs()
        self.expect(town.cloud.throttled_once, "Meta throttled mid-broadcast (130429)")

    def day2(self) -> None:
        town, c, who = self.town, self.town.citizens, self.who
        town.clock.next_day()
        self.log("\n=== Day 2 (logs over ssh): one leaves, one pauses, the receiver restarts")
        town.use_source("ssh" if "ssh" in town.sources else "git")
        before = len(town.dispatched)
        c.write(who["bruno"], town.settings.unsubscribe_keywords[0])
        c.write(who["giulia"], town.settings.topics_keywords[0])
        c.write(who["hugo"], c.pause)
        self.answer_citizens(before, "one leaves, one asks for the menu, one pauses")
        topic = "eventi" if "eventi" in town.settings.categories else town.settings.categories[-1]
        self.announce("festa-di-primavera", "Festa di primavera in piazza", topic)
        restarter = threading.Thread(target=self._restart_while_statuses_arrive, daemon=True)
        restarter.start()
        self.runs()
        restarter.join(120)
        served, refused = town.poster.during(*self.restart_span) if self.restart_span else (0, 0)
        self.expect(town.receiver.restarts == 1 and served + refused > 0,
                    f"the receiver restarted while webhooks arrived ({served} answered by "
                    f"its workers as they stopped, {refused} refused, for Meta to retry)")
        self.drained("every webhook sent during the restart got its 200")
        self.expect(town.receiver.lines() == town.poster.delivered,
                    f"the receiver's logs hold every acknowledged webhook "
                    f"({town.receiver.lines()} lines, {town.poster.delivered} answered 200)")

    def _restart_while_statuses_arrive(self) -> None:
        town = self.town
        start = len(town.cloud.accepted)
        deadline = time.monotonic() + 100
        while len(town.cloud.accepted) < start + 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        self.restart_span = town.receiver.restart()
        self.log(f"  the receiver restarted in {self.restart_span[1] - self.restart_span[0]:.1f} s")

    def day3(self) -> None:
        town, c, who = self.town, self.town.citizens, self.who
        town.clock.next_day()
        self.log("\n=== Day 3 (logs from s3): the state cache is evicted; send.yml disabled "
                 "for inactivity; an emergency")
        town.use_source("s3" if "s3" in town.sources else "git")
        evicted = town.caches.evict()
        self.log(f"  GitHub evicted {evicted} cache entries: the next run rebuilds from the logs")
        # Sixty quiet days in a public repository: GitHub disables the schedule.
        self.dispatches_settled()
        send = town.github.workflows["send.yml"]
        send.state = "disabled_inactivity"
        self.log("  GitHub disabled send.yml for inactivity (sixty days without activity)")
        self.expect(not town.scheduler.schedule("send.yml"),
                    "disabled for inactivity, send.yml's schedule starts no run")
        mark, before = len(town.github.requests), len(town.dispatched)
        who["ivo"] = c.new("Ivo (joins on day 3)")
        c.write(who["ivo"], town.settings.subscribe_keywords[0])
        c.write(who["hugo"], c.resume)
        self.answer_citizens(before, "a new citizen, the workflow disabled")
        calls = [(method, path.rsplit("/", 1)[-1], status)
                 for method, path, status in town.github.requests[mark:]
                 if "/actions/workflows/send.yml" in path]
        enabled = ("PUT", "enable", 204) in calls and ("POST", "dispatches", 204) in calls
        self.expect(enabled and send.state == "active" and calls.index(("PUT", "enable", 204))
                    < calls.index(("POST", "dispatches", 204)),
                    "the receiver enabled send.yml, disabled for inactivity, then dispatched it "
                    f"({', '.join(f'{m} {p} {s}' for m, p, s in calls)})")
        self.enabled += int(enabled)
        emergency = town.settings.emergency_categories[0]
        self.announce("allerta-vento", "Allerta arancione per vento forte", emergency,
                      urgency="emergency", days=1)
        self.runs()

    def day4(self) -> None:
        town, c, who = self.town, self.town.citizens, self.who
        town.clock.next_day()
        name = "ssh" if "ssh" in town.sources else "git"
        self.log(f"\n=== Day 4 (logs over {name}): the log source is down")
        town.use_source(name)
        self.dispatches_settled()
        town.sources[name].down()
        before, runs = len(town.dispatched), len(town.scheduler.runs)
        who["luca"] = c.new("Luca (joins while the logs are down)")
        c.write(who["luca"], town.settings.subscribe_keywords[0])
        self.answer_citizens(before, "the log source down")
        sends = [r for r in town.scheduler.runs[runs:] if r.workflow.file == "send.yml"]
        self.expect(bool(sends) and all(r.conclusion == "failure" for r in sends),
                    "the run failed with the log source down")
        fetch = [t for r in sends for t in r.times if t.outcome == "failure"]
        self.expect(bool(fetch) and "log" in fetch[0].step.lower(),
                    f"and said where: the failed step is {fetch[0].step if fetch else None!r}")
        if not any("log" in a.lower() for r in sends for a in r.annotations):
            self.notes.append("with the log source down, fetch-logs.sh fails without an "
                              "::error annotation of its own (only the transfer tool's message)")
        town.sources[name].up()
        if not self.options.short:  # the short week's last run catches up
            town.scheduler.schedule("send.yml")
            self.runs()

    def rest_of_week(self) -> None:
        town, c, who = self.town, self.town.citizens, self.who
        town.clock.next_day()
        self.log("\n=== Day 5 (logs from s3): more citizens, one more announcement")
        town.use_source("s3" if "s3" in town.sources else "git")
        before = len(town.dispatched)
        c.write(who["elena"], town.settings.subscribe_keywords[0])
        c.write(who["bruno"], town.settings.subscribe_keywords[0])
        self.answer_citizens(before, "one back, one fixed her typo")
        self.announce("scadenza-tari", "TARI, prima rata entro il 16", "scadenze")
        self.runs()
        town.clock.next_day()
        self.log("\n=== Day 6 (logs from git): the weekly reports")
        town.use_source("git")
        self.dispatches_settled()
        town.scheduler.schedule("reports.yml")
        [report] = self.runs()
        self.expect(report.conclusion == "success" and bool(town.artifacts.find(report.id)),
                    "reports.yml rendered the reports as a private artifact")
        town.clock.next_day()
        self.log("\n=== Day 7: a quiet Sunday, the schedule keeps running")

    # --- the whole week ----------------------------------------------------------------------

    def play(self) -> bool:
        for day in (self.day1, self.day2, self.day3, self.day4):
            day()
            # The rest of the day's 15-minute schedule. The short week keeps the one
            # after day 3, whose newcomer meets announcements that expire that night.
            if not self.options.short:
                self.settle()
            elif day == self.day3:
                self.settle(most=1)
        if not self.options.short:
            self.rest_of_week()
        self.settle()
        return self.report()

    def report(self) -> bool:
        town = self.town
        runs = town.scheduler.runs
        sends = [r for r in runs if r.id in self.sending_runs]
        database = None
        if sends:
            workspace = next(iter(sends[-1].jobs.values())).get("workspace")
            database = Path(workspace) / "subscribers.duckdb"
        outcome = check(town, self.sent, self.run_times, self.sending_runs, database)
        # What citizens read on the web: send.yml's pages job deployed every merged one.
        unpublished = [a for a, _ in self.merges
                       if not (town.pages_dir / "avvisi" / f"{a}.html").is_file()]
        self.expect(not unpublished, "the site deployed to Pages has every announcement"
                    + (f" (missing: {', '.join(unpublished)})" if unpublished else ""))
        lines = ["", "=== What happened", *step_table(runs), ""]
        for ann_id, merged in self.merges:
            firsts = [m.at for m in town.cloud.accepted
                      if (m.callback or "").startswith(f"banditore:a:{ann_id}:")]
            lines += [f"{ann_id}: " + merge_line(runs, merged, min(firsts, default=None))[0]]
        lines += dispatch_lines(town, runs, self.enabled)
        lines += [f"workflow runs: {len(runs)}; webhooks retried by Meta: "
                  f"{town.poster.retries}; receiver restarts: {town.receiver.restarts}",
                  f"log sources: {', '.join(town.sources) or 'none'}"]
        lines += [f"run {r.id} ({r.workflow.file} on {r.event_name}) failed at "
                  + ", ".join(repr(t.step) for t in r.times if t.outcome == "failure")
                  for r in runs if r.conclusion == "failure"]
        lines += [f"LOG SOURCE NOT EXERCISED: {name}: {why}"
                  for name, why in town.unavailable.items()]
        unknown = [f"{m} {p}" for m, p, s in town.github.requests if s == 404]
        lines += [f"GITHUB API ENDPOINT MISSING: {x}" for x in sorted(set(unknown))]
        lines += [f"note: {n}" for n in self.notes]
        lines += outcome_lines(outcome)
        lines += [f"FAILED: {f}" for f in self.failures]
        ok = outcome.ok and not self.failures
        lines.append("rehearsal: " + ("passed" if ok else "FAILED"))
        for line in lines:
            self.log(line)
        return ok
