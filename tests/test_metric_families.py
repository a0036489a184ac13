"""The metric families beyond faithfulness and localisation: complexity (sparseness,
complexity), robustness (max-sensitivity) and randomisation (model randomisation, random
logit), on real maps of EfficientNet-Lite0 on real photos, checked against Quantus 0.6."""
import multiprocessing
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest
import quantus

import labkit
from labkit._tf import keras
from labkit.explainers import Explainer, ParameterError, register, unregister
from labkit.metrics import (
    METRICS,
    ConstantMapWarning,
    CurveScore,
    RandomisationCurve,
    complexity,
    evaluate,
    map_similarity,
    max_sensitivity,
    model_randomisation,
    random_logit,
    score,
    sparseness,
    summarize,
    weight_blocks,
)

N = 224 * 224
FAMILIES = ("sparseness", "complexity", "max_sensitivity", "model_randomisation",
            "random_logit")


@pytest.fixture(scope="module")
def model():
    return labkit.load_model("efficientnet_lite0")


@pytest.fixture(scope="module")
def photo():
    return labkit.sample_image("elephant_waterhole", size=224)


@pytest.fixture(scope="module")
def maps(model, photo):
    """Real maps of the photo: Grad-CAM, FEM, RISE and LIME (signed)."""
    return {"gradcam": labkit.explain(model, photo, "gradcam"),
            "fem": labkit.explain(model, photo, "fem"),
            "rise": labkit.explain(model, photo, "rise", num_masks=128, seed=0),
            "lime": labkit.explain(model, photo, "lime", num_samples=64, seed=0)}


def edges(model, pixels, target, *, seed=0, progress=False):
    """The image's gradient magnitude: a 'saliency map' that ignores the model."""
    rows, cols = np.gradient(pixels.mean(axis=-1))
    return np.hypot(rows, cols), {}, {}


@pytest.fixture
def edge_detector():
    register(Explainer("edges", edges, summary="image gradient magnitude (a toy)"))
    yield "edges"
    unregister("edges")


# -- sparseness and complexity ----------------------------------------------------------

def test_a_one_pixel_map_is_the_sparsest_and_simplest():
    one = np.zeros((224, 224))
    one[100, 50] = 3.0
    assert sparseness(one) == pytest.approx(1 - 1 / N, abs=1e-12)
    assert complexity(one) == 0.0


def test_a_map_equal_everywhere_is_the_densest_and_most_complex():
    for value in (1.0, -2.5):  # absolute values: the sign does not matter
        flat = np.full((224, 224), value)
        assert sparseness(flat) == pytest.approx(0.0, abs=1e-12)
        assert complexity(flat) == pytest.approx(np.log(N), abs=1e-9)


@pytest.mark.parametrize("k", [1, 7, 1000, N])
def test_k_equal_pixels_give_gini_1_minus_k_over_n_and_entropy_ln_k(k):
    values = np.zeros(N)
    values[np.random.default_rng(k).permutation(N)[:k]] = 0.4
    heat = values.reshape(224, 224)
    assert sparseness(heat) == pytest.approx(1 - k / N, abs=1e-12)
    assert complexity(heat) == pytest.approx(np.log(k), abs=1e-9)
    assert sparseness(5 * heat) == pytest.approx(sparseness(heat), abs=1e-12)


def test_a_map_zero_everywhere_is_nan_with_a_warning():
    for metric in (sparseness, complexity):
        with pytest.warns(ConstantMapWarning, match="zero everywhere"):
            assert np.isnan(metric(np.zeros((8, 8))))


def test_sparseness_and_complexity_refuse_what_is_not_a_map(maps):
    for metric in (sparseness, complexity):
        with pytest.raises(ValueError, match="2-D map"):
            metric(np.ones((4, 4, 4)))
        with pytest.raises(ValueError, match="NaN or infinite"):
            metric(np.array([[1.0, np.nan]]))
        with pytest.raises(TypeError, match="numpy array or an Explanation"):
            metric([[1.0, 2.0]])
    assert sparseness(maps["fem"]) == sparseness(maps["fem"].saliency)


