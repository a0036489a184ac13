"""Figures for explanations and their evaluation (Labs 4 to 6).

Every function returns the matplotlib ``Figure`` it drew and never changes its
inputs. Figures are closed in pyplot right away, so a notebook shows each one once:
make the call the last line of a cell (or ``display(fig)``); ``fig.savefig(path)``
saves it. Functions drawing a single panel accept ``ax=`` (keyword only) to draw into
your own axes. Functions that draw saliency take an ``Explanation`` or an (H, W) array
(with ``image=`` where the map goes over a photo).

Colour conventions (``cmap=None``, the default, picks them):

- maps that only rank pixels (Grad-CAM, FEM, RISE: no negative values) use the
  sequential :data:`SEQUENTIAL` ("jet", as in the Grad-CAM and RISE papers), from the
  map's minimum to its maximum;
- **signed** maps, whose sign means for or against the class (LIME's weights: the
  method's record says ``signed``; and any map with negative values, such as
  attributions before their absolute value), use the diverging :data:`DIVERGING`
  ("RdBu_r") with limits symmetric about zero, so white is exactly zero, red speaks for
  the class and blue against it, at equal strength for equal magnitudes;
- :func:`show` with ``shared_scale=True`` puts every panel on one colour scale in the
  maps' own units, so that a weaker map looks weaker (the colourbar says so);
- the map goes over the image at opacity ``alpha=0.5``; LIME superpixels are outlined
  in green when they speak for the class and red when they speak against it.

Every metric figure says which way is better, "(↑ higher is better)" or "(↓ lower is
better)", from ``labkit.metrics.METRICS``.
"""
from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .explainers import Explanation
    from .metrics import CurveScore, RandomisationCurve

#: Colour map of maps without negative values (they rank pixels).
SEQUENTIAL = "jet"
#: Colour map of signed maps, centred at zero.
DIVERGING = "RdBu_r"


# -- arrays --------------------------------------------------------------------------
def normalize(saliency: np.ndarray) -> np.ndarray:
    """Rescale a saliency map linearly to [0, 1] (min to 0, max to 1).

    Parameters
    ----------
    saliency : array_like, shape (H, W)
        Any finite real values.

    Returns
    -------
    ndarray, shape (H, W), float32
        A new array. A constant map carries no ranking, so it becomes all zeros
        (labkit's one min-max rule, :func:`labkit._pixels.minmax`, which the similarity
        metrics use too).
    """
    from ._pixels import minmax

    return minmax(_finite_map(saliency))


def limits(saliency: np.ndarray, signed: bool | None = None) -> tuple[float, float]:
    """The colour scale's (low, high) for one map: (-m, m) with m its largest magnitude
    for a signed map, (min, max) otherwise.

    Parameters
    ----------
    saliency : array_like, shape (H, W)
    signed : bool, optional
        Default: the map has negative values.
    """
    values = _finite_map(saliency)
    return _span(values, bool(values.min() < 0) if signed is None else signed)


def overlay_array(image: np.ndarray, saliency: np.ndarray, *, alpha: float = 0.5,
                  cmap: str | None = None, signed: bool | None = None,
                  scale: tuple[float, float] | None = None) -> np.ndarray:
    """Blend the coloured saliency over the image.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3)
        RGB pixels, uint8 or float in [0, 255].
    saliency : ndarray, shape (H, W)
    alpha : float in [0, 1]
        Opacity of the saliency colours: 0 shows the image only, 1 the map only.
    cmap : str, optional
        A matplotlib colormap name; default :data:`DIVERGING` for a signed map,
        :data:`SEQUENTIAL` otherwise.
    signed : bool, optional
        Centre the colours at zero (the map's sign means for or against); default:
        the map has negative values.
    scale : (float, float), optional
        The values shown at the two ends of the colour map (clipped beyond); default
        :func:`limits` of this map: min to max, or -m to m when signed.

    Returns
    -------
    ndarray, shape (H, W, 3), uint8
    """
    import matplotlib

    from ._checks import check_fraction, check_image

    pixels = check_image(image)
    alpha = check_fraction(alpha, "alpha", closed=True)
    if np.shape(saliency) != pixels.shape[:2]:
        raise ValueError(f"saliency has shape {np.shape(saliency)} but the image is "
                         f"{pixels.shape[:2]}; they must match.")
    values = _finite_map(saliency)
    signed = bool(values.min() < 0) if signed is None else bool(signed)
    low, high = _span(values, signed) if scale is None else scale
    cmap = cmap or (DIVERGING if signed else SEQUENTIAL)
    colours = matplotlib.colormaps[cmap](_scaled(values, low, high, signed))[..., :3] * 255.0
    return np.clip((1 - alpha) * pixels + alpha * colours, 0, 255).round().astype(np.uint8)


