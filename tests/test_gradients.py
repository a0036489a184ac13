"""The gradient family: integrated gradients and SmoothGrad on EfficientNet-Lite0 and real
photos, their shared input-gradient helper, and numpy transcriptions of the reference
formulas (captum's integrated gradients, the SmoothGrad paper's mean) on a tiny network
whose gradient is known in closed form."""
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

import labkit
from labkit import Classifier, explain
from labkit._tf import keras, tf
from labkit.explainers import ParameterError, get_explainer
from labkit.explainers.gradients import input_gradients
from labkit.explainers.integrated_gradients import integrated_gradients
from labkit.explainers.smoothgrad import smoothgrad
from labkit.metrics import deletion

PHOTOS = ("elephant_waterhole", "black_bear_grass", "german_shepherd")
CLASSES = {s["name"]: s["imagenet_class"] for s in labkit.data.list_samples()}


def twin(model, batch_size):
    """The same Keras model on TensorFlow with another batch size (no conversion)."""
    return Classifier(model.model, name=model.name, preprocess=model.preprocess,
                      input_range=model.input_range, layer=model.layer,
                      class_names=model.class_names, class_ids=model.class_ids,
                      batch_size=batch_size, backend="tensorflow")


@pytest.fixture(scope="module")
def lite0():
    return labkit.load_model("efficientnet_lite0")


@pytest.fixture(scope="module")
def lite0_b8(lite0):
    # Gradients always run on TensorFlow; batches of 8 keep small sample counts cheap.
    return twin(lite0, 8)


@pytest.fixture(scope="module")
def elephant():
    return labkit.sample_image("elephant_waterhole", size=224)


# -- the shared helper --------------------------------------------------------------------
def test_input_gradients_match_a_gradient_tape(lite0_b8):
    # Not the model's input size: the resize must be inside the differentiated graph.
    photos = np.stack([labkit.sample_image(p, size=(160, 200)) for p in PHOTOS]).astype(np.float32)
    target = lite0_b8.class_index("African elephant")
    grads, logits = input_gradients(lite0_b8, photos, target)

    x = tf.constant(photos)
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = lite0_b8.model(lite0_b8.preprocess(tf.image.resize(x, (224, 224), antialias=True)),
                             training=False)[:, target]
    expected = tape.gradient(out, x).numpy()
    assert grads.shape == photos.shape and grads.dtype == np.float32
    np.testing.assert_allclose(logits, out.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(grads, expected, rtol=1e-3, atol=1e-3 * np.abs(expected).max())
    assert np.abs(expected).max() > 0


def test_batching_gives_the_batch_size_one_result(lite0_b8, elephant):
    photos = np.stack([labkit.sample_image(p, size=224) for p in PHOTOS]).astype(np.float32)
    target = lite0_b8.class_index("African elephant")
    one = twin(lite0_b8, 1)
    a, la = input_gradients(lite0_b8, photos, target)  # one batch, padded to 8
    b, lb = input_gradients(one, photos, target)
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4 * np.abs(b).max())
    np.testing.assert_allclose(la, lb, rtol=1e-4, atol=1e-4)
    for method, params in (("integrated_gradients", dict(steps=9)),  # 10 images: 8 + 2
                           ("smoothgrad", dict(num_samples=10, seed=3))):
        big = explain(lite0_b8, elephant, method, **params).saliency
        small = explain(one, elephant, method, **params).saliency
        np.testing.assert_allclose(big, small, rtol=1e-3, atol=1e-3 * big.max())


# -- the reference formulas on a tiny network with a known gradient --------------------------
@pytest.fixture(scope="module")
def tiny():
    """logit = W2 tanh(W1 (x / 127.5 - 1) + b1) + b2 on 8x8 RGB images: two classes."""
    rng = np.random.default_rng(0)
    w1 = rng.normal(0, 0.05, (192, 6)).astype(np.float32)
    b1 = rng.normal(0, 0.1, 6).astype(np.float32)
    w2 = rng.normal(0, 1, (6, 2)).astype(np.float32)
    b2 = np.array([0.1, -0.2], np.float32)
    inputs = keras.Input((8, 8, 3))
    hidden = keras.layers.Dense(6, activation="tanh")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2)(hidden))
    model.set_weights([w1, b1, w2, b2])
    classifier = Classifier(model, name="tiny", preprocess=lambda x: x / 127.5 - 1,
                            input_range=(-1, 1), layer=None, class_names=["a", "b"],
                            batch_size=4, backend="tensorflow")

    def gradient(images, target):  # d logit_target / d pixels, in closed form
        z = images.reshape(len(images), -1).astype(np.float64) / 127.5 - 1
        h = np.tanh(z @ w1 + b1)
        return (((1 - h ** 2) * w2[:, target]) @ w1.T / 127.5).reshape(images.shape)

    def logit(images, target):
        z = images.reshape(len(images), -1).astype(np.float64) / 127.5 - 1
        return np.tanh(z @ w1 + b1) @ w2[:, target] + b2[target]

    image = rng.uniform(0, 255, (8, 8, 3)).astype(np.float32)
    return classifier, gradient, logit, image


