"""Compare explainers over a set of images: :func:`evaluate` and :func:`summarize`."""
import warnings
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd

from .._checks import check_seed
from ..explainers import explain, list_methods
from .fidelity import deletion, insertion
from .similarity import iou, pcc, pointing_game, ssim

__all__ = ["METRICS", "Metric", "evaluate", "score", "summarize"]


class Metric(NamedTuple):
    """How :func:`evaluate` calls a metric and how to read it.

    Attributes
    ----------
    function : callable
        ``function(saliency, truth, **params)`` when ``needs`` names a ground truth,
        ``function(model, image, saliency, **params)`` when it is "model".
    higher_is_better : bool
    needs : {"model", "ground_truths", "masks"}
        What the metric compares the saliency map with: the model's behaviour (no
        ground truth), a reference map, or a binary object mask. Named after the
        :func:`evaluate` argument that supplies it.
    """

    function: Callable
    higher_is_better: bool
    needs: str

    @property
    def needs_ground_truth(self):
        return self.needs != "model"


#: Every metric :func:`evaluate` knows, by name.
METRICS = {
    "pcc": Metric(pcc, True, "ground_truths"),
    "ssim": Metric(ssim, True, "ground_truths"),
    "iou": Metric(iou, True, "masks"),
    "pointing_game": Metric(pointing_game, True, "masks"),
    "insertion": Metric(insertion, True, "model"),
    "deletion": Metric(deletion, False, "model"),
}

COLUMNS = ["image", "method", "metric", "value", "model", "seconds"]


