"""GitHub Actions' side of events: which workflow runs on what, with which event payload.

Triggers are read from each workflow's ``on:`` (:func:`rehearsal.workflows.triggered`):
a push to a branch, a pull request (its ``paths`` filter on the files it
changes), ``workflow_dispatch`` (by hand or from the API), ``schedule`` (the
scenario says when a scheduled time comes; a workflow disabled for inactivity
then does not run, as on GitHub), and ``workflow_run`` after a run completes.
Runs go one at a time, in the order they were asked for, which also keeps
every ``concurrency`` group's promise that two runs never overlap.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import threading
import time
from collections import deque
from dataclasses import dataclass

from .github_api import RunRecord
from .jobs import JobRunner, Run
from .workflows import Workflow, load_all, triggered

SKIPPED_WORKFLOWS = {
    # The project's own test suite (make test) is not part of a town's loop.
    "tests.yml": "the project's own test suite (make test), not part of a town's loop",
}


@dataclass
class Pending:
    workflow: Workflow
    event_name: str
    event: dict
    ref: str
    sha: str
    inputs: dict
    queued: float = 0.0  # time.monotonic() when GitHub was asked for the run


class Scheduler:
    def __init__(self, town):
        self.town = town
        self.queue: deque[Pending] = deque()
        self.runs: list[Run] = []
        self.lock = threading.RLock()

    def workflows(self, sha: str) -> dict[str, Workflow]:
        """The workflow files as they are at ``sha`` (GitHub reads them from the event's
        commit), read from the whole repository at that commit: what ``uses: $/path``
        names is found there (:attr:`rehearsal.workflows.Workflow.root`)."""
        folder = self.town.scratch / "repository-at" / sha
        with self.lock:  # a dispatch may ask from the fake API's thread
            if not folder.exists():
                partial = folder.with_name(f"{sha}.partial")
                partial.mkdir(parents=True)
                archive = subprocess.run(["git", "archive", "--format=tar", sha],
                                         cwd=self.town.remote.bare, capture_output=True,
                                         check=True)
                with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
                    tar.extractall(partial, filter="data")
                partial.rename(folder)
        return load_all(folder)

    def _want(self, workflow: Workflow, event_name: str, event: dict, ref: str, sha: str,
              inputs: dict | None = None) -> bool:
        if workflow.file in SKIPPED_WORKFLOWS:
            self.town.log(f"  ({workflow.file} not played: {SKIPPED_WORKFLOWS[workflow.file]})")
            return False
        record = self.town.github.workflows.get(workflow.file)
        # The API refuses a dispatch of a disabled workflow before it gets here.
        if record and record.state != "active" and event_name != "workflow_dispatch":
            self.town.log(f"  {workflow.file}: not run, the workflow is {record.state}")
            return False
        self.queue.append(Pending(workflow, event_name, event, ref, sha, inputs or {},
                                  time.monotonic()))
        return True

    # --- events ---------------------------------------------------------------------------

    def push(self, branch: str, before: str, after: str) -> None:
        event = {"ref": f"refs/heads/{branch}", "before": before, "after": after,
                 "repository": self.town.repository_json(),
                 "head_commit": {"id": after}}
        for w in self.workflows(after).values():
            if triggered(w, "push", branch=branch):
                self._want(w, "push", event, f"refs/heads/{branch}", after)

    def pull_request(self, pr, action: str = "opened") -> None:
        payload = {"number": pr.number, "title": pr.title, "state": pr.state,
                   "head": {"sha": pr.head, "ref": pr.branch},
                   "base": {"sha": pr.base, "ref": "main"}}
        event = {"action": action, "number": pr.number, "pull_request": payload,
                 "repository": self.town.repository_json()}
        for w in self.workflows(pr.merge).values():
            if triggered(w, "pull_request", branch="main", files=pr.files):
                self._want(w, "pull_request", event, f"refs/pull/{pr.number}/merge", pr.merge)

    def dispatch(self, file: str, ref: str, inputs: dict | None = None) -> str | None:
        """A ``workflow_dispatch`` (by hand, or the fake API's on a POST .../dispatches):
        the run is queued; or why not, as GitHub's 422 says it."""
        branch = ref.removeprefix("refs/heads/")
        try:
            sha = self.town.remote.sha(f"refs/heads/{branch}")
        except RuntimeError:
            return f"No ref found for: {branch}"
        workflow = self.workflows(sha).get(file)
        if workflow is None or not triggered(workflow, "workflow_dispatch"):
            return "Workflow does not have 'workflow_dispatch' trigger"
        event = {"ref": f"refs/heads/{branch}", "inputs": inputs or {},
                 "workflow": f".github/workflows/{file}",
                 "repository": self.town.repository_json()}
        self._want(workflow, "workflow_dispatch", event, f"refs/heads/{branch}", sha, inputs)
        return None

    def schedule(self, file: str) -> bool:
        """The scheduled time comes; False when GitHub starts no run (the workflow is
        disabled)."""
        sha = self.town.remote.sha("main")
        workflow = self.workflows(sha).get(file)
        if workflow is None or "schedule" not in workflow.on:
            raise RuntimeError(f"{file} has no schedule on main")
        cron = workflow.on["schedule"][0]["cron"]
        return self._want(workflow, "schedule", {"schedule": cron,
                                                 "repository": self.town.repository_json()},
                          "refs/heads/main", sha)

    def _completed(self, run: Run) -> None:
        sha = self.town.remote.sha("main")
        event = {"action": "completed", "repository": self.town.repository_json(),
                 "workflow_run": {"id": run.id, "name": run.workflow.name,
                                  "event": run.event_name, "head_branch": run.head_branch
                                  if run.event_name != "pull_request"
                                  else run.event["pull_request"]["head"]["ref"],
                                  "head_sha": run.sha if run.event_name != "pull_request"
                                  else run.event["pull_request"]["head"]["sha"],
                                  "status": "completed", "conclusion": run.conclusion,
                                  "path": f".github/workflows/{run.workflow.file}"}}
        for w in self.workflows(sha).values():
            if triggered(w, "workflow_run", workflow_name=run.workflow.name, types="completed"):
                self._want(w, "workflow_run", event, "refs/heads/main", sha)

    # --- running ---------------------------------------------------------------------------

    def run_pending(self) -> list[Run]:
        """Run everything queued, and what their completion triggers, one at a time."""
        done = []
        while self.queue:
            done.append(self._run(self.queue.popleft()))
        return done

    def _run(self, pending: Pending) -> Run:
        github = self.town.github
        record = RunRecord(github.new_id(), pending.workflow.file, pending.workflow.name,
                           pending.event_name, pending.ref.removeprefix("refs/heads/"),
                           pending.sha, status="in_progress")
        github.runs[record.id] = record
        run = Run(record.id, pending.workflow, pending.event_name, pending.event, pending.ref,
                  pending.sha, inputs=pending.inputs, queued=pending.queued)
        self.town.log(f"run {record.id}: {pending.workflow.file} on {pending.event_name} "
                      f"({pending.ref}, {pending.sha[:8]})")
        scratch = self.town.scratch / "runs" / str(record.id)
        scratch.mkdir(parents=True)
        self.town.before_run(run)
        JobRunner(self.town, run, scratch).go()
        record.status, record.conclusion = "completed", run.conclusion
        # What the run printed, for whoever keeps the scratch folder (--keep).
        (scratch / "output.log").write_text("\n".join(run.output) + "\n", encoding="utf-8")
        (scratch / "step-summary.md").write_text("".join(run.summary), encoding="utf-8")
        self.town.log(f"run {record.id}: {run.conclusion} in {run.ended - run.started:.1f} s")
        self.runs.append(run)
        self._completed(run)
        return run

