"""The rehearsal's ``${{ }}`` evaluator, against GitHub's documented semantics."""

from __future__ import annotations

import pytest

from rehearsal.expressions import Evaluator, ExpressionError, condition, interpolate, parse

CONTEXTS = {
    "github": {"ref": "refs/heads/main", "event_name": "workflow_run", "run_id": "7",
               "event": {"workflow_run": {"head_branch": "main", "conclusion": "failure",
                                          "head_sha": "abc", "event": "pull_request"},
                         "pull_request": {"number": 12}}},
    "vars": {"BANDITORE_LOGS_SOURCE": "ssh"},
    "secrets": {"TOKEN": "s3cret"},
    "steps": {"cache": {"outputs": {"cache-matched-key": "k-1", "cache-hit": "false"}},
              "changed": {"outputs": {"checked": "true"}, "outcome": "success"},
              "download": {"outcome": "failure"}},
    "needs": {"build": {"result": "success", "outputs": {"url": "u"}}},
    "inputs": {"passphrase": "p"},
    "env": {"NAME": "x"},
}


def value(text: str, status: str = "success"):
    return Evaluator(CONTEXTS, status=status).evaluate(text)


@pytest.mark.parametrize("text, expected", [
    ("github.ref == 'refs/heads/main'", True),
    ("github.ref == 'REFS/HEADS/MAIN'", True),  # strings compare without case
    ("github.ref != 'refs/heads/main'", False),
    ("vars.UNSET", None),
    ("vars.UNSET || 'eu-south-1'", "eu-south-1"),
    ("vars.BANDITORE_LOGS_SOURCE || 'x'", "ssh"),
    ("steps.cache.outputs.cache-matched-key", "k-1"),
    ("steps.cache.outputs['cache-hit'] != 'true'", True),
    ("steps.changed.outputs.checked == 'true' && 'yes' || 'no'", "yes"),
    ("github.event.pull_request.number", 12),
    ("github.event.workflow_run.head_sha || github.sha", "abc"),
    ("contains(fromJSON('[\"success\", \"failure\"]'), github.event.workflow_run.conclusion)",
     True),
    ("contains('Hello World', 'world')", True),
    ("startsWith(github.ref, 'refs/heads/')", True),
    ("endsWith(github.ref, '/MAIN')", True),
    ("format('{0}-{1}-{{x}}', github.run_id, 'a')", "7-a-{x}"),
    ("toJSON(needs.build.outputs)", '{\n  "url": "u"\n}'),
    ("fromJSON('{\"a\": [1, 2]}').a[1]", 2),
    ("needs.build.result == 'success'", True),
    ("!steps.download.outcome", False),
    ("1 == '1'", True),  # other types compare as numbers
    ("null == 0", True),
    ("'' == false", True),
    ("3 > 2 && 2 >= 2 && 1 < '2'", True),
    ("(github.event_name == 'push' || github.event_name == 'workflow_run') && true", True),
    ("'it''s'", "it's"),
    ("0x10 == 16", True),
])
def test_values(text, expected):
    assert value(text) == expected


@pytest.mark.parametrize("text, status, expected", [
    (None, "success", True),
    (None, "failure", False),
    ("steps.changed.outcome != 'skipped'", "failure", False),  # implicit success() &&
    ("always() && steps.changed.outputs.checked == 'true'", "failure", True),
    ("failure()", "failure", True),
    ("success()", "failure", False),
    ("${{ github.ref == 'refs/heads/main' }}", "success", True),
    ("cancelled()", "success", False),
])
def test_conditions(text, status, expected):
    assert condition(text, Evaluator(CONTEXTS, status=status)) is expected


def test_interpolation_keeps_the_value_of_a_whole_expression_and_writes_parts():
    evaluator = Evaluator(CONTEXTS)
    assert interpolate("${{ github.event.pull_request.number }}", evaluator) == 12
    assert interpolate("reports-${{ github.run_id }}", evaluator) == "reports-7"
    assert interpolate("${{ vars.UNSET }}", evaluator) is None
    assert interpolate("a ${{ vars.UNSET }} b", evaluator) == "a  b"


@pytest.mark.parametrize("text, message", [
    ("nope(1)", "unknown function nope()"),
    ("matrix.os == 1 && foo.bar", "unknown context 'foo'"),
    ("github.event.*.name", "object filters"),
    ("github.ref ==", "expected more"),
    ("github.ref = 'x'", "unexpected character"),
])
def test_what_cannot_be_evaluated_is_an_error_never_a_guess(text, message):
    with pytest.raises(ExpressionError, match=message):
        parse(text)


def test_hash_files_hashes_the_workspace(tmp_path):
    (tmp_path / "pyproject.toml").write_text("a")
    evaluator = Evaluator(CONTEXTS, workspace=tmp_path)
    first = evaluator.evaluate("hashFiles('pyproject.toml')")
    (tmp_path / "pyproject.toml").write_text("b")
    assert len(first) == 64 and evaluator.evaluate("hashFiles('pyproject.toml')") != first
    assert evaluator.evaluate("hashFiles('nothing/*.lock')") == ""
