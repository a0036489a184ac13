"""ROAD, RemOve And Debias (Rong, Leemann, Borisov, Kasneci & Kasneci, ICML 2022).

Deletion replaces pixels with a constant or a blur, and the sharp-edged holes it cuts
are themselves evidence the model reacts to: the outline of the removed pixels leaks
which pixels the map ranked highest (the paper's *class information leakage*), and the
images lie outside the training distribution. ROAD removes pixels by **noisy linear
imputation** instead: each removed pixel becomes the weighted mean of its 8 neighbours
(removed neighbours included, so all removed pixels are solved together as one sparse
linear system), plus a little Gaussian noise, so the hole blends into its surroundings
and its shape says little. The curve is the model's probability of the target class
with a growing fraction of pixels removed, most relevant first (**MoRF**, lower area is
better, like deletion) or least relevant first (**LeRF**, higher is better).

Choices, against the authors' reference code (``road/imputations.py`` and
``road/imputed_dataset.py`` of github.com/tleemann/road_evaluation) and
pytorch-grad-cam's port (``pytorch_grad_cam/metrics/road.py``):

- **imputation weights**: 1/6 for the 4 direct neighbours and 1/12 for the 4 diagonal
  ones (the reference's ``neighbors_weights``); neighbours outside the image are left
  out and the remaining weights renormalised, as in the reference. The system is solved
  exactly (scipy's sparse LU); it has a unique solution while one pixel is kept.
- **space and noise**: pixels are imputed in pixel space, [0, 255], before the model's
  preprocessing, so the removal is the same for every model. The reference imputes
  images scaled to [0, 1] (before normalisation) with noise of standard deviation 0.01,
  which is 2.55 grey levels here (``NOISE_STD``); pytorch-grad-cam imputes the
  *normalised* tensor with the same 0.01, about 0.6 grey levels for ImageNet-normalised
  models. The noise is drawn per removed pixel and channel, seeded; values are not
  clipped (nor in the reference).
- **percentages**: the fraction of pixels removed, ``round(p * H * W)`` of them, for
  both orders; default 0.1, 0.2, ..., 0.9 (the paper's curves; pytorch-grad-cam's
  ``ROADMostRelevantFirstAverage``). The reference's LeRF at ``th_p = p`` removes the
  ``1 - p`` least relevant pixels (it keeps the top ``p``), so its LeRF point at ``p`` is
  labkit's at ``1 - p``; on the default, symmetric grid the two give the same points and
  the same area. Each percentage is imputed afresh from the original image.
- **order and ties**: by the map's value, most relevant first; ties in raster order
  (a stable sort, as insertion and deletion). The reference breaks ties by adding noise
  of 1e-4 times the min-max normalised map's range, differently on each run.
- **score and AUC**: the softmax probability of ``target``, like insertion and deletion
  (the reference reports accuracy over a data set; pytorch-grad-cam the change in the
  target's score). The area is the trapezoidal rule over the percentages divided by
  their span, i.e. the curve's mean height, in [0, 1]; with equal spacing it is
  ``(y.sum() - y[0] / 2 - y[-1] / 2) / (len(y) - 1)``, the RISE code's ``auc``, where
  pytorch-grad-cam averages the points with equal weights.
- **forward passes**: every imputed image is different, so they are scored with
  :meth:`~labkit.models.Classifier.predict`, in batches on the classifier's runtime
  (OpenVINO by default); :meth:`~labkit.models.Classifier.predict_masked` composites
  one fill image only.
"""
import numbers

import numpy as np
from scipy import sparse
from scipy.integrate import trapezoid
from scipy.sparse.linalg import spsolve

from .._checks import ParameterError, check_image, check_model, check_seed
from ._maps import as_map, check_explains, descending_order, is_constant, resolve_target
from .fidelity import CurveScore

__all__ = ["NOISE_STD", "PERCENTAGES", "noisy_linear_imputation", "road"]

#: The reference's imputation noise, 0.01 on [0, 1] images, in grey levels of [0, 255].
NOISE_STD = 0.01 * 255

#: Default fractions of pixels removed, as the paper's curves.
PERCENTAGES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)

# (row offset, column offset, weight) of the 8 neighbours (reference: neighbors_weights).
_NEIGHBOURS = ((-1, -1, 1 / 12), (-1, 0, 1 / 6), (-1, 1, 1 / 12), (0, -1, 1 / 6),
               (0, 1, 1 / 6), (1, -1, 1 / 12), (1, 0, 1 / 6), (1, 1, 1 / 12))


