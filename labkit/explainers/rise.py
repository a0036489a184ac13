"""RISE: Randomized Input Sampling for Explanation (Petsiuk, Das & Saenko, BMVC 2018).

N random binary grids of s x s cells, each cell kept with probability p1, are
upsampled bilinearly to smooth masks and shifted by a random offset of up to one
cell, as in the paper (Sec. 3.2). The saliency of a pixel is the expected class
probability of the masked images, weighted by how much each mask keeps that pixel:

    S = 1 / (N * p1) * sum_i P(target | I * M_i) * M_i        (paper, eq. 6)

This is the paper's normalisation: divide by the expected mask value N * p1. Some
libraries (xplique, for one) divide by each pixel's own sum of mask values instead;
the two differ by a near-constant factor for large N, and the paper's choice keeps
values on the scale of a probability.

Masks are generated batch by batch and the classifier composites and scores each
batch (:meth:`~labkit.models.Classifier.predict_masked`), so memory stays bounded
whatever N is: only the N x s x s random grids (a few kB) are drawn up front, which
also makes the map independent of the batch size.
"""
import math

import numpy as np

from .._checks import check_fraction, check_int, check_memory
from .._pixels import baseline_pixels
from .._work import one_blas_thread, track
from ._record import Explainer, Param

#: ImageNet mean colour in pixel space. The paper's code masks normalised tensors, so
#: a hidden pixel becomes 0 after normalisation, which is this colour.
IMAGENET_MEAN_RGB = (123.675, 116.28, 103.53)


def generate_masks(shape, *, num_masks, grid_size=7, p1=0.5, seed=0):
    """The random grids and shifts RISE draws, as a reproducible recipe.

    Returns ``(grids, shifts, (up_h, up_w))``: grids (N, s, s) float32 in {0, 1},
    shifts (N, 2) int32 row/column offsets in [0, cell), and the upsampled size.
    """
    height, width = shape
    cell_h, cell_w = math.ceil(height / grid_size), math.ceil(width / grid_size)
    rng = np.random.default_rng(seed)
    grids = (rng.random((num_masks, grid_size, grid_size)) < p1).astype(np.float32)
    shifts = np.stack([rng.integers(0, cell_h, num_masks), rng.integers(0, cell_w, num_masks)],
                      axis=1).astype(np.int32)
    return grids, shifts, ((grid_size + 1) * cell_h, (grid_size + 1) * cell_w)


def masks_from_recipe(grids, shifts, up_size, shape):
    """Upsample and shift grids to (n, H, W) float32 masks in [0, 1] (one batch of RISE, or
    plots).

    Bilinear upsampling with half-pixel centres, as ``tf.image.resize`` does, is
    separable: each mask is ``R @ grid @ C.T`` with R and C the rows of the 1-D
    interpolation matrices that the shift crops to. A few small matrix products, about
    ten times faster than resizing whole grids and cropping.

    At the edges labkit clamps: outside the outer cell centres (the outer half cell of
    the upsampled grid, 16 pixels for 7 cells to 256) a mask holds the edge cell's value.
    The paper's code (``explanations.py`` of github.com/eclique/RISE) upsamples with
    ``skimage.transform.resize(grid, up_size, order=1, mode="reflect")``, also with
    half-pixel centres, but mirrors there (the sample beyond cell 0 is cell 1), so in
    that band its masks blend the edge cell with its inner neighbour, by up to 0.49. The
    random shift brings the band into the image along one side per axis (the top or
    left when the shift is under half a cell, else the bottom or right). Both masks
    average to p1 everywhere (every cell is kept with probability p1), so the two
    differ only in how the mask values correlate in that band; elsewhere they are equal.
    """
    height, width = shape
    (up_h, up_w), s = up_size, grids.shape[-1]
    rows = _interpolation_matrix(s, up_h)[shifts[:, :1] + np.arange(height)]  # (n, H, s)
    cols = _interpolation_matrix(s, up_w)[shifts[:, 1:] + np.arange(width)]  # (n, W, s)
    return rows @ grids.astype(np.float32) @ cols.transpose(0, 2, 1)


def _interpolation_matrix(size, out_size):
    """(out_size, size) weights of 1-D linear interpolation with half-pixel centres."""
    position = (np.arange(out_size) + 0.5) * (size / out_size) - 0.5
    lower = np.floor(position)
    lerp = (position - lower).astype(np.float32)
    weights = np.zeros((out_size, size), np.float32)
    rows = np.arange(out_size)
    # Clamped at the edges, where the two neighbours are the same cell.
    np.add.at(weights, (rows, np.clip(lower, 0, size - 1).astype(int)), 1 - lerp)
    np.add.at(weights, (rows, np.clip(lower + 1, 0, size - 1).astype(int)), lerp)
    return weights


