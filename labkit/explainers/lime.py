"""LIME for images (Ribeiro, Singh & Guestrin, KDD 2016), vectorised and batched.

The image is cut into superpixels; random subsets of them are hidden; the model
scores every perturbed image; a weighted ridge regression on the on/off pattern
of the superpixels explains the score locally. The weight of a superpixel is its
ridge coefficient: its contribution to the class probability.

Defaults follow the `lime` package (``LimeImageExplainer``): cosine distance to the
unperturbed image, kernel ``sqrt(exp(-d**2 / kernel_width**2))`` with width 0.25,
ridge with ``alpha=1`` on every superpixel, the first sample is the whole image.
Samples are drawn with ``numpy.random.RandomState(seed).randint(0, 2, ...)`` as the
package draws them, so ``method="lime"`` and ``method="lime_package"`` can be
compared sample for sample. Two differences, both on purpose: segmentation is SLIC
(controlled by the number of superpixels, which students tune) rather than quickshift,
and hidden regions are filled in pixel space (see ``baseline``).
"""
import hashlib
import numbers
import warnings

import numpy as np
from sklearn.linear_model import Ridge

from .._checks import (
    ParameterError,
    UnreliableResultWarning,
    check_image,
    check_int,
    check_memory,
    check_seed,
    renamed_keyword,
)
from .._pixels import baseline_pixels
from .._work import one_blas_thread, track
from ._record import Explainer, Param
from .base import Explanation

SEGMENTATIONS = ("slic", "quickshift", "felzenszwalb")
_SEGMENT_CACHE = {}


def segment(image, method="slic", *, n_segments=50, compactness=10.0, seed=0):
    """Superpixels of an image, labelled 0..K-1.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3)
        RGB pixels in [0, 255].
    method : {"slic", "quickshift", "felzenszwalb"}
        SLIC (Achanta et al. 2012) is controlled by ``n_segments`` directly, the
        others indirectly (quickshift's ``max_dist`` and felzenszwalb's ``scale`` are
        derived from it so the slider still makes sense).
    n_segments : int
        Approximate number of superpixels (SLIC may return a few fewer).
    compactness : float
        SLIC's balance of colour and space; higher gives squarer superpixels.
    seed : int
        Quickshift's random tie-breaking; the others are deterministic.

    Returns
    -------
    ndarray, shape (H, W), int
        Results are cached: a slider move that does not change these arguments
        does not segment again.
    """
    from skimage import segmentation

    # The LIME record's bounds; segmentation alone is cheap, so no laptop limit here.
    method = LIME.param("segmentation").check(method, "segment")
    n_segments = LIME.param("n_segments").check(n_segments, "segment", allow_slow=True)
    compactness = LIME.param("compactness").check(compactness, "segment")
    seed = check_seed(seed)
    pixels = np.ascontiguousarray(check_image(image))
    key = (hashlib.blake2b(pixels.tobytes(), digest_size=16).hexdigest(), pixels.shape,
           method, n_segments, float(compactness), seed)
    if key not in _SEGMENT_CACHE:
        rgb = pixels / 255.0
        if method == "slic":
            labels = segmentation.slic(rgb, n_segments=n_segments, compactness=compactness,
                                       start_label=0, channel_axis=-1)
        elif method == "quickshift":
            max_dist = max(2.0, 200.0 / np.sqrt(n_segments))
            labels = segmentation.quickshift(rgb, kernel_size=4, max_dist=max_dist,
                                             ratio=0.2, rng=seed)
        else:
            scale = pixels.shape[0] * pixels.shape[1] / n_segments / 4
            labels = segmentation.felzenszwalb(rgb, scale=scale, sigma=0.5, min_size=20)
        # Relabel 0..K-1 so that labels index weight arrays directly.
        _, labels = np.unique(labels, return_inverse=True)
        if len(_SEGMENT_CACHE) > 32:
            _SEGMENT_CACHE.clear()
        _SEGMENT_CACHE[key] = labels.reshape(pixels.shape[:2]).astype(np.int32)
    return _SEGMENT_CACHE[key].copy()


