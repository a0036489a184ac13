"""The explainers of Labs 4 and 5 behind one verb: :func:`explain`.

One small file per method around a minimal shared base (``base.py``), each ending with
its :class:`Explainer` record (``_record.py``):

- ``lime``: LIME (Ribeiro et al. 2016), and ``lime_package`` running the reference package.
- ``rise``: RISE (Petsiuk et al. 2018).
- ``gradcam``: Grad-CAM (Selvaraju et al. 2017).
- ``fem``: FEM (Fuad et al. 2020).
- ``integrated_gradients``: integrated gradients (Sundararajan et al. 2017).
- ``smoothgrad``: SmoothGrad (Smilkov et al. 2017); both on ``gradients.input_gradients``.
- ``occlusion``: occlusion (Zeiler & Fergus 2014).
- ``scorecam``: Score-CAM (Wang et al. 2020).
- ``gradcam_plus_plus``: Grad-CAM++ (Chattopadhay et al. 2018).

Each method is ``fn(model, pixels, target, *, seed, progress, **params) -> (saliency,
extras, used_params)``. Adding one is writing that function and its record, then
``register(record)`` (below for labkit's own; anywhere for yours): :func:`explain`,
``labkit.metrics.evaluate``, the grader and the explorers read everything from the record.

An :class:`Explanation` saves to an ``.npz`` file (:meth:`Explanation.save`) that
:func:`load_explanation` reads back, without pickle (``saved.py``).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .._checks import (
    ParameterError,
    UnreliableResultWarning,
    check_image,
    check_model,
    check_seed,
    renamed,
)
from .._pixels import baseline_pixels
from .._work import track
from ._record import Explainer, Param, get_explainer, list_methods, register, unregister
from .base import Explanation, load_explanation
from .fem import FEM
from .gradcam import GRADCAM
from .gradcam_plus_plus import GRADCAM_PLUS_PLUS
from .integrated_gradients import INTEGRATED_GRADIENTS
from .lime import LIME, LIME_PACKAGE, lime_mask, segment
from .occlusion import OCCLUSION
from .rise import RISE
from .saved import ExplanationFileError
from .scorecam import SCORECAM
from .smoothgrad import SMOOTHGRAD

if TYPE_CHECKING:
    from ..models import Classifier

for _record in (LIME, LIME_PACKAGE, RISE, GRADCAM, FEM):
    register(_record)
register(INTEGRATED_GRADIENTS)
register(SMOOTHGRAD)
register(OCCLUSION)
register(SCORECAM)
register(GRADCAM_PLUS_PLUS)

#: Old parameter names, still accepted for one release with a DeprecationWarning.
RENAMED = {"hide_color": "baseline"}


def hide_color_pixels(*args, **kwargs):
    """Deprecated old name of :func:`baseline_pixels`."""
    import warnings

    warnings.warn("hide_color_pixels is now called baseline_pixels; hide_color_pixels will be "
                  "removed in the next release.", DeprecationWarning, stacklevel=2)
    return baseline_pixels(*args, **kwargs)


def explain(model: Classifier, image: np.ndarray, method: str, *, target: int | str | None = None,
            seed: int | None = 0, progress: bool | Callable[[int, int], object] = False,
            allow_slow: bool = False, **params) -> Explanation:
    """Explain one prediction of ``model`` on ``image``.

    Parameters
    ----------
    model : labkit.Classifier
        From :func:`labkit.load_model` or :func:`labkit.models.transfer`.
    image : ndarray, shape (H, W, 3)
        RGB pixels, uint8 or float in [0, 255]. Any size: the model resizes internally
        and the saliency map comes back at this resolution.
    method : str
        One of :func:`list_methods`: "lime", "lime_package", "rise", "gradcam", "fem", ...
    target : int or str, optional
        Class to explain, as an index or a name; default: the model's top prediction.
    seed : int or None
        Seed of every random draw; the same seed gives the same map. Deterministic
        methods (Grad-CAM, Grad-CAM++, Score-CAM, FEM, occlusion) ignore it.
    progress : bool or callable
        Show a progress bar for methods of many model calls (LIME, RISE, occlusion,
        Score-CAM); a callable
        ``progress(done, total)`` is called with batch counts instead (widgets use it).
    allow_slow : bool
        Lift the laptop limits on sample and mask counts (see each method's record).
    **params
        The method's own parameters; see ``labkit.explainers.<method>`` and
        ``get_explainer(method).params``. Every one is checked before the model runs.

    Returns
    -------
    Explanation
    """
    record = get_explainer(method)
    params = record.check_params(renamed(params, RENAMED, method), allow_slow=allow_slow)
    check_model(model, "explain")
    pixels = check_image(image)
    seed = check_seed(seed)
    start = time.perf_counter()
    probs = model.predict(pixels[None])[0]
    index = int(np.argmax(probs)) if target is None else model.class_index(target)
    saliency, extras, used = record.function(model, pixels, index, seed=seed,
                                             progress=progress, **params)
    return Explanation(
        method=method,
        saliency=np.asarray(saliency, dtype=np.float32),
        image=np.clip(pixels, 0, 255).astype(np.uint8),
        target=index,
        target_name=model.class_names[index],
        probability=float(probs[index]),
        model_name=model.name,
        params={**used, "seed": seed},
        seconds=time.perf_counter() - start,
        extras=extras,
        model_hash=getattr(model, "model_hash", None),
    )


def explain_settings(model: Classifier, image: np.ndarray, method: str, settings: dict, *,
                     target: int | str | None = None, seed: int | None = 0,
                     progress: bool | Callable[[int, int], object] = False,
                     **common) -> dict[str, Explanation]:
    """One method on one image under several settings, to compare them.

    ``explain(model, image, method, target=target, seed=seed, **common, **params)`` for
    each ``params`` in ``settings``; every setting is checked before the first runs.

    Parameters
    ----------
    model, image, method, target, seed
        As in :func:`explain`; the same for every setting (the same seed, so settings
        differ by their parameters only).
    settings : dict name -> dict
        The method's parameters of each setting, e.g. ``{"SLIC 50": dict(n_segments=50),
        "SLIC 20": dict(n_segments=20)}``; they override ``common``.
    progress : bool or callable
        True: a bar over the settings; a callable gets ``progress(done, total)``.
    **common
        Parameters shared by every setting.

    Returns
    -------
    dict name -> Explanation
        In the order of ``settings``.
    """
    if not isinstance(settings, dict) or not settings or \
            not all(isinstance(p, dict) for p in settings.values()):
        raise ParameterError(f"settings must be a non-empty dict name -> dict of {method} "
                             f"parameters, got {type(settings).__name__}; e.g. "
                             "{'fine': dict(num_samples=500)}.")
    record = get_explainer(method)
    for params in settings.values():
        record.check_params(renamed({**common, **params}, RENAMED, method))
    return {name: explain(model, image, method, target=target, seed=seed, **{**common, **params})
            for name, params in track(list(settings.items()), progress, f"{method} settings")}


__all__ = ["Explainer", "Explanation", "ExplanationFileError", "Param", "ParameterError",
           "RENAMED", "UnreliableResultWarning", "baseline_pixels", "explain", "explain_settings",
           "get_explainer", "hide_color_pixels", "lime_mask", "list_methods", "load_explanation",
           "register", "segment", "track", "unregister"]
