"""Argument checks shared by every public function, so that bad input fails early
with a sentence that names the problem and the fix."""
import numbers

import numpy as np


def check_image(image, name="image"):
    """Return ``image`` as a float32 RGB array in pixel space [0, 255], never a view.

    Accepts an (H, W, 3) array of dtype uint8 (0..255) or float (0..255).
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy array of shape (H, W, 3), got {type(image).__name__}. "
            "Load files with labkit.load_image(path)."
        )
    if image.ndim != 3 or image.shape[-1] != 3:
        hint = " (a batch? pass one image at a time)" if image.ndim == 4 else ""
        raise ValueError(
            f"{name} must have shape (H, W, 3) with RGB channels last, got {image.shape}{hint}. "
            "labkit.load_image converts grayscale and RGBA files to RGB."
        )
    if image.shape[0] < 8 or image.shape[1] < 8:
        raise ValueError(f"{name} is {image.shape[0]}x{image.shape[1]} pixels; it must be at least 8x8.")
    if image.dtype == np.uint8:
        return image.astype(np.float32)
    if not np.issubdtype(image.dtype, np.floating):
        raise TypeError(
            f"{name} has dtype {image.dtype}; use uint8 (0..255) or float (0..255) pixels."
        )
    if not np.all(np.isfinite(image)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    lo, hi = float(image.min()), float(image.max())
    if lo < 0 or hi > 255:
        raise ValueError(
            f"{name} has values in [{lo:.3g}, {hi:.3g}], outside pixel range [0, 255]. "
            "Pass raw pixels, not preprocessed model input: labkit preprocesses for you."
        )
    if hi <= 1.0 and hi > 0:
        raise ValueError(
            f"{name} looks scaled to [0, 1] (max {hi:.3g}); labkit expects pixels in [0, 255]. "
            "Multiply by 255 or pass the uint8 image."
        )
    return image.astype(np.float32, copy=True)


def check_int(value, name, minimum=1, maximum=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value}.")
    return int(value)


def check_fraction(value, name, *, closed=False):
    """A float in the open interval (0, 1), or [0, 1] when ``closed``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}.")
    ok = 0 <= value <= 1 if closed else 0 < value < 1
    if not ok:
        interval = "[0, 1]" if closed else "the open interval (0, 1)"
        raise ValueError(f"{name} must lie in {interval}, got {value}.")
    return float(value)


def check_seed(seed):
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"seed must be an integer or None, got {seed!r}.")
    return seed