def is_signed(saliency_or_explanation: np.ndarray | Explanation) -> bool:
    """Does this map's sign mean something? True for an explanation whose method's
    record says ``signed`` (LIME) and for any map with negative values."""
    saliency, explanation = _saliency(saliency_or_explanation)
    if explanation is not None:
        from .explainers import get_explainer

        try:
            if get_explainer(explanation.method).signed:
                return True
        except ValueError:  # a method that is not registered here: the values decide
            pass
    return bool(np.min(saliency) < 0)


# -- single explanations -------------------------------------------------------------
def heatmap(saliency_or_explanation: np.ndarray | Explanation, *, ax: Axes | None = None,
            cmap: str | None = None) -> Figure:
    """The raw saliency map with a colourbar in the method's own units.

    A signed map (see :func:`is_signed`) is centred at zero on a diverging colour map,
    with symmetric limits.

    Parameters
    ----------
    saliency_or_explanation : Explanation or ndarray (H, W)
    ax : matplotlib Axes, optional
        Draw here instead of in a new figure.
    cmap : str, optional
        Default :data:`DIVERGING` for a signed map, :data:`SEQUENTIAL` otherwise.

    Returns
    -------
    Figure
    """
    saliency, explanation = _saliency(saliency_or_explanation)
    signed = is_signed(saliency_or_explanation)
    low, high = limits(saliency, signed)
    fig, ax = _single_axes(ax)
    shown = ax.imshow(saliency, cmap=cmap or (DIVERGING if signed else SEQUENTIAL),
                      vmin=low, vmax=high)
    fig.colorbar(shown, ax=ax, shrink=0.8,
                 label="saliency (signed, 0 at the centre)" if signed else "saliency")
    ax.set_title(_title(explanation) if explanation is not None else "saliency")
    _clean(ax)
    return fig


def overlay(saliency_or_explanation: np.ndarray | Explanation, alpha: float = 0.5, *,
            image: np.ndarray | None = None, cmap: str | None = None,
            ax: Axes | None = None) -> Figure:
    """The image with its saliency blended on top, from its minimum to its maximum, or
    centred at zero for a signed map (see the module docstring).

    Parameters
    ----------
    saliency_or_explanation : Explanation or ndarray (H, W)
    alpha : float in [0, 1]
        Opacity of the saliency colours.
    image : ndarray (H, W, 3), optional
        The photo under the map: required with an array, default the explanation's.
    cmap : str, optional
        Default :data:`DIVERGING` for a signed map, :data:`SEQUENTIAL` otherwise.
    ax : matplotlib Axes, optional

    Returns
    -------
    Figure
    """
    (saliency, image, title), = _panels([saliency_or_explanation], image)
    title = _title(saliency_or_explanation) if title is None else title
    fig, ax = _single_axes(ax)
    signed = is_signed(saliency_or_explanation)
    _draw_overlay(ax, image, saliency, alpha, cmap, title, signed)
    _colorbars(fig, ax, cmap, {signed})
    return fig


def lime_boundaries(explanation: Explanation, num_features: int = 5, positive_only: bool = True,
                    negative_only: bool = False, hide_rest: bool = False, *,
                    ax: Axes | None = None) -> Figure:
    """The strongest LIME superpixels outlined: green for the class, red against it.

    Parameters are those of :func:`labkit.explainers.lime_mask` (the `lime` package's
    ``get_image_and_mask``); set both ``positive_only`` and ``negative_only`` to False
    to show both signs.

    Returns
    -------
    Figure
    """
    from matplotlib.patches import Patch
    from skimage.segmentation import mark_boundaries

    from .explainers import lime_mask

    image, mask = lime_mask(explanation, num_features=num_features, positive_only=positive_only,
                            negative_only=negative_only, hide_rest=hide_rest)
    segments = explanation.extras["segments"]
    marked = image / 255.0
    for sign, colour in ((1, (0, 1, 0)), (-1, (1, 0, 0))):
        # Outline each chosen superpixel from the inside, so neighbours keep their colour.
        labels = np.where(mask == sign, segments + 1, 0)
        marked = mark_boundaries(marked, labels, color=colour, mode="inner", background_label=0)
    fig, ax = _single_axes(ax)
    ax.imshow(marked)
    ax.set_title(f"LIME · {explanation.target_name} ({explanation.probability:.2f}) · "
                 f"top {num_features} superpixels")
    legend = [Patch(color=c, label=lab) for c, lab, keep in
              (((0, 0.8, 0), "for the class", not negative_only),
               ((0.9, 0, 0), "against", not positive_only)) if keep]
    ax.legend(handles=legend, loc="lower right", fontsize="small", framealpha=0.8)
    _clean(ax)
    return fig