def evaluate(model, images, *, methods=("gradcam", "fem", "rise", "lime"),
             metrics=("pcc", "ssim", "insertion", "deletion"), ground_truths=None, masks=None,
             method_params=None, metric_params=None, image_ids=None, seed=0, progress=True,
             return_explanations=False, return_curves=False):
    """Explain every image with every method and score every map with every metric.

    Parameters
    ----------
    model : labkit.Classifier
    images : sequence of ndarray, each (H, W, 3)
        RGB pixels, uint8 or float in [0, 255]; sizes may differ.
    methods : sequence of str
        Names accepted by :func:`labkit.explain`.
    metrics : sequence of str
        Keys of :data:`METRICS`. Metrics that need a ground truth which was not given
        (PCC and SSIM need ``ground_truths``, IoU and the pointing game ``masks``) are
        skipped with one warning, so the defaults work on images without annotations.
    ground_truths : sequence of ndarray (H, W) or None, optional
        One reference map per image (e.g. human fixation density), aligned with
        ``images``; a None entry skips that image for PCC and SSIM.
    masks : sequence of bool ndarray (H, W) or None, optional
        One object mask per image, aligned with ``images``; None entries are skipped.
    method_params : dict, optional
        ``{method: {parameter: value}}`` passed to :func:`labkit.explain`, e.g.
        ``{"rise": {"num_masks": 1000}}``.
    metric_params : dict, optional
        ``{metric: {parameter: value}}``, e.g. ``{"insertion": {"steps": 20}}``.
    image_ids : sequence, optional
        One hashable label per image for the ``image`` column; default 0, 1, 2...
    seed : int or None
        Passed to every explanation: the same seed gives the same table.
    progress : bool
        Show a progress bar over (image, method) pairs.
    return_explanations : bool
        Also return ``{(image_id, method): Explanation}``, for plots.
    return_curves : bool
        Also return ``{(image_id, method, metric): CurveScore}`` for insertion and
        deletion, for plotting the curves without recomputing them.

    Returns
    -------
    table : pandas.DataFrame
        Tidy, one row per (image, method, metric), columns ``image``, ``method``,
        ``metric``, ``value`` (float; may be nan, see the metric), ``model`` (name) and
        ``seconds`` (wall time of the *explanation*, the method's cost, repeated on each
        of its metric rows). Curve metrics report their AUC.
    explanations : dict, only if ``return_explanations``
    curves : dict, only if ``return_curves``

    Examples
    --------
    >>> table = evaluate(model, images, methods=("gradcam", "rise"),
    ...                  metrics=("insertion", "deletion"))          # doctest: +SKIP
    >>> summarize(table)                                              # doctest: +SKIP
    """
    images = list(images)
    if not images:
        raise ValueError("images is empty: pass at least one image.")
    ids = list(range(len(images))) if image_ids is None else list(image_ids)
    if len(ids) != len(images) or len(set(ids)) != len(ids):
        raise ValueError(f"image_ids must hold {len(images)} distinct labels, one per image, "
                         f"got {len(ids)} ({len(set(ids))} distinct).")
    methods, metrics = _names(methods, list_methods(), "method"), _names(metrics, METRICS, "metric")
    method_params = _params(method_params, methods, list_methods(), "method_params")
    metric_params = _params(metric_params, metrics, METRICS, "metric_params")
    truths = {"ground_truths": _aligned(ground_truths, images, "ground_truths"),
              "masks": _aligned(masks, images, "masks"), "model": [None] * len(images)}
    skipped = [m for m in metrics if truths[METRICS[m].needs] is None]
    if skipped:
        warnings.warn(f"{', '.join(skipped)} skipped: "
                      + "; ".join(f"{m} needs {METRICS[m].needs}=" for m in skipped) + ".",
                      UserWarning, stacklevel=2)
    metrics = [m for m in metrics if m not in skipped]
    seed = check_seed(seed)

    pairs = [(i, method) for i in range(len(images)) for method in methods]
    if progress:
        from tqdm.auto import tqdm
        pairs = tqdm(pairs, desc="evaluate", unit="map")
    rows, explanations, curves = [], {}, {}
    for i, method in pairs:
        explanation = explain(model, images[i], method, seed=seed, **method_params[method])
        explanations[ids[i], method] = explanation
        for name in metrics:
            truth = truths[METRICS[name].needs][i]
            if METRICS[name].needs != "model" and truth is None:
                continue
            value, curve = _score_one(name, model, images[i], explanation, truth,
                                      metric_params[name])
            if curve is not None:
                curves[ids[i], method, name] = curve
            rows.append((ids[i], method, name, value, model.name, explanation.seconds))

    table = pd.DataFrame(rows, columns=COLUMNS)
    out = (table,) + ((explanations,) if return_explanations else ()) \
        + ((curves,) if return_curves else ())
    return out[0] if len(out) == 1 else out


def score(explanations, *, metrics=("deletion", "insertion"), model=None, ground_truth=None,
          mask=None, metric_params=None):
    """Score explanations you already have, side by side: one row each.

    Where :func:`evaluate` explains images itself, ``score`` takes the explanations
    of a comparison you ran (parameter settings, seeds, models) and scores each one
    on its own image, for its own explained class.

    Parameters
    ----------
    explanations : dict label -> Explanation
        The rows of the table, in order.
    metrics : sequence of str
        Keys of :data:`METRICS`.
    model : labkit.Classifier, optional
        Model for insertion and deletion; default each explanation's own model,
        ``labkit.load_model(explanation.model_name)`` (pass it for models built with
        ``weights=None``, which that name does not reload).
    ground_truth, mask : ndarray (H, W), optional
        One reference map / object mask shared by every row (same image), for PCC and
        SSIM / IoU and the pointing game.
    metric_params : dict, optional
        ``{metric: {parameter: value}}``, e.g. ``{"insertion": {"steps": 31}}``.

    Returns
    -------
    pandas.DataFrame
        Indexed by label, one column per metric (AUC for curve metrics), titled with
        its better direction: ``"deletion ↓"``, ``"insertion ↑"``.
    """
    from ..models import load_model

    if not isinstance(explanations, dict) or not explanations:
        raise TypeError("explanations must be a non-empty dict label -> Explanation.")
    metrics = _names(metrics, METRICS, "metric")
    metric_params = _params(metric_params, metrics, METRICS, "metric_params")
    truths = {"ground_truths": ground_truth, "masks": mask}
    for name in metrics:
        needs = METRICS[name].needs
        if needs != "model" and truths[needs] is None:
            argument = "ground_truth" if needs == "ground_truths" else "mask"
            raise ValueError(f"metric {name!r} needs {argument}=; pass it or drop the metric.")
    rows = {}
    for label, explanation in explanations.items():
        used = model if model is not None else load_model(explanation.model_name)
        rows[label] = {
            f"{name} {'↑' if METRICS[name].higher_is_better else '↓'}":
                _score_one(name, used, explanation.image, explanation,
                           truths.get(METRICS[name].needs), metric_params[name])[0]
            for name in metrics}
    return pd.DataFrame.from_dict(rows, orient="index")


