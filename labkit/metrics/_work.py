"""Work units of :func:`labkit.metrics.evaluate`: one (image, method) each, small and
picklable, so any ``concurrent.futures.Executor`` (a process pool, Dask) can run them.

A unit names its model (a registered name or a saved-model path, reloaded once per
worker process), carries its image and ground truths as arrays (150 kB for 224 x 224)
and its own seed, derived from the evaluation seed, the image label and the method
by SHA-256: the same in every process, whatever the order the units run in.
"""
import hashlib
import numbers
from concurrent.futures import Executor
from typing import NamedTuple

import numpy as np

from .._checks import ParameterError
from ..explainers import explain
from .fidelity import CurveScore

#: The needs of metrics that take no ground truth (see :class:`~labkit.metrics.Metric`).
NO_TRUTH = ("model", "map", "explainer")


class Unit(NamedTuple):
    """One (image, method) work unit and everything needed to compute its rows."""

    position: int            # index of the image in the evaluate() call
    image_id: object
    method: str
    params: dict
    seed: int | None
    image: np.ndarray
    truths: dict             # needs ("ground_truths", "masks", NO_TRUTH) -> array or None
    metrics: tuple           # (name, Metric, params) triples
    model: str | None     # registered name or saved-model path; None: in-process only
    keep: bool               # return the Explanation too


class Result(NamedTuple):
    rows: list               # (metric, value, model name, seconds) per metric
    explanation: object      # Explanation or None
    curves: dict             # metric -> CurveScore (small: always returned, a store keeps them)


def unit_seed(seed, image_id, method):
    """The seed of one (image, method) unit: the first 4 bytes of a SHA-256 of the three,
    in [0, 2**32) (what every labkit sampler accepts). None stays None (unseeded)."""
    if seed is None:
        return None
    text = f"{int(seed)}|{label_text(image_id)}|{method}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


def label_text(image_id):
    """An image label as stable text: 3 and numpy.int64(3) alike."""
    if isinstance(image_id, numbers.Integral) and not isinstance(image_id, bool):
        return repr(int(image_id))
    return repr(image_id)


def score_one(metric, model, image, explanation, truth, params):
    """(value, curve or None) of one :class:`~labkit.metrics.Metric` on one explanation.

    An "explainer" metric re-runs the explainer with the explanation's own seed (in
    :func:`~labkit.metrics.evaluate`, the (image, method) pair's), unless ``params`` set one.
    """
    if metric.needs == "map":
        return float(metric.function(explanation, **params)), None
    if metric.needs in NO_TRUTH:
        if metric.needs == "explainer":
            params = {"seed": explanation.params.get("seed"), **params}
        result = metric.function(model, image, explanation, **params)
        if isinstance(result, CurveScore):
            return float(result.auc), result
        return float(result), None
    return float(metric.function(explanation, truth, **params)), None


def run(model, unit):
    """Explain the unit's image and score the map with each metric, in this process."""
    explanation = explain(model, unit.image, unit.method, seed=unit.seed, **unit.params)
    rows, curves = [], {}
    for name, metric, params in unit.metrics:
        truth = unit.truths[metric.needs]
        if metric.needs_ground_truth and truth is None:
            continue
        value, curve = score_one(metric, model, unit.image, explanation, truth, params)
        if curve is not None:
            curves[name] = curve
        rows.append((name, value, model.name, explanation.seconds))
    return Result(rows, explanation if unit.keep else None, curves)


_MODELS = {}  # per worker process: model reference -> Classifier, loaded once


def run_remote(unit):
    """:func:`run` in a worker process, loading the unit's model once per process."""
    if unit.model not in _MODELS:
        from ..models import load_model
        _MODELS[unit.model] = load_model(unit.model)
    return run(_MODELS[unit.model], unit)


def model_reference(model):
    """(Classifier, reference) from a name, a saved-model path or a Classifier.

    The reference is the string a worker reloads the model by; None for a Classifier
    that only lives in this process.
    """
    from ..models import Classifier, load_model

    if isinstance(model, str):
        return load_model(model), model
    if not isinstance(model, Classifier):
        raise ParameterError(f"model must be a labkit.Classifier, a registered model name or "
                             f"a saved model's path, got {type(model).__name__}.")
    return model, None


def travel_reference(model, reference):
    """The reference workers reload ``model`` by, or a clear error when it has none."""
    from ..models import MODELS, load_model

    if reference is not None:
        return reference
    if model.name in MODELS and load_model(model.name, batch_size=model.batch_size) is model:
        return model.name
    if model.name in MODELS:
        why = (f"it is named {model.name!r} but is not the model labkit.load_model"
               f"({model.name!r}) gives (other weights or settings)")
    else:
        why = (f"{model.name!r} lives only in this process (labkit.models.register and "
               "transfer() keep models in memory)")
    raise ValueError(f"this Classifier cannot travel to the executor's workers: {why}; save it "
                     "with model.model.save('model.keras') and pass that path as model, or "
                     "pass a registered model name, or evaluate without an executor.")


def check_executor(executor):
    if not isinstance(executor, Executor):
        raise TypeError(f"executor must be a concurrent.futures.Executor (a ProcessPoolExecutor, "
                        f"or dask.distributed.Client(...).get_executor()), got "
                        f"{type(executor).__name__}.")
    context = getattr(executor, "_mp_context", None)
    if context is not None and context.get_start_method() == "fork":
        raise ValueError("this ProcessPoolExecutor forks its workers, and TensorFlow does not "
                         "survive a fork; create it with mp_context=multiprocessing.get_context("
                         "'spawn').")
    return executor
