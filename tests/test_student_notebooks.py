"""The student versions of the committed labs run top to bottom without an error.

Slow (each lab runs for minutes): ``pytest -m slow tests/test_student_notebooks.py``.
"""
from pathlib import Path

import nbformat
import pytest

from labkit.course import instructor

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
LABS = sorted(p.name for p in NOTEBOOKS.glob("lab*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("name", LABS)
def test_student_version_runs_without_error(name, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", "1")  # this environment's kernel
    instructor.build(NOTEBOOKS, tmp_path, pattern=name)
    nb = nbformat.read(tmp_path / "student" / name, as_version=4)
    assert not any(instructor.BEGIN_SOLUTION in c.source or instructor.BEGIN_SCHEME in c.source
                   for c in nb.cells), "a solution or mark scheme leaked into the student version"
    # Run from notebooks/ so relative data paths resolve as in the committed labs.
    client = NotebookClient(nb, timeout=1800, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
