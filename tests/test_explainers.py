"""The four explainers on a real MobileNet and real photos."""
import numpy as np
import pytest
from helpers import top_fraction_inside

from labkit import explain, lime_mask, list_methods
from labkit.explainers import segment

pytestmark = pytest.mark.weights

FAST = {
    "lime": dict(num_samples=300, n_segments=40),
    "rise": dict(num_masks=500, grid_size=7),
    "gradcam": {},
    "fem": {},
}


def test_all_methods_are_registered():
    assert {"lime", "lime_package", "rise", "gradcam", "fem"} <= set(list_methods())


@pytest.mark.parametrize("method", sorted(FAST))
def test_map_is_on_the_object(mobilenet, cat_on_grass, method):
    image, mask = cat_on_grass
    top3 = [p.name for p in mobilenet.top_k(image, 3)]
    assert any(n in ("tabby", "tiger cat", "Egyptian cat") for n in top3), top3
    e = explain(mobilenet, image, method, target="tabby" if "tabby" in top3 else None,
                seed=0, **FAST[method])
    assert e.saliency.shape == image.shape[:2] and e.saliency.dtype == np.float32
    inside = top_fraction_inside(e.saliency, mask)
    # A random map puts mask.mean() (~0.30) of its top pixels on the cat.
    assert inside > 2 * mask.mean(), f"{method}: only {inside:.2f} of the top 20% on the cat"


@pytest.mark.parametrize("method", ["lime", "rise"])
def test_seed_reproduces_and_varies(mobilenet, chelsea, method):
    a = explain(mobilenet, chelsea, method, seed=1, **FAST[method])
    b = explain(mobilenet, chelsea, method, seed=1, **FAST[method])
    c = explain(mobilenet, chelsea, method, seed=2, **FAST[method])
    np.testing.assert_allclose(a.saliency, b.saliency, rtol=1e-5, atol=1e-6)
    assert not np.allclose(a.saliency, c.saliency, atol=1e-4)


def test_lime_matches_the_lime_package(mobilenet, chelsea):
    segments = segment(chelsea, n_segments=40)
    ours = explain(mobilenet, chelsea, "lime", seed=3, num_samples=200, segments=segments)
    ref = explain(mobilenet, chelsea, "lime_package", seed=3, num_samples=200, segments=segments)
    top = lambda e: set(np.argsort(-e.extras["weights"])[:5])  # noqa: E731
    assert top(ours) == top(ref)
    np.testing.assert_allclose(ours.extras["weights"], ref.extras["weights"], atol=1e-3)


def test_lime_baseline_is_pixel_space(mobilenet, chelsea):
    black = explain(mobilenet, chelsea, "lime", seed=0, num_samples=64, baseline=0)
    mean = explain(mobilenet, chelsea, "lime", seed=0, num_samples=64, baseline=None)
    assert not np.allclose(black.saliency, mean.saliency)
    with pytest.raises(ValueError, match=r"\(r, g, b\) triple in \[0, 255\]"):
        explain(mobilenet, chelsea, "lime", num_samples=8, baseline=(0, 0, 300))


def test_lime_top_labels_and_mask(mobilenet, chelsea):
    e = explain(mobilenet, chelsea, "lime", seed=0, num_samples=100, top_labels=3)
    assert len(e.extras["weights_by_label"]) == 3
    _, mask = lime_mask(e, num_features=4, positive_only=True)
    assert set(np.unique(mask)) <= {0, 1}
    assert len(np.unique(e.extras["segments"][mask == 1])) <= 4
    image, mask = lime_mask(e, num_features=3, positive_only=False, hide_rest=True)
    assert (image[mask == 0] == 0).all()
    with pytest.raises(ValueError, match="cannot both be True"):
        lime_mask(e, positive_only=True, negative_only=True)


def test_rise_explains_any_class(mobilenet, chelsea):
    cat = explain(mobilenet, chelsea, "rise", seed=0, num_masks=300)
    other = explain(mobilenet, chelsea, "rise", seed=0, num_masks=300, target="espresso")
    assert other.target_name == "espresso" and cat.target != other.target
    assert not np.allclose(cat.saliency, other.saliency)
    assert abs(cat.extras["mean_mask"] - 0.5) < 0.05
    assert len(cat.extras["running"]) == 8


