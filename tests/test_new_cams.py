"""Occlusion, Score-CAM and Grad-CAM++ on the real EfficientNet-Lite0 and real photos."""
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

import labkit
from labkit import widgets
from labkit._tf import tf
from labkit.explainers import ParameterError, get_explainer
from labkit.explainers.cam import activation_function
from labkit.metrics import deletion, insertion

NEW = ("occlusion", "scorecam", "gradcam_plus_plus")
# Score-CAM on its ~128 strongest channels: a few seconds instead of ~800 forward passes,
# and within 0.005 AUC of all channels on these photos.
QUALITY = {"occlusion": {}, "scorecam": dict(max_channels=128), "gradcam_plus_plus": {}}
SMALL = {"occlusion": dict(window=24, stride=12), "scorecam": dict(max_channels=24),
         "gradcam_plus_plus": {}}
# Photos where one animal fills the frame: on elephant_waterhole, say, the other elephants
# behind keep the class alive when the main one is deleted, whatever the map.
PHOTOS = ("black_bear_grass", "german_shepherd")
STEPS = 15


@pytest.fixture(scope="module")
def lite0():
    return labkit.load_model("efficientnet_lite0")


@pytest.fixture(scope="module")
def small():
    return labkit.sample_image("black_bear_grass", size=96)


@pytest.fixture(scope="module")
def random_scores(lite0):
    """Deletion and insertion AUCs of six smooth random maps (Gaussian-filtered noise,
    sigma 16 px: blobs about the size of an object part), per photo."""
    rng = np.random.default_rng(0)
    maps = [gaussian_filter(rng.random((224, 224)), 16) for _ in range(6)]
    scores = {}
    for photo in PHOTOS:
        image = labkit.sample_image(photo, size=224)
        scores[photo] = (np.mean([deletion(lite0, image, m, steps=STEPS).auc for m in maps]),
                         np.mean([insertion(lite0, image, m, steps=STEPS).auc for m in maps]))
    return scores


def test_registered_with_their_records():
    assert set(NEW) <= set(labkit.list_methods())
    for name in NEW:
        record = get_explainer(name)
        assert not record.stochastic and not record.superpixels
        assert record.signed == (name == "occlusion")  # a drop can be negative: it means "against"
        assert record.needs_gradients == (name == "gradcam_plus_plus")
    assert get_explainer("occlusion").defaults == {"window": 32, "stride": 8,
                                                   "baseline": (123.675, 116.28, 103.53)}


@pytest.mark.parametrize("method", NEW)
def test_a_seed_repeats_the_map_exactly(lite0, small, method):
    a = labkit.explain(lite0, small, method, seed=1, **SMALL[method])
    b = labkit.explain(lite0, small, method, seed=1, **SMALL[method])
    c = labkit.explain(lite0, small, method, seed=2, **SMALL[method])  # deterministic
    np.testing.assert_array_equal(a.saliency, b.saliency)
    np.testing.assert_array_equal(a.saliency, c.saliency)
    assert a.saliency.shape == small.shape[:2] and a.saliency.dtype == np.float32
    assert np.ptp(a.saliency) > 0


@pytest.mark.slow
@pytest.mark.parametrize("photo", PHOTOS)
@pytest.mark.parametrize("method", NEW)
def test_maps_beat_smooth_random_maps(lite0, random_scores, method, photo):
    image = labkit.sample_image(photo, size=224)
    e = labkit.explain(lite0, image, method, **QUALITY[method])
    assert e.target_name in ("American black bear", "German shepherd")
    random_deletion, random_insertion = random_scores[photo]
    d = deletion(lite0, image, e, steps=STEPS).auc
    i = insertion(lite0, image, e, steps=STEPS).auc
    # Clear margins: half the random maps' mean deletion AUC, 1.4 times their insertion AUC.
    assert d < 0.5 * random_deletion, f"{method}: deletion {d:.3f}, random {random_deletion:.3f}"
    assert i > 1.4 * random_insertion, f"{method}: insertion {i:.3f}, random {random_insertion:.3f}"


@pytest.mark.parametrize("layer", [None, "block7a_project_bn"])  # ReLU6 output; signed output
def test_gradcam_plus_plus_equals_the_formula(lite0, small, layer):
    target = lite0.class_index("American black bear")
    e = labkit.explain(lite0, small, "gradcam_plus_plus", target=target, layer=layer)
    _, run = activation_function(lite0, layer)
    acts, _, grads = run(tf.constant(small[None].astype(np.float32)), tf.constant([target]))
    acts, grads = acts[0].numpy().astype(np.float64), grads[0].numpy().astype(np.float64)
    # Chattopadhay et al. 2018, eq. 19 with Y = exp(logit), channel by channel.
    weights = np.zeros(acts.shape[-1])
    for k in range(acts.shape[-1]):
        a, g = acts[..., k], grads[..., k]
        for i, j in zip(*np.nonzero(g)):
            alpha = g[i, j] ** 2 / (2 * g[i, j] ** 2 + a.sum() * g[i, j] ** 3)
            weights[k] += alpha * max(g[i, j], 0.0)
    expected = np.maximum(np.einsum("ijk,k->ij", acts, weights), 0)
    assert expected.max() > 0
    np.testing.assert_allclose(e.extras["channel_weights"], weights, rtol=1e-4,
                               atol=1e-6 * np.abs(weights).max())
    np.testing.assert_allclose(e.extras["low_res"], expected, rtol=1e-4, atol=1e-6 * expected.max())
    resized = tf.image.resize(expected[None, ..., None], small.shape[:2], method="bilinear")
    np.testing.assert_allclose(e.saliency, resized[0, ..., 0], rtol=1e-4,
                               atol=1e-5 * expected.max())


