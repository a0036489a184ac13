"""Compare explainers over a set of images: :func:`evaluate` and :func:`summarize`."""
from __future__ import annotations

import functools
import inspect
import numbers
import os
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, as_completed
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd

from .._checks import ParameterError, check_bool, check_image, check_seed, renamed
from .._version import __version__
from ..explainers import RENAMED, Explanation, get_explainer, list_methods
from ._maps import as_map, as_mask
from ._work import (
    NO_TRUTH,
    Result,
    Unit,
    check_executor,
    model_reference,
    run,
    run_remote,
    score_one,
    travel_reference,
    unit_seed,
)
from .complexity import complexity, sparseness
from .fidelity import deletion, insertion
from .randomisation import model_randomisation, random_logit
from .road import road
from .robustness import max_sensitivity
from .similarity import iou, pcc, pointing_game, ssim
from .store import Store, digest

if TYPE_CHECKING:
    from ..models import Classifier

__all__ = ["METRICS", "Metric", "evaluate", "score", "summarize"]


class Metric(NamedTuple):
    """How :func:`evaluate` calls a metric and how to read it.

    Attributes
    ----------
    function : callable
        ``function(saliency, truth, **params)`` when ``needs`` names a ground truth;
        ``function(saliency, **params)`` for "map"; ``function(model, image,
        explanation, **params)`` for "model" and "explainer" (an "explainer" metric also
        gets ``seed=``, the seed the explanation was made with: one per image and method).
        A :class:`CurveScore` result is reported by its ``auc``.
    higher_is_better : bool
    needs : {"model", "ground_truths", "masks", "map", "explainer"}
        What the metric compares the saliency map with: the model's behaviour (no
        ground truth), a reference map, a binary object mask (named after the
        :func:`evaluate` argument that supplies them); nothing but the map itself
        ("map": sparseness, complexity); or more maps of the same explainer, on noisy
        images, a randomised model or another class ("explainer").
    """

    function: Callable
    higher_is_better: bool
    needs: str

    @property
    def needs_ground_truth(self):
        return self.needs in ("ground_truths", "masks")


#: Every metric :func:`evaluate` knows, by name.
METRICS = {
    "pcc": Metric(pcc, True, "ground_truths"),
    "ssim": Metric(ssim, True, "ground_truths"),
    "iou": Metric(iou, True, "masks"),
    "pointing_game": Metric(pointing_game, True, "masks"),
    "insertion": Metric(insertion, True, "model"),
    "deletion": Metric(deletion, False, "model"),
    "road": Metric(road, False, "model"),  # MoRF
    "road_lerf": Metric(functools.partial(road, order="lerf"), True, "model"),
    "sparseness": Metric(sparseness, True, "map"),
    "complexity": Metric(complexity, False, "map"),
    "max_sensitivity": Metric(max_sensitivity, False, "explainer"),
    "model_randomisation": Metric(model_randomisation, False, "explainer"),
    "random_logit": Metric(random_logit, False, "explainer"),
}

COLUMNS = ["image", "method", "metric", "value", "model", "seconds"]