def _quantus_maps(maps):
    rng = np.random.default_rng(5)
    one = np.zeros((224, 224))
    one[3, 4] = 1.0
    sparse = np.where(rng.random((224, 224)) < 0.01, rng.random((224, 224)), 0.0)
    # (Quantus refuses a map equal everywhere: "the attributions are uniformly distributed")
    made = {"one pixel": one, "1% of pixels": sparse, "signed noise": rng.normal(size=(224, 224))}
    return {**{name: e.saliency.astype(np.float64) for name, e in maps.items()}, **made}


def test_sparseness_is_quantus_gini_without_its_offset(maps):
    # Quantus adds 1e-7 to the max-normalised map: its Gini is G * S / (S + n * 1e-7), S the
    # normalised map's sum. Exact here; on real maps the offset is below 1e-6.
    metric = quantus.Sparseness(disable_warnings=True)
    for name, heat in _quantus_maps(maps).items():
        theirs = metric(model=None, x_batch=np.zeros((1, 3, 224, 224)), y_batch=np.zeros(1, int),
                        a_batch=heat[None, None].copy())[0]
        total = (np.abs(heat) / np.abs(heat).max()).sum()
        ours = sparseness(heat)
        assert theirs == pytest.approx(ours * total / (total + N * 1e-7), rel=1e-9), name
        if name in maps:
            assert theirs == pytest.approx(ours, rel=2e-6), name


def test_complexity_equals_quantus(maps):
    metric = quantus.Complexity(disable_warnings=True)
    for name, heat in _quantus_maps(maps).items():
        theirs = metric(model=None, x_batch=np.zeros((1, 3, 224, 224)), y_batch=np.zeros(1, int),
                        a_batch=heat[None, None].copy())[0]
        assert theirs == pytest.approx(complexity(heat), abs=1e-7), name


def test_real_maps_differ_in_concentration(maps):
    # FEM keeps only the layer's strongest responses; Grad-CAM's map is a broad blob.
    assert sparseness(maps["fem"]) > sparseness(maps["gradcam"])
    assert complexity(maps["fem"]) < complexity(maps["gradcam"])
    for e in maps.values():
        assert 0 < sparseness(e) < 1 - 1 / N and 0 < complexity(e) < np.log(N)


# -- max-sensitivity --------------------------------------------------------------------

def test_max_sensitivity_is_quantus_on_the_same_noisy_images(model, photo, maps):
    # Pixels kept away from 0 and 255, so labkit's clipping changes nothing, and Quantus
    # handed labkit's noise: the same images, so the same number to rounding.
    pixels = (20 + photo * (215 / 255)).astype(np.float32)
    cam = labkit.explain(model, pixels, "gradcam")
    radius, samples, seed = 8.0, 3, 4
    rng = np.random.default_rng(seed)
    noises = iter([rng.uniform(-radius, radius, pixels.shape) for _ in range(samples)])

    def perturb(arr, indices, **kwargs):  # Quantus flattens its channel-first copy
        return arr + next(noises).transpose(2, 0, 1).reshape(1, -1)

    def explain_func(model, inputs, targets, **kwargs):  # Quantus's model: the Keras one
        return np.stack([labkit.explain(classifier, x.astype(np.float32), "gradcam",
                                        target=int(t)).saliency
                         for x, t in zip(inputs, targets)])[..., None]

    classifier = model
    theirs = quantus.MaxSensitivity(nr_samples=samples, perturb_func=perturb,
                                    disable_warnings=True)(
        model=model.model, x_batch=pixels[None].astype(np.float64), y_batch=np.array([cam.target]),
        a_batch=cam.saliency[None, ..., None].astype(np.float64), channel_first=False,
        explain_func=explain_func)[0]
    ours = max_sensitivity(model, pixels, cam, radius=radius,
                           num_samples=samples, seed=seed)
    assert ours == pytest.approx(theirs, rel=1e-9)


