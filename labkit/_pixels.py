"""The baseline image: what hidden pixels show, in pixel space; and the one min-max
scaling of a map. Shared by the explainers (LIME, RISE), the metrics (insertion/deletion,
the similarity metrics) and the plots."""
import numpy as np


def baseline_pixels(baseline, pixels, segments=None):
    """The replacement image for hidden regions, in pixel space.

    ``baseline`` is ``None`` (each superpixel's mean colour, as the `lime` package
    does; needs ``segments``), a grey level in [0, 255], or an RGB triple in [0, 255].
    labkit perturbs images in **pixel space, before preprocessing**, so ``0`` is black
    for every model. (The `lime` package hides in whatever space it is given: with a
    preprocessed image, 0 is mid-grey for a [-1, 1] model and the mean colour for
    a caffe-style model. That ambiguity is why labkit converts for you.)
    """
    if baseline is None:
        if segments is None:
            raise ValueError("baseline=None (superpixel mean colour) needs superpixels; "
                             "give an RGB colour instead.")
        labels = segments.ravel()
        counts = np.bincount(labels)
        flat = pixels.reshape(-1, 3)
        means = np.stack([np.bincount(labels, flat[:, c]) for c in range(3)], axis=1)
        means /= np.maximum(counts, 1)[:, None]
        return means[segments].astype(np.float32)
    color = np.asarray(baseline, dtype=np.float32)
    if color.ndim == 0:
        color = np.repeat(color, 3)
    if color.shape != (3,) or not np.all((color >= 0) & (color <= 255)):
        raise ValueError(f"baseline must be None, a grey level or an RGB triple in [0, 255], "
                         f"got {baseline!r}.")
    return np.broadcast_to(color, pixels.shape).astype(np.float32)


def minmax(values, low=None, high=None, *, constant=0.0):
    """``values`` mapped linearly from [low, high] to [0, 1], clipped: labkit's one min-max
    scaling, ``(x - low) / (high - low)``, for metrics and plots alike.

    ``low`` and ``high`` default to the map's own minimum and maximum. A range of zero
    width (a constant map) ranks no pixel above another, so every value becomes
    ``constant``: 0 by default (the bottom of a colour scale); the plots pass 0.5 for a
    signed map, the colour of zero. The metrics never reach this case: they warn and
    return nan for a constant map first (:class:`labkit.metrics.ConstantMapWarning`).
    A float array keeps its dtype; others become float64.
    """
    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.floating):
        values = values.astype(np.float64)
    low = values.min() if low is None else low
    high = values.max() if high is None else high
    if high - low <= 0:
        return np.full_like(values, constant)
    return np.clip((values - low) / (high - low), 0, 1)