def evaluate(model: Classifier | str, images: Sequence[np.ndarray], *,
             methods: str | Sequence[str] = ("gradcam", "fem", "rise", "lime"),
             metrics: str | Sequence[str] = ("pcc", "ssim", "insertion", "deletion"),
             ground_truths: Sequence[np.ndarray | None] | None = None,
             masks: Sequence[np.ndarray | None] | None = None,
             method_params: dict | None = None, metric_params: dict | None = None,
             image_ids: Sequence | None = None, seed: int | None = 0, progress: bool = True,
             return_explanations: bool = False, return_curves: bool = False,
             store: str | os.PathLike | None = None, keep_maps: bool = False,
             executor: Executor | None = None) -> pd.DataFrame | tuple:
    """Explain every image with every method and score every map with every metric.

    Parameters
    ----------
    model : labkit.Classifier or str
        A classifier, or what :func:`labkit.load_model` takes: a registered model name
        (or, where supported, a saved model's path). With an ``executor`` each worker
        process loads the model once by that name, so a Classifier must be one that
        ``labkit.load_model(model.name)`` returns; save others (e.g. from ``transfer``)
        and pass the path.
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
        ``{metric: {parameter: value}}``, e.g. ``{"insertion": {"steps": 20}}``. Names
        are checked against each metric's keyword arguments before anything runs.
    image_ids : sequence, optional
        One hashable label per image for the ``image`` column; default 0, 1, 2...
        With a ``store``: all integers or all strings.
    seed : int or None
        The evaluation seed. Each (image, method) pair is explained with its own seed,
        derived from this one, the image label and the method name by SHA-256, so every
        image gets independent random draws and the table is the same whatever the
        order, process or machine the pairs run on. None: unseeded, not reproducible.
    progress : bool
        Show a progress bar over images, with an estimated time left (and, on a Dask
        executor, print the dashboard's address).
    return_explanations : bool
        Also return ``{(image_id, method): Explanation}``, for plots. Not with ``store``
        (resumed pairs have only their scores; see ``keep_maps``).
    return_curves : bool
        Also return ``{(image_id, method, metric): CurveScore}`` for the curve metrics
        (insertion, deletion, ROAD), for plotting the curves without recomputing them.
        With ``store``, resumed pairs give the curves the store kept (pairs stored by a
        labkit that kept no curves are computed again).
    store : str or path-like, optional
        A folder that keeps every (image, method) pair's rows as a Parquet file the
        moment they are computed (see :mod:`labkit.metrics.store`;
        ``pandas.read_parquet(store)`` reads them all). A rerun with the same store and
        settings computes only the missing pairs, so an interrupted run loses at most
        the pairs in progress; other settings (model weights, method or metric
        parameters, seed, labkit version) add a new row set, told apart by the
        ``settings`` column, never mixed with the old one.
    keep_maps : bool
        With ``store``: keep each (image, method) explanation in the store too (its map,
        image and metadata; not its ``extras``), 0.1 to 0.3 MB per pair at 224 x 224, so
        that :func:`load_maps` can give them back to plot or re-score (:func:`score`)
        without explaining again. Off by default. Pairs stored without their map are
        recomputed when it is asked for.
    executor : concurrent.futures.Executor, optional
        Runs the (image, method) pairs: a ``ProcessPoolExecutor(n,
        mp_context=multiprocessing.get_context("spawn"))`` on this machine, or
        ``dask.distributed.Client(...).get_executor()`` on a cluster. Default: one
        after the other in this process. The table is the same either way.

    Returns
    -------
    table : pandas.DataFrame
        Tidy, one row per (image, method, metric), columns ``image``, ``method``,
        ``metric``, ``value`` (float; may be nan, see the metric), ``model`` (name) and
        ``seconds`` (wall time of the *explanation*, the method's cost, repeated on each
        of its metric rows). Curve metrics report their AUC. Rows are in the order of
        ``images``, ``methods`` and ``metrics``. With a store, ``table.attrs["settings"]``
        maps each method to its settings hash in the store.
    explanations : dict, only if ``return_explanations``
    curves : dict, only if ``return_curves``

    Examples
    --------
    >>> table = evaluate(model, images, methods=("gradcam", "rise"),
    ...                  metrics=("insertion", "deletion"))          # doctest: +SKIP
    >>> summarize(table)                                              # doctest: +SKIP
    >>> from dask.distributed import Client, LocalCluster             # doctest: +SKIP
    >>> client = Client(LocalCluster(n_workers=2, threads_per_worker=1))  # doctest: +SKIP
    >>> table = evaluate("efficientnet_lite0", images, executor=client.get_executor(),
    ...                  store="results.parquet")                     # doctest: +SKIP
    """
    images = _images(images)
    ids = _ids(image_ids, images)
    methods, metrics = _names(methods, list_methods(), "method"), _names(metrics, METRICS, "metric")
    method_params = _params(method_params, methods, list_methods(), "method_params")
    # Every method parameter checked against its record now, not after the first explanation.
    method_params = {m: get_explainer(m).check_params(renamed(p, RENAMED, m))
                     for m, p in method_params.items()}
    metric_params = _check_metric_params(_params(metric_params, metrics, METRICS,
                                                 "metric_params"))
    seeded = [m for m in metrics if METRICS[m].needs == "explainer" and "seed" in metric_params[m]]
    if seeded:
        raise ParameterError(f"metric_params: {seeded[0]} takes its seed from evaluate's seed= "
                             "(one per image and method, so that tables are reproducible); "
                             f"remove 'seed' from metric_params[{seeded[0]!r}].")
    truths = {"ground_truths": _aligned(ground_truths, images, "ground_truths"),
              "masks": _aligned(masks, images, "masks"),
              **{need: [None] * len(images) for need in NO_TRUTH}}
    _check_truths(truths, images)
    skipped = [m for m in metrics if truths[METRICS[m].needs] is None]
    if skipped:
        warnings.warn(f"{', '.join(skipped)} skipped: "
                      + "; ".join(f"{m} needs {METRICS[m].needs}=" for m in skipped) + ".",
                      UserWarning, stacklevel=2)
    metrics = [m for m in metrics if m not in skipped]
    seed = check_seed(seed)
    if keep_maps and store is None:
        raise ParameterError("keep_maps=True keeps the maps in the store: pass store= too (or "
                             "return_explanations=True to get them without a store).")
    if store is not None and return_explanations:
        raise ParameterError("return_explanations is not available with store=: resumed pairs "
                             "keep only their scores; pass keep_maps=True and read the maps with "
                             "labkit.metrics.load_maps(store), or evaluate without a store.")
    opened = None if store is None else Store(store, _image_type(ids))  # before the model loads
    model, reference = model_reference(model)
    if executor is not None:
        check_executor(executor)
        reference = travel_reference(model, reference)

    needs = sorted({METRICS[m].needs for m in metrics})
    scoring = tuple((m, metric_params[m]) for m in metrics)
    with_specs = tuple((m, METRICS[m], p) for m, p in scoring)
    units = [Unit(i, ids[i], method, method_params[method], unit_seed(seed, ids[i], method),
                  images[i], {n: truths[n][i] for n in needs}, with_specs, reference,
                  return_explanations or keep_maps)
             for i in range(len(images)) for method in methods]
    results, saved = {}, None
    if opened is not None:
        saved = _open_store(opened, model, units, methods, scoring, seed, keep_maps,
                            return_curves)
        results = dict(saved.done)
    todo = [u for u in units if (u.position, u.method) not in results]

    bar = _progress_bar(progress, executor, len(images), results, methods)
    left = {i: sum((i, m) not in results for m in methods) for i in range(len(images))}
    try:
        for unit, result in _execute(todo, model, executor):
            if saved is not None:
                saved.write(unit, result)
            results[unit.position, unit.method] = result
            left[unit.position] -= 1
            if bar is not None and left[unit.position] == 0:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()

    rows, explanations, curves = [], {}, {}
    for unit in units:
        result = results[unit.position, unit.method]
        rows += [(unit.image_id, unit.method) + tuple(row) for row in result.rows]
        explanations[unit.image_id, unit.method] = result.explanation
        if return_curves:
            curves.update({(unit.image_id, unit.method, name): curve
                           for name, curve in result.curves.items()})
    table = pd.DataFrame(rows, columns=COLUMNS)
    if saved is not None:
        table.attrs["settings"] = saved.settings
    out = (table,) + ((explanations,) if return_explanations else ()) \
        + ((curves,) if return_curves else ())
    return out[0] if len(out) == 1 else out