def test_max_sensitivity_is_seeded_and_grows_with_the_noise(model, photo, maps):
    cam = maps["gradcam"]
    first = max_sensitivity(model, photo, cam, num_samples=3, seed=1)
    assert max_sensitivity(model, photo, cam, num_samples=3, seed=1) == first
    assert max_sensitivity(model, photo, cam, num_samples=3, seed=2) != first
    small = max_sensitivity(model, photo, cam, radius=1, num_samples=3, seed=1)
    large = max_sensitivity(model, photo, cam, radius=48, num_samples=3, seed=1)
    assert 0 < small < first < large
    # A method name gives the same as its Explanation (Grad-CAM ignores the seed).
    assert max_sensitivity(model, photo, "gradcam", num_samples=3, seed=1) == first


def test_max_sensitivity_is_zero_for_a_map_of_the_image_alone_and_nan_for_a_blank_map(
        model, photo, edge_detector):
    # The edge map changes with the noise: not zero, and the same for every model.
    assert max_sensitivity(model, photo, edge_detector, num_samples=2) > 0
    register(Explainer("blank", lambda model, pixels, target, *, seed=0, progress=False:
                       (np.zeros(pixels.shape[:2]), {}, {})))
    try:
        with pytest.warns(ConstantMapWarning, match="zero everywhere"):
            assert np.isnan(max_sensitivity(model, photo, "blank", num_samples=2))
    finally:
        unregister("blank")


def test_max_sensitivity_refuses_bad_arguments_before_any_work(model, photo, maps):
    for kwargs, name in ((dict(radius=0), "radius"), (dict(radius=300), "radius"),
                         (dict(radius="8"), "radius"), (dict(num_samples=0), "num_samples"),
                         (dict(seed=-1), "seed"), (dict(method_params={"k": -1}), "k")):
        with pytest.raises(ParameterError, match=name):
            max_sensitivity(model, photo, "fem", **kwargs)
    with pytest.raises(ParameterError, match="unknown method 'gradcan'"):
        max_sensitivity(model, photo, "gradcan")
    with pytest.raises(ParameterError, match="method_params is read from the Explanation"):
        max_sensitivity(model, photo, maps["fem"], method_params={"k": 1})
    with pytest.raises(ParameterError, match="image must have shape"):
        max_sensitivity(model, photo[..., 0], "fem")
    with pytest.raises(ParameterError, match="model must be a labkit Classifier"):
        max_sensitivity(model.model, photo, "fem")
    with pytest.raises(ParameterError, match="Explanation's map has shape"):
        max_sensitivity(model, photo[:100], maps["fem"])


# -- model randomisation ----------------------------------------------------------------

def test_blocks_of_the_course_models(model):
    names = [name for name, _ in weight_blocks(model)]
    assert names == (["stem", "block1a"] + [f"block{s}{b}" for s, n in
                                            ((2, 2), (3, 2), (4, 3), (5, 3), (6, 4), (7, 1))
                                            for b in "abcd"[:n]] + ["top", "predictions"])
    mobilenet = labkit.load_model("mobilenet", weights=None, backend="tensorflow")
    names = [name for name, _ in weight_blocks(mobilenet)]
    assert names == ["conv1"] + [f"conv_{kind}_{i}" for i in range(1, 14)
                                 for kind in ("dw", "pw")] + ["conv_preds"]
    assert sum(len(layers) for _, layers in weight_blocks(mobilenet)) == sum(
        1 for layer in mobilenet.model.layers if layer.weights)
    # A student's model with Keras's default names: one block per layer, with its norm.
    plain = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3),
                              keras.layers.BatchNormalization(), keras.layers.Conv2D(4, 3),
                              keras.layers.BatchNormalization(),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)])
    blocks = weight_blocks(plain)
    assert [len(layers) for _, layers in blocks] == [2, 2, 1]
    assert [name for name, _ in blocks] == [plain.layers[0].name, plain.layers[2].name,
                                            plain.layers[-1].name]