def test_rise_does_not_depend_on_batch_size(chelsea):
    from labkit.models import load_model  # EfficientNet-Lite0: its weights come with pip
    big = explain(load_model("efficientnet_lite0", batch_size=32), chelsea, "rise", seed=0,
                  num_masks=100)
    small = explain(load_model("efficientnet_lite0", batch_size=24), chelsea, "rise", seed=0,
                    num_masks=100)
    np.testing.assert_allclose(big.saliency, small.saliency, rtol=1e-4, atol=1e-5)


def test_gradcam_fails_the_sanity_check_when_weights_are_random(mobilenet, random_mobilenet,
                                                                 chelsea):
    # Adebayo et al. 2018: a faithful map must change when the model is randomised.
    real = explain(mobilenet, chelsea, "gradcam")
    rand = explain(random_mobilenet, chelsea, "gradcam", target=real.target)
    r = np.corrcoef(real.saliency.ravel(), rand.saliency.ravel())[0, 1]
    assert not np.isfinite(r) or r < 0.5


def test_gradcam_layer_choice_and_fem_is_class_agnostic(mobilenet, chelsea):
    early = explain(mobilenet, chelsea, "gradcam", layer="conv_pw_11_relu")
    assert early.extras["low_res"].shape == (14, 14)
    a = explain(mobilenet, chelsea, "fem")
    b = explain(mobilenet, chelsea, "fem", target="espresso")
    np.testing.assert_array_equal(a.saliency, b.saliency)
    assert explain(mobilenet, chelsea, "fem", k=1.0).extras["active_fraction"] > \
        a.extras["active_fraction"]


@pytest.mark.parametrize("method, params", [("gradcam", {}), ("rise", dict(num_masks=64))])
def test_any_image_size_gives_a_map_at_that_size(mobilenet, chelsea, method, params):
    assert explain(mobilenet, chelsea[:200, :160], method, **params).saliency.shape == (200, 160)


@pytest.mark.parametrize("bad, error, match", [
    (np.zeros((224, 224)), ValueError, "shape \\(H, W, 3\\)"),
    (np.zeros((1, 224, 224, 3)), ValueError, "a batch"),
    (np.zeros((224, 224, 3), np.int64), TypeError, "dtype int64"),
    (np.full((224, 224, 3), 0.5), ValueError, "\\[0, 1\\]"),
    (np.full((224, 224, 3), -3.0), ValueError, "outside pixel range"),
    ([[1, 2, 3]], TypeError, "numpy array"),
])
def test_bad_images_are_named(mobilenet, bad, error, match):
    with pytest.raises(error, match=match):
        explain(mobilenet, bad, "gradcam")


@pytest.mark.parametrize("method, params, match", [
    ("lime", dict(num_samples=0), "lime: num_samples must be an integer >= 2"),
    ("lime", dict(num_samples=10**6), "num_samples=1000000 is above 5000.*allow_slow=True"),
    ("lime", dict(kernel_width="wide"), "kernel_width must be a number > 0"),
    ("lime", dict(baseline="red"), "baseline must be None, a grey level or an"),
    ("rise", dict(num_masks=0), "num_masks must be an integer >= 1"),
    ("rise", dict(grid_size=300), "grid_size must be an integer >= 2 and <= 224, got 300"),
    ("rise", dict(p1=1.0), "p1 must be a number > 0 and < 1"),
    ("rise", dict(p1=0), "p1 must be a number > 0 and < 1"),
    ("gradcam", dict(layer="conv_pw_99"), "no layer named 'conv_pw_99'"),
    ("gradcam", dict(layer="predictions"), "CAM methods need a convolutional layer"),
    ("fem", dict(k=0), "k must be a number > 0"),
    ("fem", dict(k=float("inf")), "k must be finite"),
    ("fem", dict(k="2"), "k must be a number"),
])
def test_bad_parameters_are_named(mobilenet, chelsea, method, params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        explain(mobilenet, chelsea, method, **params)


def test_unknown_method_and_class(mobilenet, chelsea):
    with pytest.raises(ValueError, match="unknown method 'shap'"):
        explain(mobilenet, chelsea, "shap")
    with pytest.raises(ValueError, match="no class named 'kitten'"):
        explain(mobilenet, chelsea, "gradcam", target="kitten")
    with pytest.raises(TypeError, match="seed must be None or an integer"):
        explain(mobilenet, chelsea, "rise", seed=0.5)
