"""What the metrics that re-run an explainer share: which method, parameters, class and
seed to re-run it with, checked before any model call."""
from typing import NamedTuple

import numpy as np

from .._checks import ParameterError, check_image, check_seed, renamed
from ..explainers import RENAMED, Explanation, explain, get_explainer


class Explained(NamedTuple):
    """An explanation and how to make another one like it."""

    pixels: np.ndarray       # the image, float32 (H, W, 3) in [0, 255]
    method: str
    params: dict             # the method's parameters, without the seed
    seed: object             # the explainer's seed (int or None)
    target: int
    original: Explanation    # the map of ``target`` on ``pixels``
    allow_slow: bool         # the parameters were already run once: no laptop limits

    def again(self, model, image=None, target=None):
        """The same explainer, parameters and seed, on another model, image or class."""
        return explain(model, self.pixels if image is None else image, self.method,
                       target=self.target if target is None else target, seed=self.seed,
                       allow_slow=self.allow_slow, **self.params)


def check_model(model, metric):
    if not callable(getattr(model, "predict", None)) or not hasattr(model, "class_index"):
        raise ParameterError(f"{metric}: model must be a labkit Classifier, got "
                             f"{type(model).__name__}; load one with labkit.load_model(name).")
    return model


def resolve(model, image, method, method_params, target, metric):
    """Check the model, the image, the method and its parameters, before any model call.

    ``method`` is a registered method name (its parameters in ``method_params``) or an
    :class:`Explanation` of ``image``, whose method, parameters, class and seed are reused
    (and whose parameters, already run once, are not held to the laptop limits). The
    original map of a method name is made later by :func:`first_explanation`, once the
    caller has checked its own arguments.
    """
    check_model(model, metric)
    pixels = check_image(image)
    if isinstance(method, Explanation):
        if method_params:
            raise ParameterError(f"{metric}: method_params is read from the Explanation given "
                                 "as method; leave method_params=None, or pass the method's "
                                 "name instead.")
        if method.saliency.shape != pixels.shape[:2]:
            raise ParameterError(f"{metric}: the Explanation's map has shape "
                                 f"{method.saliency.shape} but image is {pixels.shape[:2]}; "
                                 "pass the image it explains.")
        record = get_explainer(method.method)
        params = {k: v for k, v in method.params.items() if k != "seed"}
        record.check_params(params, allow_slow=True)
        if target is not None and model.class_index(target) != method.target:
            raise ParameterError(f"{metric}: target {target!r} differs from the Explanation's "
                                 f"class {method.target}; leave target=None.")
        return Explained(pixels, method.method, params, method.params.get("seed"),
                         method.target, method, True)
    if not isinstance(method, str):
        raise ParameterError(f"{metric}: method must be a method name such as 'gradcam' or an "
                             f"Explanation, got {type(method).__name__}.")
    record = get_explainer(method)
    if method_params is not None and not isinstance(method_params, dict):
        raise ParameterError(f"{metric}: method_params must be a dict of {method}'s "
                             f"parameters, got {type(method_params).__name__}.")
    params = record.check_params(renamed(dict(method_params or {}), RENAMED, method))
    index = None if target is None else model.class_index(target)
    return Explained(pixels, method, params, None, index, None, False)


def first_explanation(explained, model, seed):
    """``explained`` with its original map made (for a method name) with ``seed``."""
    if explained.original is not None:
        return explained
    original = explain(model, explained.pixels, explained.method, target=explained.target,
                       seed=seed, **explained.params)
    return explained._replace(seed=check_seed(seed), target=original.target, original=original)