def summarize(table):
    """Mean, standard deviation and count of each metric per method.

    Parameters
    ----------
    table : pandas.DataFrame
        The tidy table of :func:`evaluate`.

    Returns
    -------
    pandas.DataFrame
        Indexed by method (in the table's order), with a column MultiIndex
        ``(metric, statistic)``, statistic in ``mean``, ``std`` (across images, ddof=1;
        nan for one image) and ``n`` (images with a defined value: nan values, e.g.
        from constant maps, are left out), plus ``("seconds", "mean")``, the mean time
        of one explanation. Select with ``summary["insertion", "mean"]``.
        ``summary.attrs["higher_is_better"]`` maps each metric to its better direction
        (from :data:`METRICS`).
    """
    missing = set(COLUMNS) - set(table.columns)
    if missing:
        raise ValueError(f"table lacks the columns {sorted(missing)}; pass the table that "
                         "labkit.metrics.evaluate returns.")
    methods = list(dict.fromkeys(table["method"]))
    metrics = list(dict.fromkeys(table["metric"]))
    stats = table.groupby(["method", "metric"], sort=False)["value"].agg(["mean", "std", "count"])
    stats = stats.rename(columns={"count": "n"}).unstack("metric")
    stats.columns = stats.columns.swaplevel(0, 1)
    stats = stats.reindex(index=methods,
                          columns=pd.MultiIndex.from_product([metrics, ["mean", "std", "n"]]))
    per_map = table.drop_duplicates(["image", "method"]).groupby("method", sort=False)["seconds"]
    stats["seconds", "mean"] = per_map.mean().reindex(methods)
    stats.index.name, stats.columns.names = "method", ["metric", None]
    stats.attrs["higher_is_better"] = {m: METRICS[m].higher_is_better for m in metrics
                                       if m in METRICS}
    return stats


def _score_one(name, model, image, explanation, truth, params):
    """(value, curve or None) of one metric on one explanation."""
    spec = METRICS[name]
    if spec.needs == "model":
        curve = spec.function(model, image, explanation, **params)
        return float(curve.auc), curve
    return float(spec.function(explanation, truth, **params)), None


def _names(values, known, what):
    values = [values] if isinstance(values, str) else list(values)
    if not values:
        raise ValueError(f"give at least one {what}.")
    unknown = [v for v in values if v not in known]
    if unknown:
        raise ValueError(f"unknown {what} {unknown[0]!r}; choose from {sorted(known)}.")
    return list(dict.fromkeys(values))


def _params(params, names, known, what):
    """Parameters per name run; entries for known names not run are ignored (not typos)."""
    params = dict(params or {})
    unknown = sorted(set(params) - set(known), key=str)
    if unknown:
        raise ValueError(f"{what} has an entry for {unknown[0]!r}, which is not a known name; "
                         f"choose from {sorted(known)}.")
    return {name: dict(params.get(name, {})) for name in names}


def _aligned(values, images, what):
    if values is None:
        return None
    values = list(values)
    if len(values) != len(images):
        raise ValueError(f"{what} has {len(values)} entries for {len(images)} images; give one "
                         "per image (None where there is none).")
    return [None if v is None else np.asarray(v) for v in values]
