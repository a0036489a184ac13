"""The student/answer-key converter on small synthetic notebooks."""
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from labkit.course import instructor

ANSWER_META = {"nbgrader": {"solution": True, "grade": False, "locked": False, "task": False,
                            "schema_version": 3, "grade_id": "q1"}}
EXERCISE = """def add(a, b):
    \"\"\"Add two numbers.\"\"\"
    ### BEGIN SOLUTION
    total = a + b
    return total
    ### END SOLUTION
"""


def _notebook():
    code = new_code_cell(EXERCISE, execution_count=3,
                         outputs=[new_output("stream", name="stdout", text="hi\n")])
    return new_notebook(cells=[
        new_markdown_cell("# Lab\n\nIntro text."),
        code,
        new_code_cell("### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION\nprint('kept')"),
        new_markdown_cell("The model looks at the ears.", metadata=ANSWER_META),
        new_markdown_cell("*Question 1.* Why?\n=== BEGIN MARK SCHEME ===\nBecause.\n"
                          "=== END MARK SCHEME ===\nAnswer below."),
    ])


def test_student_version_stubs_solutions_and_keeps_the_rest():
    nb = _notebook()
    student = instructor.student_version(nb)
    src = [c.source for c in student.cells]
    assert src[0] == "# Lab\n\nIntro text."
    assert "a + b" not in src[1] and "def add(a, b):" in src[1] and "Add two numbers." in src[1]
    assert '    raise NotImplementedError("Exercise' in src[1]
    assert src[2] == "# YOUR CODE HERE\nprint('kept')"
    assert src[3] == "YOUR ANSWER HERE"
    assert src[4] == "*Question 1.* Why?\nAnswer below."
    assert student.cells[1].outputs == [] and student.cells[1].execution_count is None
    assert student.cells[3].metadata["nbgrader"]["grade_id"] == "q1"
    # The source notebook is untouched, and the stub really behaves like one.
    assert "a + b" in nb.cells[1].source and nb.cells[1].outputs
    namespace = {}
    exec(src[1], namespace)
    with pytest.raises(NotImplementedError):
        namespace["add"](1, 2)


def test_answer_key_keeps_solutions_and_mark_schemes_without_outputs():
    key = instructor.answer_key(_notebook())
    assert "total = a + b" in key.cells[1].source
    assert "Because." in key.cells[4].source
    assert key.cells[3].source == "The model looks at the ears."
    assert key.cells[1].outputs == [] and key.cells[1].execution_count is None


@pytest.mark.parametrize("source", ["### BEGIN SOLUTION\nx = 1\n",
                                    "x = 1\n### END SOLUTION",
                                    "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION"])
def test_unbalanced_markers_name_the_cell(source):
    nb = new_notebook(cells=[new_markdown_cell("hi"), new_code_cell(source)])
    with pytest.raises(ValueError, match=r"lab9.ipynb, cell 1: .*SOLUTION"):
        instructor.student_version(nb, "lab9.ipynb")


def test_build_writes_both_folders_and_cli_exit_codes(tmp_path, capsys):
    src = tmp_path / "notebooks"
    src.mkdir()
    nbformat.write(_notebook(), src / "lab1_demo.ipynb")
    nbformat.write(_notebook(), src / "scratch.ipynb")  # not a lab: ignored
    assert instructor.main(["build", str(src), str(tmp_path / "build")]) == 0
    student = nbformat.read(tmp_path / "build/student/lab1_demo.ipynb", as_version=4)
    key = nbformat.read(tmp_path / "build/answer_key/lab1_demo.ipynb", as_version=4)
    assert "a + b" not in student.cells[1].source and "a + b" in key.cells[1].source
    assert not (tmp_path / "build/student/scratch.ipynb").exists()
    assert instructor.main(["build", str(tmp_path / "empty"), str(tmp_path / "b2")]) == 2
    assert "no notebook matching" in capsys.readouterr().err
