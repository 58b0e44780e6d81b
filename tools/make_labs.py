"""Generate the student exercises ``labs/NN_*.ipynb`` from their solutions in ``labs/solutions/``.

A solution marks what the student writes with nbgrader's markers. In the student copy the
region becomes a TODO comment and a harmless stub, so the notebook still runs top to bottom and
the check after it answers with its hint::

    def close_world_ingress(ec2, group_id, policy):
        ### BEGIN SOLUTION
        ### TODO revoke every world-open range the policy does not allow
        ### STUB return None
        ...the solution...
        ### END SOLUTION

becomes::

    def close_world_ingress(ec2, group_id, policy):
        # TODO revoke every world-open range the policy does not allow
        return None

``### TODO`` lines (default: ``TODO: your code here``) and ``### STUB`` lines (default: none)
are the region's first lines. Usage: ``python tools/make_labs.py`` (``make labs``) writes the
copies; ``--check`` only says which are out of date.
"""

from __future__ import annotations

import argparse
import ast
import copy
import sys
from pathlib import Path

import nbformat

LABS = Path(__file__).resolve().parent.parent / "labs"
SOLUTIONS = LABS / "solutions"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
TODO, STUB = "### TODO", "### STUB"
DEFAULT_TODO = "TODO: your code here"


class MarkerError(ValueError):
    """A solution's markers are wrong; the message names the notebook, cell and line."""


def blank(source: str, where: str = "the cell") -> str:
    """The student's version of one code cell's source (unchanged when it has no region).

    >>> print(blank("x = 1\\n### BEGIN SOLUTION\\n### STUB spl = ...\\nspl = 'index=main'\\n"
    ...             "### END SOLUTION"))
    x = 1
    # TODO: your code here
    spl = ...
    """
    out: list[str] = []
    region: dict | None = None
    for number, line in enumerate(source.splitlines(), start=1):
        text = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        if text == BEGIN:
            if region is not None:
                raise MarkerError(f"{where}, line {number}: {BEGIN} inside another region")
            region = {"indent": indent, "todo": [], "stub": [], "line": number, "body": False}
        elif text == END:
            if region is None:
                raise MarkerError(f"{where}, line {number}: {END} without {BEGIN}")
            if indent != region["indent"]:
                raise MarkerError(f"{where}, line {number}: {END} is not indented like {BEGIN}")
            pad = region["indent"]
            out += [f"{pad}# {todo}" for todo in region["todo"] or [DEFAULT_TODO]]
            out += [pad + stub for stub in region["stub"]]
            region = None
        elif region is None:
            out.append(line)
        elif not region["body"] and text.startswith(TODO):
            region["todo"].append("TODO" + text[len(TODO) :])
        elif not region["body"] and text.startswith(STUB):
            region["stub"].append(text[len(STUB) :].strip())
        else:
            region["body"] = True
    if region is not None:
        raise MarkerError(f"{where}, line {region['line']}: {BEGIN} has no {END}")
    result = "\n".join(out)
    try:
        ast.parse(result)
    except SyntaxError as err:
        raise MarkerError(
            f"{where}: the student copy is not valid Python ({err.msg}, line {err.lineno}); "
            f"give the region a {STUB} line"
        ) from None
    return result


def student_copy(solution: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The exercise notebook for a solution notebook (outputs cleared)."""
    notebook = copy.deepcopy(solution)
    regions = 0
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        source = blank(cell.source, f"{name}, cell {index}")
        regions += source != cell.source
        cell.source = source
        cell.outputs = []
        cell.execution_count = None
    if not regions:
        raise MarkerError(f"{name}: no {BEGIN} region, so there is nothing for the student to do")
    return notebook


def generate(solutions: Path = SOLUTIONS, labs: Path = LABS) -> dict[Path, str]:
    """Every student copy's path and text, made in memory."""
    copies = {}
    for path in sorted(solutions.glob("*.ipynb")):
        solution = nbformat.read(path, as_version=4)
        copies[labs / path.name] = nbformat.writes(student_copy(solution, path.name)) + "\n"
    return copies


def stale(solutions: Path = SOLUTIONS, labs: Path = LABS) -> list[str]:
    """What is out of date in ``labs/``: copies that differ or are missing, and orphans."""
    copies = generate(solutions, labs)
    problems = [
        f"{path.relative_to(labs.parent)} is out of date"
        for path, text in copies.items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    problems += [
        f"{path.relative_to(labs.parent)} has no solution in {solutions.relative_to(labs.parent)}"
        for path in sorted(labs.glob("*.ipynb"))
        if path not in copies
    ]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say what is out of date")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale()
        for problem in problems:
            print(problem)
        if problems:
            print("run `make labs` to regenerate labs/ from labs/solutions/")
        return 1 if problems else 0
    copies = generate()
    for path in sorted(LABS.glob("*.ipynb")):
        if path not in copies:
            path.unlink()
    for path, text in copies.items():
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(copies)} exercise notebook(s) to {LABS.relative_to(LABS.parent)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
