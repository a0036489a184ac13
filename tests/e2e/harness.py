"""Drive a real JupyterLab in headless Chromium, the way a student would.

:class:`JupyterLab` runs a throwaway server from this Python environment; the functions
below open a notebook, run all its cells through the menu, and check what is on screen.
Every wait has a deadline, so a stuck kernel fails the test instead of hanging CI.
"""
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = Path(os.environ.get("LABKIT_E2E_NOTEBOOKS", REPO / "notebooks")).resolve()
SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("LABKIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
VIEWPORT = {"width": 1400, "height": 900}
MAX_SCREENSHOT_HEIGHT = 16000  # pixels; Chromium cannot capture much taller pages

# JupyterLab user settings for the test server. No autosave, so running a notebook never
# rewrites the committed file; every cell attached to the DOM, so all of them can be
# checked and captured; no news pop-up over the screenshots.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                     "checkForUpdates": False},
}

# A Python traceback, or IPython's "SomeError: message" summary line, in a stderr output.
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\w*(Error|Exception)\b.*:",
                       re.MULTILINE)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JupyterLab:
    """A JupyterLab server on 127.0.0.1 with a random token, isolated from the user's setup.

    Parameters
    ----------
    root_dir : Path
        Folder the server shows; notebooks are opened relative to it.
    work_dir : Path
        Empty folder for the server's runtime, config, data and settings, and its log.
    timeout : float
        Seconds to wait for the server to answer ``/api/status``.
    """

    def __init__(self, root_dir, work_dir, timeout=120):
        self.root_dir = Path(root_dir)
        self.work_dir = Path(work_dir)
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.work_dir / "jupyterlab.log"
        self.timeout = timeout
        self.process = None

    def __enter__(self):
        env = dict(os.environ)
        for name in ("runtime", "config", "data"):
            env[f"JUPYTER_{name.upper()}_DIR"] = str(self.work_dir / name)
        env["JUPYTER_PREFER_ENV_PATH"] = "1"  # this environment's kernel, not a user-wide one
        env["IPYTHONDIR"] = str(self.work_dir / "ipython")  # no personal startup scripts
        settings = self.work_dir / "settings"
        for plugin, values in LAB_SETTINGS.items():
            path = settings / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        command = [
            sys.executable, "-m", "jupyter", "lab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={self.work_dir / 'workspaces'}",
        ]
        if os.geteuid() == 0:  # CI containers run as root; the server refuses that by default
            command.append("--allow-root")
        log = open(self.log_path, "wb")
        # Own process group, so teardown can signal the server and anything it spawned.
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                        cwd=self.root_dir, start_new_session=True)
        log.close()
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def api(self, path, method="GET"):
        request = urllib.request.Request(f"{self.url}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def _wait_until_ready(self):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self.process.returncode}:\n"
                                   f"{self.log_tail()}")
            try:
                self.api("status")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.5)
        raise TimeoutError(f"JupyterLab did not answer within {self.timeout} s:\n"
                           f"{self.log_tail()}")

    def shutdown_kernels(self):
        """End every notebook session, so kernels do not pile up between notebooks."""
        if self.process.poll() is not None:
            return  # the server is gone, and its kernels with it
        for session in self.api("sessions"):
            self.api(f"sessions/{session['id']}", method="DELETE")

    def stop(self):
        """Shut down kernels and server politely; terminate, then kill, whatever is left."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.api("shutdown", method="POST")
            self.process.wait(timeout=20)
            return
        except (OSError, urllib.error.URLError, subprocess.TimeoutExpired):
            pass
        for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                continue

    def log_tail(self, lines=40):
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def notebook_url(self, name):
        # reset: a fresh workspace, else JupyterLab reopens (and starts kernels for) the
        # notebooks of the previous test.
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"


def write_demo_notebook(path):
    """A small notebook shaped like the labs: a figure, then a slider + dropdown + Run panel.

    Used to check the harness itself, independently of the real labs.
    """
    setup = (
        "import io\n"
        "import ipywidgets as widgets\n"
        "import matplotlib\n"
        "import matplotlib.pyplot as plt\n"
        "import numpy as np\n"
        "x = np.linspace(0, 2 * np.pi, 200)\n"
        "plt.plot(x, np.sin(x))\n"
        "plt.title('A static figure')\n"
        "plt.show()"
    )
    panel = (
        "def render(frequency, colormap):\n"
        "    fig, ax = plt.subplots(figsize=(4, 3))\n"
        "    ax.imshow(np.sin(frequency * x)[None, :] * np.cos(x)[:, None], cmap=colormap)\n"
        "    ax.set_title(f'frequency {frequency}')\n"
        "    buffer = io.BytesIO()\n"
        "    fig.savefig(buffer, format='png')\n"
        "    plt.close(fig)\n"
        "    return buffer.getvalue()\n"
        "\n"
        "slider = widgets.IntSlider(value=3, min=1, max=10, description='frequency')\n"
        "dropdown = widgets.Dropdown(options=['viridis', 'magma'], description='colormap')\n"
        "button = widgets.Button(description='Run')\n"
        "image = widgets.Image(value=render(slider.value, dropdown.value), format='png')\n"
        "button.on_click(lambda _: setattr(image, 'value', render(slider.value, dropdown.value)))\n"
        "widgets.VBox([widgets.HBox([slider, dropdown, button]), image])"
    )
    cells = [nbformat.v4.new_markdown_cell("# Demo lab"),
             nbformat.v4.new_code_cell(setup), nbformat.v4.new_code_cell(panel)]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, path)


# -- driving the page -------------------------------------------------------------------
def _wait_for(page, predicate_js, timeout, what):
    """Poll a JavaScript expression until it is truthy; fail naming ``what`` otherwise."""
    try:
        page.wait_for_function(predicate_js, timeout=timeout * 1000, polling=500)
    except Exception as err:  # Playwright's TimeoutError, with the page state in the message
        raise AssertionError(f"Timed out after {timeout} s waiting for {what}.") from err


_CELL_STATE_JS = r"""() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return null;
  const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
    .map(p => p.textContent.trim());
  const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
  // The indicator reads "idle" before any kernel is attached; the status bar knows better.
  const statusbar = document.querySelector('#jp-main-statusbar');
  const connected = !!statusbar && /\| Idle|\| Busy/.test(statusbar.textContent);
  return {prompts, status: connected && indicator ? indicator.getAttribute('data-status') : null};
}"""


def cell_state(page):
    """Input prompts of every code cell (``[3]:``, ``[*]:``, ``[ ]:``) and the kernel status."""
    return page.evaluate(_CELL_STATE_JS)


def open_notebook(page, lab, name, timeout=180):
    """Open ``name`` in JupyterLab and wait until its kernel is idle."""
    page.goto(lab.notebook_url(name), wait_until="domcontentloaded", timeout=timeout * 1000)
    _wait_for(page, f"() => {{ const s = ({_CELL_STATE_JS})(); return s && s.status === 'idle'; }}",
              timeout, f"{name} to open with an idle kernel")
    # Fold the file browser away: the notebook gets the full width, as in the screenshots.
    current_tab = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
    if current_tab.count():
        current_tab.first.click()


def run_all_cells(page, name, timeout):
    """Run → Run All Cells, then wait until every code cell has an execution count."""
    # Committed notebooks already show execution counts: only a busy kernel or a queued
    # cell ([*]) proves that this run started.
    started = (f"() => {{ const s = ({_CELL_STATE_JS})(); return s && (s.status === 'busy' || "
               "s.prompts.some(p => p === '[*]:')); }")
    # On a server that has just started, the first menu click can land before the notebook
    # is wired to its kernel and run nothing: retry until some cell is queued or running.
    for attempt in range(3):
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
        try:
            _wait_for(page, started, 20, f"{name} to start running")
            break
        except AssertionError:
            if attempt == 2:
                raise
    done = (f"() => {{ const s = ({_CELL_STATE_JS})(); return s && s.status === 'idle' && "
            r"s.prompts.length > 0 && s.prompts.every(p => /^\[\d+\]:$/.test(p)); }")
    try:
        _wait_for(page, done, timeout, f"all cells of {name} to finish")
    except AssertionError as err:
        raise AssertionError(f"{err} Cell prompts: {cell_state(page)}") from None


def error_outputs(page):
    """Texts of stderr outputs that hold a Python traceback or an exception line."""
    texts = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) '
                         '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
                         ).all_inner_texts()
    return [text for text in texts if TRACEBACK.search(text)]


_MARK_PANEL_JS = """() => {
  // The first widget panel: the smallest box holding a Run button, an image and a control.
  const buttons = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) button')]
    .filter(b => /\\bRun\\b/.test(b.textContent));
  for (const button of buttons) {
    for (let node = button.parentElement; node; node = node.parentElement) {
      if (node.classList.contains('jp-OutputArea-output')) break;
      if (node.querySelector('.widget-image') &&
          node.querySelector('.widget-slider, .widget-dropdown')) {
        node.setAttribute('data-e2e-panel', '');
        return true;
      }
    }
  }
  return false;
}"""

_IMAGE_DIGEST_JS = """async (img) => {
  if (!img.src) return null;
  const bytes = await (await fetch(img.src)).arrayBuffer();
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join('');
}"""


def image_digest(image):
    """SHA-256 of the bytes an ``img`` element shows (blob URLs change even for equal bytes)."""
    return image.evaluate(_IMAGE_DIGEST_JS)


def change_a_control(panel):
    """Move the panel's first slider one step (or pick another dropdown option).

    Returns a description of the change, for failure messages.
    """
    sliders = panel.locator(".widget-slider")
    if sliders.count():
        slider = sliders.first
        readout = slider.locator(".widget-readout")
        before = readout.inner_text()
        handle = slider.locator(".noUi-handle").first
        handle.focus()
        for key in ("ArrowRight", "ArrowLeft", "ArrowLeft"):  # the left step in case it sat at max
            handle.press(key)
            if readout.inner_text() != before:
                break
        after = readout.inner_text()
        assert after != before, f"The slider did not move with the arrow keys (stuck at {before})."
        return f"slider {before} -> {after}"
    select = panel.locator(".widget-dropdown select").first
    options = select.locator("option").all_inner_texts()
    current = select.evaluate("s => s.options[s.selectedIndex].text")
    other = next(o for o in options if o != current)
    select.select_option(label=other)
    return f"dropdown {current} -> {other}"


def exercise_widget_panel(page, timeout):
    """Change one control, press Run, and return (element, change) once the figure changed."""
    assert page.evaluate(_MARK_PANEL_JS), (
        "No widget panel with a Run button, an image and a slider or dropdown was found.")
    panel = page.locator("[data-e2e-panel]")
    panel.scroll_into_view_if_needed()
    image = panel.locator(".widget-image").first
    before = image_digest(image)
    change = change_a_control(panel)
    panel.locator("button", has_text=re.compile(r"\bRun\b")).first.click()
    deadline = time.monotonic() + timeout
    while image_digest(image) == before:
        assert time.monotonic() < deadline, (
            f"The figure did not change within {timeout} s after {change} and Run. "
            f"Panel text: {panel.inner_text()!r}")
        time.sleep(0.5)
    return panel, change


def full_screenshot(page, path):
    """Capture the whole notebook: grow the window to the notebook's height, then shoot."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height = page.evaluate("""() => {
      const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
      const scroller = panel.querySelector('.jp-WindowedPanel-outer');
      scroller.scrollTop = 0;  // from the first cell, wherever the run left the view
      return scroller.scrollHeight + (window.innerHeight - scroller.clientHeight);
    }""")
    page.set_viewport_size({"width": VIEWPORT["width"],
                            "height": max(VIEWPORT["height"], min(height, MAX_SCREENSHOT_HEIGHT))})
    page.wait_for_timeout(500)  # one layout pass after the resize
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(VIEWPORT)
