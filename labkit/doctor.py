"""``python -m labkit doctor``: is this machine ready for the labs?

The check a student runs when something is wrong, and an instructor runs on each lab
machine before class. One line per check, a tick or a cross, and for a cross what to do:

    python -m labkit doctor                              # from the course checkout
    python -m labkit doctor --data-root /srv/course/data

Python; TensorFlow (one distribution of it, and whether it sees a GPU); Keras; OpenVINO
(converts EfficientNet-Lite0 and matches TensorFlow on one photo) and the backend
``backend="auto"`` picks; each registered model's weights, offline; JupyterLab and the
ipywidgets extension; the course's class folders under ``--data-root``; labkit's cache
folder. Exit status 0 when every required check passes, 1 when one fails (OpenVINO and
the models that need a download are optional), 2 for a usage error. Under a minute on
2 cores (35 s measured on a busy machine), most of it importing TensorFlow and converting
the model the first time.
"""
import argparse
import importlib.metadata
import importlib.util
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: The Python versions labkit is tested on (tests/test_install_matrix.py resolves each).
PYTHONS = ((3, 10), (3, 13))
#: The model and photo of the OpenVINO check: the labs' default model.
PARITY_MODEL, PARITY_PHOTO = "efficientnet_lite0", "chelsea"
#: Largest logit difference accepted between OpenVINO and TensorFlow (f32 agrees to ~1e-5).
PARITY_TOLERANCE = 1e-3


@dataclass(frozen=True)
class Check:
    """The result of one check.

    Attributes
    ----------
    name : str
        What was checked ("Python", "TensorFlow", a model name...).
    ok : bool
    detail : str
        What was found, in one sentence.
    fix : str
        What to do when ``ok`` is False ("" when there is nothing to add to ``detail``).
    required : bool
        A failed required check makes ``python -m labkit doctor`` exit with status 1.
    """

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True

    def line(self, marks=("\u2713", "\u2717")):
        """The check as one line: a tick or a cross, the name, the detail and the fix."""
        text = f"{marks[0] if self.ok else marks[1]} {self.name}: {self.detail}"
        if not self.ok and self.fix:
            text += f" Fix: {self.fix}"
        if not self.ok and not self.required:
            text += " (optional)"
        return text


def _labkit_requirement(name):
    """labkit's installed requirement on ``name`` (e.g. "tensorflow<3,>=2.16"), or None when
    labkit runs from a source tree without metadata or does not name it."""
    try:
        requires = importlib.metadata.requires("labkit") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    from packaging.requirements import Requirement

    for line in requires:
        requirement = Requirement(line)
        if requirement.name.lower() == name and (requirement.marker is None
                                                 or requirement.marker.evaluate({"extra": ""})):
            return requirement
    return None


def _version_problem(name, version):
    """A sentence when ``version`` of ``name`` is outside labkit's requirement, else ""."""
    requirement = _labkit_requirement(name)
    if requirement is None or requirement.specifier.contains(version, prereleases=True):
        return ""
    return f"labkit needs {name}{requirement.specifier}, this is {version}."


# -- the checks --------------------------------------------------------------------------
def check_python(version_info=None):
    """Python 3.10-3.13 (the versions the install matrix proves)."""
    major, minor, micro = (version_info or sys.version_info)[:3]
    (low, high) = PYTHONS
    ok = low <= (major, minor) <= high
    return Check("Python", ok, f"{major}.{minor}.{micro} ({sys.executable})",
                 fix=(f"install Python {low[0]}.{low[1]}-{high[0]}.{high[1]} (python.org, or "
                      "your system's packages) and create the environment again with it."))


def tensorflow_distributions():
    """Names of the installed distributions that write the ``tensorflow`` package.

    More than one (``tensorflow`` and ``tensorflow-cpu``, say) overwrite each other's
    files. Wrappers that only depend on another one (``tensorflow`` on Windows before
    2.18 depends on ``tensorflow-intel``) write no file there and do not count.
    """
    return sorted(set(importlib.metadata.packages_distributions().get("tensorflow", [])))


def check_tensorflow():
    """TensorFlow: one distribution, a version labkit supports, and the GPUs it sees."""
    from ._tf import tf

    distributions = tensorflow_distributions()
    if len(distributions) > 1:
        others = " ".join(d for d in distributions if d.lower() != "tensorflow")
        return Check("TensorFlow", False,
                     f"{len(distributions)} distributions install the tensorflow package "
                     f"({', '.join(distributions)}) and overwrite each other's files.",
                     fix=f'pip uninstall -y {others}, then pip install --force-reinstall '
                         f'"tensorflow>=2.16,<3".')
    problem = _version_problem("tensorflow", tf.__version__)
    if problem:
        return Check("TensorFlow", False, problem,
                     fix='pip install --upgrade "tensorflow>=2.16,<3".')
    gpus = tf.config.list_physical_devices("GPU")
    seen = (f"sees {len(gpus)} GPU(s): {', '.join(g.name for g in gpus)}" if gpus
            else "no GPU visible, runs on the CPU")
    return Check("TensorFlow", True, f"{tf.__version__}, {seen}.")


