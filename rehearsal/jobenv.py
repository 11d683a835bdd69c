"""A job's environment as GitHub's runner makes it and keeps it between steps.

:func:`github_env` gives GitHub's variables (``GITHUB_*``, ``RUNNER_*``, ``CI``)
over the runner host's. :class:`JobState` keeps the variables of the workflow,
the job and each step, what steps export through ``GITHUB_ENV`` and
``GITHUB_PATH``, and the job's status so far (what ``success()`` and
``failure()`` read). :func:`parse_env_file` reads the files
steps write (``GITHUB_ENV``, ``GITHUB_OUTPUT``), heredoc blocks included.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from .expressions import to_string
from .workflows import Job, Workflow


def parse_env_file(text: str) -> dict[str, str]:
    """GITHUB_ENV / GITHUB_OUTPUT: ``NAME=value`` lines and ``NAME<<DELIMITER`` blocks."""
    values, lines, at = {}, text.splitlines(), 0
    while at < len(lines):
        line = lines[at]
        at += 1
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            block = []
            while at < len(lines) and lines[at] != delimiter:
                block.append(lines[at])
                at += 1
            at += 1
            values[name] = "\n".join(block)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values


def github_env(host, run, workflow: Workflow, job: Job, workspace: Path, temp: Path,
               home: Path) -> dict[str, str]:
    """The variables GitHub's runner gives every step of ``job``, over the machine's
    own (the runner host's, :meth:`rehearsal.jobs.Host.machine_env`)."""
    event_path = temp / "event.json"
    event_path.write_text(json.dumps(run.event), encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BANDITORE_", "GITHUB_", "RUNNER_", "PYTHON", "VIRTUAL_ENV",
                                "GH_", "AWS_", "PIP_"))}
    env.update(host.machine_env())
    env.update({
        "CI": "true", "GITHUB_ACTIONS": "true", "HOME": str(home),
        "GITHUB_WORKSPACE": str(workspace), "RUNNER_TEMP": str(temp),
        "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64", "RUNNER_NAME": "rehearsal",
        "RUNNER_TOOL_CACHE": str(temp / "toolcache"),
        "GITHUB_REPOSITORY": host.repository,
        "GITHUB_REPOSITORY_OWNER": host.repository.split("/")[0],
        "GITHUB_REF": run.ref, "GITHUB_REF_NAME": run.head_branch,
        "GITHUB_SHA": run.sha, "GITHUB_EVENT_NAME": run.event_name,
        "GITHUB_EVENT_PATH": str(event_path), "GITHUB_RUN_ID": str(run.id),
        "GITHUB_RUN_NUMBER": str(run.id), "GITHUB_RUN_ATTEMPT": str(run.attempt),
        "GITHUB_WORKFLOW": workflow.name, "GITHUB_JOB": job.id,
        "GITHUB_ACTOR": "rehearsal", "GITHUB_SERVER_URL": "https://github.localhost",
        "GITHUB_API_URL": "http://api.github.localhost",
        "GITHUB_BASE_REF": (run.event.get("pull_request") or {}).get("base", {})
        .get("ref", ""),
        "GITHUB_HEAD_REF": (run.event.get("pull_request") or {}).get("head", {})
        .get("ref", ""),
    })
    return env


class JobState:
    def __init__(self, job: Job, workspace: Path, temp: Path, env: dict, contexts: dict,
                 home: Path):
        self.job, self.workspace, self.temp, self.base_env = job, workspace, temp, env
        self.contexts, self.home = contexts, home
        self.job_env: dict[str, str] = {}
        self.exported: dict[str, str] = {}  # GITHUB_ENV
        self.path_add: list[str] = []  # GITHUB_PATH, newest first
        self.step_env_stack: dict[str, str] = {}  # a composite action's caller's step env
        self.status = "success"  # the job's (job.status)
        self.action_status: str | None = None  # inside a composite action: the action's

    @staticmethod
    def workflow_env(workflow: Workflow) -> dict[str, str]:
        return {k: to_string(v) for k, v in (workflow.doc.get("env") or {}).items()}

    def env_for(self, workflow: Workflow, step_env: dict) -> dict[str, str]:
        env = dict(self.base_env)
        env.update(self.workflow_env(workflow))
        env.update(self.job_env)
        env.update(self.exported)
        env.update(self.step_env_stack)
        env.update({k: to_string(v) for k, v in step_env.items()})
        if self.path_add:
            env["PATH"] = os.pathsep.join([*self.path_add, env.get("PATH", "")])
        return env

    def read_env_files(self, files: dict[str, Path]) -> None:
        self.exported.update(parse_env_file(files["GITHUB_ENV"].read_text(encoding="utf-8")))
        for line in files["GITHUB_PATH"].read_text(encoding="utf-8").splitlines():
            if line.strip():
                self.path_add.insert(0, line.strip())


def stop_gpg_agent(home: Path) -> None:
    """gpg starts an agent per GNUPGHOME (here the job's HOME): stop it with the job."""
    gnupg = home / ".gnupg"
    if gnupg.exists() and shutil.which("gpgconf"):
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], capture_output=True,
                       env={**os.environ, "GNUPGHOME": str(gnupg)}, timeout=30)