def test_gradcam_fails_to_survive_randomisation_and_the_model_is_untouched(model, photo, maps):
    before = [w.copy() for w in model.model.get_weights()]
    curve = model_randomisation(model, photo, maps["gradcam"], steps=4, seed=0)
    assert isinstance(curve, RandomisationCurve) and isinstance(curve, CurveScore)
    assert curve.metric == "model_randomisation" and not curve.higher_is_better
    assert curve.fractions[0] == 0 and curve.fractions[-1] == 1 and len(curve.scores) == 5
    assert np.all(np.diff(curve.fractions) > 0)
    assert curve.scores[0] == pytest.approx(1.0)
    assert curve.blocks[1] == "block6c" and curve.blocks[-1] == "stem"
    assert curve.maps.shape == (5, 224, 224)
    np.testing.assert_array_equal(curve.maps[0], maps["gradcam"].saliency)
    assert curve.scores[-1] < 0.25 and curve.auc < 0.5
    for old, new in zip(before, model.model.get_weights()):
        np.testing.assert_array_equal(old, new)
    assert model.backend == "openvino"
    np.testing.assert_allclose(labkit.explain(model, photo, "gradcam").saliency,
                               maps["gradcam"].saliency, rtol=1e-5, atol=1e-6)


def test_a_map_of_the_image_alone_passes_through_randomisation_unchanged(model, photo,
                                                                         edge_detector):
    curve = model_randomisation(model, photo, edge_detector, steps=3, seed=0)
    np.testing.assert_allclose(curve.scores, 1.0, atol=1e-9)
    assert curve.auc == pytest.approx(1.0)


def test_randomisation_is_seeded_and_every_step_schedule_ends_at_the_same_model(
        model, photo, maps):
    cam = maps["gradcam"]
    once = model_randomisation(model, photo, cam, steps=3, seed=3)
    again = model_randomisation(model, photo, cam, steps=3, seed=3)
    np.testing.assert_array_equal(once.scores, again.scores)
    other = model_randomisation(model, photo, cam, steps=3, seed=4)
    assert not np.array_equal(once.scores, other.scores)
    # Blocks are shuffled in the same order whatever the grouping: same final model.
    finer = model_randomisation(model, photo, cam, steps=6, seed=3)
    assert finer.scores[-1] == pytest.approx(once.scores[-1], abs=1e-12)
    ssim_curve = model_randomisation(model, photo, cam, steps=3, seed=3, similarity="ssim")
    assert ssim_curve.similarity == "ssim" and ssim_curve.scores[-1] < 0.5


