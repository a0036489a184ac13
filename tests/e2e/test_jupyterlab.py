"""End-to-end: every lab runs in JupyterLab in a real browser, and its widgets respond.

For each ``lab*.ipynb`` (in ``notebooks/``, or the folder in ``LABKIT_E2E_NOTEBOOKS``) the
test runs all cells through the Run menu, checks that no cell shows a traceback and that the
widget controls are drawn, moves a slider, presses Run and checks that the figure changed.
Screenshots land in ``artifacts/screenshots/`` for a human to look at.
"""
import os
import re

import pytest
from harness import (
    NOTEBOOKS,
    SCREENSHOTS,
    JupyterLab,
    error_outputs,
    exercise_widget_panel,
    full_screenshot,
    open_notebook,
    run_all_cells,
    write_demo_notebook,
)

pytestmark = pytest.mark.browser

LABS = sorted(path.name for path in NOTEBOOKS.glob("lab*.ipynb"))
RUN_TIMEOUT = float(os.environ.get("LABKIT_E2E_TIMEOUT", 600))  # seconds per notebook


def check_notebook(page, lab, name):
    """Run ``name`` in the browser and check what a student would see."""
    path = lab.root_dir / name
    committed = path.read_bytes()
    screenshot = SCREENSHOTS / f"{path.stem}.png"
    try:
        open_notebook(page, lab, name)
        run_all_cells(page, name, RUN_TIMEOUT)
        errors = error_outputs(page)
        assert not errors, f"{name} shows {len(errors)} error output(s); the first:\n{errors[0]}"
        notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        for selector, what in ((".widget-slider", "slider"), (".widget-dropdown", "dropdown")):
            assert notebook.locator(selector).count(), (
                f"{name} draws no {what} widget: are ipywidgets and jupyterlab_widgets installed "
                "in this environment?")
        assert notebook.locator("button", has_text=re.compile(r"\bRun\b")).count(), (
            f"{name} draws no Run button.")
        panel, _ = exercise_widget_panel(page, RUN_TIMEOUT)
        panel.screenshot(path=str(SCREENSHOTS / f"{path.stem}-widget.png"))
    finally:
        try:
            full_screenshot(page, screenshot)
        except Exception as err:  # a crashed page must not hide the real failure
            print(f"No screenshot of {name}: {err}")
        if lab.process.poll() is not None:
            print(f"JupyterLab died (exit code {lab.process.returncode}):\n{lab.log_tail()}")
        lab.shutdown_kernels()
    assert path.read_bytes() == committed, f"Running {name} in JupyterLab rewrote the file."


def test_lab_notebooks_exist():
    assert LABS, f"No lab*.ipynb in {NOTEBOOKS}: the browser test has nothing to check."


@pytest.mark.parametrize("name", LABS)
def test_lab_runs_in_jupyterlab(page, lab, name):
    check_notebook(page, lab, name)


def test_harness_on_demo_notebook(page, tmp_path_factory):
    """The harness itself works, on a small notebook with the labs' widget layout."""
    folder = tmp_path_factory.mktemp("demo")
    write_demo_notebook(folder / "demo.ipynb")
    with JupyterLab(folder, tmp_path_factory.mktemp("demo-jupyterlab")) as lab:
        check_notebook(page, lab, "demo.ipynb")