def perturbation_samples(num_samples, n_features, seed):
    """LIME's on/off patterns of the superpixels, drawn as the `lime` package draws them.

    Parameters
    ----------
    num_samples : int
        Rows: perturbed images.
    n_features : int
        Columns: superpixels.
    seed : int or None
        Seed of ``numpy.random.RandomState``, the package's generator.

    Returns
    -------
    ndarray, shape (num_samples, n_features), int
        1 shows the superpixel, 0 hides it; row 0 is all ones (the unperturbed image).
    """
    data = np.random.RandomState(seed).randint(0, 2, num_samples * n_features)
    data = data.reshape(num_samples, n_features)
    data[0, :] = 1
    return data


def score_perturbations(model, pixels, baseline_image, segments, data, *, progress=False):
    """Class probabilities of every perturbed image, a batch at a time.

    Row ``i`` of ``data`` shows the superpixels (``segments``) it marks 1 and
    ``baseline_image`` elsewhere; the classifier composites each batch from its masks
    (in the backend's graph, the fastest place).

    Returns
    -------
    ndarray, shape (num_samples, num_classes), float32
    """
    b = model.batch_size
    probs = []
    with one_blas_thread():
        for s in track(range(0, len(data), b), progress, "LIME"):
            masks = data[s:s + b].astype(np.float32)[:, segments]  # (n, H, W), 1 = shown
            probs.append(model.predict_masked(pixels, masks, baseline_image))
    return np.concatenate(probs)


def kernel_weights(data, kernel_width):
    """LIME's sample weights: ``sqrt(exp(-d**2 / kernel_width**2))``.

    ``d`` is the cosine distance of each on/off row of ``data`` to the all-ones row,
    ``1 - sqrt(on / n)``; a row of zeros is at distance 1. The square root is the `lime`
    package's (``LimeImageExplainer``'s kernel), which labkit follows.

    Parameters
    ----------
    data : ndarray, shape (num_samples, n_features), 0/1
    kernel_width : float, > 0

    Returns
    -------
    ndarray, shape (num_samples,)
    """
    on = data.sum(axis=1)
    distances = 1.0 - np.sqrt(on / data.shape[1])
    return np.sqrt(np.exp(-(distances ** 2) / kernel_width ** 2))


def fit_surrogate(data, scores, weights, alpha):
    """LIME's surrogate: a ridge regression of ``scores`` on ``data`` with an intercept,
    sample weights ``weights`` and penalty ``alpha`` (scikit-learn's ``Ridge``, as the
    `lime` package fits it).

    Returns
    -------
    dict
        ``weights`` (n_features,) float32 coefficients, ``intercept``, ``score`` (weighted
        R² on the samples) and ``local_pred`` (the surrogate's value on row 0).
    """
    ridge = Ridge(alpha=alpha, fit_intercept=True)
    ridge.fit(data, scores, sample_weight=weights)
    return {
        "weights": ridge.coef_.astype(np.float32),
        "intercept": float(ridge.intercept_),
        "score": float(ridge.score(data, scores, sample_weight=weights)),
        "local_pred": float(ridge.predict(data[:1])[0]),
    }


