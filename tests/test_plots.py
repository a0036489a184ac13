"""Figures: what each function draws, that inputs survive untouched, array helpers."""
import copy
import dataclasses
from dataclasses import dataclass

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from skimage.transform import resize

import labkit
from labkit import plots
from labkit.explainers import Explanation
from labkit.metrics import METRICS, summarize

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def explained(random_mobilenet, chelsea):
    """Real explanations of a small image (cheap settings), by method."""
    image = (resize(chelsea, (64, 64), anti_aliasing=True) * 255).astype(np.uint8)
    params = {"lime": dict(num_samples=16, n_segments=8), "rise": dict(num_masks=16, grid_size=4),
              "gradcam": {}}
    return {m: labkit.explain(random_mobilenet, image, m, **p) for m, p in params.items()}


def _quadrant_lime(weights):
    """A fake LIME explanation: four 16x16 superpixels with the given weights."""
    segments = (np.arange(32)[:, None] // 16) * 2 + np.arange(32)[None] // 16
    weights = np.asarray(weights, np.float32)
    image = np.full((32, 32, 3), 128, np.uint8)
    return Explanation("lime", weights[segments], image, 0, "tabby", 0.5, "m", {}, 0.1,
                       {"segments": segments, "weights_by_label": {0: weights}})


@dataclass(frozen=True)
class Curve:  # duck-types labkit.metrics.CurveScore
    auc: float
    fractions: np.ndarray
    scores: np.ndarray
    metric: str
    target: int
    higher_is_better: bool


def _images_axes(fig):
    return [ax for ax in fig.axes if ax.images and ax.get_visible()]


def _unchanged(explanation, before):
    np.testing.assert_array_equal(explanation.saliency, before.saliency)
    np.testing.assert_array_equal(explanation.image, before.image)


# -- arrays ---------------------------------------------------------------------------
def test_normalize_ranges_and_edge_cases():
    saliency = np.array([[-2.0, 0.0], [1.0, 2.0]])
    out = plots.normalize(saliency)
    np.testing.assert_allclose(out, [[0, 0.5], [0.75, 1]])
    assert out.dtype == np.float32
    assert saliency[0, 0] == -2.0  # input untouched
    np.testing.assert_array_equal(plots.normalize(np.full((3, 3), 7.0)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        plots.normalize(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="2-D"):
        plots.normalize(np.zeros((2, 2, 3)))


def test_overlay_array_blends_by_alpha():
    image = np.full((8, 8, 3), 200, np.uint8)
    saliency = np.tile(np.arange(8.0), (8, 1))
    np.testing.assert_array_equal(plots.overlay_array(image, saliency, alpha=0), image)
    full = plots.overlay_array(image, saliency, alpha=1, cmap="gray")
    assert full.dtype == np.uint8 and full.shape == (8, 8, 3)
    assert full[0, 0].tolist() == [0, 0, 0] and full[0, -1].tolist() == [255, 255, 255]
    half = plots.overlay_array(image, saliency, alpha=0.5, cmap="gray")
    assert half[0, 0].tolist() == [100, 100, 100]
    with pytest.raises(ValueError, match="must match"):
        plots.overlay_array(image, np.zeros((4, 4)))


# -- single explanations --------------------------------------------------------------
def test_single_explanation_figures(explained):
    import matplotlib.pyplot as plt

    e = explained["gradcam"]
    before = copy.deepcopy(e)
    fig = plots.heatmap(e)
    assert isinstance(fig, Figure) and len(fig.axes) == 2  # map + colourbar
    assert "gradcam" in fig.axes[0].get_title() and e.target_name in fig.axes[0].get_title()
    assert fig.axes[0].get_xticks().size == 0
    assert len(plots.heatmap(e.saliency).axes) == 2
    assert len(plots.overlay(e, alpha=0.3).axes) == 2
    _unchanged(e, before)
    assert plt.get_fignums() == []  # closed in pyplot: a notebook shows each figure once


def test_drawing_into_given_axes(explained):
    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert plots.overlay(explained["rise"], ax=left) is fig
    assert plots.heatmap(explained["rise"], ax=right) is fig
    assert left.images and right.images


def test_ax_is_keyword_only_and_every_map_plot_takes_an_array(explained):
    import inspect

    for name in plots.__all__:
        fn = getattr(plots, name)
        if callable(fn) and "ax" in inspect.signature(fn).parameters:
            assert inspect.signature(fn).parameters["ax"].kind is inspect.Parameter.KEYWORD_ONLY
    assert "ax" in inspect.signature(plots.show).parameters
    e = explained["rise"]
    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert plots.show(e, ax=left) is fig and plots.overlay(e.saliency, image=e.image, ax=right)
    np.testing.assert_array_equal(left.images[0].get_array(), right.images[0].get_array())
    assert right.get_title() == "saliency"
    mixed = plots.show([e, e.saliency], image=e.image)
    assert [ax.get_title() == "saliency" for ax in _images_axes(mixed)] == [False, True]
    with pytest.raises(ValueError, match="without image="):
        plots.overlay(e.saliency)
    with pytest.raises(ValueError, match="ax= takes one panel but 2 explanations"):
        plots.show([e, e], ax=left)


def test_one_minmax_rule_for_plots_and_metrics():
    from labkit._pixels import minmax

    values = np.array([[1.0, 3.0], [2.0, 5.0]], np.float32)
    np.testing.assert_array_equal(minmax(values), plots.normalize(values))
    np.testing.assert_allclose(minmax(values, 2.0, 4.0), [[0, 0.5], [0, 1]])
    assert minmax(values).dtype == np.float32 and minmax(np.eye(2, dtype=int)).dtype == float
    np.testing.assert_array_equal(minmax(np.full((2, 2), 3.0)), np.zeros((2, 2)))
    np.testing.assert_array_equal(minmax(np.zeros((2, 2)), 0, 0, constant=0.5),
                                  np.full((2, 2), 0.5))


def test_lime_boundaries_colours_by_sign():
    e = _quadrant_lime([1.0, -1.0, 0.5, 0.0])
    before = copy.deepcopy(e)
    fig = plots.lime_boundaries(e, num_features=3, positive_only=False)
    drawn = np.asarray(fig.axes[0].images[0].get_array())
    green = np.all(drawn == (0, 1, 0), axis=-1)
    red = np.all(drawn == (1, 0, 0), axis=-1)
    segments = e.extras["segments"]
    assert green[segments == 0].any() and green[segments == 2].any()
    assert red[segments == 1].any()
    assert not (green | red)[segments == 3].any()  # zero weight: not chosen
    pos = np.asarray(plots.lime_boundaries(e).axes[0].images[0].get_array())
    assert not np.all(pos == (1, 0, 0), axis=-1).any()  # positive_only: no red
    _unchanged(e, before)


def test_lime_grid_draws_one_panel_per_rendering():
    e = _quadrant_lime([1.0, -1.0, 0.5, 0.0])
    renderings = [dict(num_features=1), dict(num_features=3, positive_only=False),
                  dict(num_features=2, negative_only=True, positive_only=False)]
    fig = plots.lime_grid(e, renderings, ncols=2)
    visible = [ax for ax in fig.axes if ax.get_visible() and ax.images]
    assert len(visible) == 3
    assert visible[1].get_title() == "num_features=3, positive_only=False"
    assert "\n" in visible[2].get_title()  # long settings wrap instead of overlapping
    # The negative-only panel outlines the one superpixel against the class, in red.
    drawn = np.asarray(visible[2].images[0].get_array())
    assert np.all(drawn == (1, 0, 0), axis=-1)[e.extras["segments"] == 1].any()
    with pytest.raises(ValueError, match="renderings is empty"):
        plots.lime_grid(e, [])


def test_lime_boundaries_of_a_real_explanation(explained):
    fig = plots.lime_boundaries(explained["lime"], num_features=2, positive_only=False,
                                hide_rest=True)
    assert len(_images_axes(fig)) == 1


def test_show_titles_and_grid(explained, random_mobilenet):
    es = [explained["lime"], explained["rise"], explained["gradcam"]]
    fig = plots.show(es, ncols=2)
    axes = _images_axes(fig)
    assert len(axes) == 3
    title = axes[1].get_title()
    assert title.startswith("rise · ") and f"({es[1].probability:.2f})" in title
    assert title.endswith(f"{es[1].seconds:.2f} s")
    fig = plots.show({"coarse": es[0], "fine": es[1]})
    assert [ax.get_title() for ax in _images_axes(fig)] == ["coarse", "fine"]
    other = Explanation(**{**es[2].__dict__, "model_name": "other"})
    titles = [ax.get_title() for ax in _images_axes(plots.show([es[2], other]))]
    assert titles[0].startswith("mobilenet · ") and titles[1].startswith("other · ")
    with pytest.raises(ValueError, match="2 titles for 3"):
        plots.show(es, titles=["a", "b"])


def test_rise_masks_panels(explained):
    e = explained["rise"]
    fig = plots.rise_masks(e)
    axes = _images_axes(fig)
    assert len(axes) == 4 + min(4, len(e.extras["running"]))
    assert f"N = {e.params['num_masks']}" in fig.get_suptitle()
    with pytest.raises(ValueError, match="RISE explanation"):
        plots.rise_masks(explained["gradcam"])


# -- evaluation -----------------------------------------------------------------------
def test_curves_legend_has_auc_and_one_panel_per_metric():
    f = np.linspace(0, 1, 11)
    scores = {"gradcam": [Curve(0.6, f, f ** 0.5, "insertion", 1, True),
                          Curve(0.4, f, f, "insertion", 1, True)],
              "rise": Curve(0.3, f, f ** 2, "insertion", 1, True),
              "rise ": Curve(0.2, f, 1 - f, "deletion", 1, False)}
    kept = copy.deepcopy(scores)
    fig = plots.curves(scores)
    assert len(fig.axes) == 2
    insertion, deletion = fig.axes
    labels = [t.get_text() for t in insertion.get_legend().get_texts()]
    assert labels == ["gradcam (AUC 0.500 ± 0.100)", "rise (AUC 0.300)"]
    assert insertion.get_title() == "insertion (↑ higher is better)"
    assert deletion.get_title() == "deletion (↓ lower is better)"
    np.testing.assert_allclose(insertion.lines[0].get_ydata(), (f ** 0.5 + f) / 2)
    assert len(insertion.collections) == 2  # shaded areas
    np.testing.assert_array_equal(scores["gradcam"][1].scores, kept["gradcam"][1].scores)
    with pytest.raises(ValueError, match="ax="):
        plots.curves(scores, ax=Figure().add_subplot())


def test_ground_truth_grid_shape(explained):
    e = explained["gradcam"]
    images = {"a": e.image, "b": e.image}
    truths = [np.eye(64), np.ones((64, 64))]
    fig = plots.ground_truth_grid(images, truths, {"gradcam": [e, e], "raw": [e.saliency] * 2})
    axes = _images_axes(fig)
    assert len(axes) == 2 * 4
    assert [ax.get_title() for ax in axes[:4]] == ["image", "ground truth", "gradcam", "raw"]
    assert axes[4].get_ylabel() == "b"
    np.testing.assert_array_equal(truths[0], np.eye(64))
    with pytest.raises(ValueError, match="1 maps for 2 images"):
        plots.ground_truth_grid(images, truths, {"gradcam": [e]})


def test_metric_bars_mean_std_and_direction():
    table = pd.DataFrame({"image": [0, 1, 0, 1, 0, 1, 0, 1],
                          "method": ["lime", "lime", "rise", "rise"] * 2,
                          "metric": ["pcc"] * 4 + ["deletion"] * 4,
                          "value": [0.2, 0.4, 0.5, 0.5, 0.1, 0.3, 0.2, 0.2]})
    kept = table.copy()
    fig = plots.metric_bars(table)
    assert [ax.get_title() for ax in fig.axes] == ["pcc (↑ higher is better)",
                                                   "deletion (↓ lower is better)"]
    heights = [p.get_height() for p in fig.axes[0].patches]
    np.testing.assert_allclose(heights, [0.3, 0.5])
    pd.testing.assert_frame_equal(table, kept)
    fig = plots.metric_bars(table.assign(metric="mine"), higher_is_better={"mine": False})
    assert fig.axes[0].get_title() == "mine (↓ lower is better)"
    # labkit's metrics take their direction from labkit.metrics.METRICS, the one source.
    assert plots.metric_bars(table.assign(metric="iou")).axes[0].get_title() == \
        "iou (↑ higher is better)"
    assert not hasattr(plots, "HIGHER_IS_BETTER")
    two_models = pd.concat([table.assign(model="a"), table.assign(model="b")])
    assert len(plots.metric_bars(two_models).axes[0].patches) == 4
    with pytest.raises(ValueError, match="lacks columns"):
        plots.metric_bars(table.drop(columns="value"))


def test_metric_bars_wraps_many_metrics_into_rows():
    # Lab 6 plots nine metrics: one row of nine panels would shrink each to a thumbnail.
    metrics = [f"m{i}" for i in range(9)]
    table = pd.DataFrame([{"image": i, "method": m, "metric": metric, "value": float(i)}
                          for metric in metrics for m in ("lime", "rise") for i in range(2)])
    fig = plots.metric_bars(table)
    assert [ax.get_title() for ax in fig.axes] == metrics
    rows = {round(ax.get_position().y0, 3) for ax in fig.axes}
    assert len(rows) == 3 and fig.get_size_inches()[0] < 16
    assert len({round(ax.get_position().y0, 3) for ax in
                plots.metric_bars(table, ncols=9).axes}) == 1
    with pytest.raises(labkit.ParameterError, match="ncols must be at least 1, got 0"):
        plots.metric_bars(table, ncols=0)


def test_photos_contact_sheet(chelsea):
    dark = (chelsea // 2).astype(np.uint8)
    fig = plots.photos({"cat": chelsea, "dark cat": dark}, captions={"cat": "tabby (0.61)"})
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["tabby (0.61)", "dark cat"]
    np.testing.assert_array_equal(axes[1].images[0].get_array(), dark)
    with pytest.raises(ValueError, match="captions name 'dog'"):
        plots.photos({"cat": chelsea}, captions={"dog": "?"})
    with pytest.raises(TypeError, match="non-empty dict"):
        plots.photos([chelsea])


# -- honest colour scales --------------------------------------------------------------
def _colorbars(fig):
    return [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]


def test_signed_maps_are_centred_at_zero_on_a_diverging_map(explained):
    lime = _quadrant_lime([1.0, -0.5, 0.25, 0.0])
    shown = plots.heatmap(lime).axes[0].images[0]
    assert shown.get_cmap().name == plots.DIVERGING == "RdBu_r"
    assert shown.get_clim() == (-1.0, 1.0)
    # LIME's record says signed: even an all-positive LIME map is centred at zero.
    positive = plots.heatmap(_quadrant_lime([1.0, 0.5, 0.25, 0.0])).axes[0].images[0]
    assert positive.get_cmap().name == "RdBu_r" and positive.get_clim() == (-1.0, 1.0)
    # Any map with negative values is signed (attributions before their absolute value).
    attributions = np.linspace(-3.0, 1.0, 64).reshape(8, 8)
    assert plots.is_signed(attributions)
    assert plots.heatmap(attributions).axes[0].images[0].get_clim() == (-3.0, 3.0)
    # A ranking map keeps the sequential map over its own range.
    gradcam = explained["gradcam"]
    assert not plots.is_signed(gradcam)
    ranked = plots.heatmap(gradcam).axes[0].images[0]
    assert ranked.get_cmap().name == plots.SEQUENTIAL == "jet"
    assert ranked.get_clim() == (gradcam.saliency.min(), gradcam.saliency.max())
    # In the overlay, zero is the diverging map's centre colour and -0.5 halfway to blue.
    drawn = plots.overlay(lime, alpha=1).axes[0].images[0].get_array()
    segments = lime.extras["segments"]
    rdbu = matplotlib.colormaps["RdBu_r"]
    for quadrant, position in ((3, 0.5), (1, 0.25), (0, 1.0)):
        expected = np.round(np.asarray(rdbu(position)[:3]) * 255)
        np.testing.assert_allclose(drawn[segments == quadrant][0], expected, atol=1)
    bar, = _colorbars(plots.overlay(lime))
    assert bar.get_ylim() == (-1.0, 1.0) and "signed" in bar.get_ylabel()


def test_show_gives_signed_and_ranking_maps_each_their_colourbar(explained):
    fig = plots.show([explained["lime"], explained["gradcam"]])
    labels = [bar.get_ylabel() for bar in _colorbars(fig)]
    assert labels == ["saliency (normalised per map)",
                      "signed saliency (÷ largest magnitude per map)"]
    assert len(_colorbars(plots.show([explained["rise"], explained["gradcam"]]))) == 1


def test_shared_scale_puts_every_panel_on_one_scale(explained):
    strong = explained["gradcam"]
    weak = dataclasses.replace(strong, saliency=strong.saliency * 0.25)
    own = [ax.images[0].get_array() for ax in _images_axes(plots.show([strong, weak]))]
    np.testing.assert_array_equal(own[0], own[1])  # per-map scales hide the strength
    fig = plots.show([strong, weak], shared_scale=True)
    low, high = float(strong.saliency.min() * 0.25), float(strong.saliency.max())
    for ax, e in zip(_images_axes(fig), (strong, weak)):
        expected = plots.overlay_array(e.image, e.saliency, signed=False, scale=(low, high))
        np.testing.assert_array_equal(ax.images[0].get_array(), expected)
    bar, = _colorbars(fig)
    assert bar.get_ylim() == pytest.approx((low, high))
    assert bar.get_ylabel() == "saliency, one scale shared by all panels"
    assert not np.array_equal(*[ax.images[0].get_array() for ax in _images_axes(fig)])
    # A signed map among them: one scale symmetric about zero for all.
    lime = explained["lime"]
    fig = plots.show([lime, strong], shared_scale=True)
    m = max(np.abs(lime.saliency).max(), np.abs(strong.saliency).max())
    bar, = _colorbars(fig)
    assert bar.get_ylim() == pytest.approx((-m, m))
    expected = plots.overlay_array(strong.image, strong.saliency, signed=True, scale=(-m, m))
    np.testing.assert_array_equal(_images_axes(fig)[1].images[0].get_array(), expected)


def test_ground_truth_grid_centres_signed_columns(explained):
    lime, gradcam = explained["lime"], explained["gradcam"]
    fig = plots.ground_truth_grid([lime.image], [np.eye(64)],
                                  {"lime": [lime], "gradcam": [gradcam]})
    axes = _images_axes(fig)
    expected = plots.overlay_array(lime.image, lime.saliency, signed=True)
    np.testing.assert_array_equal(axes[2].images[0].get_array(), expected)
    assert len(_colorbars(fig)) == 2


def test_summary_says_which_way_is_better():
    table = pd.DataFrame({"image": [0, 1, 0, 1], "method": ["m"] * 4,
                          "metric": ["insertion"] * 2 + ["deletion"] * 2,
                          "value": [0.5, 0.7, 0.2, 0.4], "model": "x", "seconds": 1.0})
    summary = summarize(table)
    assert summary.loc["m", ("insertion", "better")] == "↑ higher"
    assert summary.loc["m", ("deletion", "better")] == "↓ lower"
    assert METRICS["deletion"].higher_is_better is False
    assert summary.loc["m", ("insertion", "mean")] == pytest.approx(0.6)
