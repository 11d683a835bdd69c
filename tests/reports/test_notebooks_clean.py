"""Committed notebooks carry no outputs: outputs of a real run would put
citizens' data (and noise) in git. `python -m runner report` fills them in
memory only; this test fails if someone saves a run into the repository."""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert {p.stem for p in NOTEBOOKS} >= {"subscribers", "deliveries"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [i for i, cell in enumerate(nb["cells"], 1) if cell["cell_type"] == "code"
             and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, (
        f"{path.name}: cells {dirty} have outputs or execution counts. Clear them "
        f"(`jupyter nbconvert --clear-output --inplace {path}`) before committing.")
    assert not any("injected-parameters" in c.get("metadata", {}).get("tags", [])
                   for c in nb["cells"]), f"{path.name}: an injected parameters cell was saved"
