"""The baseline image: what hidden pixels show, in pixel space. Shared by the explainers
(LIME, RISE), the metrics (insertion/deletion) and the plots."""
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
