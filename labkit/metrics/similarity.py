"""Agreement between a saliency map and a ground truth: PCC, SSIM, IoU, pointing game.

PCC and SSIM compare two continuous maps (a saliency map and, say, a human fixation
map or a blurred object mask); IoU and the pointing game compare a map with a binary
object mask. Bylinskii et al. (2019) survey these scores and what each rewards.

Every function accepts an :class:`~labkit.Explanation` in place of the saliency array.
A constant saliency map (or constant ground truth) ranks no pixel above another: the
score is then undefined, and every function here returns ``nan`` with a
:class:`ConstantMapWarning`, so that averaging over a data set with pandas skips it.

References
----------
Bylinskii, Judd, Oliva, Torralba & Durand (2019). What do different evaluation metrics
tell us about saliency models? IEEE TPAMI 41(3).
Wang, Bovik, Sheikh & Simoncelli (2004). Image quality assessment: from error
visibility to structural similarity. IEEE TIP 13(4).
Zhang, Bargal, Lin, Brandt, Shen & Sclaroff (2018). Top-down neural attention by
excitation backprop. IJCV 126.
"""
from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage
from skimage.metrics import structural_similarity
from skimage.transform import resize as _resize

from .._checks import ParameterError, check_fraction, check_int
from .._pixels import minmax
from ._maps import ConstantMapWarning, as_map, as_mask, descending_order, is_constant

__all__ = ["ConstantMapWarning", "iou", "pcc", "pointing_game", "ssim"]

if TYPE_CHECKING:
    from ..explainers import Explanation


def _normalised_pair(saliency, ground_truth, resize):
    """Both maps checked, the saliency map resized if asked, both min-max normalised.

    Returns None (after a warning) when either map is constant.
    """
    sal = as_map(saliency, "saliency")
    gt = as_map(ground_truth, "ground_truth")
    if sal.shape != gt.shape:
        if not resize:
            raise ParameterError(f"saliency has shape {sal.shape} but ground_truth has shape "
                             f"{gt.shape}; pass resize=True to resize the saliency map to the "
                             "ground truth (bilinear).")
        sal = _resize(sal, gt.shape, order=1, mode="edge", anti_aliasing=True)
    if is_constant(sal, "saliency", 4) or is_constant(gt, "ground_truth", 4):
        return None
    return minmax(sal), minmax(gt)


def pcc(saliency: np.ndarray | Explanation, ground_truth: np.ndarray, *,
        resize: bool = False) -> float:
    """Pearson correlation coefficient between a saliency map and a ground-truth map.

    Both maps are first min-max normalised to [0, 1], ``(x - min) / (max - min)``, the
    normalisation every labkit metric and plot uses. PCC is invariant to it anyway
    (to any positive scaling and offset of either map), so the score depends only on
    the maps' shapes, not their units. Bylinskii et al. (2019) call it CC.

    Parameters
    ----------
    saliency : ndarray, shape (H, W), or Explanation
        Any real values; higher means more important.
    ground_truth : ndarray, shape (H, W)
        A reference map: human fixation density, a (blurred) object mask, another
        method's map...
    resize : bool
        If the shapes differ, resize the saliency map to the ground truth's shape by
        bilinear interpolation (anti-aliased when shrinking) instead of raising.

    Returns
    -------
    float in [-1, 1]
        1 for maps equal up to a positive affine change, -1 for inverted maps, about 0
        for unrelated maps. ``nan`` (with a :class:`ConstantMapWarning`) when either map
        is constant, because a correlation needs variance.

    Raises
    ------
    ValueError
        Shapes differ and ``resize`` is False; a map contains NaN or inf.
    """
    pair = _normalised_pair(saliency, ground_truth, resize)
    if pair is None:
        return float("nan")
    a, b = (x - x.mean() for x in pair)
    return float(np.clip((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()), -1.0, 1.0))


