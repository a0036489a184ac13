"""Is the map stable? Max-sensitivity (Yeh et al. 2019): the largest change of the map when
the image changes by noise too small to matter.

A map that jumps when a few grey levels of noise are added explains the noise, not the
decision. Unlike the other metrics this one re-runs the explainer, ``num_samples`` times.

Choices (Quantus 0.6's ``MaxSensitivity`` with its defaults, which
``tests/test_metric_families.py`` runs on the same perturbed images):

- **perturbation**: uniform noise in ``[-radius, radius]``, drawn independently for every
  pixel and channel (Quantus's ``uniform_noise``; Yeh et al. sample uniformly from a ball).
  ``radius`` is in grey levels of the [0, 255] image, the same for every model, where
  Quantus's ``lower_bound`` is in the model's input space. labkit clips the noisy image
  to [0, 255] (an image has no other pixels); Quantus does not clip.
- **change**: the Frobenius norm of the difference of the two maps over the Frobenius norm
  of the original map, ``||a - a'||_F / ||a||_F``, on the maps as the method returns them
  (Quantus: ``abs=False, normalise=False``): a relative change, free of the map's units.
- **maximum** over the samples (Monte Carlo estimate of the supremum over the ball).
- **the explained class stays fixed** (the original map's class), and a stochastic
  explainer keeps its seed, so only the image changes between the maps.

Reference
---------
Yeh, Hsieh, Suggala, Inouye & Ravikumar (2019). On the (in)fidelity and sensitivity of
explanations. NeurIPS.
"""
from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .._checks import ParameterError, check_int, check_seed
from .._work import track
from ._explained import first_explanation, resolve
from ._maps import ConstantMapWarning

if TYPE_CHECKING:
    from ..explainers import Explanation
    from ..models import Classifier

__all__ = ["max_sensitivity"]


def max_sensitivity(model: Classifier, image: np.ndarray, method: str | Explanation, *,
                    method_params: dict | None = None, radius: float = 8.0,
                    num_samples: int = 10, target: int | str | None = None,
                    seed: int | None = 0,
                    progress: bool | Callable[[int, int], object] = False) -> float:
    """Max-sensitivity (Yeh et al. 2019): the largest relative change of the map under noise.

    Parameters
    ----------
    model : labkit.Classifier
    image : ndarray, shape (H, W, 3)
        RGB pixels, uint8 or float in [0, 255].
    method : str or Explanation
        A method name (:func:`labkit.explainers.list_methods`), or an Explanation of
        ``image`` whose method, parameters, class and seed are reused (what
        :func:`labkit.metrics.evaluate` passes).
    method_params : dict, optional
        The method's parameters, as :func:`labkit.explain` takes them (with a method
        name only). A dict, not keywords: LIME and SmoothGrad have their own
        ``num_samples``.
    radius : float in (0, 255]
        Half-width of the uniform noise, in grey levels of the [0, 255] image. The
        default 8 is about 3 % of the range: barely visible, and it changes the
        top class of the course photos rarely (Quantus's default, 0.2 in the [-1, 1]
        input of EfficientNet-Lite, would be 25 grey levels).
    num_samples : int, >= 1
        How many noisy images are explained; each costs one explanation.
    target : int or str, optional
        The class; default the Explanation's, else the model's top prediction.
    seed : int or None
        Seeds the noise; with a method name also the explainer (an Explanation keeps
        its own seed).
    progress : bool or callable
        Progress over the noisy images.

    Returns
    -------
    float >= 0
        ``max_k ||a - a_k||_F / ||a||_F``. **Lower is better** (a stable map); 0 when no
        noisy image changes the map. ``nan`` with a :class:`ConstantMapWarning` when the
        original map is zero everywhere (no relative change exists).
    """
    explained = resolve(model, image, method, method_params, target, "max_sensitivity")
    if isinstance(radius, bool) or not isinstance(radius, numbers.Real) or not (
            0 < radius <= 255):
        raise ParameterError(f"max_sensitivity: radius must be a number of grey levels in "
                             f"(0, 255], got {radius!r}; e.g. radius=8.")
    num_samples = check_int(num_samples, "num_samples")
    seed = check_seed(seed)
    explained = first_explanation(explained, model, seed)
    original = explained.original.saliency.astype(np.float64)
    norm = np.linalg.norm(original)
    if norm == 0:
        warnings.warn("the map is zero everywhere, so its relative change is undefined: "
                      "max_sensitivity returns nan.", ConstantMapWarning, stacklevel=2)
        return float("nan")
    rng = np.random.default_rng(seed)
    pixels = explained.pixels
    changes = []
    for _ in track(range(num_samples), progress, "max_sensitivity"):
        noisy = np.clip(pixels + rng.uniform(-radius, radius, pixels.shape), 0, 255)
        other = explained.again(model, noisy.astype(np.float32)).saliency.astype(np.float64)
        changes.append(np.linalg.norm(original - other) / norm)
    return float(max(changes))