def _check_work(model, pixels, fudged, segments, num_samples, top_labels, baseline):
    """What the record cannot check, since it depends on the model and the image; all of
    it before the first model call."""
    if top_labels > model.num_classes:
        raise ParameterError(f"lime: top_labels must be at most the model's {model.num_classes} "
                             f"classes, got {top_labels}.")
    n_features = int(segments.max()) + 1
    if np.array_equal(fudged, pixels):
        why = ("each superpixel's mean colour, and every superpixel of this image is a single "
               "colour" if baseline is None else "the colour of every pixel of this image")
        raise ParameterError(
            f"lime: baseline={baseline!r} hides nothing here: it is {why} ({n_features} "
            f"superpixels on {pixels.shape[0]}x{pixels.shape[1]} pixels), so every weight "
            "would be 0; pass another colour, e.g. baseline=0 (black).")
    # The on/off matrix (int64), the ridge's float64 copies of it (about three), the
    # probabilities (float32): the rest is per batch.
    check_memory(num_samples * (32 * n_features + 4 * model.num_classes),
                 f"lime with num_samples={num_samples} ({n_features} superpixels, "
                 f"{model.num_classes} classes)", "use fewer samples")
    if num_samples <= n_features:
        warnings.warn(
            f"lime: num_samples={num_samples} is not more than the {n_features} superpixels: "
            f"the surrogate has {n_features + 1} unknowns (a weight per superpixel and an "
            "intercept) and fewer samples, so its weights reflect the ridge penalty more "
            f"than the model; use num_samples of at least {2 * n_features}.",
            UnreliableResultWarning, stacklevel=4)


def _labels_to_fit(probs, target, top_labels):
    order = [int(i) for i in np.argsort(-probs) if i != target]
    return [target] + order[:top_labels - 1]


def lime(model, pixels, target, *, seed=0, progress=False, num_samples=1000, n_segments=50,
         compactness=10.0, segmentation="slic", segments=None, baseline=None,
         kernel_width=0.25, alpha=1.0, top_labels=1):
    """LIME saliency: each pixel gets its superpixel's ridge weight for ``target``.

    Parameters
    ----------
    num_samples : int, >= 2
        Perturbed images scored by the model (the cost of the method). One sample is
        the unperturbed image alone, which fits nothing: refused. Up to the number of
        superpixels, the surrogate is underdetermined (more unknowns than samples): an
        :class:`~labkit.explainers.UnreliableResultWarning` says so, and the grader refuses it.
        A run whose perturbation matrix and probabilities (about ``num_samples x (32 x
        superpixels + 4 x classes)`` bytes) cannot fit in the available memory is refused
        before it starts.
    n_segments : int, >= 2
        Approximate number of superpixels; ``compactness`` and ``segmentation`` as in
        :func:`segment`. ``segments`` (H, W) int overrides all three.
    baseline : None, float or (r, g, b) in [0, 255]
        Fill of hidden superpixels (the `lime` package's ``hide_color``), in **pixel
        space**: None is each superpixel's mean colour (the package's default), 0 is black
        whatever the model's preprocessing. A fill identical to the image (None on an
        image whose superpixels are each one colour, as on tiny images) hides nothing and
        would give an all-zero map: refused with a ParameterError.
    kernel_width : float, > 0
        Width of the exponential kernel on cosine distance.
    alpha : float, >= 0
        Ridge regularisation of the surrogate.
    top_labels : int, >= 1
        Fit surrogates for the target and the next ``top_labels - 1`` most probable
        classes (``extras["weights_by_label"]``), so plots can switch class for free.

    Extras
    ------
    segments, weights (of the target), weights_by_label, intercept, score (weighted R²
    of the surrogate), local_pred, n_features.

    Warns
    -----
    UnreliableResultWarning
        ``num_samples`` is not more than the number of superpixels, or every weight of
        the target is 0 (the model's probability never changed over the samples).
    """
    if segments is None:
        segments = segment(pixels, segmentation, n_segments=n_segments,
                           compactness=compactness, seed=seed)
    segments = _check_segments(segments, pixels)
    n_features = int(segments.max()) + 1
    fudged = baseline_pixels(baseline, pixels, segments)
    _check_work(model, pixels, fudged, segments, num_samples, top_labels, baseline)
    data = perturbation_samples(num_samples, n_features, seed)

    probs = score_perturbations(model, pixels, fudged, segments, data, progress=progress)

    weights = kernel_weights(data, kernel_width)
    fits = {label: fit_surrogate(data, probs[:, label], weights, alpha)
            for label in _labels_to_fit(probs[0], target, top_labels)}
    fit = fits[target]
    if not np.any(fit["weights"]):
        warnings.warn(f"lime: every weight of class {target} is 0: its probability did not "
                      f"change over the {num_samples} samples, so the map says nothing.",
                      UnreliableResultWarning, stacklevel=3)
    extras = {"segments": segments, "n_features": n_features,
              "weights_by_label": {k: v["weights"] for k, v in fits.items()}, **fit}
    used = dict(num_samples=num_samples, n_segments=n_segments, compactness=compactness,
                segmentation=segmentation, baseline=baseline, kernel_width=kernel_width,
                alpha=alpha, top_labels=top_labels)
    return fit["weights"][segments], extras, used


