"""Insertion and deletion against the RISE authors' evaluation code, and the baselines
defined in the model's input space ("zero", "rise_blur")."""
import numpy as np
import pytest
from scipy.special import softmax

import labkit
from labkit._tf import keras
from labkit.explainers import ParameterError
from labkit.metrics import baseline_image, deletion, insertion, rise_blur_kernel
from labkit.models.efficientnet_lite import preprocess as preprocess_lite
from labkit.models.preprocessing import preprocess_none, preprocess_torch
from labkit.models.registry import preprocess_caffe, preprocess_tf

# -- a numpy transcription of eclique/RISE evaluation.py (torch -> numpy, NCHW) ---------
HW = 224 * 224  # image area


def gkern(klen, nsig):
    """Returns a Gaussian kernel array (3, 3, klen, klen): channel i to channel i."""
    from scipy.ndimage import gaussian_filter
    inp = np.zeros((klen, klen))
    inp[klen // 2, klen // 2] = 1
    k = gaussian_filter(inp, nsig)
    kern = np.zeros((3, 3, klen, klen))
    kern[0, 0] = k
    kern[1, 1] = k
    kern[2, 2] = k
    return kern.astype("float32")


def conv2d(x, kern, padding):
    """torch.nn.functional.conv2d(x, kern, padding=padding): zero padding, correlation."""
    klen = kern.shape[-1]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    h, w = x.shape[2] + 2 * padding - klen + 1, x.shape[3] + 2 * padding - klen + 1
    out = np.zeros((x.shape[0], kern.shape[0], h, w), np.float32)
    for u in range(klen):
        for v in range(klen):
            out += np.einsum("oc,nchw->nohw", kern[:, :, u, v], xp[:, :, u:u + h, v:v + w])
    return out


def auc(arr):
    """Returns normalized Area Under Curve of the array."""
    return (arr.sum() - arr[0] / 2 - arr[-1] / 2) / (arr.shape[0] - 1)


def single_run(model, mode, step, substrate_fn, img_tensor, explanation):
    """CausalMetric(model, mode, step, substrate_fn).single_run(img_tensor, explanation).

    The reference scores each step's image as it goes; the model is deterministic, so
    here the images are collected and scored in one batched call.
    """
    pred = model(img_tensor)
    c = np.argmax(pred, 1)[0]
    n_steps = (HW + step - 1) // step
    if mode == "del":
        start = img_tensor.copy()
        finish = substrate_fn(img_tensor)
    elif mode == "ins":
        start = substrate_fn(img_tensor)
        finish = img_tensor.copy()
    # Coordinates of pixels in order of decreasing saliency
    salient_order = np.flip(np.argsort(explanation.reshape(-1, HW), axis=1), axis=-1)
    seen = []
    for i in range(n_steps + 1):
        seen.append(start.copy())
        if i < n_steps:
            coords = salient_order[:, step * i:step * (i + 1)]
            start.reshape(1, 3, HW)[0, :, coords] = finish.reshape(1, 3, HW)[0, :, coords]
    return model(np.concatenate(seen))[:, c]


def reference_model(classifier):
    """nn.Sequential(model, nn.Softmax(dim=1)) on model-space NCHW tensors, in TensorFlow."""
    def model(x):
        logits = classifier.model.predict(np.transpose(x, (0, 2, 3, 1)), batch_size=32,
                                          verbose=0)
        return softmax(logits.astype(np.float64), axis=1)
    return model


def to_tensor(classifier, image):
    """The reference's normalised image tensor (1, 3, 224, 224) for this model."""
    return np.transpose(np.asarray(classifier.preprocess(image.astype(np.float32))),
                        (2, 0, 1))[None].astype(np.float32)


@pytest.fixture(scope="module")
def lite0():
    return labkit.load_model("efficientnet_lite0")


# 224 * 8 pixels per step, as the reference notebook's batch evaluation (28 steps); its
# single-image 224 per step is steps=224 here, the same code with 8 times the images.
@pytest.mark.parametrize("photo, method", [("chelsea", "gradcam"), ("coffee", "rise")])
def test_curves_reproduce_the_reference_code(lite0, photo, method, step=224 * 8):
    image = labkit.sample_image(photo)
    assert image.shape == (224, 224, 3)  # the reference works at HW = 224 * 224
    params = {"num_masks": 128} if method == "rise" else {}
    explanation = labkit.explain(lite0, image, method, seed=0, **params)
    assert explanation.target == int(np.argmax(lite0.predict(image[None])[0]))

    model, tensor = reference_model(lite0), to_tensor(lite0, image)
    kern = gkern(11, 5)
    blur = lambda x: conv2d(x, kern, padding=11 // 2)  # noqa: E731 (the reference's own line)
    sal = explanation.saliency
    ref_del = single_run(model, "del", step, np.zeros_like, tensor, sal)
    ref_ins = single_run(model, "ins", step, blur, tensor, sal)

    steps = HW // step
    ours_del = deletion(lite0, image, explanation, baseline="zero", steps=steps)
    ours_ins = insertion(lite0, image, explanation, baseline="rise_blur", steps=steps)
    assert len(ours_del.scores) == len(ref_del) == steps + 1
    assert abs(ours_del.auc - auc(ref_del)) <= 2e-3, (ours_del.auc, auc(ref_del))
    assert abs(ours_ins.auc - auc(ref_ins)) <= 2e-3, (ours_ins.auc, auc(ref_ins))
    # The same images at the ends: the curves differ only by the order of tied pixels.
    for ours, ref in ((ours_del, ref_del), (ours_ins, ref_ins)):
        assert ours.scores[0] == pytest.approx(ref[0], abs=1e-4)
        assert ours.scores[-1] == pytest.approx(ref[-1], abs=1e-4)
    # labkit's own defaults are other curves: the test could tell them apart.
    assert abs(deletion(lite0, image, explanation, steps=steps).auc - auc(ref_del)) > 2e-3


# -- the baselines themselves ------------------------------------------------------------
def test_rise_blur_kernel_is_the_references():
    kernel = rise_blur_kernel()
    np.testing.assert_array_equal(kernel, gkern(11, 5)[0, 0])
    assert kernel.shape == (11, 11) and kernel.sum() == pytest.approx(1.0, abs=1e-6)
    assert kernel[5, 5] == pytest.approx(0.0088, abs=1e-4)
    assert kernel[0, 0] == pytest.approx(0.0077, abs=1e-4)


def tiny_classifier(preprocess, name, backend="tensorflow"):
    """A small random CNN (seeded) behind ``preprocess``, to compare model spaces."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, activation="tanh", name="conv")(inputs)
    outputs = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(x))
    return labkit.Classifier(keras.Model(inputs, outputs), name=name, preprocess=preprocess,
                             input_range=(-3, 3), layer="conv",
                             class_names=["a", "b", "c"], batch_size=8, backend=backend)


@pytest.fixture(scope="module")
def photo32():
    return labkit.sample_image("chelsea", size=32)


@pytest.mark.parametrize("preprocess, zero", [
    (preprocess_tf, (127.5, 127.5, 127.5)),
    (preprocess_lite, (127.0, 127.0, 127.0)),
    (preprocess_caffe, (123.68, 116.779, 103.939)),
    (preprocess_torch, (123.675, 116.28, 103.53)),
    (preprocess_none, (0.0, 0.0, 0.0)),
])
def test_zero_and_rise_blur_are_defined_in_model_space(photo32, preprocess, zero):
    model = tiny_classifier(preprocess, "space")
    np.testing.assert_allclose(model.to_pixel_space(0.0), zero, atol=2e-3)
    image = photo32.astype(np.float32)
    filled = baseline_image(image, "zero", model=model)
    np.testing.assert_allclose(np.asarray(preprocess(filled)), 0.0, atol=1e-4)
    # The reference blurs the model-space tensor with zero padding.
    tensor = np.transpose(np.asarray(preprocess(image)), (2, 0, 1))[None]
    expected = np.transpose(conv2d(tensor, gkern(11, 5), padding=5)[0], (1, 2, 0))
    blurred = np.asarray(preprocess(baseline_image(image, "rise_blur", model=model)))
    np.testing.assert_allclose(blurred, expected, atol=1e-4)


def test_zero_outside_the_pixel_range_is_still_exact(photo32):
    # x / 255 + 0.5 maps 0 from -127.5: a fill no photo has, passed unclipped.
    model = tiny_classifier(lambda x: x / 255.0 + 0.5, "shifted", backend="openvino")
    np.testing.assert_allclose(model.to_pixel_space(0.0), -127.5, atol=1e-3)
    image = photo32
    saliency = np.random.default_rng(0).random((32, 32))
    curve = deletion(model, image, saliency, target=1, steps=4, baseline="zero")
    tensor = image.astype(np.float32) / 255.0 + 0.5
    rank = np.argsort(np.argsort(-saliency.ravel(), kind="stable")).reshape(32, 32)
    kept = [(rank >= k)[..., None] * tensor for k in np.round(np.linspace(0, 1024, 5))]
    expected = softmax(model.model.predict(np.stack(kept), verbose=0), axis=1)[:, 1]
    np.testing.assert_allclose(curve.scores, expected, atol=1e-5)
    at_zero = softmax(np.asarray(model.model(np.zeros((1, 32, 32, 3), np.float32)))[0])
    assert curve.scores[-1] == pytest.approx(at_zero[1], abs=1e-5)


def test_model_space_baselines_need_an_affine_preprocess_and_a_model(photo32):
    image = photo32
    with pytest.raises(ParameterError, match="baseline 'zero' is defined in a model's input space"):
        baseline_image(image, "zero")
    model = tiny_classifier(lambda x: (x / 255.0) ** 2, "squared")
    with pytest.raises(ParameterError, match="not an invertible affine map"):
        deletion(model, image, np.zeros((32, 32)), baseline="zero", steps=2)