def noisy_linear_imputation(image, removed, *, noise=NOISE_STD, seed=0):
    """Fill the ``removed`` pixels of ``image`` by ROAD's noisy linear imputation.

    Each removed pixel becomes the weighted mean of its in-image neighbours (1/6 direct,
    1/12 diagonal, renormalised at the border), removed neighbours included: one sparse
    linear system for all of them, solved exactly. Then Gaussian noise of standard
    deviation ``noise`` is added to every removed pixel and channel.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3)
        RGB pixels, uint8 or float in [0, 255].
    removed : ndarray of bool, shape (H, W)
        True where a pixel is removed; at least one pixel must be kept.
    noise : float, >= 0
        Standard deviation of the noise in grey levels; default the reference's 0.01
        on [0, 1] images. 0 gives the plain linear imputation.
    seed : int or None
        Seed of the noise.

    Returns
    -------
    ndarray, shape (H, W, 3), float32
        Kept pixels unchanged. Not clipped to [0, 255] (the noise may step outside).
    """
    pixels = check_image(image)
    removed = _check_removed(removed, pixels.shape[:2])
    noise = _check_noise(noise)
    rng = np.random.default_rng(check_seed(seed))
    return _impute(pixels, removed, noise, rng)


def road(model, image, explanation, *, order="morf", percentages=PERCENTAGES, target=None,
         noise=NOISE_STD, seed=0):
    """ROAD curve (Rong et al. 2022): probability as pixels are removed by imputation.

    For each fraction ``p`` in ``percentages``, removes the ``round(p * H * W)`` most
    (``order="morf"``) or least (``"lerf"``) relevant pixels of ``image`` by noisy
    linear imputation (:func:`noisy_linear_imputation`) and scores the imputed image.
    MoRF: lower AUC is better (a faithful map removes what the model needs first);
    LeRF: higher is better. See the module docstring for every choice.

    Parameters
    ----------
    model : labkit.Classifier
    image : ndarray, shape (H, W, 3)
        RGB pixels, uint8 or float in [0, 255].
    explanation : ndarray, shape (H, W), or Explanation
        Relevance of each pixel of ``image``; only the order matters. An Explanation
        also supplies the target class.
    order : {"morf", "lerf"}
        Most relevant first or least relevant first.
    percentages : sequence of float in [0, 1)
        Fractions of pixels removed, increasing; the curve's x axis.
    target : int or str, optional
        Class whose probability is scored; default the Explanation's target, else the
        model's top prediction on ``image``.
    noise : float, >= 0
        Standard deviation of the imputation noise in grey levels (default 2.55, the
        reference's 0.01 on [0, 1] images).
    seed : int or None
        Seed of the noise: the same seed gives the same curve.

    Returns
    -------
    CurveScore
        ``fractions`` are the percentages, ``scores`` the probabilities, ``auc`` their
        trapezoidal area divided by the span of the percentages (the mean height, in
        [0, 1]); ``metric`` is "road_morf" or "road_lerf"; ``higher_is_better`` is
        True for LeRF only. A constant map ranks nothing: ``auc`` and ``scores`` are
        nan, with a :class:`~labkit.metrics.ConstantMapWarning` (as for insertion and
        deletion); the Explanation of another image is refused.

    Notes
    -----
    Cost: one sparse solve per percentage, growing with the number of removed pixels
    (about 1 s for 90 % of a 224 x 224 image on one core), plus one batch of
    ``len(percentages)`` forward passes. In :func:`~labkit.metrics.evaluate` the
    metric "road" is MoRF and "road_lerf" LeRF, so that each has its direction.
    """
    check_model(model, "road")
    pixels = check_image(image)
    relevance = as_map(explanation, "explanation")
    check_explains(explanation, pixels, "road")
    if relevance.shape != pixels.shape[:2]:
        raise ParameterError(f"explanation has shape {relevance.shape} but image is "
                         f"{pixels.shape[:2]}; use the map of this image, at its resolution "
                         "(labkit.explain returns one).")
    if order not in ("morf", "lerf"):
        raise ParameterError(f"order must be 'morf' (most relevant first) or 'lerf' (least "
                         f"relevant first), got {order!r}.")
    fractions = _check_percentages(percentages)
    noise = _check_noise(noise)
    rng = np.random.default_rng(check_seed(seed))
    target = resolve_target(model, pixels, explanation, target)
    if is_constant(relevance, "explanation"):  # no order: nan, as insertion and deletion
        return CurveScore(auc=float("nan"), fractions=fractions,
                          scores=np.full(len(fractions), np.nan), metric=f"road_{order}",
                          target=target, higher_is_better=order == "lerf")

    ranked = descending_order(relevance if order == "morf" else -relevance)
    counts = np.round(fractions * relevance.size).astype(np.int64)
    imputed = []
    for count in counts:
        removed = np.zeros(relevance.size, bool)
        removed[ranked[:count]] = True
        imputed.append(_impute(pixels, removed.reshape(relevance.shape), noise, rng))
    scores = model.predict(np.stack(imputed))[:, target].astype(np.float64)
    span = fractions[-1] - fractions[0]
    auc = trapezoid(scores, fractions) / span if span > 0 else scores[0]
    scores.setflags(write=False)
    fractions.setflags(write=False)
    return CurveScore(auc=float(auc), fractions=fractions, scores=scores,
                      metric=f"road_{order}", target=target, higher_is_better=order == "lerf")


