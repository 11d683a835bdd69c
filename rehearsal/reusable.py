"""A job that calls a reusable workflow of the repository (``jobs.<id>.uses:``,
``./.github/workflows/x.yml`` or ``$/.github/workflows/x.yml``).

The called file is read from the same commit as its caller, in either form. Its
jobs run in ``needs`` order with the ``inputs`` its ``with:`` gives (defaults from
``on.workflow_call.inputs``) and either the caller's secrets (``secrets: inherit``)
or only those it names. As on GitHub, a called job that names an environment gets
that environment's secrets only with ``secrets: inherit``; without it they read
as empty strings, whatever the documentation suggests (actions/runner#4453 and
#1490; cli/cli#13522 found the same). The calling job succeeds when the called
jobs all do, and its outputs are ``on.workflow_call.outputs`` read over them. A
reusable workflow of another repository is an error, never skipped.
"""

from __future__ import annotations

from .expressions import Evaluator, ExpressionError, interpolate, to_string
from .workflows import Job, WorkflowError, called_workflow, load


def call(runner, job: Job, probe: Evaluator, where: str) -> dict:
    called = load(called_workflow(runner.workflow.root, str(job.spec["uses"]), where))
    spec = called.on.get("workflow_call") or {}
    try:
        inputs = {name: (d or {}).get("default") for name, d in
                  (spec.get("inputs") or {}).items()}
        inputs.update({k: interpolate(str(v), probe) if isinstance(v, str) else v
                       for k, v in (job.spec.get("with") or {}).items()})
        secrets = None  # secrets: inherit
        if job.spec.get("secrets") != "inherit":
            every = runner.host.secrets(job.environment, runner.run.ref, where)
            probe.contexts = {**probe.contexts, "secrets": every}
            secrets = {k: to_string(interpolate(str(v), probe))
                       for k, v in (job.spec.get("secrets") or {}).items()}
    except ExpressionError as exc:
        raise WorkflowError(f"{where}: {exc}") from None
    runner.host.log(f"  job {job.id}: calls {called.file}")
    inner = type(runner)(runner.host, runner.run, runner.scratch, called, inputs, secrets,
                         f"{runner.prefix}{job.id}/")
    inner._all()
    results = {j["result"] for j in inner.jobs.values()}
    evaluator = Evaluator({**probe.contexts, "jobs": inner.jobs, "inputs": inputs})
    try:
        outputs = {name: to_string(interpolate(str((d or {}).get("value", "")), evaluator))
                   for name, d in (spec.get("outputs") or {}).items()}
    except ExpressionError as exc:
        raise WorkflowError(f"{where}: outputs of {called.file}: {exc}") from None
    done = {"result": "failure" if "failure" in results else "success", "outputs": outputs}
    workspaces = [j["workspace"] for j in inner.jobs.values() if j.get("workspace")]
    if workspaces:
        done["workspace"] = workspaces[0]
    return done
