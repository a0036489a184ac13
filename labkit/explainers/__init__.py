"""The four explainers of Labs 4 and 5 behind one signature: :func:`explain`.

One small file per method around a minimal shared base (``base.py``):

- ``lime``: LIME (Ribeiro et al. 2016), and ``lime_package`` running the reference package.
- ``rise``: RISE (Petsiuk et al. 2018).
- ``gradcam``: Grad-CAM (Selvaraju et al. 2017).
- ``fem``: FEM (Fuad et al. 2020).

Each method is ``fn(model, pixels, target, *, seed, progress, **params) -> (saliency,
extras, used_params)``; registering one is adding it to :data:`EXPLAINERS` here (the
method files never import this module).
"""
import inspect
import time

import numpy as np

from .._checks import check_image, check_seed
from .base import Explanation, hide_color_pixels, track
from .fem import fem
from .gradcam import gradcam
from .lime import lime, lime_mask, lime_package, segment
from .rise import rise

#: Every method :func:`explain` knows, by name.
EXPLAINERS = {"lime": lime, "lime_package": lime_package, "rise": rise, "gradcam": gradcam,
              "fem": fem}


def list_methods():
    """Names accepted by :func:`explain`."""
    return sorted(EXPLAINERS)


def explain(model, image, method, *, target=None, seed=0, progress=False, **params):
    """Explain one prediction of ``model`` on ``image``.

    Parameters
    ----------
    model : labkit.Classifier
        From :func:`labkit.load_model` or :func:`labkit.models.transfer`.
    image : ndarray, shape (H, W, 3)
        RGB pixels, uint8 or float in [0, 255]. Any size: the model resizes internally
        and the saliency map comes back at this resolution.
    method : str
        One of :func:`list_methods`: "lime", "lime_package", "rise", "gradcam", "fem".
    target : int or str, optional
        Class to explain, as an index or a name; default: the model's top prediction.
    seed : int or None
        Seed of every random draw; the same seed gives the same map. Deterministic
        methods (Grad-CAM, FEM) ignore it.
    progress : bool or callable
        Show a progress bar for sampling methods (LIME, RISE); a callable
        ``progress(done, total)`` is called with batch counts instead (widgets use it).
    **params
        The method's own parameters; see ``labkit.explainers.<method>``.

    Returns
    -------
    Explanation
    """
    methods = list_methods()
    if method not in EXPLAINERS:
        raise ValueError(f"unknown method {method!r}; choose one of {methods}.")
    known = [p for p in inspect.signature(EXPLAINERS[method]).parameters
             if p not in ("model", "pixels", "target", "seed", "progress")]
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise TypeError(f"{method} has no parameter {unknown[0]!r}; its parameters are {known}.")
    pixels = check_image(image)
    seed = check_seed(seed)
    start = time.perf_counter()
    probs = model.predict(pixels[None])[0]
    index = int(np.argmax(probs)) if target is None else model.class_index(target)
    saliency, extras, used = EXPLAINERS[method](model, pixels, index, seed=seed,
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
    )


__all__ = ["EXPLAINERS", "Explanation", "explain", "hide_color_pixels", "lime_mask",
           "list_methods", "segment", "track"]