def score(explanations: dict[object, Explanation], *,
          metrics: str | Sequence[str] = ("deletion", "insertion"),
          model: Classifier | None = None, ground_truth: np.ndarray | None = None,
          mask: np.ndarray | None = None, metric_params: dict | None = None) -> pd.DataFrame:
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
        ``weights=None``, which that name does not reload). A warning says when an
        explanation's ``model_hash`` shows it was computed with other weights.
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
        raise ParameterError("score: explanations must be a non-empty dict label -> "
                             "Explanation.")
    wrong = [label for label, e in explanations.items() if not isinstance(e, Explanation)]
    if wrong:
        raise ParameterError(f"score: explanations[{wrong[0]!r}] is a "
                             f"{type(explanations[wrong[0]]).__name__}, not an Explanation; "
                             "pass what labkit.explain returns.")
    metrics = _names(metrics, METRICS, "metric")
    metric_params = _check_metric_params(_params(metric_params, metrics, METRICS,
                                                 "metric_params"))
    truths = {"ground_truths": ground_truth, "masks": mask}
    for name in metrics:
        needs = METRICS[name].needs
        if METRICS[name].needs_ground_truth and truths[needs] is None:
            argument = "ground_truth" if needs == "ground_truths" else "mask"
            raise ParameterError(f"metric {name!r} needs {argument}=; pass it or drop the "
                                 "metric.")
    asks_model = any(METRICS[name].needs in ("model", "explainer") for name in metrics)
    rows = {}
    for label, explanation in explanations.items():
        used = model if model is not None else load_model(explanation.model_name)
        if asks_model and explanation.model_hash not in (None, used.model_hash):
            warnings.warn(f"explanation {label!r} was computed with other weights than the "
                          f"model that scores it ({used.name}); its scores measure that model, "
                          "not the one explained.", UserWarning, stacklevel=2)
        rows[label] = {
            f"{name} {'↑' if METRICS[name].higher_is_better else '↓'}":
                score_one(METRICS[name], used, explanation.image, explanation,
                           truths.get(METRICS[name].needs), metric_params[name])[0]
            for name in metrics}
    return pd.DataFrame.from_dict(rows, orient="index")