def ssim(saliency: np.ndarray | Explanation, ground_truth: np.ndarray, *, resize: bool = False,
         data_range: float = 1.0, gaussian_weights: bool = True, sigma: float = 1.5) -> float:
    """Structural similarity (Wang et al. 2004) between a saliency map and a ground truth.

    Both maps are min-max normalised to [0, 1] as in :func:`pcc`, then compared with
    :func:`skimage.metrics.structural_similarity`. SSIM combines local agreement of
    mean (luminance), standard deviation (contrast) and correlation (structure); it
    is 1 only for identical normalised maps.

    Parameters
    ----------
    saliency : ndarray, shape (H, W), or Explanation
    ground_truth : ndarray, shape (H, W)
    resize : bool
        Resize the saliency map to the ground truth's shape (bilinear) if they differ.
    data_range : float
        The span of possible values, which sets SSIM's stabilising constants
        ``C1 = (0.01 * data_range)**2`` and ``C2 = (0.03 * data_range)**2`` (Wang et
        al. 2004). It is explicit because float maps have no implicit range: scikit-image
        would otherwise assume [-1, 1] and halve the constants' effect. After
        normalisation the range is 1; change it only if you know why.
    gaussian_weights : bool
        Weight each local window with a Gaussian of standard deviation ``sigma``, as in
        Wang et al. 2004 (an 11 x 11 window for sigma 1.5). False uses scikit-image's
        uniform 7 x 7 window.
    sigma : float
        Standard deviation of the Gaussian window, in pixels.

    Returns
    -------
    float in [-1, 1]
        Mean SSIM over the map; ``nan`` (with a :class:`ConstantMapWarning`) when either
        map is constant, consistently with :func:`pcc`.

    Notes
    -----
    Covariances use the population normalisation (``use_sample_covariance=False``),
    which with the Gaussian window reproduces Wang et al.'s reference implementation.
    """
    for name, value in (("data_range", data_range), ("sigma", sigma)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
                or not 0 < value < np.inf:
            raise ParameterError(f"ssim: {name} must be a positive finite number, got "
                                 f"{value!r}.")
    pair = _normalised_pair(saliency, ground_truth, resize)
    if pair is None:
        return float("nan")
    a, b = pair
    reach = 3.5 * sigma + 0.5  # scikit-image's window: 2 * int(truncate * sigma + 0.5) + 1
    window = (2 * int(reach) + 1 if reach < np.inf else np.inf) if gaussian_weights else 7
    if min(a.shape) < window:
        raise ParameterError(f"ssim: maps of shape {a.shape} are smaller than the "
                             f"{window:.0f}x{window:.0f} SSIM window; use larger maps or a "
                             "smaller sigma.")
    return float(structural_similarity(a, b, data_range=data_range,
                                       gaussian_weights=gaussian_weights, sigma=sigma,
                                       use_sample_covariance=False))


def iou(saliency: np.ndarray | Explanation, mask: np.ndarray, *,
        threshold: float | None = None) -> float:
    """Intersection over union of the most salient pixels with an object mask.

    The predicted region is the top ``threshold`` fraction of pixels by saliency: a
    fraction of pixels rather than a level of the map, so that methods whose values
    are distributed differently (LIME's signed weights, RISE's probabilities near p1,
    Grad-CAM's rectified activations) are thresholded alike. Ties are broken in raster
    order, so exactly ``round(threshold * H * W)`` pixels are selected.

    Parameters
    ----------
    saliency : ndarray, shape (H, W), or Explanation
    mask : ndarray of bool, shape (H, W)
        The object's pixels (True or 1). Must contain at least one pixel.
    threshold : float in (0, 1), optional
        Fraction of the image, the most salient pixels, that forms the predicted
        region. Default: the mask's own area fraction, so that a perfect map scores 1.

    Returns
    -------
    float in [0, 1]
        ``|region & mask| / |region | mask|``; ``nan`` (with a
        :class:`ConstantMapWarning`) for a constant map, which selects no region.
    """
    sal = as_map(saliency, "saliency")
    obj = as_mask(mask, sal.shape)
    fraction = obj.mean() if threshold is None else check_fraction(threshold, "threshold")
    if is_constant(sal, "saliency"):
        return float("nan")
    k = max(1, int(round(fraction * sal.size)))
    region = np.zeros(sal.size, bool)
    region[descending_order(sal)[:k]] = True
    region = region.reshape(sal.shape)
    return float((region & obj).sum() / (region | obj).sum())


def pointing_game(saliency: np.ndarray | Explanation, mask: np.ndarray, *,
                  tolerance: int = 0) -> float:
    """Pointing game (Zhang et al. 2018): does the map's maximum fall on the object?

    A hit when the most salient pixel lies in ``mask`` or within ``tolerance`` pixels
    (Euclidean distance) of it. Zhang et al. use a 15-pixel tolerance at 224 x 224;
    the default 0 asks for the maximum to be exactly on the object. When several
    pixels share the maximum (LIME's superpixel plateaus), the first in raster order
    is the point (``np.argmax``): a deterministic convention, not one fixed by the paper.

    Parameters
    ----------
    saliency : ndarray, shape (H, W), or Explanation
    mask : ndarray of bool, shape (H, W)
        The object's pixels. Must contain at least one pixel.
    tolerance : int, >= 0
        Distance in pixels from the mask still counted as a hit.

    Returns
    -------
    float
        1.0 for a hit, 0.0 for a miss, so that the mean over images is the pointing
        accuracy ``hits / (hits + misses)``; ``nan`` (with a :class:`ConstantMapWarning`)
        for a constant map, which points nowhere.
    """
    sal = as_map(saliency, "saliency")
    obj = as_mask(mask, sal.shape)
    tolerance = check_int(tolerance, "tolerance", minimum=0)
    if is_constant(sal, "saliency"):
        return float("nan")
    point = np.unravel_index(np.argmax(sal), sal.shape)
    if obj[point]:
        return 1.0
    distance = ndimage.distance_transform_edt(~obj)[point]
    return float(distance <= tolerance)