def captum_integrated_gradients(gradient, x, baseline, target, n_steps):
    """captum's IntegratedGradients.attribute, method="riemann_trapezoid", in numpy:
    alphas = linspace(0, 1, n), step sizes 1/n halved at both ends (approximation_methods.py),
    attributions = (x - baseline) * sum_k step_k * grad(baseline + alpha_k (x - baseline))."""
    step_sizes = np.full(n_steps, 1 / n_steps)
    step_sizes[[0, -1]] /= 2
    alphas = np.linspace(0, 1, n_steps)
    path = np.stack([baseline + a * (x - baseline) for a in alphas])
    total = np.tensordot(step_sizes, gradient(path, target), axes=1)
    return total * (x - baseline)


@pytest.mark.parametrize("steps,baseline", [(7, 0), (20, (30, 128, 250))])
def test_integrated_gradients_is_captums_trapezoid_rescaled(tiny, steps, baseline):
    model, gradient, logit, image = tiny
    _, extras, used = integrated_gradients(model, image, 1, steps=steps, baseline=baseline)
    start = np.broadcast_to(np.asarray(baseline, np.float32), image.shape)
    ref = captum_integrated_gradients(gradient, image, start, 1, steps + 1)
    # captum's n step sizes sum to (n - 1) / n; ours to 1
    np.testing.assert_allclose(extras["attributions"], ref * (steps + 1) / steps,
                               rtol=1e-4, atol=1e-6 * np.abs(ref).max())
    difference = logit(image[None], 1)[0] - logit(start[None], 1)[0]
    assert extras["logit_difference"] == pytest.approx(difference, abs=1e-4)
    assert extras["delta"] == pytest.approx(extras["attributions"].sum() - difference, abs=1e-4)
    assert used == {"steps": steps, "baseline": baseline}


def test_progress_and_bad_helper_input(tiny):
    model, _, _, image = tiny
    calls = []
    integrated_gradients(model, image, 0, steps=9, progress=lambda *a: calls.append(a))
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]  # 10 images in batches of 4
    with pytest.raises(ParameterError, match=r"images must be a batch .* got shape \(8, 8, 3\)"):
        input_gradients(model, image, 0)
    with pytest.raises(ParameterError, match="target must be a class index from 0 to 1, got 2"):
        input_gradients(model, image[None], 2)


def test_explanations_save_and_load(tiny, tmp_path):
    model, _, _, image = tiny
    for method, params in (("integrated_gradients", {"steps": 3}),
                           ("smoothgrad", {"num_samples": 3, "seed": 4})):
        e = explain(model, image, method, **params)
        loaded = labkit.load_explanation(e.save(tmp_path / f"{method}.npz"))
        assert loaded == e
        assert loaded.extras.keys() == e.extras.keys()


def test_integrated_gradients_converge_to_completeness_on_the_tiny_network(tiny):
    model, _, _, image = tiny
    gaps = [abs(integrated_gradients(model, image, 0, steps=s)[1]["delta"]) for s in (2, 8, 64)]
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 1e-3 * abs(
        integrated_gradients(model, image, 0, steps=64)[1]["logit_difference"])


def test_smoothgrad_is_the_mean_gradient_then_its_absolute_value(tiny):
    model, gradient, _, image = tiny
    saliency, extras, _ = smoothgrad(model, image, 0, seed=5, num_samples=6, noise_level=0.2)
    rng = np.random.default_rng(5)
    noisy = np.stack([image + 0.2 * 255 * rng.standard_normal(image.shape, dtype=np.float32)
                      for _ in range(6)])
    mean = gradient(noisy, 0).mean(axis=0)
    np.testing.assert_allclose(extras["mean_gradient"], mean, rtol=1e-4,
                               atol=1e-6 * np.abs(mean).max())
    np.testing.assert_allclose(saliency, np.abs(mean).sum(axis=-1), rtol=1e-4,
                               atol=1e-6 * np.abs(mean).max())
    assert extras["sigma"] == pytest.approx(51.0)
    # the paper's order: |mean| is not the mean of |gradients| when signs flip
    assert not np.allclose(saliency, np.abs(gradient(noisy, 0)).mean(axis=0).sum(axis=-1))


