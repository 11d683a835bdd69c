"""The rehearsal's workflow reader and job runner, on small workflows written here
and on the repository's own (which must be runnable as written)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from rehearsal.actions import INPUTS, MAPPINGS
from rehearsal.jobenv import parse_env_file
from rehearsal.jobs import JobRunner, Run
from rehearsal.workflows import WorkflowError, check, load, load_all, triggered

ROOT = Path(__file__).resolve().parents[2]


def write(root: Path, name: str, text: str) -> Path:
    path = root / ".github" / "workflows" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_the_repository_workflows_can_be_run_as_written():
    assert check(ROOT, INPUTS) == []


def test_an_unknown_action_is_an_error_naming_file_job_and_step(tmp_path):
    write(tmp_path, "bad.yml", """\
        on: push
        jobs:
          build:
            runs-on: ubuntu-latest
            steps:
              - name: Script
                uses: actions/github-script@0123456789abcdef0123456789abcdef01234567
        """)
    [problem] = check(tmp_path, INPUTS)
    assert ".github/workflows/bad.yml, job build, step 'Script'" in problem
    assert "actions/github-script has no local mapping" in problem


def test_every_mapping_says_which_inputs_it_reads(tmp_path):
    assert INPUTS.keys() == MAPPINGS.keys()
    write(tmp_path, "w.yml", """\
        on: push
        jobs:
          a:
            steps:
              - name: Sparse
                uses: actions/checkout@v5
                with: {path: here, sparse-checkout: docs}
        """)
    assert check(tmp_path, INPUTS) == [
        ".github/workflows/w.yml, job a, step 'Sparse': actions/checkout is given "
        "sparse-checkout, which its local mapping does not read (rehearsal/actions.py)"]


def test_a_pinned_sha_or_a_tag_map_alike(tmp_path):
    write(tmp_path, "ok.yml", """\
        on: push
        jobs:
          a:
            steps:
              - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5
              - uses: actions/setup-python@v6
        """)
    assert check(tmp_path, INPUTS) == []


def test_an_unsupported_expression_is_an_error_naming_the_file(tmp_path):
    write(tmp_path, "expr.yml", """\
        on: push
        jobs:
          a:
            if: github.event.commits.*.message
            steps:
              - run: echo "${{ hashFiles('x') }} ${{ nope() }}"
        """)
    problems = check(tmp_path, INPUTS)
    assert len(problems) == 2
    assert all(p.startswith(".github/workflows/expr.yml") for p in problems)


def test_a_composite_action_is_read_as_written(tmp_path):
    action = tmp_path / ".github" / "actions" / "mine" / "action.yml"
    action.parent.mkdir(parents=True)
    action.write_text("runs:\n  using: composite\n  steps:\n"
                      "    - uses: actions/not-mapped@v1\n")
    write(tmp_path, "w.yml", "on: push\njobs:\n  a:\n    steps:\n"
                             "      - uses: ./.github/actions/mine\n")
    [problem] = check(tmp_path, INPUTS)
    assert ".github/actions/mine/action.yml" in problem and "actions/not-mapped" in problem


def test_the_self_repository_form_is_read_as_the_relative_one(tmp_path):
    """``$/path`` (GitHub's self-repository form) names the same files as ``./path``:
    a composite action's steps are checked, and an unknown form stays an error."""
    action = tmp_path / ".github" / "actions" / "mine" / "action.yml"
    action.parent.mkdir(parents=True)
    action.write_text("runs:\n  using: composite\n  steps:\n"
                      "    - uses: actions/not-mapped@v1\n")
    write(tmp_path, "w.yml", """\
        on: push
        jobs:
          a:
            steps:
              - uses: $/.github/actions/mine
              - name: Outside
                uses: $/../elsewhere
              - name: Missing
                uses: $/.github/actions/nowhere
              - name: Container
                uses: docker://alpine:3.21
        """)
    problems = check(tmp_path, INPUTS)
    assert len(problems) == 4, problems
    assert ".github/actions/mine/action.yml" in problems[0]
    assert "actions/not-mapped" in problems[0]
    assert problems[1] == (".github/workflows/w.yml, job a, step 'Outside': "
                           "uses $/../elsewhere: a path outside the repository")
    assert problems[2].startswith(".github/workflows/w.yml, job a, step 'Missing': no action.yml")
    assert problems[3].startswith(".github/workflows/w.yml, job a, step 'Container': "
                                  "the action docker://alpine:3.21 has no local mapping")


def test_jobs_follow_needs_and_a_cycle_is_refused(tmp_path):
    path = write(tmp_path, "n.yml", """\
        on: push
        jobs:
          deploy: {needs: build, steps: []}
          build: {needs: [lint], steps: []}
          lint: {steps: []}
        """)
    assert [j.id for j in load(path).jobs] == ["lint", "build", "deploy"]
    write(tmp_path, "c.yml", "on: push\njobs:\n  a: {needs: b}\n  b: {needs: a}\n")
    with pytest.raises(WorkflowError, match="a cycle in needs"):
        load(tmp_path / ".github" / "workflows" / "c.yml")


def test_triggers_read_from_on():
    workflows = load_all(ROOT)
    validate = workflows["validate.yml"]
    assert triggered(validate, "pull_request", branch="main",
                     files=["announcements/2026/2026-03-02-x.md"])
    assert not triggered(validate, "pull_request", branch="main", files=["README.md"])
    assert triggered(workflows["send.yml"], "push", branch="main")
    assert not triggered(workflows["send.yml"], "push", branch="feature")
    assert triggered(workflows["send.yml"], "workflow_dispatch")


def test_env_files_with_heredocs():
    assert parse_env_file("A=1\nB<<EOF\nline 1\nline 2\nEOF\nC=x=y\n") == {
        "A": "1", "B": "line 1\nline 2", "C": "x=y"}


class Host:
    repository = "town/banditore"
    remote = None
    api_proxy = ""

    def __init__(self):
        self.lines = []
        self.extra = {}

    def machine_env(self):
        return {"PATH": os.environ["PATH"], **self.extra}

    def secrets(self, environment, ref, where):
        return {"PASS": "p4ss"}

    def variables(self):
        return {"WHERE": "here"}

    def new_token(self, permissions):
        return "token"

    def log(self, text):
        self.lines.append(text)


COMPOSITE = """\
name: greet
inputs:
  who: {required: true}
outputs:
  said: {value: "${{ steps.say.outputs.said }}"}
runs:
  using: composite
  steps:
    - id: say
      shell: bash
      env: {WHO: "${{ inputs.who }}"}
      run: echo "said=hello $WHO" >> "$GITHUB_OUTPUT"
"""


def test_a_run_as_github_runs_it(tmp_path):
    """GITHUB_ENV, GITHUB_OUTPUT (heredoc too), GITHUB_PATH, step outputs in if: and env:,
    continue-on-error, always(), a composite action of the repository, needs outputs."""
    path = write(tmp_path, "w.yml", """\
        name: w
        on: push
        env: {FROM_WORKFLOW: wf}
        jobs:
          first:
            outputs: {greeting: "${{ steps.greet.outputs.said }}"}
            steps:
              - run: |
                  mkdir -p .github/actions bin
                  cp -r "$ACTION_SOURCE" .github/actions/greet
                  printf '#!/bin/sh\\necho tool\\n' > bin/tool && chmod +x bin/tool
                  echo "$PWD/bin" >> "$GITHUB_PATH"
                  echo "EXPORTED=yes" >> "$GITHUB_ENV"
                  { echo 'multi<<END'; echo x; echo 'a b'; echo END; } >> "$GITHUB_OUTPUT"
                id: setup
              - id: greet
                uses: ./.github/actions/greet
                with: {who: "${{ vars.WHERE }}"}
              - id: broken
                continue-on-error: true
                run: exit 3
              - if: steps.broken.outcome == 'failure' && endsWith(steps.setup.outputs.multi, 'a b')
                env: {PASS: "${{ secrets.PASS }}"}
                run: |
                  test "$EXPORTED" = yes && test "$FROM_WORKFLOW" = wf && test "$(tool)" = tool
                  test "$PASS" = p4ss && test "$CI" = true && test -f "$GITHUB_EVENT_PATH"
                  echo "ran" > "$RUNNER_TEMP/../ran"
              - run: exit 1
              - if: always()
                run: echo "## done" >> "$GITHUB_STEP_SUMMARY"
              - run: echo "never"
          second:
            needs: first
            if: always()
            steps:
              - env:
                  GOT: "${{ needs.first.outputs.greeting }} ${{ needs.first.result }}"
                run: test "$GOT" = "hello here failure"
        """)
    (tmp_path / "greet").mkdir()
    (tmp_path / "greet" / "action.yml").write_text(COMPOSITE)
    workflow = load(path)
    (tmp_path / "runs").mkdir()
    run = Run(1, workflow, "push", {"ref": "refs/heads/main"}, "refs/heads/main", "0" * 40)
    host = Host()
    host.extra = {"ACTION_SOURCE": str(tmp_path / "greet")}
    JobRunner(host, run, tmp_path / "runs").go()
    assert run.jobs["first"]["result"] == "failure"
    assert run.jobs["first"]["outputs"] == {"greeting": "hello here"}
    assert run.jobs["second"]["result"] == "success"
    assert "## done\n" in run.summary
    assert list(tmp_path.glob("runs/job-first-*/ran"))
    assert [t.outcome for t in run.times if t.job == "first"] == [
        "success", "success", "success", "failure", "success", "failure", "success"]


def test_a_self_repository_action_runs_from_the_commit_without_a_checkout(tmp_path):
    """``uses: $/path`` is read from the repository at the run's commit (the folder the
    workflow was read from), not from the job's workspace, which here stays empty;
    ``uses: ./path`` in the same job still needs a checkout, as on GitHub."""
    (tmp_path / ".github" / "actions" / "greet").mkdir(parents=True)
    (tmp_path / ".github" / "actions" / "greet" / "action.yml").write_text(COMPOSITE)
    path = write(tmp_path, "w.yml", """\
        on: push
        jobs:
          a:
            outputs: {greeting: "${{ steps.greet.outputs.said }}"}
            steps:
              - run: test -z "$(ls -A)"
              - id: greet
                uses: $/.github/actions/greet
                with: {who: "${{ vars.WHERE }}"}
          b:
            steps:
              - uses: ./.github/actions/greet
                with: {who: x}
        """)
    (tmp_path / "runs").mkdir()
    run = Run(1, load(path), "push", {}, "refs/heads/main", "abc")
    host = Host()
    JobRunner(host, run, tmp_path / "runs").go()
    assert run.jobs["a"] == {"result": "success", "outputs": {"greeting": "hello here"},
                             "workspace": run.jobs["a"]["workspace"]}
    assert [t.step for t in run.times if t.job == "a"] == [
        'test -z "$(ls -A)"', "say", "greet"]  # the action's step, then the action
    assert run.jobs["b"]["result"] == "failure"
    assert any("no action.yml at ./.github/actions/greet in the job's workspace" in line
               for line in host.lines)


def test_a_reusable_workflow_of_the_repository_runs_its_jobs(tmp_path):
    """How the site is built from send.yml: a job calling $/.github/workflows/x.yml."""
    write(tmp_path, "site.yml", """\
        on:
          workflow_call:
            inputs: {sha: {type: string}, flavour: {type: string, default: plain}}
            outputs: {url: {value: "${{ jobs.build.outputs.url }}"}}
        jobs:
          build:
            outputs: {url: "${{ steps.made.outputs.url }}"}
            steps:
              - id: made
                env: {SHA: "${{ inputs.sha }}", PASS: "${{ secrets.PASS }}"}
                run: |
                  test "$PASS" = p4ss
                  echo "url=site-$SHA-${{ inputs.flavour }}" >> "$GITHUB_OUTPUT"
        """)
    path = write(tmp_path, "send.yml", """\
        on: push
        jobs:
          send: {steps: [{run: "true"}]}
          site:
            needs: send
            uses: $/.github/workflows/site.yml
            with: {sha: "${{ github.sha }}"}
            secrets: inherit
          after:
            needs: site
            steps:
              - env: {URL: "${{ needs.site.outputs.url }}"}
                run: test "$URL" = "site-abc-plain"
        """)
    assert check(tmp_path, INPUTS) == []
    (tmp_path / "runs").mkdir()
    run = Run(1, load(path), "push", {}, "refs/heads/main", "abc")
    JobRunner(Host(), run, tmp_path / "runs").go()
    assert {k: v["result"] for k, v in run.jobs.items()} == {
        "send": "success", "site": "success", "after": "success"}
    assert [t.job for t in run.times] == ["send", "site/build", "after"]


def test_a_reusable_workflow_of_another_repository_is_refused(tmp_path):
    write(tmp_path, "w.yml", "on: push\njobs:\n  a:\n    uses: someone/else/.github/workflows/"
                             "x.yml@0123456789abcdef0123456789abcdef01234567\n")
    [problem] = check(tmp_path, INPUTS)
    assert ".github/workflows/w.yml, job a" in problem and "only a reusable workflow" in problem


def test_a_called_workflow_must_exist_and_be_callable(tmp_path):
    write(tmp_path, "pushed.yml", "on: push\njobs:\n  x: {steps: [{run: 'true'}]}\n")
    write(tmp_path, "w.yml", "on: push\njobs:\n  a:\n    uses: $/.github/workflows/gone.yml\n"
                             "  b:\n    uses: ./.github/workflows/pushed.yml\n")
    gone, pushed = check(tmp_path, INPUTS)
    assert gone == (".github/workflows/w.yml, job a: uses $/.github/workflows/gone.yml: "
                    "no such file in the repository")
    assert pushed.startswith(".github/workflows/w.yml, job b: uses ./.github/workflows/pushed")
    assert "no workflow_call trigger" in pushed


def test_a_missing_working_directory_fails_the_step_not_the_rehearsal(tmp_path):
    path = write(tmp_path, "w.yml", """\
        on: push
        jobs:
          a:
            steps:
              - run: "true"
                working-directory: trusted
              - if: failure()
                run: echo "## failed as on GitHub" >> "$GITHUB_STEP_SUMMARY"
        """)
    (tmp_path / "runs").mkdir()
    run = Run(1, load(path), "push", {}, "refs/heads/main", "abc")
    host = Host()
    JobRunner(host, run, tmp_path / "runs").go()
    assert run.jobs["a"]["result"] == "failure"
    assert "## failed as on GitHub\n" in run.summary
    assert any("working-directory trusted: no such folder" in line for line in host.lines)


SAVE = """\
runs:
  using: composite
  steps:
    - shell: bash
      run: echo saved > "$RUNNER_TEMP/../saved"
    - if: failure()
      shell: bash
      run: echo "never, no step of this action failed" > "$RUNNER_TEMP/../wrong"
    - shell: bash
      run: test "$FAIL" != yes
"""


def test_a_composite_action_s_steps_read_the_action_s_status_not_the_job_s(tmp_path):
    """As GitHub's runner: after a failed step, `if: always()` on a composite action runs
    its steps that have no `if:` (success() is the action's own status); and a step of
    it that fails still fails the action, though the job had failed already."""
    (tmp_path / ".github" / "actions" / "save").mkdir(parents=True)
    (tmp_path / ".github" / "actions" / "save" / "action.yml").write_text(SAVE)
    path = write(tmp_path, "w.yml", """\
        on: push
        jobs:
          a:
            steps:
              - run: exit 1
              - id: save
                if: always()
                uses: $/.github/actions/save
              - id: again
                if: always()
                uses: $/.github/actions/save
                env: {FAIL: "yes"}
              - if: always()
                env: {SAVED: "${{ steps.save.outcome }}", AGAIN: "${{ steps.again.outcome }}"}
                run: echo "$SAVED $AGAIN" > "$RUNNER_TEMP/../outcomes"
        """)
    (tmp_path / "runs").mkdir()
    run = Run(1, load(path), "push", {}, "refs/heads/main", "abc")
    JobRunner(Host(), run, tmp_path / "runs").go()
    [job] = list(tmp_path.glob("runs/job-a-*"))
    assert (job / "saved").read_text() == "saved\n"
    assert not (job / "wrong").exists()
    assert (job / "outcomes").read_text() == "success failure\n"
    assert run.jobs["a"]["result"] == "failure"