def rise_map(masks, probs, p1, *, normalise=True):
    """RISE's saliency from scored masks: ``sum_i probs_i * masks_i / (N * p1)`` (paper, eq. 6).

    Parameters
    ----------
    masks : ndarray, shape (N, H, W), in [0, 1]
    probs : ndarray, shape (N,)
        The class probability of each masked image.
    p1 : float
        The probability that a grid cell is kept.
    normalise : bool
        False returns the weighted sum ``sum_i probs_i * masks_i`` alone: sums of batches
        add up, and :func:`rise` divides their total once by N * p1.

    Returns
    -------
    ndarray, shape (H, W)
    """
    masks, probs = np.asarray(masks), np.asarray(probs)
    if masks.ndim != 3 or probs.shape != masks.shape[:1]:
        raise ValueError(f"rise_map takes masks (N, H, W) and probs (N,), one probability per "
                         f"mask; got masks {masks.shape} and probs {probs.shape}.")
    total = np.tensordot(probs, masks, axes=1)
    return total / (len(masks) * p1) if normalise else total


def rise(model, pixels, target, *, seed=0, progress=False, num_masks=2000, grid_size=7, p1=0.5,
         baseline=IMAGENET_MEAN_RGB, snapshots=8):
    """RISE saliency of ``target``.

    Parameters
    ----------
    num_masks : int, >= 1
        N, the number of masked images scored (the cost of the method). The paper uses
        4000 for ResNet50; maps are usable from about 1000. The N random grids are drawn
        up front (about ``13 * N * s**2`` bytes): more than the available memory is
        refused before any draw.
    grid_size : int, 2 <= s <= min(H, W)
        s, cells per side of the random grid: small s gives coarse blobs.
    p1 : float in (0, 1)
        Probability that a cell is kept.
    baseline : float or (r, g, b) in [0, 255]
        What masked-out pixels fade to, in pixel space; default the ImageNet mean.
    snapshots : int
        How many running maps to keep in ``extras["running"]`` (to watch it converge).

    Extras
    ------
    running (list of (n, map)), example_masks (4, H, W), mean_mask (average kept
    fraction, ~p1), cell_size (pixels), num_masks, grid_size, p1.
    """
    height, width = pixels.shape[:2]
    num_masks = check_int(num_masks, "num_masks", minimum=1)
    grid_size = check_int(grid_size, "grid_size", minimum=2)
    if grid_size > min(height, width):
        raise ValueError(f"grid_size {grid_size} is larger than the image ({height}x{width}); "
                         f"use at most {min(height, width)} cells per side.")
    p1 = check_fraction(p1, "p1")
    check_int(snapshots, "snapshots", minimum=1)
    fill = baseline_pixels(baseline, pixels[:1, :1])[0, 0]
    # The grids are drawn up front: float64 draws, their bool test, the float32 grids.
    check_memory(num_masks * grid_size ** 2 * 13,
                 f"rise with num_masks={num_masks} ({grid_size}x{grid_size} grids)",
                 "use fewer masks")

    grids, shifts, up_size = generate_masks((height, width), num_masks=num_masks,
                                            grid_size=grid_size, p1=p1, seed=seed)
    b = model.batch_size
    n_batches = math.ceil(num_masks / b)
    checkpoints = {math.ceil(n_batches * (k + 1) / snapshots) for k in range(snapshots)}

    total = np.zeros((height, width), np.float64)
    kept, running = 0.0, []
    with one_blas_thread():
        for i in track(range(n_batches), progress, "RISE"):
            masks = masks_from_recipe(grids[i * b:(i + 1) * b], shifts[i * b:(i + 1) * b],
                                      up_size, (height, width))
            probs = model.predict_masked(pixels, masks, fill)  # M * I + (1 - M) * baseline
            total += rise_map(masks, probs[:, target], p1, normalise=False)
            kept += float(masks.sum())
            if i + 1 in checkpoints:
                done = min((i + 1) * b, num_masks)
                running.append((done, (total / (done * p1)).astype(np.float32)))

    saliency = total / (num_masks * p1)
    extras = {
        "running": running,
        "example_masks": masks_from_recipe(grids[:4], shifts[:4], up_size, (height, width)),
        "mean_mask": kept / (num_masks * height * width),
        "cell_size": (math.ceil(height / grid_size), math.ceil(width / grid_size)),
        "num_masks": num_masks, "grid_size": grid_size, "p1": p1,
    }
    used = dict(num_masks=num_masks, grid_size=grid_size, p1=p1, baseline=baseline)
    return saliency.astype(np.float32), extras, used


RISE = Explainer(
    "rise", rise,
    (Param("num_masks", "int", low=1, limit=8000, widget=("count",), label="masks N"),
     Param("grid_size", "int", low=2, high=224, widget=("slider", 2, 32, 1), label="grid size s"),
     Param("p1", "float", low=0, high=1, open_low=True, open_high=True,
           widget=("slider", 0.05, 0.95, 0.05), label="keep probability p1"),
     Param("baseline", "color"),
     Param("snapshots", "int", low=1, high=100)),
    stochastic=True,
    summary="random smooth masks, probability-weighted average (Petsiuk et al. 2018)")