def test_occlusion_equals_a_naive_loop(lite0, small):
    image = small  # 96 px: windows at 0, 8, ..., 72, then 76 flush with the edge
    window, stride, colour = 20, 8, (10, 200, 30)
    e = labkit.explain(lite0, image, "occlusion", window=window, stride=stride, baseline=colour)
    target = e.target

    def starts(size):
        s = list(range(0, size - window + 1, stride))
        return s if s[-1] == size - window else s + [size - window]

    boxes, occluded = [], []
    for r in starts(96):
        for c in starts(96):
            hidden = image.astype(np.float32)
            hidden[r:r + window, c:c + window] = colour
            boxes.append((r, c))
            occluded.append(hidden)
    probs = lite0.predict(np.stack(occluded))[:, target]
    base = lite0.predict(image[None])[0, target]
    expected = np.zeros((96, 96))
    for y in range(96):
        for x in range(96):
            drops = [base - p for (r, c), p in zip(boxes, probs)
                     if r <= y < r + window and c <= x < c + window]
            expected[y, x] = np.mean(drops)
    assert e.extras["num_windows"] == len(boxes) == 11 * 11
    np.testing.assert_allclose(e.saliency, expected, atol=2e-5)
    np.testing.assert_allclose(e.extras["drops"].ravel(), base - probs, atol=2e-5)


def test_scorecam_equals_pytorch_grad_cam_formula(lite0, small):
    """Channels as masks, softmax over the channels of the class logits, as pytorch-grad-cam
    (score_cam.py) computes them, written out on numpy images."""
    fill = np.array([123.675, 116.28, 103.53], np.float32)
    e = labkit.explain(lite0, small, "scorecam", max_channels=20)
    _, run = activation_function(lite0)
    acts = run(tf.constant(small[None].astype(np.float32)), tf.constant([e.target]))[0][0].numpy()
    flat = acts.reshape(-1, acts.shape[-1])
    active = [k for k in range(acts.shape[-1]) if flat[:, k].max() > flat[:, k].min()]
    chosen = sorted(sorted(active, key=lambda k: -flat[:, k].mean())[:20])
    up = tf.image.resize(acts[None][..., chosen], small.shape[:2], method="bilinear")[0].numpy()
    masks = (up - up.min(axis=(0, 1))) / (up.max(axis=(0, 1)) - up.min(axis=(0, 1)))
    images = [masks[..., i, None] * small + (1 - masks[..., i, None]) * fill
              for i in range(len(chosen))]
    scores = lite0.predict(np.stack(images), output="logit")[:, e.target].astype(np.float64)
    weights = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
    expected = np.maximum(acts[..., chosen] @ weights, 0)
    assert e.extras["num_scored"] == 20
    np.testing.assert_allclose(e.extras["channel_weights"][chosen], weights, rtol=1e-3,
                               atol=1e-6)
    assert np.count_nonzero(e.extras["channel_weights"]) == 20
    np.testing.assert_allclose(e.extras["low_res"], expected, rtol=1e-3,
                               atol=1e-4 * expected.max())


@pytest.mark.parametrize("method, params, match", [
    ("occlusion", dict(window=0), "occlusion: window must be an integer >= 1, got 0"),
    ("occlusion", dict(window=97), "window=97 is larger than the image \\(96x96\\)"),
    ("occlusion", dict(window=16, stride=20), "stride=20 is larger than window=16"),
    ("occlusion", dict(stride=2.5), "occlusion: stride must be an integer"),
    ("occlusion", dict(baseline=(0, 0, 300)), "occlusion: baseline must be a grey level or an"),
    ("scorecam", dict(max_channels=0), "scorecam: max_channels must be an integer >= 1 or None"),
    ("scorecam", dict(layer="conv_pw_99"), "no layer named 'conv_pw_99'"),
    ("gradcam_plus_plus", dict(layer="predictions"), "CAM methods need a convolutional layer"),
    ("gradcam_plus_plus", dict(layer=3), "gradcam_plus_plus: layer must be a layer name"),
])
def test_bad_parameters_are_named_before_the_model_runs(lite0, small, monkeypatch, method,
                                                        params, match):
    def no_masked_pass(*args, **kwargs):
        raise AssertionError("a masked forward pass ran before the parameters were checked")

    monkeypatch.setattr(lite0, "predict_masked", no_masked_pass)
    with pytest.raises(ParameterError, match=match):
        labkit.explain(lite0, small, method, **params)


def test_explorers_offer_the_new_methods(lite0, small):
    occlusion = widgets.explorer("occlusion", models=[lite0], images=small, window=24, stride=24)
    assert {"window", "stride"} <= set(occlusion.controls) and "seed" not in occlusion.controls
    occlusion.run_button.click()
    assert occlusion.explanation.method == "occlusion"
    assert occlusion.explanation.extras["num_windows"] == 16
    for method in ("scorecam", "gradcam_plus_plus"):
        ex = widgets.explorer(method, models=[lite0], images=small)
        assert "layer" in ex.controls and "seed" not in ex.controls
        assert ex.controls["layer"].value == lite0.layer
    ex.controls["layer"].value = "block7a_project_bn"
    ex.run_button.click()
    assert ex.explanation.method == "gradcam_plus_plus"
    assert ex.explanation.extras["low_res"].shape == (7, 7)
    assert ex.explanation.params["layer"] == "block7a_project_bn"


@pytest.mark.parametrize("method", NEW)
def test_explanations_save_and_load(lite0, small, tmp_path, method):
    e = labkit.explain(lite0, small, method, **SMALL[method])
    assert labkit.load_explanation(e.save(tmp_path / method)) == e
