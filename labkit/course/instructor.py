"""Student and answer-key notebooks from the instructor's notebooks, with nbgrader's markup.

``python -m labkit.instructor build notebooks/ build/`` (or ``make student``) reads every
``lab*.ipynb`` of the source folder and writes ``build/student/`` and ``build/answer_key/``.
The committed notebooks stay the single source: solutions, mark schemes and outputs.

The markup is nbgrader's (https://nbgrader.readthedocs.io, "Creating assignments"), so an
instructor who later adopts nbgrader keeps the same notebooks, but no nbgrader database,
server or package is needed (nbgrader pulls in a web server and a database for what is
here a few string replacements):

- **Code**: lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (markers
  included) are the solution. Inside a function (indented markers) the student version
  gets ``raise NotImplementedError("Exercise: ...")`` at the same indentation, so the
  function exists and its check, in ``labkit.exercises``, prints "not implemented yet"
  instead of stopping the notebook. At top level (unindented markers) the block becomes
  ``# YOUR CODE HERE``: keep top-level solutions to code nothing later depends on.
- **Written answers**: a markdown cell whose metadata holds
  ``"nbgrader": {"solution": true, "grade": false, "locked": false, "task": false,
  "schema_version": 3, "grade_id": "<unique id>"}`` is an answer cell; the student
  version shows ``YOUR ANSWER HERE`` in its place. A code cell with ``solution: true``
  and no markers is emptied to ``# YOUR CODE HERE``.
- **Mark schemes**: in any markdown cell, the lines between ``=== BEGIN MARK SCHEME ===``
  and ``=== END MARK SCHEME ===`` (markers included) are for markers only: removed from
  the student version, kept in the answer key.

Both versions have their outputs and execution counts cleared and keep every cell's
metadata (nbgrader's included), so the student version can still be autograded by
nbgrader. Everything else is copied unchanged. A marker without its partner raises a
``ValueError`` naming the notebook and cell.
"""
import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_SCHEME, END_SCHEME = "=== BEGIN MARK SCHEME ===", "=== END MARK SCHEME ==="
ANSWER_PROMPT = "YOUR ANSWER HERE"
CODE_PROMPT = "# YOUR CODE HERE"
STUB = 'raise NotImplementedError("Exercise: write this part yourself")'

__all__ = ["answer_key", "build", "student_version"]


def _blocks(source, begin, end, where):
    """Yield (start, stop) line indices of each begin..end block, markers included."""
    lines = source.split("\n")
    start = None
    for i, line in enumerate(lines):
        text = line.strip()
        if text == begin:
            if start is not None:
                raise ValueError(f"{where}: {begin!r} twice without {end!r} between them.")
            start = i
        elif text == end:
            if start is None:
                raise ValueError(f"{where}: {end!r} without a {begin!r} before it.")
            yield start, i
            start = None
    if start is not None:
        raise ValueError(f"{where}: {begin!r} has no matching {end!r}.")


def _replace_blocks(source, begin, end, where, replacement):
    """``source`` with each block replaced by ``replacement(indent)`` (None drops it)."""
    lines = source.split("\n")
    out, last = [], 0
    for start, stop in _blocks(source, begin, end, where):
        out += lines[last:start]
        indent = re.match(r"\s*", lines[start]).group()
        new = replacement(indent)
        if new is not None:
            out.append(indent + new)
        last = stop + 1
    return "\n".join(out + lines[last:])


def _is_answer_cell(cell):
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution", False))


def _clear_outputs(cell):
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None


def student_version(nb, name="notebook"):
    """A copy of ``nb`` for students: solutions stubbed, answers emptied, no mark scheme.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The instructor's notebook (not modified).
    name : str
        Used in error messages.

    Returns
    -------
    nbformat.NotebookNode
    """
    nb = copy.deepcopy(nb)
    for i, cell in enumerate(nb.cells):
        where = f"{name}, cell {i}"
        _clear_outputs(cell)
        if cell.cell_type == "code":
            has_markers = BEGIN_SOLUTION in cell.source or END_SOLUTION in cell.source
            if has_markers:
                cell.source = _replace_blocks(cell.source, BEGIN_SOLUTION, END_SOLUTION, where,
                                              lambda indent: STUB if indent else CODE_PROMPT)
            elif _is_answer_cell(cell):
                cell.source = CODE_PROMPT
        elif cell.cell_type == "markdown":
            if _is_answer_cell(cell):
                cell.source = ANSWER_PROMPT
            else:
                cell.source = _replace_blocks(cell.source, BEGIN_SCHEME, END_SCHEME, where,
                                              lambda indent: None)
    return nb


def answer_key(nb, name="notebook"):
    """A copy of ``nb`` with solutions and mark schemes, outputs cleared (markers checked)."""
    nb = copy.deepcopy(nb)
    for i, cell in enumerate(nb.cells):
        where = f"{name}, cell {i}"
        _clear_outputs(cell)
        markers = ((BEGIN_SOLUTION, END_SOLUTION) if cell.cell_type == "code"
                   else (BEGIN_SCHEME, END_SCHEME))
        list(_blocks(cell.source, *markers, where))
    return nb


def build(source, destination, pattern="lab*.ipynb"):
    """Write ``destination/student/`` and ``destination/answer_key/`` from ``source``.

    Parameters
    ----------
    source : path-like
        Folder of the instructor's notebooks.
    destination : path-like
        Output folder (created); existing files of the same names are overwritten.
    pattern : str
        Glob of the notebooks to convert.

    Returns
    -------
    list of Path
        The notebooks written.
    """
    source, destination = Path(source), Path(destination)
    notebooks = sorted(source.glob(pattern))
    if not notebooks:
        raise FileNotFoundError(f"no notebook matching {pattern!r} in {source}; point the "
                                "first argument at the folder of the instructor's notebooks.")
    written = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        for folder, convert in (("student", student_version), ("answer_key", answer_key)):
            out = destination / folder / path.name
            out.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(convert(nb, path.name), out)
            written.append(out)
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m labkit.instructor",
                                     description="Build student and answer-key notebooks.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write <destination>/student and <destination>/answer_key")
    b.add_argument("source", help="folder of the instructor's notebooks (e.g. notebooks/)")
    b.add_argument("destination", help="output folder (e.g. build/)")
    b.add_argument("--pattern", default="lab*.ipynb")
    args = parser.parse_args(argv)
    try:
        written = build(args.source, args.destination, args.pattern)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
