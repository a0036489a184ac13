"""Insertion and deletion (Petsiuk, Das & Saenko, BMVC 2018): does the model agree?

A saliency map ranks pixels. *Deletion* replaces the pixels, most important first, with
a baseline and records the model's probability of the target class after each step: a
faithful map makes it fall fast, so a **lower** area under the curve is better.
*Insertion* starts from a baseline (a blurred copy of the image) and puts the original
pixels back in the same order: a faithful map makes the probability rise fast, so a
**higher** area is better. Neither needs a ground truth; both only judge the order
of the pixels, not the map's values.

Choices, against the paper's reference code (``evaluation.py`` of github.com/eclique/RISE)
and xplique's ``Insertion``/``Deletion`` (``xplique.metrics.fidelity``):

- **x axis**: the fraction of pixels changed, from 0 to 1, in ``steps`` equal steps
  (``steps + 1`` points, both ends included). The reference code changes 224 pixels
  per step (224 steps at 224 x 224); xplique defaults to 10 steps. 50 keeps the curve
  smooth at under a quarter of the reference's cost.
- **score**: the softmax probability of the target class, as in both.
- **AUC**: the trapezoidal rule over the fraction axis. Because x spans [0, 1] and
  probabilities lie in [0, 1], the AUC lies in [0, 1]; this is the reference code's
  ``auc`` and xplique's rule for equal steps.
- **order**: most salient first. Ties keep raster (row-major) order by a stable sort,
  so a map with plateaus (LIME's superpixels) gives the same curve every run.
- **baselines**, in pixel space before preprocessing, so "black" is black for every
  model: insertion starts from a Gaussian blur (the paper; the code's 11 x 11 kernel of
  sigma 5 px at 224 x 224, scaled here with the image); deletion goes to black by
  default. The reference code deletes to 0 *after* ImageNet normalisation, i.e. to the
  ImageNet mean colour: pass ``baseline=labkit.explainers.rise.IMAGENET_MEAN_RGB`` to
  reproduce it. xplique uses 0 in the model's input space, which is black, grey or the
  mean colour depending on the preprocessing.
- **all channels** of a pixel change together (as in both).
"""
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.integrate import trapezoid

from .._checks import check_image, check_int
from ..explainers.base import hide_color_pixels, one_blas_thread, track
from ._maps import as_map, descending_order

__all__ = ["CurveScore", "baseline_image", "deletion", "insertion"]

#: Blur of the insertion baseline: sigma in pixels per 224 pixels of the image's
#: shorter side, truncated at one sigma (the reference code's 11 x 11 kernel).
BLUR_SIGMA_AT_224 = 5.0


@dataclass(frozen=True)
class CurveScore:
    """An insertion or deletion curve and its area.

    Attributes
    ----------
    auc : float in [0, 1]
        Area under ``scores`` over ``fractions`` (trapezoidal rule).
    fractions : ndarray, shape (steps + 1,)
        Fraction of pixels inserted or deleted at each point, from 0 to 1.
    scores : ndarray, shape (steps + 1,)
        The model's probability of ``target`` at each point.
    metric : str
        "insertion" or "deletion".
    target : int
        Index of the scored class.
    higher_is_better : bool
        True for insertion, False for deletion.
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


def baseline_image(image, baseline):
    """The image that insertion starts from, or that deletion ends at.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3)
        RGB pixels, uint8 or float in [0, 255].
    baseline : {"blur", "black", "mean"}, float or (r, g, b)
        "blur": a Gaussian blur of the image (sigma ``BLUR_SIGMA_AT_224`` pixels per
        224 pixels of the shorter side, edges replicated); "black": 0; "mean": the
        image's own mean colour; a number or RGB triple: that colour, in [0, 255].

    Returns
    -------
    ndarray, shape (H, W, 3), float32 in [0, 255]
    """
    pixels = check_image(image)
    if isinstance(baseline, str):
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
            return hide_color_pixels(baseline, pixels)
        except (ValueError, TypeError):
            pass
    raise ValueError(f"baseline must be 'blur', 'black', 'mean', a grey level or an RGB triple "
                     f"in [0, 255], got {baseline!r}.")


def insertion(model, image, saliency, *, target=None, steps=50, baseline="blur",
              batch_size=None, progress=False):
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
    steps : int, >= 1
        Number of steps from 0 to all pixels; the model scores ``steps + 1`` images.
        Model calls run in padded batches of ``model.batch_size``, so ``steps + 1`` a
        multiple of it (31 or 63 for 32) wastes nothing.
    baseline : {"blur", "black", "mean"}, float or (r, g, b)
        The starting image, see :func:`baseline_image`. Default "blur" as in the paper:
        a blurred canvas keeps the colours and coarse layout, so the curve follows the
        detail being restored rather than the model's reaction to sharp-edged patches
        on black.
    batch_size : int, optional
        How many step masks are built and scored at once (the classifier composites
        them in its graph); host memory is about ``batch_size * H * W * 5`` bytes.
        Default the model's batch size.
    progress : bool
        Show a progress bar over batches.

    Returns
    -------
    CurveScore
        ``higher_is_better`` is True.
    """
    return _curve("insertion", model, image, saliency, target, steps, baseline, batch_size,
                  progress)


def deletion(model, image, saliency, *, target=None, steps=50, baseline="black",
             batch_size=None, progress=False):
    """Deletion curve (Petsiuk et al. 2018): probability as salient pixels are removed.

    Replaces the pixels of ``image``, most salient first, with those of
    ``baseline_image(image, baseline)`` in ``steps`` equal steps. Lower AUC is better:
    a faithful map removes what the model needs first. Parameters as in
    :func:`insertion`, except the default baseline, "black".

    Returns
    -------
    CurveScore
        ``higher_is_better`` is False.
    """
    return _curve("deletion", model, image, saliency, target, steps, baseline, batch_size,
                  progress)


def _curve(metric, model, image, saliency, target, steps, baseline, batch_size, progress):
    pixels = check_image(image)
    sal = as_map(saliency, "saliency")
    if sal.shape != pixels.shape[:2]:
        raise ValueError(f"saliency has shape {sal.shape} but image is {pixels.shape[:2]}; "
                         "use the map of this image, at its resolution (labkit.explain "
                         "returns one).")
    target = _target(model, pixels, saliency, target)
    steps = check_int(steps, "steps")
    batch = model.batch_size if batch_size is None else check_int(batch_size, "batch_size")
    other = baseline_image(pixels, baseline)
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


def _target(model, pixels, saliency, target):
    """The class to score: ``target``, else the Explanation's, else the top prediction."""
    explained = getattr(saliency, "target", None)
    if target is None:
        if explained is not None:
            return int(explained)
        return int(np.argmax(model.predict(pixels[None])[0]))
    index = model.class_index(target)
    if explained is not None and index != explained:
        raise ValueError(f"target {target!r} (class {index}) differs from the explanation's "
                         f"target (class {explained}); leave target=None to score the "
                         "explained class.")
    return index
