"""labkit installs next to a TensorFlow that is already there (Google Colab, university
JupyterHub images, conda environments) without adding a second TensorFlow distribution, and
explains a photo there.

A fresh virtual environment gets ``tensorflow`` first (an older release than pip's newest,
as a hosted image carries), then labkit from this checkout, as a student or a hub
administrator would install it. Slow (minutes: TensorFlow alone unpacks to about 2 GB); it
runs in CI with the rest of ``make test``.
"""
import json
import subprocess
import sys
import venv

import pytest
from pip_tools import build_labkit_wheel, pip, tail

pytestmark = pytest.mark.slow

#: The TensorFlow "already there": the release Google Colab carried in 2025.
PREINSTALLED = "tensorflow==2.19.*"

#: Distributions that each ship TensorFlow itself (add-ons such as tensorflow-io-gcs-filesystem
#: write other packages and do not count).
TENSORFLOWS = ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-intel",
               "tensorflow-macos", "tensorflow-cpu-aws", "tf-nightly", "tf-nightly-cpu")

# Run inside the new environment: which distributions write the tensorflow package, and an
# explanation on the real model and a real photo.
PROBE = """
import importlib.metadata as metadata, json, warnings
warnings.simplefilter("error", RuntimeWarning)  # an OpenVINO fallback must not hide here
import labkit
from labkit.doctor import tensorflow_distributions
model = labkit.load_model("efficientnet_lite0")
image = labkit.sample_image("elephant_waterhole", size=224)
gradcam = labkit.explain(model, image, "gradcam")
rise = labkit.explain(model, image, "rise", num_masks=64, seed=0)
names = sorted({d.metadata["Name"].lower().replace("_", "-") for d in metadata.distributions()})
print(json.dumps({
    "writers": tensorflow_distributions(),
    "names": names,
    "version": metadata.version("tensorflow"),
    "backend": model.backend,
    "top": model.top_k(image, 1)[0].name,
    "gradcam": [float(gradcam.saliency.min()), float(gradcam.saliency.max())],
    "rise_std": float(rise.saliency.std()),
}))
"""


def _python(env_dir):
    folder = "Scripts" if sys.platform == "win32" else "bin"
    return env_dir / folder / ("python.exe" if sys.platform == "win32" else "python")


def test_labkit_installs_beside_a_preinstalled_tensorflow_and_explains(tmp_path):
    env_dir = tmp_path / "env"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = _python(env_dir)

    first = pip("install", "--quiet", PREINSTALLED, python=python)
    assert first.returncode == 0, f"installing {PREINSTALLED} failed:\n{tail(first)}"
    version = pip("show", "tensorflow", python=python).stdout
    wheel = build_labkit_wheel(tmp_path / "wheel")
    second = pip("install", "--quiet", str(wheel), python=python)
    assert second.returncode == 0, f"installing labkit failed:\n{tail(second)}"

    done = subprocess.run([str(python), "-c", PROBE], capture_output=True, text=True, check=False,
                          cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    # Exactly one distribution of TensorFlow, the one that was there, untouched.
    assert found["writers"] == ["tensorflow"], found
    assert [n for n in found["names"] if n in TENSORFLOWS] == ["tensorflow"], found["names"]
    assert f"Version: {found['version']}" in version and found["version"].startswith("2.19.")
    # And labkit works there: OpenVINO converts, Grad-CAM and RISE give real maps.
    assert found["backend"] == "openvino"
    assert found["top"] == "African elephant"
    low, high = found["gradcam"]
    assert low >= 0 and high > low
    assert found["rise_std"] > 0