def summarize(table: pd.DataFrame, *, compact: bool = False) -> pd.DataFrame:
    """Mean, standard deviation and count of each metric per method.

    Parameters
    ----------
    table : pandas.DataFrame
        The tidy table of :func:`evaluate`.
    compact : bool
        False (default): numbers, one column per (metric, statistic), to compute with.
        True: a table to read, one column per metric named with its direction
        ("iou ↑", "deletion ↓") and text cells "mean ± std" (the mean alone for one
        value); " (n=k)" follows when only k of the images had a defined value; last,
        "seconds", the mean time of one explanation. Nine metrics fit on a notebook's
        width.

    Returns
    -------
    pandas.DataFrame
        Indexed by method (in the table's order), with a column MultiIndex
        ``(metric, statistic)``, statistic in ``better`` (text: "↑ higher" or "↓ lower",
        which way is better, from :data:`METRICS`), ``mean``, ``std`` (across images,
        ddof=1; nan for one image) and ``n`` (images with a defined value: nan values,
        e.g. from constant maps, are left out), plus ``("seconds", "mean")``, the mean
        time of one explanation. Select with ``summary["insertion", "mean"]``.
        ``summary.attrs["higher_is_better"]`` maps each metric to its better direction
        (from :data:`METRICS`).
    """
    check_bool(compact, "compact")
    if not isinstance(table, pd.DataFrame):
        raise ParameterError(f"summarize: table must be the pandas.DataFrame that "
                             f"labkit.metrics.evaluate returns, got {type(table).__name__}.")
    missing = set(COLUMNS) - set(table.columns)
    if missing:
        raise ParameterError(f"summarize: table lacks the columns {sorted(missing)}; pass the "
                             "table that labkit.metrics.evaluate returns.")
    if table.empty:
        raise ParameterError("summarize: table has no rows (no image was evaluated, or every "
                             "metric was skipped): there is nothing to summarize.")
    if not pd.api.types.is_numeric_dtype(table["value"]):
        raise ParameterError(f"summarize: table's value column must be numeric, got "
                             f"{table['value'].dtype}; pass the table that evaluate returns.")
    methods = list(dict.fromkeys(table["method"]))
    metrics = list(dict.fromkeys(table["metric"]))
    stats = table.groupby(["method", "metric"], sort=False)["value"].agg(["mean", "std", "count"])
    stats = stats.rename(columns={"count": "n"}).unstack("metric")
    stats.columns = stats.columns.swaplevel(0, 1)
    stats = stats.reindex(index=methods, columns=pd.MultiIndex.from_product(
        [metrics, ["better", "mean", "std", "n"]]))
    for metric in metrics:  # printed tables say which way is better, as plots do
        spec = METRICS.get(metric)
        stats[metric, "better"] = "" if spec is None else (
            "↑ higher" if spec.higher_is_better else "↓ lower")
    per_map = table.drop_duplicates(["image", "method"]).groupby("method", sort=False)["seconds"]
    stats["seconds", "mean"] = per_map.mean().reindex(methods)
    stats.index.name, stats.columns.names = "method", ["metric", None]
    stats.attrs["higher_is_better"] = {m: METRICS[m].higher_is_better for m in metrics
                                       if m in METRICS}
    return _compact(stats, metrics, table["image"].nunique()) if compact else stats


