"""The OpenVINO backend: exact against TensorFlow, same maps, cached conversion, fallbacks."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from labkit import explain, sample_image
from labkit._tf import keras, tf
from labkit.metrics import pcc
from labkit.models import Classifier
from labkit.models.backend import ConversionError, cache_dir

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ("chelsea", "coffee")


@pytest.fixture(scope="module", params=["mobilenet", "efficientnet_lite0"])
def backends(request):
    # MobileNet's weights come from the course cache (CI); EfficientNet-Lite0's from pip.
    if request.param == "mobilenet":
        model = request.getfixturevalue("mobilenet")
    else:
        from labkit.models import load_model
        model = load_model("efficientnet_lite0")
    return model, model.with_backend("tensorflow")


def test_auto_uses_openvino_and_matches_tensorflow_logits(backends):
    fast, slow = backends
    assert (fast.backend, slow.backend) == ("openvino", "tensorflow")
    images = np.stack([sample_image(p, size=fast.input_size) for p in PHOTOS])
    a, b = fast.predict(images, output="logit"), slow.predict(images, output="logit")
    assert np.abs(a - b).max() <= 1e-3
    np.testing.assert_array_equal(np.argsort(-a)[:, :5], np.argsort(-b)[:, :5])


@pytest.mark.parametrize("method, settings", [("lime", dict(num_samples=96)),
                                              ("rise", dict(num_masks=96))])
def test_maps_agree_across_backends_and_repeat_exactly(backends, method, settings):
    fast, slow = backends
    for photo in PHOTOS:
        image = sample_image(photo, size=fast.input_size)
        first = explain(fast, image, method, seed=3, **settings).saliency
        again = explain(fast, image, method, seed=3, **settings).saliency
        reference = explain(slow, image, method, seed=3, **settings).saliency
        np.testing.assert_array_equal(first, again)
        assert pcc(first, reference) >= 0.999


@pytest.mark.parametrize("size", [None, (300, 400)], ids=["input size", "resized"])
def test_masked_composites_score_as_the_composited_images(backends, size):
    fast, slow = backends
    image = sample_image("coffee", size=size or fast.input_size)
    rng = np.random.default_rng(0)
    soft = rng.random((3,) + image.shape[:2]).astype(np.float32)  # RISE-like blends
    binary = np.zeros((2,) + image.shape[:2], bool)  # LIME- and deletion-like
    binary[0, : image.shape[0] // 2] = True
    fill = np.full(image.shape, 40.0, np.float32)
    for masks in (soft, binary):
        m = masks.astype(np.float32)[..., None]
        composited = m * image + (1 - m) * fill
        expected = slow.predict(composited, output="logit")
        for model in (fast, slow):
            got = model.predict_masked(image, masks, fill, output="logit")
            assert np.abs(got - expected).max() <= 1e-3, model.backend
            np.testing.assert_array_equal(got.argmax(axis=1), expected.argmax(axis=1))
    # a colour as fill, and probabilities by default
    probs = fast.predict_masked(image, binary, (40, 40, 40))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_masked_bad_input_is_one_clear_sentence(labkit_cache):
    model = _classifier(_tiny(), backend="openvino")
    image = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(ValueError, match=r"masks must have shape \(N, 32, 32\)"):
        model.predict_masked(image, np.ones((2, 16, 16)), 0)
    with pytest.raises(ValueError, match="masks must have shape"):
        model.predict_masked(image, np.ones((0, 32, 32)), 0)
    with pytest.raises(ValueError, match=r"image must have shape \(H, W, 3\)"):
        model.predict_masked(image[None], np.ones((2, 32, 32)), 0)
    with pytest.raises(ValueError, match="baseline must be an image of shape"):
        model.predict_masked(image, np.ones((2, 32, 32)), np.zeros((16, 16, 3)))
    with pytest.raises(ValueError, match="predict_masked needs baseline"):
        model.predict_masked(image, np.ones((2, 32, 32)))
    with pytest.warns(DeprecationWarning, match="predict_masked: fill is now called baseline"):
        old = model.predict_masked(image, np.ones((2, 32, 32)), fill=7)
    np.testing.assert_array_equal(old, model.predict_masked(image, np.ones((2, 32, 32)),
                                                            baseline=7))
    with pytest.raises(ValueError, match="output must be"):
        model.predict_masked(image, np.ones((2, 32, 32)), 0, output="logits")


def test_compiled_graphs_are_bounded_and_reused(labkit_cache):
    model = _classifier(_tiny(), backend="openvino")
    runtime = model._runtime
    sizes = [(32 + k, 32) for k in range(runtime.MAX_COMPILED + 2)]
    for size in sizes:
        model.predict(np.zeros((2,) + size + (3,), np.uint8))
    assert len(runtime._requests) == runtime.MAX_COMPILED
    compiled = runtime.compilations
    model.predict(np.zeros((2,) + sizes[-1] + (3,), np.uint8))  # the most recent: kept
    assert runtime.compilations == compiled
    model.predict(np.zeros((2,) + sizes[0] + (3,), np.uint8))  # the oldest: evicted
    assert runtime.compilations == compiled + 1


def _tiny(layer=None, name="tiny"):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    if layer is not None:
        x = layer(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3)(x)
    return keras.Model(inputs, outputs, name=name)


def _classifier(model, **kwargs):
    return Classifier(model, name=model.name, preprocess=lambda x: x / 127.5 - 1.0,
                      input_range=(-1, 1), layer=None, class_names=["a", "b", "c"],
                      batch_size=4, **kwargs)


class HostRelu(keras.layers.Layer):
    """A custom layer that runs numpy code: TensorFlow runs it, no converter can."""

    def call(self, x):
        y = tf.numpy_function(lambda a: np.maximum(a, 0), [x], tf.float32)
        return tf.ensure_shape(y, x.shape)


@pytest.fixture
def labkit_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path))
    return tmp_path


def test_unconvertible_layer_warns_under_auto_and_raises_when_named(labkit_cache):
    model = _tiny(HostRelu(), name="host_relu")
    with pytest.warns(RuntimeWarning, match="running on TensorFlow"):
        auto = _classifier(model)
    assert auto.backend == "tensorflow"
    assert auto.predict(np.zeros((2, 32, 32, 3), np.uint8)).shape == (2, 3)
    with pytest.raises(ConversionError, match="could not be converted to OpenVINO"):
        _classifier(model, backend="openvino")


def test_unknown_backend_and_precision_are_clear_errors(labkit_cache):
    with pytest.raises(ValueError, match=r"unknown backend 'onnx'; choose one of \['auto'"):
        _classifier(_tiny(), backend="onnx")
    with pytest.raises(ValueError, match="unknown precision"):
        _classifier(_tiny(), precision="fp8")
    with pytest.raises(ValueError, match="needs the 'openvino' backend"):
        _classifier(_tiny(), backend="tensorflow", precision="bf16")


def test_second_process_loads_from_cache_without_converting(labkit_cache):
    first = _classifier(_tiny(), backend="openvino")
    assert first._runtime.conversions == 1
    code = ("import sys; sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2]);"
            "from test_backend import _classifier, _tiny;"
            "c = _classifier(_tiny(), backend='openvino'); print(c._runtime.conversions)")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT), str(ROOT / "tests")],
                         env=dict(os.environ), capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0"


def test_corrupt_cache_entry_is_rebuilt(labkit_cache):
    images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3)).astype(np.uint8)
    expected = _classifier(_tiny(), backend="tensorflow").predict(images, output="logit")
    _classifier(_tiny(), backend="openvino")
    (binary,) = cache_dir().glob("*.bin")
    binary.write_bytes(b"\0" * binary.stat().st_size)  # same size, wrong content
    rebuilt = _classifier(_tiny(), backend="openvino")
    assert rebuilt._runtime.conversions == 1
    np.testing.assert_allclose(rebuilt.predict(images, output="logit"), expected, atol=1e-4)
    (meta,) = cache_dir().glob("*.json")
    meta.write_text("{not json")
    assert _classifier(_tiny(), backend="openvino")._runtime.conversions == 1
    assert json.loads(meta.read_text())  # rewritten whole


def test_short_last_batch_runs_unpadded_and_agrees(labkit_cache):
    images = np.random.default_rng(1).integers(0, 256, (6, 32, 32, 3)).astype(np.uint8)
    fast = _classifier(_tiny(), backend="openvino")  # batch_size 4: a full batch and 2 more
    expected = _classifier(_tiny(), backend="tensorflow").predict(images, output="logit")
    np.testing.assert_allclose(fast.predict(images, output="logit"), expected, atol=1e-4)
    full_batch = {key[1] for key in fast._runtime._requests}
    assert full_batch == {True, False}  # a static graph for 4 images, a dynamic one for 2