def lime_package(model, pixels, target, *, seed=0, progress=False, num_samples=1000,
                 n_segments=50, compactness=10.0, segmentation="slic", segments=None,
                 baseline=None, kernel_width=0.25, top_labels=1):
    """The reference `lime` package with the same settings, for comparison.

    Same parameters as :func:`lime` (the package's ridge has ``alpha=1``). It runs the
    package's own sampling loop, with our batched model call as ``classifier_fn``.
    """
    from lime import lime_image

    if segments is None:
        segments = segment(pixels, segmentation, n_segments=n_segments,
                           compactness=compactness, seed=seed)
    segments = _check_segments(segments, pixels)
    _check_work(model, pixels, baseline_pixels(baseline, pixels, segments), segments,
                num_samples, top_labels, baseline)
    hide_color = None if baseline is None else baseline_pixels(baseline, pixels)[0, 0]
    explainer = lime_image.LimeImageExplainer(kernel_width=kernel_width, random_state=seed)
    with one_blas_thread():
        result = explainer.explain_instance(
            pixels.astype(np.float64), model.predict, labels=(target,), top_labels=None,
            hide_color=hide_color, num_features=int(segments.max()) + 1,
            num_samples=num_samples, batch_size=model.batch_size,
            segmentation_fn=lambda _: segments, random_seed=seed,
        )
    weights = np.zeros(int(segments.max()) + 1, np.float32)
    for feature, weight in result.local_exp[target]:
        weights[feature] = weight
    extras = {"segments": segments, "n_features": len(weights), "weights": weights,
              "weights_by_label": {target: weights}, "intercept": float(result.intercept[target]),
              # lime 0.2 keeps one score (the last label fitted), not one per label.
              "score": float(result.score[target] if isinstance(result.score, dict)
                             else result.score)}
    used = dict(num_samples=num_samples, n_segments=n_segments, compactness=compactness,
                segmentation=segmentation, baseline=baseline, kernel_width=kernel_width,
                top_labels=top_labels)
    return weights[segments], extras, used


def _check_segments(segments, pixels):
    segments = np.asarray(segments)
    if segments.shape != pixels.shape[:2] or not np.issubdtype(segments.dtype, np.integer):
        raise ParameterError(f"lime: segments must be an integer array of shape "
                             f"{pixels.shape[:2]}, got {segments.dtype} {segments.shape}; "
                             "labkit.explainers.segment(image) makes one.")
    if segments.min() < 0 or segments.max() >= segments.size:
        raise ParameterError(f"lime: segments must be labelled 0..K-1 (K at most the "
                             f"{segments.size} pixels), got labels {segments.min()} to "
                             f"{segments.max()}; relabel with numpy.unique(segments, "
                             "return_inverse=True).")
    return segments


