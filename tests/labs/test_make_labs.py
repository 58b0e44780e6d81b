"""The exercise generator (tools/make_labs.py): the student copy of a solution, and the copies in
labs/ being exactly what `make labs` makes from labs/solutions/."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tools import make_labs
from tools.make_labs import MarkerError, blank

SOLVED = '''def close(ec2, group_id):
    """Close it."""
    ### BEGIN SOLUTION
    ### TODO revoke every world-open range
    ### STUB return None
    ec2.revoke(group_id)
    return "closed"
    ### END SOLUTION'''


def test_a_region_becomes_its_todo_and_its_stub_at_its_indent():
    assert blank(SOLVED) == (
        'def close(ec2, group_id):\n    """Close it."""\n'
        "    # TODO revoke every world-open range\n    return None"
    )


def test_without_directives_the_region_becomes_a_plain_todo():
    source = "x = 1\n### BEGIN SOLUTION\nspl = 'index=main'\n### END SOLUTION\nprint(x)"
    assert blank(source) == "x = 1\n# TODO: your code here\nprint(x)"


def test_cells_without_markers_are_unchanged():
    assert blank("print('hello')\n# an ordinary comment") == "print('hello')\n# an ordinary comment"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("### BEGIN SOLUTION\nx = 1", "line 1: ### BEGIN SOLUTION has no ### END SOLUTION"),
        ("x = 1\n### END SOLUTION", "line 2: ### END SOLUTION without ### BEGIN SOLUTION"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside another region"),
        ("if True:\n    ### BEGIN SOLUTION\n    x = 1\n### END SOLUTION", "not indented like"),
        ("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION", "### STUB"),
    ],
)
def test_wrong_markers_are_refused_with_the_place(source, message):
    with pytest.raises(MarkerError, match=message.replace("(", r"\(")) as caught:
        blank(source, "01_x.ipynb, cell 3")
    assert str(caught.value).startswith("01_x.ipynb, cell 3")


def test_the_student_copy_clears_outputs_and_keeps_everything_else():
    solved = new_code_cell(SOLVED, execution_count=3, outputs=[{"output_type": "stream",
                           "name": "stdout", "text": "closed"}])  # fmt: skip
    check = new_code_cell("exercise.check(group)", metadata={"tags": ["check"]})
    notebook = new_notebook(cells=[new_markdown_cell("# Exercise"), solved, check])
    copy = make_labs.student_copy(notebook, "01_x.ipynb")
    assert copy.cells[0].source == "# Exercise"
    assert "return None" in copy.cells[1].source and "revoke(" not in copy.cells[1].source
    assert copy.cells[1].outputs == [] and copy.cells[1].execution_count is None
    assert copy.cells[2].metadata["tags"] == ["check"]
    assert notebook.cells[1].outputs, "the solution itself is left as it was"


def test_a_solution_without_a_region_is_refused():
    with pytest.raises(MarkerError, match="nothing for the student to do"):
        make_labs.student_copy(new_notebook(cells=[new_code_cell("x = 1")]), "09_x.ipynb")


def test_stale_names_changed_missing_and_orphaned_copies(tmp_path):
    solutions, labs = tmp_path / "labs" / "solutions", tmp_path / "labs"
    solutions.mkdir(parents=True)
    for name in ("01_a", "02_b", "03_c"):
        nbformat.write(new_notebook(cells=[new_code_cell(SOLVED)]), solutions / f"{name}.ipynb")
    for path, text in make_labs.generate(solutions, labs).items():
        path.write_text(text, encoding="utf-8")
    assert make_labs.stale(solutions, labs) == []
    (labs / "02_b.ipynb").write_text("{}", encoding="utf-8")
    (labs / "03_c.ipynb").unlink()
    (labs / "04_d.ipynb").write_text("{}", encoding="utf-8")
    assert make_labs.stale(solutions, labs) == [
        "labs/02_b.ipynb is out of date",
        "labs/03_c.ipynb is out of date",
        "labs/04_d.ipynb has no solution in labs/solutions",
    ]


def test_the_committed_exercises_are_in_sync_with_their_solutions():
    problems = make_labs.stale()
    assert not problems, "\n".join([*problems, "run `make labs`"])


def test_every_solution_has_a_check_cell():
    for path in sorted(make_labs.SOLUTIONS.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        tags = [c.metadata.get("tags", []) for c in notebook.cells]
        assert any("check" in t for t in tags), f"{path.name} has no cell tagged check"