def _compact(stats, metrics, images):
    """summarize's numbers as one "mean ± std" text column per metric."""
    arrows = {True: " ↑", False: " ↓"}
    text = pd.DataFrame(index=stats.index)
    for metric in metrics:
        column = stats[metric]
        text[metric + arrows.get(stats.attrs["higher_is_better"].get(metric), "")] = [
            f"{m:.3f}" + ("" if np.isnan(s) else f" ± {s:.3f}")
            + ("" if n == images else f" (n={n:.0f})")
            for m, s, n in zip(column["mean"], column["std"], column["n"])]
    text["seconds"] = [f"{s:.2f}" for s in stats["seconds", "mean"]]  # per map
    text.attrs = stats.attrs
    return text


def _names(values, known, what):
    if isinstance(values, str):
        values = [values]
    elif not isinstance(values, (list, tuple)):
        raise ParameterError(f"{what}s must be a name or a list of names, got "
                             f"{type(values).__name__}.")
    if not values:
        raise ParameterError(f"{what}s is empty: give at least one {what}.")
    unknown = [v for v in values if not isinstance(v, str) or v not in known]
    if unknown:
        raise ParameterError(f"unknown {what} {unknown[0]!r}; choose from {sorted(known)}.")
    return list(dict.fromkeys(values))


def _params(params, names, known, what):
    """Parameters per name run; entries for known names not run are ignored (not typos)."""
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ParameterError(f"{what} must be a dict {{name: {{parameter: value}}}}, got "
                             f"{type(params).__name__}.")
    unknown = sorted(set(params) - set(known), key=str)
    if unknown:
        raise ParameterError(f"{what} has an entry for {unknown[0]!r}, which is not a known "
                             f"name; choose from {sorted(known)}.")
    for name, values in params.items():
        if not isinstance(values, dict):
            raise ParameterError(f"{what}[{name!r}] must be a dict {{parameter: value}}, got "
                                 f"{type(values).__name__}.")
    return {name: dict(params.get(name, {})) for name in names}


def _check_metric_params(metric_params):
    """Every metric parameter name checked against the metric's signature (its keyword-only
    arguments), before the first explanation runs: a typo costs nothing."""
    for name, params in metric_params.items():
        accepted = [p.name for p in inspect.signature(METRICS[name].function).parameters.values()
                    if p.kind is inspect.Parameter.KEYWORD_ONLY]
        for key in params:
            if key not in accepted:
                raise ParameterError(f"metric_params[{name!r}] has no parameter {key!r}; "
                                     f"{name} takes {accepted}.")
    return metric_params


def _images(images):
    """``images`` as a list, each checked now (cheap) rather than when its turn comes."""
    if isinstance(images, np.ndarray) and images.ndim == 3:
        raise ParameterError("images must be a sequence of images; for one image pass [image].")
    try:
        images = list(images)
    except TypeError:
        raise ParameterError(f"images must be a sequence of (H, W, 3) arrays, got "
                             f"{type(images).__name__}.") from None
    if not images:
        raise ParameterError("images is empty: pass at least one image.")
    for i, image in enumerate(images):
        check_image(image, name=f"images[{i}]")
    return images


def _ids(image_ids, images):
    try:
        ids = list(range(len(images))) if image_ids is None else list(image_ids)
        distinct = len(set(ids))
    except TypeError:
        raise ParameterError("image_ids must be a sequence of hashable labels (numbers or "
                             "strings), one per image.") from None
    if len(ids) != len(images) or distinct != len(ids):
        raise ParameterError(f"image_ids must hold {len(images)} distinct labels, one per "
                             f"image, got {len(ids)} ({distinct} distinct).")
    return ids


def _aligned(values, images, what):
    if values is None:
        return None
    try:
        values = list(values)
    except TypeError:
        raise ParameterError(f"{what} must be a sequence with one entry per image, got "
                             f"{type(values).__name__}.") from None
    if len(values) != len(images):
        raise ParameterError(f"{what} has {len(values)} entries for {len(images)} images; give "
                             "one per image (None where there is none).")
    return [None if v is None else np.asarray(v) for v in values]