def lime_mask(explanation, *, num_features=5, positive_only=True, negative_only=False,
              hide_rest=False, target=None, min_weight=0.0, **old):
    """The `lime` package's ``get_image_and_mask``, for a labkit LIME explanation.

    Parameters
    ----------
    explanation : Explanation
        From ``explain(..., method="lime")`` or ``"lime_package"``.
    num_features : int
        How many superpixels to show, strongest first.
    positive_only, negative_only : bool
        Keep only superpixels for (against) the class. At most one may be True.
    hide_rest : bool
        Black out every other superpixel in the returned image.
    target : int, optional
        Another class fitted thanks to ``top_labels``; default the explained one.
    **old
        ``label``, the deprecated name of ``target``.
    min_weight : float
        Ignore superpixels whose absolute weight is below this.

    Returns
    -------
    image : ndarray (H, W, 3) uint8
    mask : ndarray (H, W) int
        1 for superpixels for the class, -1 against, 0 elsewhere.
    """
    if not isinstance(explanation, Explanation):
        raise ParameterError(f"lime_mask: explanation must be an Explanation from "
                             f"labkit.explain(..., 'lime'), got {type(explanation).__name__}.")
    if "segments" not in explanation.extras:
        raise ParameterError(f"lime_mask: explanation must be a LIME explanation (with "
                             f"superpixels), got method {explanation.method!r}.")
    if positive_only and negative_only:
        raise ParameterError("lime_mask: positive_only and negative_only cannot both be True.")
    check_int(num_features, "num_features", minimum=1)
    target = renamed_keyword(target, old, {"label": "target"}, "lime_mask")
    by_label = explanation.extras["weights_by_label"]
    label = explanation.target if target is None else target
    if isinstance(label, (bool, np.bool_)) or not isinstance(label, numbers.Integral):
        raise ParameterError(f"lime_mask: target must be a class index or None, got {label!r}.")
    if label not in by_label:
        raise ParameterError(f"lime_mask: class {label} was not fitted; fitted: "
                             f"{sorted(by_label)}. Explain again with a larger top_labels.")
    if isinstance(min_weight, (bool, np.bool_)) or not isinstance(min_weight, numbers.Real) \
            or not np.isfinite(min_weight):
        raise ParameterError(f"lime_mask: min_weight must be a finite number, got "
                             f"{min_weight!r}.")
    weights = by_label[label]
    segments = explanation.extras["segments"]
    order = np.argsort(-np.abs(weights))
    if positive_only:
        order = [i for i in order if weights[i] > 0]
    elif negative_only:
        order = [i for i in order if weights[i] < 0]
    chosen = [i for i in order if abs(weights[i]) >= min_weight][:num_features]
    mask = np.zeros(segments.shape, np.int8)
    for i in chosen:
        mask[segments == i] = 1 if weights[i] > 0 else -1
    image = explanation.image.copy()
    if hide_rest:
        image[mask == 0] = 0
    return image, mask


def _params(with_alpha):
    return tuple(p for p in (
        Param("num_samples", "int", low=2, limit=5000, widget=("count",)),
        Param("n_segments", "int", low=2, limit=1000, widget=("slider", 2, 300, 1),
              label="superpixels"),
        Param("compactness", "float", low=0, open_low=True, high=1000),
        Param("segmentation", "choice", choices=SEGMENTATIONS),
        Param("segments", "array"),
        Param("baseline", "color", none_ok=True, widget=("dropdown",), label="hide colour"),
        Param("kernel_width", "float", low=0, open_low=True, high=100),
        Param("alpha", "float", low=0, high=1e6) if with_alpha else None,
        Param("top_labels", "int", low=1, high=1000),
    ) if p is not None)


LIME = Explainer("lime", lime, _params(True), stochastic=True, signed=True, superpixels=True,
                 summary="superpixels hidden at random, a weighted ridge surrogate "
                         "(Ribeiro et al. 2016)")
LIME_PACKAGE = Explainer("lime_package", lime_package, _params(False), stochastic=True,
                         signed=True, superpixels=True,
                         summary="the `lime` package itself, with labkit's settings")

__all__ = ["LIME", "LIME_PACKAGE", "fit_surrogate", "kernel_weights", "lime", "lime_package",
           "lime_mask", "perturbation_samples", "score_perturbations", "segment",
           "SEGMENTATIONS"]
