"""Occlusion (Zeiler & Fergus, ECCV 2014, Sec. 4.2): slide a patch over the image and
watch the class probability drop.

A square window of ``window`` x ``window`` pixels, filled with ``baseline``, is moved over
the image in steps of ``stride`` pixels; each position is one masked image the model
scores. The saliency of a pixel is the drop of the class probability,
``p(target | image) - p(target | occluded)``, averaged over every window that covers the
pixel (the attribution captum's ``Occlusion`` computes; Zeiler & Fergus plot the
probability per window position, which ``extras["drops"]`` keeps).

RISE (Petsiuk et al. 2018) is its randomised descendant: random smooth masks in place of
one sliding square. Occlusion is deterministic and needs no seed; its cost is the number of
window positions, fixed by ``window`` and ``stride``.
"""
import math

import numpy as np

from .._checks import ParameterError
from .._pixels import baseline_pixels
from .._work import one_blas_thread, track
from ._record import Explainer, Param
from .rise import IMAGENET_MEAN_RGB


def window_starts(size, window, stride):
    """First pixels of the windows along one side: every ``stride`` pixels, plus one flush
    with the far edge when the steps do not land there, so every pixel is covered."""
    starts = list(range(0, size - window + 1, stride))
    if starts[-1] != size - window:
        starts.append(size - window)
    return np.array(starts)


def occlusion(model, pixels, target, *, seed=0, progress=False, window=32, stride=8,
              baseline=IMAGENET_MEAN_RGB):
    """Occlusion saliency of ``target``: the probability drop under a sliding window.

    Parameters
    ----------
    window : int, >= 1
        Side of the square window, in pixels of the explained image (not of the model
        input), at most the image's shorter side. The default, 32, is RISE's default cell
        (224 / 7) on a 224-pixel photo: large enough to hide a part of an object (an ear, a
        trunk), small enough to place it. Scale it with the image for other sizes.
    stride : int, 1 <= stride <= window
        Step between window positions, in pixels. The model scores
        ``ceil((H - window) / stride + 1) * ceil((W - window) / stride + 1)`` images: 625 for
        the defaults on 224 x 224 (about 4 s on OpenVINO), 3025 for window 8, stride 4.
        A stride below the window makes windows overlap, which smooths the map; a
        stride above it would leave pixels no window covers, so it is refused.
    baseline : float or (r, g, b) in [0, 255]
        The window's colour, in pixel space. Default the ImageNet mean colour, as RISE's:
        Zeiler & Fergus occlude with a grey square, and the mean colour is what a
        normalised input's zero looks like, so the window removes information without
        adding a black edge the model could react to.

    The map is in probability units and its sign means something: negative where hiding
    a region *raises* the class probability (evidence for another class; on
    ``elephant_waterhole`` the drinking head, which EfficientNet-Lite0 partly reads as a
    warthog). The record says ``signed`` so that plots centre it at zero. Deterministic:
    ``seed`` is ignored.

    Extras
    ------
    drops (rows, cols) probability drop at each window position, the map of Zeiler &
    Fergus's Fig. 7; probability (the unoccluded image's); num_windows; window; stride.
    """
    height, width = pixels.shape[:2]
    if window > min(height, width):
        raise ParameterError(f"occlusion: window={window} is larger than the image "
                             f"({height}x{width}); use at most {min(height, width)} pixels.")
    if stride > window:
        raise ParameterError(f"occlusion: stride={stride} is larger than window={window}, so "
                             "some pixels would never be occluded; use a stride of at most "
                             f"{window}.")
    fill = baseline_pixels(baseline, pixels[:1, :1])[0, 0]
    rows, cols = window_starts(height, window, stride), window_starts(width, window, stride)
    positions = [(r, c) for r in rows for c in cols]
    base = float(model.predict(pixels[None])[0, target])

    b = model.batch_size
    drops = np.empty(len(positions), np.float64)
    with one_blas_thread():
        for i in track(range(math.ceil(len(positions) / b)), progress, "occlusion"):
            batch = positions[i * b:(i + 1) * b]
            masks = np.ones((len(batch), height, width), np.float32)
            for m, (r, c) in zip(masks, batch):
                m[r:r + window, c:c + window] = 0
            probs = model.predict_masked(pixels, masks, fill)[:, target]
            drops[i * b:i * b + len(batch)] = base - probs

    total = np.zeros((height, width), np.float64)
    count = np.zeros((height, width), np.float64)
    for (r, c), drop in zip(positions, drops):
        total[r:r + window, c:c + window] += drop
        count[r:r + window, c:c + window] += 1
    extras = {"drops": drops.reshape(len(rows), len(cols)).astype(np.float32),
              "probability": base, "num_windows": len(positions), "window": window,
              "stride": stride}
    used = {"window": window, "stride": stride, "baseline": baseline}
    return (total / count).astype(np.float32), extras, used


OCCLUSION = Explainer(
    "occlusion", occlusion,
    (Param("window", "int", low=1, widget=("slider", 8, 112, 8), label="window (px)"),
     Param("stride", "int", low=1, widget=("slider", 4, 56, 4), label="stride (px)"),
     Param("baseline", "color")),
    signed=True,
    summary="probability drop under a sliding grey window (Zeiler & Fergus 2014)")