def lime_grid(explanation: Explanation, renderings: Sequence[dict], *, ncols: int = 5) -> Figure:
    """One LIME explanation drawn with several rendering settings, side by side.

    Rendering settings only change the picture, so this calls no model: it shows what
    ``num_features``, ``positive_only``, ``negative_only`` and ``hide_rest`` do.

    Parameters
    ----------
    explanation : Explanation
        From ``explain(..., method="lime")``.
    renderings : sequence of dict
        Keyword arguments of :func:`lime_boundaries`, one panel each.
    ncols : int
        Panels per row.

    Returns
    -------
    Figure
    """
    from ._checks import check_int

    renderings = list(renderings)
    if not renderings:
        raise ValueError("renderings is empty: pass at least one dict of lime_boundaries "
                         "arguments, e.g. [dict(num_features=5)].")
    ncols = min(check_int(ncols, "ncols"), len(renderings))
    nrows = -(-len(renderings) // ncols)
    fig = _figure((3.2 * ncols, 3.4 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, rendering in zip(axes.flat, renderings):
        lime_boundaries(explanation, ax=ax, **rendering)
        title = ", ".join(f"{k}={v}" for k, v in rendering.items())
        ax.set_title(textwrap.fill(title, 40), fontsize="small")
    for ax in axes.flat[len(renderings):]:
        ax.set_visible(False)
    return fig


def show(explanations: Explanation | np.ndarray | Sequence[Explanation | np.ndarray]
         | dict[str, Explanation | np.ndarray],
         titles: Sequence[str] | None = None, *, image: np.ndarray | None = None,
         alpha: float = 0.5, cmap: str | None = None, ncols: int = 4,
         shared_scale: bool = False, ax: Axes | None = None) -> Figure:
    """Overlays side by side, to compare methods, settings or models.

    Parameters
    ----------
    explanations : Explanation or ndarray (H, W), a sequence of them, or dict title -> one
    titles : sequence of str, optional
        One per explanation; default "method · class (p) · seconds", prefixed by the
        model name when the explanations come from several models ("saliency" for an
        array).
    image : ndarray (H, W, 3), optional
        The photo under the arrays (required when one is given); explanations bring
        their own.
    alpha : float in [0, 1]
    cmap : str, optional
        Default :data:`DIVERGING` for signed maps, :data:`SEQUENTIAL` otherwise.
    ncols : int
        Panels per row.
    shared_scale : bool
        False (default): each map spans its own colour scale (min to max, or -m to m
        when signed), which shows where each map looks and hides how strong it is.
        True: one scale for every panel, in the maps' own units (min to max over all
        maps, or symmetric about zero if any is signed), so a map of smaller values
        looks fainter: compare one method across settings, models or weights (the
        sanity check), whose maps share units; maps of different methods do not.
    ax : matplotlib Axes, optional
        Only for a single explanation: draw it there.

    Returns
    -------
    Figure
    """
    from ._checks import ParameterError, check_int

    if isinstance(explanations, dict):
        titles = list(explanations) if titles is None else titles
        explanations = list(explanations.values())
    elif not isinstance(explanations, (list, tuple)):
        explanations = [explanations]
    if not explanations:
        raise ValueError("explanations is empty: pass at least one Explanation.")
    panels = _panels(explanations, image)
    if titles is None:
        several_models = len({e.model_name for e in explanations
                              if hasattr(e, "model_name")}) > 1
        titles = [_title(e, model=several_models) if title is None else title
                  for e, (_, _, title) in zip(explanations, panels)]
    if len(titles) != len(explanations):
        raise ValueError(f"got {len(titles)} titles for {len(explanations)} explanations.")
    if ax is not None and len(explanations) > 1:
        raise ParameterError(f"ax= takes one panel but {len(explanations)} explanations were "
                             "given; leave ax=None.")
    ncols = min(check_int(ncols, "ncols"), len(explanations))
    nrows = -(-len(explanations) // ncols)
    if ax is None:
        fig = _figure((3.2 * ncols + 0.8, 3.3 * nrows))
        axes = fig.subplots(nrows, ncols, squeeze=False)
    else:
        fig, axes = ax.figure, np.array([[ax]])
    signed = [is_signed(e) for e in explanations]
    scale = None
    if shared_scale:
        signed = [any(signed)] * len(explanations)
        scale = _span(np.concatenate([_finite_map(saliency).ravel()
                                      for saliency, _, _ in panels]), signed[0])
    for ax, (saliency, photo, _), title, sign in zip(axes.flat, panels, titles, signed):
        _draw_overlay(ax, photo, saliency, alpha, cmap, title, sign, scale)
    for ax in axes.flat[len(explanations):]:
        ax.set_visible(False)
    if scale is None:
        _colorbars(fig, axes, cmap, set(signed))
    else:
        _shared_colorbar(fig, axes, cmap, signed[0], scale)
    return fig


def rise_masks(explanation: Explanation, *, cmap: str = "jet") -> Figure:
    """How RISE works on this image: masked inputs, then the map as masks accumulate.

    Top row: four of the random masks applied to the image (hidden pixels fade to the
    ``baseline`` used). Bottom row: the running saliency after more and more masks,
    on one colour scale, so you can see it converge. The suptitle gives the mean mask
    value (the kept fraction, close to p1).

    Returns
    -------
    Figure
    """
    extras = explanation.extras
    if "running" not in extras:
        raise ValueError(f"rise_masks needs a RISE explanation, got method {explanation.method!r}.")
    from ._pixels import baseline_pixels

    image = explanation.image.astype(np.float32)
    baseline = baseline_pixels(explanation.params["baseline"], image)
    masks = extras["example_masks"][:4]
    running = extras["running"]
    picks = sorted({round(i) for i in np.linspace(0, len(running) - 1, min(4, len(running)))})
    ncols = max(len(masks), len(picks))
    fig = _figure((3.0 * ncols + 0.8, 6.4))
    axes = fig.subplots(2, ncols, squeeze=False)
    for i, (ax, mask) in enumerate(zip(axes[0], masks)):
        keep = mask[..., None]
        ax.imshow((keep * image + (1 - keep) * baseline).astype(np.uint8))
        ax.set_title(f"mask {i + 1} (keeps {mask.mean():.0%})")
    final = running[-1][1]
    for ax, k in zip(axes[1], picks):
        n, partial = running[k]
        shown = ax.imshow(partial, cmap=cmap, vmin=float(final.min()), vmax=float(final.max()))
        ax.set_title(f"saliency after {n} masks")
    for ax in axes.flat:
        _clean(ax)
        if not ax.images:
            ax.set_visible(False)
    fig.colorbar(shown, ax=axes[1], shrink=0.8, label="saliency (final scale)")
    fig.suptitle(f"RISE · {explanation.target_name} · N = {extras['num_masks']}, "
                 f"s = {extras['grid_size']}, p1 = {extras['p1']:g} · "
                 f"mean mask {extras['mean_mask']:.2f}")
    return fig


# -- evaluation (Lab 6) --------------------------------------------------------------
def curves(curve_scores: dict[str, CurveScore | Sequence[CurveScore]], *,
           ax: Axes | None = None) -> Figure:
    """Insertion / deletion curves, with each curve's AUC in the legend and its area shaded.

    Parameters
    ----------
    curve_scores : dict label -> CurveScore or list of CurveScore
        From ``labkit.metrics``. A list (several images) is drawn as its mean curve,
        with the AUC as mean ± std. One panel per metric present.
    ax : matplotlib Axes, optional
        Only when a single metric is present.

    Returns
    -------
    Figure
    """
    if not curve_scores:
        raise ValueError("curve_scores is empty: pass {label: CurveScore}.")
    by_metric = {}
    for label, scores in curve_scores.items():
        scores = list(scores) if isinstance(scores, (list, tuple)) else [scores]
        metrics = {s.metric for s in scores}
        if len(metrics) != 1:
            raise ValueError(f"{label!r} mixes metrics {sorted(metrics)}; give one label per "
                             "metric.")
        by_metric.setdefault(metrics.pop(), []).append((label, scores))
    from .metrics import METRICS

    if ax is not None and len(by_metric) > 1:
        raise ValueError(f"ax= takes one panel but there are {len(by_metric)} metrics "
                         f"({sorted(by_metric)}); leave ax=None.")
    if ax is None:
        fig = _figure((5.0 * len(by_metric), 4.0))
        axes = fig.subplots(1, len(by_metric), squeeze=False)[0]
    else:
        fig, axes = ax.figure, [ax]
    for ax, (metric, entries) in zip(axes, by_metric.items()):
        for label, scores in entries:
            fractions = np.asarray(scores[0].fractions, dtype=float)
            if any(len(s.fractions) != len(fractions) for s in scores):
                raise ValueError(f"the curves of {label!r} have different lengths; "
                                 "compute them with the same number of steps.")
            mean = np.mean([np.asarray(s.scores, dtype=float) for s in scores], axis=0)
            aucs = [float(s.auc) for s in scores]
            auc = (f"{aucs[0]:.3f}" if len(aucs) == 1
                   else f"{np.mean(aucs):.3f} ± {np.std(aucs):.3f}")
            line, = ax.plot(fractions, mean, label=f"{label} (AUC {auc})")
            ax.fill_between(fractions, mean, alpha=0.15, color=line.get_color())
        action = {"insertion": "inserted", "deletion": "deleted"}.get(metric, "changed")
        better = METRICS[metric].higher_is_better if metric in METRICS \
            else entries[0][1][0].higher_is_better
        ax.set(xlabel=f"fraction of pixels {action}", ylabel="probability of the class",
               xlim=(0, 1), ylim=(0, None), title=f"{metric} ({_direction(better)})")
        ax.legend(fontsize="small")
        ax.grid(alpha=0.3)
    return fig


def randomisation(curves: dict[str, RandomisationCurve | Sequence[RandomisationCurve]], *,
                  ax: Axes | None = None) -> Figure:
    """Cascading randomisation curves (``labkit.metrics.model_randomisation``) on one axes.

    Each curve is the similarity of the map to the trained model's map as more and more
    blocks of the model are randomised, from the output down; the x axis is labelled with
    the blocks. A method that passes the sanity check falls towards 0 (or below) early.

    Parameters
    ----------
    curves : dict label -> RandomisationCurve or list of RandomisationCurve
        A list (several images) is drawn as its mean curve, with the area (the score,
        lower is better) as mean ± std in the legend.
    ax : matplotlib Axes, optional

    Returns
    -------
    Figure
    """
    if not curves:
        raise ValueError("curves is empty: pass {label: RandomisationCurve}.")
    if ax is None:
        fig = _figure((9.0, 4.2))  # the legend stands beside the axes
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    first = None
    for label, runs in curves.items():
        runs = list(runs) if isinstance(runs, (list, tuple)) else [runs]
        if any(getattr(r, "metric", None) != "model_randomisation" for r in runs):
            raise ValueError(f"{label!r}: expected curves from "
                             "labkit.metrics.model_randomisation.")
        first = first or runs[0]
        if any(not np.array_equal(r.fractions, first.fractions) for r in runs):
            raise ValueError(f"the curves of {label!r} randomise different blocks; compute "
                             "them with the same model and steps.")
        mean = np.mean([np.asarray(r.scores, dtype=float) for r in runs], axis=0)
        aucs = [float(r.auc) for r in runs]
        auc = f"{aucs[0]:.2f}" if len(aucs) == 1 else f"{np.mean(aucs):.2f} ± {np.std(aucs):.2f}"
        ax.plot(first.fractions, mean, marker="o", markersize=3, label=f"{label} (area {auc})")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(first.fractions, ["trained"] + list(first.blocks[1:]), rotation=60,
                  fontsize="small", ha="right")
    ax.set(xlabel="randomised from the output down to block", xlim=(0, 1), ylim=(-1, 1.05),
           ylabel=f"similarity to the trained map ({first.similarity})",
           title=f"cascading randomisation ({_direction(False)})")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(alpha=0.3)
    return fig


def randomisation_maps(curves: dict[str, RandomisationCurve], image: np.ndarray, *,
                       clip: float | None = None, alpha: float = 0.5,
                       cmap: str | None = None) -> Figure:
    """The maps behind cascading randomisation curves: one row per method, one column per step.

    Adebayo et al.'s figure: left, the trained model's map; to the right, the map after
    randomising the model from the output down to the block named above the column. Under
    each map, its similarity to the trained model's map (the curve's value). Each map is
    scaled on its own, as in :func:`show`.

    Parameters
    ----------
    curves : dict label -> RandomisationCurve
        From ``labkit.metrics.model_randomisation`` on ``image``, with the same model and
        steps.
    image : ndarray, shape (H, W, 3)
        The explained image.
    clip : float in (50, 100], optional
        Display only: clip each map to its ``100 - clip`` and ``clip`` percentiles before
        colouring, so that the few extreme pixels of a gradient map do not leave the rest
        dark (``clip=99``, as Google's PAIR saliency library shows gradients).
    alpha : float in [0, 1]
    cmap : str, optional
        Default :data:`DIVERGING` for maps with negative values, :data:`SEQUENTIAL`
        otherwise.

    Returns
    -------
    Figure
    """
    if not curves:
        raise ValueError("curves is empty: pass {label: RandomisationCurve}.")
    if clip is not None and not (isinstance(clip, (int, float)) and 50 < clip <= 100):
        raise ValueError(f"clip must be a percentile in (50, 100], e.g. 99, got {clip!r}.")
    runs = list(curves.values())
    if any(getattr(r, "metric", None) != "model_randomisation" for r in runs):
        raise ValueError("expected curves from labkit.metrics.model_randomisation.")
    if any(r.blocks != runs[0].blocks for r in runs):
        raise ValueError("the curves randomise different blocks; compute them with the same "
                         "model and steps.")
    steps = len(runs[0].blocks)
    fig = _figure((1.9 * steps + 1.2, 2.1 * len(runs)))
    axes = fig.subplots(len(runs), steps, squeeze=False)
    for row, (label, run) in enumerate(curves.items()):
        for ax, saliency, value in zip(axes[row], run.maps, run.scores):
            if clip is not None:
                saliency = np.clip(saliency, *np.percentile(saliency, (100 - clip, clip)))
            ax.imshow(overlay_array(image, saliency, alpha=alpha, cmap=cmap))
            ax.set_xlabel(f"{value:.2f}", fontsize="small")
        axes[row, 0].set_ylabel(str(label))
    for ax, block in zip(axes[0], ("trained",) + tuple(f"↓ {b}" for b in runs[0].blocks[1:])):
        ax.set_title(block, fontsize="small")
    for ax in axes.flat:
        _clean(ax)
    return fig


def ground_truth_grid(images: Sequence[np.ndarray] | dict[str, np.ndarray],
                      ground_truths: Sequence[np.ndarray],
                      explanations_by_method: dict[str, Sequence[Explanation | np.ndarray]], *,
                      alpha: float = 0.5, cmap: str | None = None) -> Figure:
    """Rows: images. Columns: image | ground truth | each method's map, all as overlays.

    Parameters
    ----------
    images : sequence of ndarray (H, W, 3), or dict name -> ndarray
        Names, when given, label the rows.
    ground_truths : sequence of ndarray (H, W)
        Human saliency (fixation density or a mask), one per image, in image order.
    explanations_by_method : dict method -> sequence of Explanation or ndarray (H, W)
        One map per image, in image order.
    alpha : float in [0, 1]
    cmap : str, optional
        Default :data:`DIVERGING` for signed maps (LIME's), :data:`SEQUENTIAL` otherwise.

    Returns
    -------
    Figure
    """
    names = list(images) if isinstance(images, dict) else None
    images = list(images.values()) if isinstance(images, dict) else list(images)
    ground_truths = list(ground_truths)
    if not images:
        raise ValueError("images is empty: pass at least one image.")
    if len(ground_truths) != len(images):
        raise ValueError(f"got {len(ground_truths)} ground truths for {len(images)} images.")
    for method, maps in explanations_by_method.items():
        if len(maps) != len(images):
            raise ValueError(f"method {method!r} has {len(maps)} maps for {len(images)} images.")
    columns = ["image", "ground truth", *explanations_by_method]
    fig = _figure((2.6 * len(columns) + 0.8, 2.6 * len(images)))
    axes = fig.subplots(len(images), len(columns), squeeze=False)
    kinds = set()
    for row, (image, truth) in enumerate(zip(images, ground_truths)):
        maps = [truth, *(m[row] for m in explanations_by_method.values())]
        axes[row, 0].imshow(np.asarray(image).astype(np.uint8))
        for ax, shown in zip(axes[row, 1:], maps):
            signed = is_signed(shown)
            kinds.add(signed)
            ax.imshow(overlay_array(image, _saliency(shown)[0], alpha=alpha, cmap=cmap,
                                    signed=signed))
        if names is not None:
            axes[row, 0].set_ylabel(str(names[row]))
    for ax, title in zip(axes[0], columns):
        ax.set_title(title)
    for ax in axes.flat:
        _clean(ax)
    _colorbars(fig, axes, cmap, kinds)
    return fig


def photos(images: dict[str, np.ndarray], captions: dict[str, str] | None = None, *,
           ncols: int = 6) -> Figure:
    """A contact sheet: the photos a lab works on, each with its name or a caption.

    Parameters
    ----------
    images : dict name -> ndarray (H, W, 3)
        RGB pixels in [0, 255]; sizes may differ.
    captions : dict name -> str, optional
        Text under each photo (e.g. the model's top prediction); default the name.
    ncols : int
        Photos per row.

    Returns
    -------
    Figure
    """
    from ._checks import check_image, check_int

    if not isinstance(images, dict) or not images:
        raise TypeError("images must be a non-empty dict name -> (H, W, 3) image.")
    captions = {} if captions is None else captions
    unknown = sorted(set(captions) - set(images), key=str)
    if unknown:
        raise ValueError(f"captions name {unknown[0]!r}, which is not in images.")
    ncols = min(check_int(ncols, "ncols"), len(images))
    nrows = -(-len(images) // ncols)
    fig = _figure((2.4 * ncols, 2.7 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, (name, image) in zip(axes.flat, images.items()):
        ax.imshow(check_image(image, name=str(name)).astype(np.uint8))
        ax.set_title(captions.get(name, str(name)), fontsize=9)
        _clean(ax)
    for ax in axes.flat[len(images):]:
        ax.set_visible(False)
    return fig


def metric_bars(table: pd.DataFrame,
                higher_is_better: dict[str, bool] | None = None, *,
                ncols: int = 4) -> Figure:
    """Mean ± standard deviation of each metric per method, one panel per metric.

    Parameters
    ----------
    table : pandas.DataFrame
        Tidy scores with columns ``image, method, metric, value`` (and optionally
        ``model``: several models give grouped bars).
    higher_is_better : dict metric -> bool, optional
        For metrics of your own; labkit's come from ``labkit.metrics.METRICS``. Shown
        in each title as "(↑ higher is better)" or "(↓ lower is better)"; a metric in
        neither is shown without a direction.
    ncols : int
        Panels per row: more metrics wrap onto further rows, so each panel keeps a
        readable size in a notebook.

    Returns
    -------
    Figure
    """
    from ._checks import check_int

    ncols = check_int(ncols, "ncols")
    missing = {"method", "metric", "value"} - set(table.columns)
    if missing:
        raise ValueError(f"table lacks columns {sorted(missing)}; it needs image, method, "
                         "metric and value (as labkit.metrics returns).")
    if table.empty:
        raise ValueError("table is empty: nothing to plot.")
    from .metrics import METRICS

    directions = {**{m: spec.higher_is_better for m, spec in METRICS.items()},
                  **(higher_is_better or {})}
    hue = "model" if "model" in table.columns and table["model"].nunique() > 1 else None
    metrics = list(dict.fromkeys(table["metric"]))
    methods = list(dict.fromkeys(table["method"]))
    groups = list(dict.fromkeys(table[hue])) if hue else [None]
    cols = min(ncols, len(metrics))
    rows = -(-len(metrics) // cols)
    fig = _figure((max(3.5, 0.9 * len(methods) * len(groups) + 1.5) * cols, 3.8 * rows))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for unused in axes[len(metrics):]:
        unused.remove()
    width = 0.8 / len(groups)
    x = np.arange(len(methods))
    for ax, metric in zip(axes, metrics):
        rows = table[table["metric"] == metric]
        for g, group in enumerate(groups):
            part = rows if group is None else rows[rows[hue] == group]
            stats = part.groupby("method")["value"].agg(["mean", "std"]).reindex(methods)
            ax.bar(x + (g - (len(groups) - 1) / 2) * width, stats["mean"], width,
                   yerr=stats["std"].fillna(0), capsize=3, label=group)
        ax.set_xticks(x, methods, rotation=30 if len(methods) > 3 else 0)
        direction = _direction(directions[metric]) if metric in directions else None
        ax.set_title(f"{metric} ({direction})" if direction else metric)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.grid(axis="y", alpha=0.3)
    if hue:
        axes[len(metrics) - 1].legend(title=hue, fontsize="small")
    return fig


# -- helpers -------------------------------------------------------------------------
def _figure(size):
    # pyplot registers the notebook's PNG display of figures; closing right away keeps
    # the figure usable but stops the inline backend from showing it a second time.
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=size, layout="constrained")
    plt.close(fig)
    return fig


def _single_axes(ax):
    if ax is not None:
        return ax.figure, ax
    fig = _figure((5.0, 4.2))
    return fig, fig.add_subplot()


def _saliency(saliency_or_explanation):
    if hasattr(saliency_or_explanation, "saliency"):
        return saliency_or_explanation.saliency, saliency_or_explanation
    saliency = np.asarray(saliency_or_explanation)
    if saliency.ndim != 2:
        raise ValueError(f"expected an Explanation or a 2-D (H, W) saliency map, "
                         f"got shape {saliency.shape}.")
    return saliency, None


def _title(explanation, model=False):
    title = (f"{explanation.method} · {explanation.target_name} "
             f"({explanation.probability:.2f}) · {explanation.seconds:.2f} s")
    return f"{explanation.model_name} · {title}" if model else title


def _panels(items, image):
    """(saliency, image, default title or None) per Explanation or (H, W) array; an
    array needs ``image``."""
    out = []
    for item in items:
        saliency, explanation = _saliency(item)
        if explanation is not None:
            out.append((saliency, explanation.image if image is None else image, None))
        elif image is None:
            from ._checks import ParameterError

            raise ParameterError("a saliency array was given without image=: pass the photo "
                                 "it explains, image=..., or pass the Explanation.")
        else:
            out.append((saliency, image, "saliency"))
    return out


def _draw_overlay(ax, image, saliency, alpha, cmap, title, signed, scale=None):
    ax.imshow(overlay_array(image, saliency, alpha=alpha, cmap=cmap, signed=signed,
                            scale=scale))
    ax.set_title(title, fontsize="medium")
    _clean(ax)


def _colorbars(fig, axes, cmap, kinds):
    """One colourbar per kind of map drawn (signed or not), each map on its own scale."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    if False in kinds:
        fig.colorbar(ScalarMappable(cmap=cmap or SEQUENTIAL), ax=axes, shrink=0.8,
                     label="saliency (normalised per map)")
    if True in kinds:
        fig.colorbar(ScalarMappable(Normalize(-1, 1), cmap=cmap or DIVERGING), ax=axes,
                     shrink=0.8, label="signed saliency (÷ largest magnitude per map)")


def _shared_colorbar(fig, axes, cmap, signed, scale):
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    fig.colorbar(ScalarMappable(Normalize(*scale), cmap=cmap or (DIVERGING if signed
                                                                  else SEQUENTIAL)),
                 ax=axes, shrink=0.8, label="saliency, one scale shared by all panels")


def _finite_map(saliency):
    values = np.asarray(saliency, dtype=np.float32)
    if values.ndim != 2:
        raise ValueError(f"saliency must be a 2-D (H, W) map, got shape {values.shape}.")
    if not np.all(np.isfinite(values)):
        raise ValueError("saliency contains NaN or infinite values.")
    return values


def _span(values, signed):
    if signed:
        m = float(np.abs(values).max())
        return -m, m
    return float(values.min()), float(values.max())


def _scaled(values, low, high, signed):
    """``values`` on the colour scale [low, high]. A scale of zero width carries no
    ranking: 0 (the bottom colour), or 0.5 (zero's colour) if signed."""
    from ._pixels import minmax

    return minmax(values, low, high, constant=0.5 if signed else 0.0)


def _clean(ax):
    # No ticks on images, but keep the axes so that row labels (ylabel) still show.
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def _direction(higher_is_better):
    return "↑ higher is better" if higher_is_better else "↓ lower is better"


__all__ = ["DIVERGING", "SEQUENTIAL", "curves", "ground_truth_grid", "heatmap", "is_signed",
           "limits", "lime_boundaries", "lime_grid", "metric_bars", "normalize", "overlay",
           "overlay_array", "photos", "randomisation", "randomisation_maps", "rise_masks",
           "show"]