def _impute(pixels, removed, noise, rng):
    """Noisy linear imputation of float32 ``pixels`` where ``removed`` (checked)."""
    height, width = removed.shape
    flat_removed = removed.ravel()
    unknown = np.flatnonzero(flat_removed)
    n = unknown.size
    out = pixels.reshape(-1, 3).astype(np.float64)
    if n == 0:
        return pixels.copy()
    variable = np.full(flat_removed.size, -1)
    variable[unknown] = np.arange(n)
    rows, cols = np.divmod(unknown, width)
    # Equation of removed pixel i: sum_j w_j * x_i - sum_(removed j) w_j * x_j
    # = sum_(kept j) w_j * v_j, over its in-image neighbours j.
    diagonal, rhs = np.zeros(n), np.zeros((n, 3))
    a_rows, a_cols, a_values = [], [], []
    for dr, dc, weight in _NEIGHBOURS:
        r, c = rows + dr, cols + dc
        inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
        equation = np.flatnonzero(inside)
        neighbour = r[inside] * width + c[inside]
        diagonal[equation] += weight
        gone = flat_removed[neighbour]
        a_rows.append(equation[gone])
        a_cols.append(variable[neighbour[gone]])
        a_values.append(np.full(gone.sum(), -weight))
        rhs[equation[~gone]] += weight * out[neighbour[~gone]]  # one neighbour per equation
    a_rows.append(np.arange(n))
    a_cols.append(np.arange(n))
    a_values.append(diagonal)
    system = sparse.csc_matrix((np.concatenate(a_values),
                                (np.concatenate(a_rows), np.concatenate(a_cols))), shape=(n, n))
    solution = spsolve(system, rhs).reshape(n, 3)
    if noise > 0:
        solution += noise * rng.standard_normal((n, 3))
    out[unknown] = solution
    return out.reshape(pixels.shape).astype(np.float32)


def _check_removed(removed, shape):
    if not isinstance(removed, np.ndarray) or removed.dtype != bool:
        raise ParameterError(f"removed must be a boolean numpy array of shape {shape}, got "
                        f"{getattr(removed, 'dtype', type(removed).__name__)}.")
    if removed.shape != tuple(shape):
        raise ParameterError(f"removed has shape {removed.shape} but the image is {tuple(shape)}; "
                         "give one flag per pixel.")
    if removed.all():
        raise ParameterError("removed is True everywhere: imputation needs at least one kept pixel "
                         "to interpolate from.")
    return removed


def _check_noise(noise):
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) \
            or not np.isfinite(noise) or noise < 0:
        raise ParameterError(f"noise must be a standard deviation >= 0 in grey levels, got "
                         f"{noise!r}; use 0 for no noise or the default {NOISE_STD:.3g}.")
    return float(noise)


def _check_percentages(percentages):
    try:
        values = np.asarray(percentages, dtype=np.float64)
    except (TypeError, ValueError):
        values = np.array([np.nan])
    if (values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values))
            or values.min() < 0 or values.max() >= 1 or np.any(np.diff(values) <= 0)):
        raise ParameterError(f"percentages must be increasing fractions of pixels in [0, 1), got "
                         f"{percentages!r}; e.g. (0.1, 0.2, ..., 0.9). 1 would remove every "
                         "pixel, leaving nothing to impute from.")
    return values.copy()