def _check_truths(truths, images):
    """Every ground-truth map and mask checked before the first explanation; a mask must
    have its image's size (IoU and the pointing game do not resize)."""
    for i, image in enumerate(images):
        if truths["ground_truths"] is not None and truths["ground_truths"][i] is not None:
            as_map(truths["ground_truths"][i], f"ground_truths[{i}]")
        if truths["masks"] is not None and truths["masks"][i] is not None:
            as_mask(truths["masks"][i], image.shape[:2], f"masks[{i}]")


def _execute(units, model, executor):
    """Yield (unit, Result) as each unit finishes: in order in this process, or as the
    executor completes them (pending ones are cancelled if the caller stops early)."""
    if executor is None:
        for unit in units:
            yield unit, run(model, unit)
        return
    futures = {executor.submit(run_remote, unit): unit for unit in units}
    try:
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        for future in futures:
            future.cancel()


def _progress_bar(progress, executor, n_images, results, methods):
    if not progress:
        return None
    from tqdm.auto import tqdm

    client = getattr(executor, "_client", None)  # Dask's ClientExecutor
    if getattr(client, "dashboard_link", None):
        print(f"Dask dashboard: {client.dashboard_link}")
    done = sum(all((i, m) in results for m in methods) for i in range(n_images))
    return tqdm(total=n_images, initial=done, desc="evaluate", unit="image")


class _OpenStore(NamedTuple):
    store: Store
    settings: dict      # method -> settings hash
    data: dict          # unit position -> data hash
    done: dict          # (position, method) -> Result read back from the store
    keep_maps: bool

    def write(self, unit, result):
        if self.keep_maps:  # before the rows: rows on disk mean the unit is complete
            self.store.write_map(self.settings[unit.method], _stored_label(unit.image_id),
                                 result.explanation)
        if result.curves:
            self.store.write_curves(self.settings[unit.method], _stored_label(unit.image_id),
                                    result.curves)
        self.store.write(self.settings[unit.method], _stored_label(unit.image_id), [
            dict(image=_stored_label(unit.image_id), method=unit.method, metric=metric,
                 value=value, model=name, seconds=seconds, settings=self.settings[unit.method],
                 data=self.data[unit.position])
            for metric, value, name, seconds in result.rows])


def _image_type(ids):
    """The store's type of image labels: "int" or "str"."""
    if all(isinstance(i, numbers.Integral) and not isinstance(i, bool) for i in ids):
        return "int"
    if all(isinstance(i, str) for i in ids):
        return "str"
    raise ParameterError("with store=, image_ids must be all integers or all strings, so the "
                         "store's image column has one type.")


def _open_store(store, model, units, methods, scoring, seed, keep_maps, return_curves):
    weights = model.model_hash
    settings = {}
    for method in methods:
        params = next(u.params for u in units if u.method == method)
        description = {"model": model.name, "weights": weights, "method": method,
                       "method_params": params, "metrics": [list(m) for m in scoring],
                       "seed": seed, "labkit": __version__}
        settings[method] = digest(description)
        store.describe(settings[method], description)
    data = {u.position: digest(u.image, *[u.truths[n] for n in sorted(u.truths)]) for u in units}
    done = {}
    for u in units:
        label = _stored_label(u.image_id)
        rows = store.read(settings[u.method], label, u.method, data[u.position])
        if rows is None or (keep_maps and not store.map_file(settings[u.method], label).is_file()):
            continue  # not computed, or computed without its map: explained again to keep it
        curves = {}
        if return_curves and any(m.needs == "model" for _, m, _ in u.metrics):
            curves = store.read_curves(settings[u.method], label)
            if curves is None:
                continue  # stored without its curves: computed again to return them
        done[u.position, u.method] = Result(
            [(r["metric"], r["value"], r["model"], r["seconds"]) for r in rows], None, curves)
    return _OpenStore(store, settings, data, done, keep_maps)


def _stored_label(image_id):
    return int(image_id) if isinstance(image_id, numbers.Integral) else image_id
