"""A job's environment as GitHub's runner keeps it between steps.

The variables of the workflow, the job and each step, what steps export
through ``GITHUB_ENV`` and ``GITHUB_PATH``, and the job's status so far (what
``success()`` and ``failure()`` read). :func:`parse_env_file` reads the files
steps write (``GITHUB_ENV``, ``GITHUB_OUTPUT``), heredoc blocks included.
"""

from __future__ import annotations

import os
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


class JobState:
    def __init__(self, job: Job, workspace: Path, temp: Path, env: dict, contexts: dict,
                 home: Path):
        self.job, self.workspace, self.temp, self.base_env = job, workspace, temp, env
        self.contexts, self.home = contexts, home
        self.job_env: dict[str, str] = {}
        self.exported: dict[str, str] = {}  # GITHUB_ENV
        self.path_add: list[str] = []  # GITHUB_PATH, newest first
        self.step_env_stack: dict[str, str] = {}  # a composite action's caller's step env
        self.status = "success"

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