def check_keras():
    """Keras 3 on its TensorFlow backend."""
    from ._tf import keras

    version = keras.__version__
    problem = _version_problem("keras", version)
    if not problem and int(version.split(".")[0]) < 3:
        problem = f"labkit needs Keras 3, this is {version}."
    if problem:
        return Check("Keras", False, problem, fix='pip install --upgrade "keras>=3.3,<4".')
    return Check("Keras", True, f"{version}, backend {keras.backend.backend()}.")


def check_openvino(model=PARITY_MODEL, photo=PARITY_PHOTO):
    """OpenVINO imports, converts ``model`` and matches TensorFlow's logits on ``photo``."""
    name = "OpenVINO"
    slower = "labkit runs on TensorFlow instead, LIME, RISE and the curves about 3x slower."
    try:
        import openvino
    except ImportError as err:
        return Check(name, False, f"not installed ({err}); {slower}",
                     fix="pip install openvino (it has no wheel for Linux on ARM).",
                     required=False)
    from .data import sample_image
    from .models import load_model
    from .models.backend import ConversionError

    version = openvino.get_version().split("-")[0]
    reference = load_model(model, backend="tensorflow")
    try:
        fast = reference.with_backend("openvino")
    except (ConversionError, ImportError, RuntimeError) as err:
        return Check(name, False, f"{version} could not convert {model}: "
                     f"{_first_line(err)}; {slower}",
                     fix='pip install --upgrade "openvino>=2025,<2027".', required=False)
    image = sample_image(photo, size=reference.input_size)[None]
    theirs = reference.predict(image, output="logit")[0]
    ours = fast.predict(image, output="logit")[0]
    gap = float(np.abs(ours - theirs).max())
    same_class = int(np.argmax(ours)) == int(np.argmax(theirs))
    ok = gap <= PARITY_TOLERANCE and same_class
    found = (f"{version} converts {model}, logits within {gap:.1e} "
             f"of TensorFlow on {photo!r}" + ("" if same_class else ", a different top class"))
    return Check(name, ok, found + ".", required=False,
                 fix='use backend="tensorflow" until OpenVINO is upgraded: '
                     'pip install --upgrade "openvino>=2025,<2027".')


def check_auto_backend(model=PARITY_MODEL):
    """Which backend ``backend="auto"`` picks here, as labkit itself decides it."""
    from ._tf import tf
    from .models import load_model

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chosen = load_model(model, backend="tensorflow").with_backend("auto")
    if chosen.backend == "openvino":
        found = "OpenVINO on the CPU for predict, LIME, RISE and the curves"
    elif tf.config.list_physical_devices("GPU"):
        found = "TensorFlow, on the GPU it sees"
    elif any("OpenVINO" in str(w.message) for w in caught):
        found = "TensorFlow on the CPU, as OpenVINO is unavailable (see the OpenVINO line)"
    else:
        found = "TensorFlow on the CPU"
    return Check('backend="auto"', True, found + "; Grad-CAM and FEM always use TensorFlow.",
                 required=False)


def check_models():
    """One check per registered model: are its weights here, offline?

    Only looks the weights file up (no model is built): a model whose weights come with
    a pip package is required, one that needs a download or a copy is optional.
    """
    from .models import MODELS, WeightsNotFoundError, list_models, weights_path

    checks = []
    for name in list_models():
        spec = MODELS.get(name)
        if spec is None:  # added with labkit.models.register in this process
            checks.append(Check(name, True, "registered in this session.", required=False))
            continue
        required = spec.weights_lookup is not None
        try:
            path = weights_path(name, download=False)
        except WeightsNotFoundError as err:
            checks.append(Check(name, False, str(err), required=required))
            continue
        problem = _weights_problem(path)
        checks.append(Check(name, not problem, problem or f"weights offline ({path}).",
                            fix=f"delete {path}; then {spec.how_to_get}.", required=required))
    return checks


def _weights_problem(path):
    """Why the weights file at ``path`` cannot be complete, or "" (cheap: no model built)."""
    path = Path(path)
    if path.stat().st_size == 0:
        return f"{path} is empty."
    if path.suffix == ".h5":
        import h5py

        if not h5py.is_hdf5(path):
            return f"{path} is not an HDF5 file (an interrupted download, or an error page)."
    return ""