def test_randomisation_of_a_transfer_learned_model_spares_its_backbone(model, photo):
    # transfer() builds its backbone from the base model's own layers: randomising those
    # in place would randomise efficientnet_lite0 too.
    photos = [labkit.sample_image(name, size=224) for name in
              ("elephant_waterhole", "elephant_grass", "black_bear_night", "black_bear_grass")]
    classifier, _ = labkit.models.transfer(model, ["elephant", "bear"], np.stack(photos),
                                           np.array([0, 0, 1, 1]), name="families_test",
                                           validation_split=0, epochs=5, seed=0)
    blocks = [name for name, _ in weight_blocks(classifier)]
    assert blocks[0] == "stem" and blocks[-2:] == ["top", "head_logits"]
    before = [w.copy() for w in model.model.get_weights()]
    curve = model_randomisation(classifier, photo, "gradcam", steps=3, seed=0)
    assert curve.scores[-1] < 0.5
    for old, new in zip(before, model.model.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_model_randomisation_refuses_bad_arguments(model, photo):
    for kwargs, name in ((dict(steps=0), "steps"), (dict(steps=20), "steps"),
                         (dict(steps=2.5), "steps"), (dict(similarity="kendall"), "similarity"),
                         (dict(seed="0"), "seed"), (dict(target="zebra crossing"), "zebra")):
        with pytest.raises((ParameterError, ValueError), match=name):
            model_randomisation(model, photo, "gradcam", **kwargs)


def test_map_similarity_definitions(maps):
    a, b = maps["gradcam"].saliency, maps["fem"].saliency
    from scipy.stats import spearmanr
    assert map_similarity(a, b) == pytest.approx(spearmanr(a.ravel(), b.ravel())[0])
    assert map_similarity(a, b, "pcc") == pytest.approx(labkit.metrics.pcc(a, b))
    assert map_similarity(a, b, "ssim") == pytest.approx(labkit.metrics.ssim(a, b))
    signed = maps["lime"].saliency
    assert map_similarity(signed, -signed) == pytest.approx(-1.0)
    assert map_similarity(signed, -signed, absolute=True) == pytest.approx(1.0)
    with pytest.warns(ConstantMapWarning):
        assert np.isnan(map_similarity(a, np.zeros_like(a)))
    with pytest.raises(ParameterError, match="map_b has shape"):
        map_similarity(a, a[:10])


# -- random logit -----------------------------------------------------------------------

def test_random_logit_tells_class_sensitive_from_class_agnostic_methods(model, photo, maps):
    assert random_logit(model, photo, maps["fem"]) == pytest.approx(1.0)
    cam = random_logit(model, photo, maps["gradcam"])
    assert cam < 0.5
    assert random_logit(model, photo, maps["gradcam"]) == cam
    assert random_logit(model, photo, "gradcam", seed=0) == cam


def test_random_logit_draws_another_class_uniformly(model, photo, monkeypatch):
    drawn = []
    real = labkit.metrics._explained.Explained.again

    def spy(self, model, image=None, target=None):
        drawn.append(target)
        return real(self, model, image, target)

    monkeypatch.setattr(labkit.metrics._explained.Explained, "again", spy)
    cam = labkit.explain(model, photo, "gradcam")
    with warnings.catch_warnings():
        # A few classes have no positive Grad-CAM evidence at all on this photo: a blank
        # map, whose similarity is nan (with this warning).
        warnings.simplefilter("ignore", ConstantMapWarning)
        for seed in range(40):
            random_logit(model, photo, cam, seed=seed)
    assert cam.target not in drawn and len(set(drawn)) > 35
    assert all(0 <= t < model.num_classes for t in drawn)


def test_random_logit_refuses_bad_arguments(model, photo):
    with pytest.raises(ParameterError, match="similarity"):
        random_logit(model, photo, "gradcam", similarity="cosine")
    with pytest.raises(ParameterError, match="method must be a method name"):
        random_logit(model, photo, 3)


# -- in evaluate(), summarize(), score() -----------------------------------------------

SMALL = {"max_sensitivity": {"num_samples": 2}, "model_randomisation": {"steps": 2}}


def test_directions_and_needs():
    assert {m: (METRICS[m].higher_is_better, METRICS[m].needs) for m in FAMILIES} == {
        "sparseness": (True, "map"), "complexity": (False, "map"),
        "max_sensitivity": (False, "explainer"), "model_randomisation": (False, "explainer"),
        "random_logit": (False, "explainer")}
    assert not any(METRICS[m].needs_ground_truth for m in FAMILIES)


def test_evaluate_tabulates_the_families_and_summarize_knows_their_direction(model, photo):
    images = [photo, labkit.sample_image("black_bear_grass", size=224)]
    table, curves = evaluate(model, images, methods=("gradcam", "fem"), metrics=FAMILIES,
                             metric_params=SMALL, image_ids=["elephant", "bear"],
                             progress=False, return_curves=True)
    assert len(table) == 2 * 2 * len(FAMILIES) and table["value"].notna().all()
    curve = curves["bear", "gradcam", "model_randomisation"]
    assert isinstance(curve, RandomisationCurve)
    row = table.set_index(["image", "method", "metric"])["value"]
    assert row["bear", "gradcam", "model_randomisation"] == curve.auc
    assert row["elephant", "fem", "random_logit"] == pytest.approx(1.0)
    e = labkit.explain(model, photo, "gradcam")
    assert row["elephant", "gradcam", "sparseness"] == sparseness(e)
    summary = summarize(table)
    assert summary.attrs["higher_is_better"] == {m: METRICS[m].higher_is_better
                                                 for m in FAMILIES}
    with pytest.raises(ParameterError, match="takes its seed from evaluate's seed="):
        evaluate(model, images, methods=("fem",), metrics=("random_logit",),
                 metric_params={"random_logit": {"seed": 3}}, progress=False)
    scored = score({"cam": e}, metrics=FAMILIES, model=model, metric_params=SMALL)
    assert list(scored.columns) == ["sparseness ↑", "complexity ↓", "max_sensitivity ↓",
                                    "model_randomisation ↓", "random_logit ↓"]
    assert scored.loc["cam", "sparseness ↑"] == sparseness(e)


@pytest.mark.slow
def test_the_families_give_the_same_table_serially_on_a_pool_and_from_the_store(photo,
                                                                                 tmp_path):
    images = [photo]
    kw = dict(methods=("gradcam", "rise"), metrics=FAMILIES, image_ids=["elephant"],
              method_params={"rise": {"num_masks": 32}}, metric_params=SMALL, progress=False)
    serial = evaluate("efficientnet_lite0", images, **kw)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pooled = evaluate("efficientnet_lite0", images, executor=pool,
                          store=tmp_path / "store", **kw)
    columns = ["image", "method", "metric", "value"]
    pd.testing.assert_frame_equal(pooled[columns], serial[columns])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # resumed: nothing recomputed, nothing warned
        resumed = evaluate("efficientnet_lite0", images, store=tmp_path / "store", **kw)
    pd.testing.assert_frame_equal(resumed[columns], serial[columns])


def test_randomisation_plot_draws_each_method_on_one_axes(model, photo, maps):
    from labkit import plots

    runs = {m: model_randomisation(model, photo, maps[m], steps=3, seed=0)
            for m in ("gradcam", "fem")}
    fig = plots.randomisation({"gradcam": [runs["gradcam"]] * 2, "fem": runs["fem"]})
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        f"gradcam (area {runs['gradcam'].auc:.2f} ± 0.00)", f"fem (area {runs['fem'].auc:.2f})"]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), runs["gradcam"].scores)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["trained", *runs["fem"].blocks[1:]]
    assert "↓ lower is better" in ax.get_title()
    with pytest.raises(ValueError, match="model_randomisation"):
        plots.randomisation({"x": maps["fem"]})
    grid = plots.randomisation_maps(runs, photo)
    assert len(grid.axes) == 2 * 4
    assert [a.get_title() for a in grid.axes[:4]] == ["trained", *(
        f"↓ {b}" for b in runs["fem"].blocks[1:])]
    assert grid.axes[4].get_ylabel() == "fem"
    assert grid.axes[7].get_xlabel() == f"{runs['fem'].scores[-1]:.2f}"
    clipped = plots.randomisation_maps(runs, photo, clip=99)
    assert not np.array_equal(clipped.axes[0].images[0].get_array(),
                              grid.axes[0].images[0].get_array())
    with pytest.raises(ValueError, match="clip must be a percentile"):
        plots.randomisation_maps(runs, photo, clip=5)


# -- the exercise of Lab 6 ----------------------------------------------------------------

def _student_gini(saliency, absolute=np.abs):
    a = np.sort(absolute(saliency).ravel())
    n = a.size
    return ((2 * np.arange(1, n + 1) - n - 1) * a).sum() / (n * a.sum())


@pytest.mark.parametrize("answer, hint", [
    (lambda s: _student_gini(s, absolute=np.asarray), "use the absolute values"),
    (lambda s: -_student_gini(s), "ascending order"),
    (lambda s: _student_gini(s) - 2 / s.size, "from 1 to n"),
    (lambda s: _student_gini(s) * s.size, "n times the sum"),
])
def test_the_gini_exercise_passes_a_right_answer_and_names_typical_mistakes(answer, hint,
                                                                            capsys):
    from labkit.course import exercises

    assert exercises.check_sparseness(_student_gini) is True
    assert "5/5 cases passed, correct." in capsys.readouterr().out
    assert exercises.check_sparseness(answer) is False
    out = capsys.readouterr().out
    assert "FAIL" in out and hint in out.split("Hint:")[1]
    assert "np.sort" not in out.split("Hint:")[1] or "ascending" in hint
