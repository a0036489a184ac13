"""pip as on a student's laptop, for the install tests: the index, and nothing else of this
machine's pip set-up (its constraint file, extra local indexes and wheel folders), so that a
resolution proves what the index offers everyone."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

# How to reach the index (a university mirror, a proxy, its certificate): kept.
_KEEP = {"PIP_INDEX_URL", "PIP_CERT", "PIP_CLIENT_CERT", "PIP_TRUSTED_HOST", "PIP_PROXY",
         "PIP_DEFAULT_TIMEOUT", "PIP_TIMEOUT", "PIP_RETRIES", "PIP_CACHE_DIR"}


def pip_env():
    """os.environ without pip configuration files and without PIP_* settings but those in
    ``_KEEP``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") or k in _KEEP}
    env["PIP_CONFIG_FILE"] = os.devnull  # pip then reads no configuration file at all
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run(*args, python=sys.executable, timeout=900):
    """Run ``python *args`` with :func:`pip_env`; the CompletedProcess (text)."""
    return subprocess.run([str(python), *args], env=pip_env(), text=True, capture_output=True,
                          check=False, timeout=timeout)


def pip(*args, python=sys.executable, timeout=900):
    """Run ``python -m pip *args`` with :func:`pip_env`."""
    return run("-m", "pip", *args, python=python, timeout=timeout)


def requirement(name):
    """labkit's requirement string for the distribution ``name`` (e.g. "lime>=0.2.0.1,<0.3")."""
    for line in PROJECT["dependencies"]:
        if re.match(r"[A-Za-z0-9_.\-]+", line).group(0).lower() == name:
            return line
    raise KeyError(name)


def tail(process, lines=15):
    """The last lines of a pip run's output, for an assertion message."""
    text = (process.stdout + process.stderr).strip().splitlines()
    return "\n".join(text[-lines:])


def build_labkit_wheel(folder):
    """Build labkit's wheel from a copy of this checkout into ``folder``; its path.

    A copy, because setuptools leaves build/ and labkit.egg-info/ beside the sources (and
    a stale egg-info there would shadow the installed metadata of labkit)."""
    source = Path(folder) / "source"
    shutil.copytree(ROOT / "labkit", source / "labkit",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    built = pip("wheel", "--no-deps", "--quiet", "--wheel-dir", str(folder), str(source))
    assert built.returncode == 0, f"pip wheel of labkit failed:\n{tail(built)}"
    shutil.rmtree(source)
    (wheel,) = Path(folder).glob("labkit-*.whl")
    return wheel