def check_jupyter():
    """JupyterLab and the ipywidgets extension it needs for the labs' widgets."""
    name = "JupyterLab"
    if _on_colab():
        return Check(name, True, "Colab brings its own notebook front end.", required=False)
    versions, missing = {}, []
    for dist in ("jupyterlab", "ipykernel", "ipywidgets", "jupyterlab_widgets"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            missing.append(dist)
    fix = 'pip install "jupyterlab>=4.2,<5" ipykernel "ipywidgets>=8.1,<9" (or: make lab).'
    if missing:
        return Check(name, False, f"{', '.join(missing)} not installed.", fix=fix)
    from jupyter_core.paths import jupyter_path

    folders = [Path(p) / "@jupyter-widgets" / "jupyterlab-manager"
               for p in jupyter_path("labextensions")]
    if not any(folder.is_dir() for folder in folders):
        return Check(name, False, "the ipywidgets extension (@jupyter-widgets/jupyterlab-manager)"
                     " is in no labextensions folder, so the widgets would not show.",
                     fix="pip install --force-reinstall jupyterlab_widgets.")
    return Check(name, True, f"{versions['jupyterlab']}, ipywidgets {versions['ipywidgets']} "
                 f"with its extension (jupyterlab_widgets {versions['jupyterlab_widgets']}).")


def check_data_root(root=None):
    """The course's class folders under ``root`` (default ``./data``, optional there)."""
    from .data import course_images
    from .data.saliency import IMAGE_EXTENSIONS

    name = "course folders"
    given = root is not None
    root = Path(root if given else "data")
    readme = "see data/README.md: one folder per class, e.g. African_elephant/ and black_bear/"
    if not root.exists():
        if given:
            return Check(name, False, f"{root} does not exist.",
                         fix=f"give --data-root the folder holding the class folders ({readme}).")
        return Check(name, True, f"no {root}{os.sep} here, so the labs use the photos shipped "
                     "with labkit (give --data-root to check the course's folders).")
    try:
        course = course_images(root, limit=1)
    except (FileNotFoundError, NotADirectoryError, ValueError) as err:
        return Check(name, False, str(err))
    if course.source != "folders":
        return Check(name, not given, f"no class folder in {root}{os.sep}, so the labs use the "
                     "photos shipped with labkit.", fix=f"add the class folders ({readme}).")
    counts = []
    for folder in course.folders.values():
        n = sum(p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")
                for p in folder.iterdir())
        counts.append(f"{folder.name}{os.sep} ({n} images)")
    return Check(name, True, f"{root}: {', '.join(counts)}.")


def check_cache():
    """labkit's cache folder (converted models, the generated benchmark) is writable."""
    from .data import data_home

    home = data_home()
    try:
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=home, prefix=".doctor-") as probe:
            probe.write(b"labkit")
            probe.flush()
    except OSError as err:
        return Check("cache folder", False, f"{home} is not writable ({err.strerror}).",
                     fix="set LABKIT_DATA to a writable folder (e.g. $HOME/labkit-cache).")
    return Check("cache folder", True, f"{home} is writable.")


def _on_colab():
    try:
        return importlib.util.find_spec("google.colab") is not None
    except ImportError:  # no "google" package at all
        return False


# -- running them ------------------------------------------------------------------------
def _first_line(error):
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]


def _safely(check, *args):
    """The check's results; a check that itself fails becomes a cross, never a traceback."""
    try:
        result = check(*args)
    except Exception as err:  # noqa: BLE001 - the doctor reports, it does not crash
        name = check.__name__.removeprefix("check_").replace("_", " ")
        return [Check(name, False, f"the check failed: {type(err).__name__}: {_first_line(err)}",
                      fix="run python -m labkit doctor again; if it fails the same way, "
                          "show this line to your instructor.")]
    return result if isinstance(result, list) else [result]


def run(data_root=None, report=print):
    """Run every check, ``report`` each line as it is found; the list of :class:`Check`."""
    marks = _marks()
    plan = [(check_python,), (check_tensorflow,), (check_keras,), (check_openvino,),
            (check_auto_backend,), (check_models,), (check_jupyter,),
            (check_data_root, data_root), (check_cache,)]
    checks = []
    for check, *args in plan:
        for result in _safely(check, *args):
            report(result.line(marks))
            checks.append(result)
    return checks


def _marks():
    # A console that cannot print a tick (a Windows code page, an ASCII pipe) gets words.
    try:
        "\u2713\u2717".encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return ("[ok]", "[X]")
    return ("\u2713", "\u2717")


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # One line, no usage block: a usage error is not a traceback either.
        print(f"error: {message} (python -m labkit doctor --help)", file=sys.stderr)
        raise SystemExit(2)


def main(argv=None):
    """Command line; returns the exit status (0 ready, 1 a required check failed)."""
    parser = _Parser(prog="python -m labkit doctor", description=__doc__.split("\n\n")[1],
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", metavar="DIR",
                        help="folder holding the course's class folders, as DATA_ROOT in the "
                             "labs (default: ./data if present)")
    args = parser.parse_args(argv)
    try:
        checks = run(args.data_root, report=lambda line: print(line, flush=True))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    failed = [c for c in checks if c.required and not c.ok]
    if failed:
        print(f"{len(failed)} required check(s) failed: {', '.join(c.name for c in failed)}.")
        return 1
    print("Ready for the labs.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