# -- on the real model and real photos -----------------------------------------------------
@pytest.mark.slow
def test_integrated_gradients_complete_within_5_percent_at_200_steps(lite0, elephant):
    e = explain(lite0, elephant, "integrated_gradients", steps=200)
    x = e.extras
    assert e.target_name == "African elephant" and x["logit_difference"] > 1
    assert abs(x["delta"]) <= 0.05 * abs(x["logit_difference"]), x
    assert x["attributions"].shape == elephant.shape
    np.testing.assert_allclose(e.saliency, np.abs(x["attributions"]).sum(axis=-1), rtol=1e-6)


def test_smoothgrad_seed_repeats_the_map_exactly(lite0_b8, elephant):
    a = explain(lite0_b8, elephant, "smoothgrad", seed=1, num_samples=8)
    b = explain(lite0_b8, elephant, "smoothgrad", seed=1, num_samples=8)
    c = explain(lite0_b8, elephant, "smoothgrad", seed=2, num_samples=8)
    np.testing.assert_array_equal(a.saliency, b.saliency)
    np.testing.assert_array_equal(a.extras["mean_gradient"], b.extras["mean_gradient"])
    assert not np.allclose(a.saliency, c.saliency, rtol=0.05)
    assert a.extras["mean_gradient"].shape == elephant.shape
    assert a.params == {"num_samples": 8, "noise_level": 0.15, "seed": 1}


def test_both_maps_beat_smooth_random_maps_on_deletion(lite0, lite0_b8):
    for photo in PHOTOS:
        image = labkit.sample_image(photo, size=224)
        maps = [explain(lite0_b8, image, "integrated_gradients", steps=15),
                explain(lite0_b8, image, "smoothgrad", num_samples=8)]
        target = maps[0].target
        assert lite0.class_names[target] == CLASSES[photo]  # explained the right class
        random = [deletion(lite0, image, gaussian_filter(np.random.default_rng(s).random(
            (224, 224)), 16), target=target, steps=25).auc for s in range(8)]
        for e in maps:
            auc = deletion(lite0, image, e, steps=25).auc
            # a clear margin: below 60 % of the typical smooth random map's AUC
            assert auc < 0.6 * np.median(random), (photo, e.method, auc, random)


@pytest.mark.parametrize("method,params,match", [
    ("integrated_gradients", dict(steps=0), "integrated_gradients: steps must be an integer >= 1"),
    ("integrated_gradients", dict(steps=2.5), "steps must be an integer"),
    ("integrated_gradients", dict(steps=600), "steps=600 is above 500"),
    ("integrated_gradients", dict(baseline=(0, 0, 300)), "baseline must be a grey level or an"),
    ("integrated_gradients", dict(baseline=None), "baseline must be a grey level or an"),
    ("integrated_gradients", dict(baseline="blur"), "baseline must be a grey level"),
    ("smoothgrad", dict(num_samples=0), "smoothgrad: num_samples must be an integer >= 1"),
    ("smoothgrad", dict(num_samples=501), "num_samples=501 is above 500"),
    ("smoothgrad", dict(noise_level=-0.1), "noise_level must be a number >= 0 and <= 1"),
    ("smoothgrad", dict(noise_level=float("nan")), "noise_level must be finite"),
    ("smoothgrad", dict(noise_level="high"), "noise_level must be a number"),
    ("smoothgrad", dict(sigma=20), "smoothgrad has no parameter 'sigma'"),
])
def test_bad_parameters_are_named_before_any_work(elephant, method, params, match):
    class NoModel:  # any model call would fail: the check must come first
        def __getattr__(self, name):
            raise AssertionError(f"the model was used ({name}) before the parameters were checked")

    with pytest.raises(ParameterError, match=match.replace("(", r"\(").replace(")", r"\)")):
        explain(NoModel(), elephant, method, **params)


def test_records_describe_the_methods():
    ig, sg = get_explainer("integrated_gradients"), get_explainer("smoothgrad")
    assert (ig.stochastic, ig.signed, ig.needs_gradients) == (False, False, True)
    assert (sg.stochastic, sg.signed, sg.needs_gradients) == (True, False, True)
    assert ig.defaults == {"steps": 50, "baseline": 0}
    assert sg.defaults == {"num_samples": 50, "noise_level": 0.15}
    assert get_explainer("smoothgrad").check_params({"num_samples": 501}, allow_slow=True)


def test_the_explorer_offers_both_methods(lite0, elephant):
    ex = labkit.widgets.explorer("integrated_gradients", models=[lite0], images={"e": elephant})
    assert ex.controls["baseline"].value == "black"  # the method's default, not LIME's
    assert "mean (None)" not in ex.controls["baseline"].options
    assert ex.params() == {"steps": 50, "baseline": 0}
    ex = labkit.widgets.explorer("smoothgrad", models=[lite0], images={"e": elephant},
                                 num_samples=8, noise_level=0.1)
    assert "seed" in ex.controls and ex.params() == {"num_samples": 8, "noise_level": 0.1}
