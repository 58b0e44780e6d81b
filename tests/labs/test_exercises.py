"""Every exercise, run top to bottom against the session's local world (nbclient, a fresh kernel
each): with its solution every check passes; as the blank student copy no cell raises and every
check answers with a hint (so the checks can fail). No output shows a secret.

The notebooks in labs/ are run here only, not collected by nbval (pyproject's testpaths name
tests/ and notebooks/), so each runs once. A blank copy runs after its solution, on the state
the solution left: that is running an exercise twice.
"""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from helpers.checks import PASS, TRY_AGAIN
from tools import make_labs

pytestmark = pytest.mark.stack

SOLUTIONS = sorted(make_labs.SOLUTIONS.glob("*.ipynb"))
NAMES = [path.name for path in SOLUTIONS]
#: Settings whose values must never appear in a notebook's output.
SECRET_WORDS = ("TOKEN", "PASSWORD", "SECRET", "WEBHOOK_URL")
CELL_TIMEOUT = 120


def run(path, tmp_path) -> nbformat.NotebookNode:
    """Execute a notebook in a fresh kernel (working directory ``tmp_path``); a cell that
    raises fails the test with its traceback."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name=notebook.metadata["kernelspec"]["name"],
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    return notebook


def check_answers(notebook) -> list[str]:
    """The text each check cell answered with, in order."""
    answers = []
    for cell in notebook.cells:
        if "check" in cell.metadata.get("tags", []):
            [result] = [o for o in cell.outputs if o.output_type == "execute_result"]
            answers.append(result.data["text/plain"])
    assert answers, "the notebook has no check cell"
    return answers


def outputs_text(notebook) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts += [str(v) for v in output.get("data", {}).values()]
    return "\n".join(parts)


def assert_no_secrets(notebook, settings: dict[str, str]) -> None:
    text = outputs_text(notebook)
    leaked = [
        name
        for name, value in settings.items()
        if any(word in name for word in SECRET_WORDS) and len(value) >= 6 and value in text
    ]
    assert not leaked, f"outputs show the value of {leaked}"


@pytest.mark.parametrize("name", NAMES)
def test_the_solution_passes_every_check(name, lab_world, tmp_path):
    notebook = run(make_labs.SOLUTIONS / name, tmp_path)
    answers = check_answers(notebook)
    assert all(a.startswith(PASS) for a in answers), "\n".join(answers)
    assert_no_secrets(notebook, lab_world.settings)


@pytest.mark.parametrize("name", NAMES)
def test_the_blank_copy_runs_and_every_check_gives_a_hint(name, lab_world, tmp_path):
    notebook = run(make_labs.LABS / name, tmp_path)
    answers = check_answers(notebook)
    assert all(a.startswith(TRY_AGAIN) for a in answers), "\n".join(answers)
    assert not any("could not finish" in a or "Traceback" in a for a in answers), answers
    assert_no_secrets(notebook, lab_world.settings)
