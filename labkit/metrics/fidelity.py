"""Insertion and deletion (Petsiuk, Das & Saenko, BMVC 2018): does the model agree?

A saliency map ranks pixels. *Deletion* replaces the pixels, most important first, with
a baseline and records the model's probability of the target class after each step: a
faithful map makes it fall fast, so a **lower** area under the curve is better.
*Insertion* starts from a baseline (a blurred copy of the image) and puts the original
pixels back in the same order: a faithful map makes the probability rise fast, so a
**higher** area is better. Neither needs a ground truth; both only judge the order
of the pixels, not the map's values.

Exactly what is computed, against the paper's reference code (``CausalMetric`` in
``evaluation.py`` of github.com/eclique/RISE) and xplique's ``Insertion``/``Deletion``
(``xplique.metrics.fidelity``):

- **x axis**: the fraction of pixels changed. Point ``k`` of ``steps + 1`` (both ends
  included) has the ``round(k * H * W / steps)`` most salient pixels changed. The
  reference changes ``step`` pixels per iteration, ``ceil(H * W / step)`` iterations;
  its setting, 224 pixels per step on 224 x 224 images, is ``steps=224`` here (the same
  225 images). xplique defaults to 10 steps; labkit defaults to 50, a smooth curve at
  under a quarter of the reference's cost.
- **y axis**: the softmax probability of ``target`` (default the explained class, else
  the top prediction). The reference scores the model's top class on the original
  image, the same class whenever the map explains the top prediction.
- **AUC**: the trapezoidal rule over the fraction axis,
  ``sum_k (x_k - x_(k-1)) * (y_k + y_(k-1)) / 2``, in [0, 1]. With equal steps (``H * W``
  a multiple of ``steps``) it is the reference's
  ``auc(y) = (y.sum() - y[0] / 2 - y[-1] / 2) / (len(y) - 1)``; otherwise the rounded
  step sizes weigh the points (the reference weighs its shorter last step like the others).
- **order and ties**: most salient first; pixels of equal saliency keep raster
  (row-major) order by a stable sort, so a map with plateaus (LIME's superpixels) gives
  the same curve every run. The reference flips numpy's default (unstable) ascending
  argsort, so its ties come out in no specified order, roughly reversed raster order;
  on real maps this moves the AUC by at most about 3e-4.
- **all channels** of a pixel change together (as in both).
- **baselines** (:func:`baseline_image`). The image is composited with the baseline in
  pixel space and then preprocessed; every labkit preprocessing is affine per pixel, so
  this is the same as compositing the preprocessed images in model space (the
  reference's way), and the resize to the model input (after compositing) is linear too.

  - ``"black"`` (deletion's default), ``"mean"`` or a colour: fixed pixels, the same
    picture for every model.
  - ``"zero"``: 0 in the model's input space, whatever the model: the colour that the
    model's preprocessing maps to 0 (:meth:`~labkit.models.Classifier.to_pixel_space`):
    mid-grey 127.5 for [-1, 1] models (MobileNet), 127 for EfficientNet-Lite, the
    ImageNet mean colour for "caffe" and "torch" models, black for raw-pixel models.
    This is the reference's deletion substrate (``torch.zeros_like`` of the normalised
    tensor) and xplique's default. A preprocessing may map 0 from outside [0, 255]
    (``x / 255 + 0.5`` does, from -127.5): the fill is then passed unclipped, so the
    composite is still exactly 0 in model space (only a plot of it would be clipped).
  - ``"blur"`` (insertion's default, the labs' choice): a Gaussian blur in pixel space
    of sigma ``BLUR_SIGMA_AT_224`` = 5 px per 224 px of the image's shorter side,
    truncated at one sigma (an 11 x 11 kernel at 224 x 224, centre weight 0.0120,
    corner 0.0044) with replicated edges. It is the paper's idea (a blurred canvas)
    defined so that it is the same picture for every model and scales with the image.
  - ``"rise_blur"``: the reference's blur exactly. Its kernel is scipy's
    ``gaussian_filter`` (sigma 5, default reflected tails truncated at 4 sigma) of an
    11 x 11 impulse, which is nearly flat (centre 0.0088, corner 0.0077, sum 1), and it
    convolves the *model-space* tensor with zero padding (``conv2d(x, k, padding=5)``),
    so the border fades towards the model-space zero: a grey frame on [-1, 1] models,
    the mean colour on "torch" models, black on raw-pixel ones. Computed here as
    ``z + conv(image - z)`` in pixel space with zero padding, ``z`` the "zero" colour,
    which is the same image. The kernel is fixed in pixels (11 x 11 at any size), so it
    equals the reference when the image is at the model input size (224 x 224 for the
    reference's ResNet-50).

  The labs use "blur" and "black" (the defaults): they show the same canvas whatever
  the model and keep Lab 6's numbers comparable across models and image sizes. To
  reproduce the paper's protocol, use ``deletion(..., baseline="zero", steps=224)`` and
  ``insertion(..., baseline="rise_blur", steps=224)`` on images at the model's input
  size; this matches a numpy transcription of ``CausalMetric.single_run`` to within
  2e-3 AUC (``tests/test_curves_reference.py``).
- **a constant map** ranks no pixel above another (its curve would only follow raster
  order): the AUC and the curve are ``nan``, with a :class:`ConstantMapWarning`, as
  :func:`~labkit.metrics.pcc` does, and the model is not called. A map that is the
  :class:`~labkit.Explanation` of another image than ``image`` is refused (a
  ParameterError), as is a map of another size.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage
from scipy.integrate import trapezoid

from .._checks import ParameterError, check_image, check_int, check_model
from .._pixels import baseline_pixels
from .._work import one_blas_thread, track
from ._maps import as_map, check_explains, descending_order, is_constant, resolve_target

if TYPE_CHECKING:
    from ..explainers import Explanation
    from ..models import Classifier

__all__ = ["CurveScore", "baseline_image", "deletion", "insertion", "rise_blur_kernel"]

#: Sigma of the "blur" baseline in pixels per 224 pixels of the image's shorter side,
#: truncated at one sigma (an 11 x 11 kernel at 224 x 224).
BLUR_SIGMA_AT_224 = 5.0

#: Side and sigma (pixels) of the reference code's blur kernel (``gkern(11, 5)``).
RISE_BLUR_SIZE, RISE_BLUR_SIGMA = 11, 5.0


@dataclass(frozen=True)
class CurveScore:
    """An insertion, deletion or ROAD curve and its area.

    Attributes
    ----------
    auc : float in [0, 1]
        Area under ``scores`` over ``fractions`` (trapezoidal rule); for ROAD, divided by
        the span of its fractions (the curve's mean height).
    fractions : ndarray, shape (points,)
        Fraction of pixels inserted, deleted or removed at each point: from 0 to 1 in
        ``steps + 1`` points for insertion and deletion, ROAD's ``percentages``.
    scores : ndarray, shape (points,)
        The model's probability of ``target`` at each point.
    metric : str
        "insertion", "deletion", "road_morf" or "road_lerf".
    target : int
        Index of the scored class.
    higher_is_better : bool
        True for insertion and ROAD LeRF, False for deletion and ROAD MoRF.
    """

    auc: float
    fractions: np.ndarray
    scores: np.ndarray
    metric: str
    target: int
    higher_is_better: bool

    def __repr__(self):
        better = "higher" if self.higher_is_better else "lower"
        return (f"CurveScore({self.metric} AUC={self.auc:.3f} ({better} is better), "
                f"target {self.target}, {len(self.scores)} points)")


def baseline_image(image: np.ndarray, baseline: str | float | tuple, *,
                   model: Classifier | None = None) -> np.ndarray:
    """The image that insertion starts from, or that deletion ends at.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3)
        RGB pixels, uint8 or float in [0, 255].
    baseline : {"blur", "rise_blur", "zero", "black", "mean"}, float or (r, g, b)
        "blur": a Gaussian blur of the image in pixel space (sigma
        ``BLUR_SIGMA_AT_224`` pixels per 224 pixels of the shorter side, truncated at one
        sigma, edges replicated); "rise_blur": the RISE reference code's blur (its
        11 x 11 kernel, applied in the model's input space with zero padding; needs
        ``model``); "zero": the colour the model's preprocessing maps to 0 (needs
        ``model``); "black": 0; "mean": the image's own mean colour; a number or RGB
        triple: that colour, in [0, 255]. The module docstring says exactly what each is.
    model : labkit.Classifier, optional
        The model whose input space defines "zero" and "rise_blur".

    Returns
    -------
    ndarray, shape (H, W, 3), float32
        In [0, 255], except for "zero" and "rise_blur" when the model's preprocessing
        maps 0 from outside it (never clipped, see the module docstring).
    """
    pixels = check_image(image)
    if isinstance(baseline, str):
        if baseline in ("zero", "rise_blur"):
            if model is None:
                raise ParameterError(f"baseline {baseline!r} is defined in a model's input space; "
                                 "pass model= (insertion and deletion pass theirs).")
            zero = model.to_pixel_space(0.0)
            if baseline == "zero":
                return np.broadcast_to(zero, pixels.shape).astype(np.float32)
            return _rise_blur(pixels, zero)
        if baseline == "black":
            return np.zeros_like(pixels)
        if baseline == "mean":
            return np.broadcast_to(pixels.mean(axis=(0, 1)), pixels.shape).astype(np.float32)
        if baseline == "blur":
            sigma = BLUR_SIGMA_AT_224 * min(pixels.shape[:2]) / 224
            return ndimage.gaussian_filter(pixels, sigma=(sigma, sigma, 0), truncate=1.0,
                                           mode="nearest")
    else:
        try:
            return baseline_pixels(baseline, pixels)
        except (ValueError, TypeError):
            pass
    raise ParameterError(f"baseline must be 'blur', 'black', 'mean', 'zero', 'rise_blur', a grey "
                     f"level or an RGB triple in [0, 255], got {baseline!r}.")


def rise_blur_kernel():
    """The RISE reference code's blur kernel, ``gkern(11, 5)`` of ``evaluation.py``.

    scipy's ``gaussian_filter`` (sigma 5, its default reflected tails) of an 11 x 11
    impulse, as float32: nearly flat, centre 0.0088, corners 0.0077, sum 1.
    """
    impulse = np.zeros((RISE_BLUR_SIZE, RISE_BLUR_SIZE))
    impulse[RISE_BLUR_SIZE // 2, RISE_BLUR_SIZE // 2] = 1.0
    return ndimage.gaussian_filter(impulse, RISE_BLUR_SIGMA).astype(np.float32)


def _rise_blur(pixels, zero):
    """The reference's blur of the model-space image, zero-padded, back in pixel space.

    With preprocessing ``A @ rgb + b`` and ``zero`` its root, the model-space image is
    ``A @ (pixels - zero)``; the kernel acts on each channel alike, so it commutes with
    ``A`` and the blurred image is ``zero + conv(pixels - zero)`` with zero padding.
    """
    kernel = rise_blur_kernel().astype(np.float64)
    centred = pixels.astype(np.float64) - zero
    blurred = np.stack([ndimage.correlate(centred[..., c], kernel, mode="constant", cval=0.0)
                        for c in range(3)], axis=-1)
    return (blurred + zero).astype(np.float32)


def insertion(model: Classifier, image: np.ndarray, saliency: np.ndarray | Explanation, *,
              target: int | str | None = None, steps: int = 50,
              baseline: str | float | tuple = "blur", batch_size: int | None = None,
              progress: bool | Callable[[int, int], object] = False) -> CurveScore:
    """Insertion curve (Petsiuk et al. 2018): probability as salient pixels are restored.

    Starts from ``baseline_image(image, baseline)`` and puts the original pixels back,
    most salient first, in ``steps`` equal steps. Higher AUC is better: a faithful map
    restores what the model needs first. See the module docstring for every choice.

    Parameters
    ----------
    model : labkit.Classifier
    image : ndarray, shape (H, W, 3)
        RGB pixels, uint8 or float in [0, 255].
    saliency : ndarray, shape (H, W), or Explanation
        Importance of each pixel of ``image``; only the order matters. An Explanation
        also supplies the target class.
    target : int or str, optional
        Class whose probability is scored; default the Explanation's target, else the
        model's top prediction on ``image``.
    steps : int, 1 <= steps <= H * W
        Number of steps from 0 to all pixels; the model scores ``steps + 1`` images.
        ``steps=224`` on a 224 x 224 image is the reference code's 224 pixels per step.
        Model calls run in batches of ``model.batch_size``, so ``steps + 1`` a multiple
        of it (31 or 63 for 32) wastes nothing.
    baseline : {"blur", "rise_blur", "zero", "black", "mean"}, float or (r, g, b)
        The starting image, see :func:`baseline_image`. Default "blur", the paper's
        blurred canvas (labkit's pixel-space version; "rise_blur" is the reference
        code's exactly): it keeps the colours and coarse layout, so the curve follows
        the detail being restored rather than the model's reaction to sharp-edged
        patches on black.
    batch_size : int, optional
        How many step masks are built and scored at once (the classifier composites
        them in its graph); host memory is about ``batch_size * H * W * 5`` bytes.
        Default the model's batch size.
    progress : bool
        Show a progress bar over batches.

    Returns
    -------
    CurveScore
        ``higher_is_better`` is True. ``auc`` is ``nan`` (with a
        :class:`ConstantMapWarning`) for a constant map.
    """
    return _curve("insertion", model, image, saliency, target, steps, baseline, batch_size,
                  progress)


def deletion(model: Classifier, image: np.ndarray, saliency: np.ndarray | Explanation, *,
             target: int | str | None = None, steps: int = 50,
             baseline: str | float | tuple = "black", batch_size: int | None = None,
             progress: bool | Callable[[int, int], object] = False) -> CurveScore:
    """Deletion curve (Petsiuk et al. 2018): probability as salient pixels are removed.

    Replaces the pixels of ``image``, most salient first, with those of
    ``baseline_image(image, baseline)`` in ``steps`` equal steps. Lower AUC is better:
    a faithful map removes what the model needs first. Parameters as in
    :func:`insertion`, except the default baseline, "black" (the paper's reference code
    deletes to "zero", the model-space zero).

    Returns
    -------
    CurveScore
        ``higher_is_better`` is False.
    """
    return _curve("deletion", model, image, saliency, target, steps, baseline, batch_size,
                  progress)


def _curve(metric, model, image, saliency, target, steps, baseline, batch_size, progress):
    check_model(model, metric)
    pixels = check_image(image)
    sal = as_map(saliency, "saliency")
    if sal.shape != pixels.shape[:2]:
        raise ParameterError(f"{metric}: saliency has shape {sal.shape} but image is "
                             f"{pixels.shape[:2]}; use the map of this image, at its resolution "
                             "(labkit.explain returns one).")
    check_explains(saliency, pixels, metric)
    steps = check_int(steps, "steps", maximum=sal.size)
    batch = model.batch_size if batch_size is None else check_int(batch_size, "batch_size")
    other = baseline_image(pixels, baseline, model=model)
    target = resolve_target(model, pixels, saliency, target)
    if is_constant(sal, "saliency", 4):  # no order to follow: a raster-order curve
        return CurveScore(auc=float("nan"), fractions=np.linspace(0, 1, steps + 1),
                          scores=np.full(steps + 1, np.nan), metric=metric, target=target,
                          higher_is_better=metric == "insertion")
    start, finish = (other, pixels) if metric == "insertion" else (pixels, other)

    # A pixel changes at step k when its rank is below the k-th count: each step image
    # is built from the rank map alone, a batch at a time, never all at once.
    counts = np.round(np.linspace(0, sal.size, steps + 1)).astype(np.int64)
    rank = np.empty(sal.size, np.int64)
    rank[descending_order(sal)] = np.arange(sal.size)
    rank = rank.reshape(sal.shape)
    scores = []
    with one_blas_thread():
        for s in track(range(0, steps + 1, batch), progress, metric):
            changed = rank[None] < counts[s:s + batch, None, None]
            scores.append(model.predict_masked(finish, changed, start)[:, target])
    scores = np.concatenate(scores).astype(np.float64)
    fractions = counts / sal.size
    scores.setflags(write=False)
    fractions.setflags(write=False)
    return CurveScore(auc=float(trapezoid(scores, fractions)), fractions=fractions,
                      scores=scores, metric=metric, target=target,
                      higher_is_better=metric == "insertion")

