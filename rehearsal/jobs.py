"""Running a workflow's jobs as GitHub's runner does, on this machine.

Each job gets a fresh workspace, ``RUNNER_TEMP`` and ``HOME``, GitHub's
environment variables and files (``GITHUB_ENV``, ``GITHUB_OUTPUT``,
``GITHUB_PATH``, ``GITHUB_STEP_SUMMARY``, ``GITHUB_EVENT_PATH``...). ``run:``
steps go to bash exactly as written (GitHub's default ``bash -e {0}``, or
``bash --noprofile --norc -eo pipefail {0}`` for ``shell: bash``); the
repository's composite actions run their own steps, read from the job's
checkout for ``uses: ./path`` and from the repository at the run's commit for
``uses: $/path`` (:func:`.workflows.in_repository`); other actions go to their
mapping in :mod:`.actions`. ``if:``, ``continue-on-error``, ``needs:``, job
outputs and step outputs behave as on GitHub.

What the machine itself adds to every step (the runner host's environment,
as a self-hosted runner's would) comes from :class:`Host`: the rehearsal's
clock (``BANDITORE_NOW``), where the Cloud API and GitHub's API are. It is
printed once at the start of a rehearsal.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from . import actions
from .expressions import Evaluator, ExpressionError, condition, interpolate, to_string
from .jobenv import JobState, github_env, parse_env_file, stop_gpg_agent
from .workflows import (
    Job,
    Workflow,
    WorkflowError,
    action_file,
    action_name,
    in_repository,
    load_action,
)

SHELL = {None: ["bash", "-e", "{0}"], "bash": ["bash", "--noprofile", "--norc", "-eo",
                                              "pipefail", "{0}"], "sh": ["sh", "-e", "{0}"]}


class Host(Protocol):
    """What a job needs of the world around it (the town: see :mod:`.town`)."""

    repository: str
    remote: object  # .gitside.Remote: the bare repository standing in for GitHub's
    api_proxy: str  # where gh's requests to GitHub's API go

    def machine_env(self) -> dict[str, str]: ...
    def secrets(self, environment: str | None, ref: str, where: str) -> dict[str, str]: ...
    def variables(self) -> dict[str, str]: ...
    def new_token(self, permissions: dict[str, str]) -> str: ...
    def log(self, text: str) -> None: ...


@dataclass
class StepTime:
    workflow: str
    job: str
    step: str
    seconds: float
    install: bool  # package installation: left out of the step-time targets
    outcome: str
    started: float


@dataclass
class Run:
    """One workflow run: its event, what each job and step did and how long."""

    id: int
    workflow: Workflow
    event_name: str
    event: dict
    ref: str
    sha: str
    attempt: int = 1
    inputs: dict = field(default_factory=dict)
    conclusion: str | None = None
    jobs: dict[str, dict] = field(default_factory=dict)  # id -> {result, outputs}
    times: list[StepTime] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    output: list[str] = field(default_factory=list)  # every line the steps printed
    annotations: list[str] = field(default_factory=list)  # ::error / ::warning lines
    scripts: list[str] = field(default_factory=list)  # every run: script, as executed
    queued: float = 0.0  # time.monotonic(): when the event asked for the run
    started: float = 0.0
    ended: float = 0.0

    @property
    def head_branch(self) -> str:
        return self.ref.removeprefix("refs/heads/")


class StepFailed(Exception):
    pass


class JobRunner:
    """Runs the jobs of one :class:`Run` in ``needs`` order; with ``workflow``, those of a
    reusable workflow a job calls (``jobs.<id>.uses: $/.github/workflows/x.yml``), given
    its ``inputs`` and, unless ``secrets: inherit``, only the ``secrets`` passed to it."""

    def __init__(self, host: Host, run: Run, scratch: Path, workflow: Workflow | None = None,
                 inputs: dict | None = None, secrets: dict | None = None, prefix: str = ""):
        self.host = host
        self.run = run
        self.scratch = scratch
        self.workflow = workflow or run.workflow
        self.inputs = run.inputs if inputs is None else inputs
        self.passed_secrets = secrets
        self.prefix = prefix  # "caller/" for the jobs of a called workflow
        self.jobs: dict[str, dict] = {}

    def go(self) -> Run:
        run = self.run
        run.started = time.monotonic()
        self.run.jobs = self.jobs
        self._all()
        results = {j["result"] for j in run.jobs.values()}
        run.conclusion = "failure" if "failure" in results else "success"
        run.ended = time.monotonic()
        return run

    def _all(self) -> None:
        for job in self.workflow.jobs:
            self.jobs[job.id] = self._job(job)

    # --- a job ---------------------------------------------------------------------------

    def _contexts(self, job: Job, token: str, secrets: dict, env: dict) -> dict:
        run = self.run
        return {
            "github": {
                "event_name": run.event_name, "event": run.event, "ref": run.ref,
                "ref_name": run.head_branch, "sha": run.sha, "repository": self.host.repository,
                "repository_owner": self.host.repository.split("/")[0],
                "run_id": str(run.id), "run_attempt": str(run.attempt),
                "run_number": str(run.id), "workflow": self.workflow.name, "job": job.id,
                "actor": "rehearsal", "token": token, "server_url": "https://github.localhost",
                "api_url": "http://api.github.localhost",
                "base_ref": (run.event.get("pull_request") or {}).get("base", {}).get("ref", ""),
                "head_ref": (run.event.get("pull_request") or {}).get("head", {}).get("ref", ""),
                "workspace": env["GITHUB_WORKSPACE"],
            },
            "env": {}, "vars": self.host.variables(), "secrets": {**secrets, "GITHUB_TOKEN": token},
            "inputs": self.inputs, "steps": {}, "runner": {"os": "Linux", "arch": "X64",
                                                           "temp": env["RUNNER_TEMP"]},
            "needs": {n: self.jobs.get(n, {"result": "skipped", "outputs": {}})
                      for n in job.needs},
            "job": {"status": "success"}, "strategy": {}, "matrix": {},
        }

    def _job(self, job: Job) -> dict:
        workflow, run = self.workflow, self.run
        need_results = [self.jobs.get(n, {}).get("result") for n in job.needs]
        status = "success" if all(r == "success" for r in need_results) else "failure"
        where = workflow.where(job.id)
        probe = Evaluator(self._contexts(job, "", {}, {"GITHUB_WORKSPACE": "", "RUNNER_TEMP": ""}),
                          status=status)
        try:
            if not condition(job.spec.get("if"), probe):
                self.host.log(f"  job {job.id}: skipped (if: {job.spec.get('if')!s})")
                return {"result": "skipped", "outputs": {}}
        except ExpressionError as exc:
            raise WorkflowError(f"{where}: if: {exc}") from None
        if "uses" in job.spec:
            from .reusable import call

            return call(self, job, probe, where)
        home = Path(tempfile.mkdtemp(prefix=f"job-{job.id}-", dir=self.scratch))
        workspace, temp = home / "work", home / "temp"
        for folder in (workspace, temp, home / "home"):
            folder.mkdir()
        permissions = {**(workflow.doc.get("permissions") or {})}
        if "permissions" in job.spec:
            permissions = dict(job.spec["permissions"] or {})
        token = self.host.new_token(permissions)
        env = github_env(self.host, self.run, self.workflow, job, workspace, temp,
                         home / "home")
        try:
            secrets = self.host.secrets(job.environment, run.ref, where) \
                if self.passed_secrets is None else self.passed_secrets
        except PermissionError as exc:  # an environment's branch rule: GitHub fails the job
            self.host.log(f"  job {job.id}: FAILED {exc}")
            return {"result": "failure", "outputs": {}}
        contexts = self._contexts(job, token, secrets, env)
        state = JobState(job, workspace, temp, env, contexts, home)
        self.host.log(f"  job {job.id}" + (f" (environment {job.environment})"
                                           if job.environment else ""))
        try:
            for name, value in self._evaluate(job.spec.get("env") or {}, state, where).items():
                state.job_env[name] = to_string(value)
            self._steps(job.steps, state, where, contexts["steps"])
        finally:
            stop_gpg_agent(home / "home")
        outputs = {}
        evaluator = self._evaluator(state)
        for name, text in (job.spec.get("outputs") or {}).items():
            outputs[name] = to_string(interpolate(str(text), evaluator))
        return {"result": state.status, "outputs": outputs, "workspace": str(workspace)}

    # --- steps ---------------------------------------------------------------------------

    def _evaluator(self, state: JobState, steps: dict | None = None,
                   inputs: dict | None = None) -> Evaluator:
        contexts = dict(state.contexts)
        contexts["env"] = {**state.workflow_env(self.workflow), **state.job_env,
                           **state.exported, **state.step_env_stack}
        contexts["job"] = {"status": state.status}
        if steps is not None:
            contexts["steps"] = steps
        if inputs is not None:
            contexts["inputs"] = inputs
        return Evaluator(contexts, status=state.action_status or state.status,
                         workspace=state.workspace)

    def _evaluate(self, mapping: dict, state: JobState, where: str, steps=None, inputs=None):
        evaluator = self._evaluator(state, steps, inputs)
        try:
            return {k: interpolate(str(v), evaluator) if isinstance(v, str) else v
                    for k, v in mapping.items()}
        except ExpressionError as exc:
            raise WorkflowError(f"{where}: {exc}") from None

    def _steps(self, steps: list[dict], state: JobState, where: str, context: dict,
               inputs: dict | None = None, action_dir: Path | None = None) -> None:
        from .workflows import step_label

        for index, step in enumerate(steps):
            label = step_label(step, index)
            here = f"{where}, step {label}"
            evaluator = self._evaluator(state, context, inputs)
            try:
                wanted = condition(step.get("if"), evaluator)
            except ExpressionError as exc:
                raise WorkflowError(f"{here}: if: {exc}") from None
            if not wanted:
                if step.get("id"):
                    context[step["id"]] = {"outputs": {}, "outcome": "skipped",
                                           "conclusion": "skipped"}
                continue
            started = time.monotonic()
            outputs, outcome = {}, "success"
            try:
                outputs = self._step(step, state, here, context, inputs, action_dir)
            except StepFailed as exc:
                outcome = "failure"
                self.host.log(f"    step {label}: FAILED {exc}")
            seconds = time.monotonic() - started
            install = actions.is_installation(step)
            self.run.times.append(StepTime(self.workflow.file, self.prefix + state.job.id,
                                           label.strip("'"), seconds, install, outcome, started))
            self.host.log(f"    step {label}: {outcome}, {seconds:.1f} s"
                          + (" (installation)" if install else ""))
            continue_on_error = step.get("continue-on-error", False)
            if isinstance(continue_on_error, str):
                continue_on_error = interpolate(continue_on_error, evaluator) in (True, "true")
            conclusion = "success" if continue_on_error else outcome
            if step.get("id"):
                context[step["id"]] = {"outputs": outputs, "outcome": outcome,
                                       "conclusion": conclusion}
            if conclusion == "failure":
                if state.action_status is None:
                    state.status = "failure"
                else:  # the action's step fails with it, and so the job (or its caller)
                    state.action_status = "failure"

    def _step(self, step: dict, state: JobState, where: str, context: dict,
              inputs: dict | None, action_dir: Path | None) -> dict:
        step_env = self._evaluate(step.get("env") or {}, state, where, context, inputs)
        with_ = self._evaluate(step.get("with") or {}, state, where, context, inputs)
        if "run" in step:
            script = self._evaluate({"run": step["run"]}, state, where, context, inputs)["run"]
            return self._shell(str(script), step, state, step_env, action_dir)
        uses = step["uses"]
        try:
            target = in_repository(uses)
        except WorkflowError as exc:
            raise WorkflowError(f"{where}: {exc}") from None
        if target is not None:
            path = action_file(target.base(self.workflow.root, state.workspace) / target.path)
            if path is None:  # ./ before a checkout, as on GitHub
                raise StepFailed(f"no action.yml at {uses} in " + (
                    f"the repository at {self.run.sha[:12]}" if target.at_commit
                    else "the job's workspace (no checkout?)"))
            return self._composite(path, target.path, with_, state, where, step_env)
        mapping = actions.MAPPINGS.get(action_name(uses))
        if mapping is None:
            raise WorkflowError(f"{where}: the action {action_name(uses)} has no local mapping")
        ctx = actions.StepContext(host=self.host, run=self.run, workspace=state.workspace,
                                  temp=state.temp, env=state.env_for(self.workflow, step_env),
                                  token=state.contexts["github"]["token"], log=self.host.log,
                                  path_add=state.path_add)
        try:
            return {k: to_string(v) for k, v in (mapping(ctx, with_) or {}).items()}
        except actions.ActionFailed as exc:
            raise StepFailed(str(exc)) from None

    def _composite(self, path: Path, shown: str, with_: dict, state: JobState, where: str,
                   step_env: dict) -> dict:
        """A composite action's steps. Their ``success()`` and ``failure()`` read the
        action's own status, which starts as success, not the job's (the runner's
        ``action_status``, src/Runner.Worker/Expressions/SuccessFunction.cs): called
        with ``if: always()`` after a failed step, its steps without an ``if:`` run."""
        action = load_action(path)
        inputs = {}
        for name, spec in (action.get("inputs") or {}).items():
            spec = spec or {}
            inputs[name] = with_.get(name, spec.get("default", ""))
            if spec.get("required") and name not in with_:
                raise StepFailed(f"input {name} is required by {path.parent.name}")
        inner: dict = {}
        saved = dict(state.step_env_stack)
        state.step_env_stack.update({k: to_string(v) for k, v in step_env.items()})
        caller_action_status, state.action_status = state.action_status, "success"
        try:
            self._steps(action["runs"].get("steps") or [], state,
                        f"{shown}/{path.name} (from {where})",
                        inner, inputs, path.parent)
            failed = state.action_status == "failure"
        finally:
            state.step_env_stack = saved
            state.action_status = caller_action_status
        if failed:
            raise StepFailed(f"a step of {path.parent.name} failed")
        evaluator = self._evaluator(state, inner, inputs)
        return {name: interpolate(str(spec.get("value", "")), evaluator)
                for name, spec in (action.get("outputs") or {}).items()}

    def _shell(self, script: str, step: dict, state: JobState, step_env: dict,
               action_dir: Path | None) -> dict:
        shell = step.get("shell")
        if shell not in SHELL:
            raise WorkflowError(f"shell {shell!r} is not run by the rehearsal")
        files = {name: state.temp / f"{name.lower()}-{time.monotonic_ns()}" for name in
                 ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_STEP_SUMMARY",
                  "GITHUB_STATE")}
        for file in files.values():
            file.write_text("")
        script_path = state.temp / f"step-{time.monotonic_ns()}.sh"
        script_path.write_text(script, encoding="utf-8")
        self.run.scripts.append(script)
        env = state.env_for(self.workflow, step_env)
        env.update({k: str(v) for k, v in files.items()})
        if action_dir is not None:
            env["GITHUB_ACTION_PATH"] = str(action_dir)
        cwd = state.workspace / str(step.get("working-directory") or ".")
        if not cwd.is_dir():  # GitHub's runner cannot start the shell there: the step fails
            raise StepFailed(f"working-directory {step.get('working-directory')}: "
                             "no such folder in the workspace")
        command = [part.replace("{0}", str(script_path)) for part in SHELL[shell]]
        timeout = 60 * float(step.get("timeout-minutes")
                             or state.job.spec.get("timeout-minutes") or 360)
        try:
            done = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                                  errors="replace", timeout=timeout)
        except subprocess.TimeoutExpired:
            raise StepFailed(f"timed out after {timeout:.0f} s") from None
        self._printed(done.stdout)
        state.read_env_files(files)
        self.run.summary.append(files["GITHUB_STEP_SUMMARY"].read_text(encoding="utf-8"))
        outputs = parse_env_file(files["GITHUB_OUTPUT"].read_text(encoding="utf-8"))
        if done.returncode != 0:
            tail = [line for line in done.stdout.splitlines() if line.strip()][-6:]
            for line in tail:
                self.host.log("      | " + line[:300])
            raise StepFailed(f"exit code {done.returncode}")
        return outputs

    def _printed(self, text: str) -> None:
        for line in text.splitlines():
            self.run.output.append(line)
            if line.startswith(("::error", "::warning")):
                self.run.annotations.append(line)
                self.host.log("      " + line[:300])
