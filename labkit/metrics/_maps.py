"""Checks shared by every metric that reads a 2-D map (the min-max scaling is
:func:`labkit._pixels.minmax`, shared with the plots)."""
import warnings

import numpy as np

from .._checks import ParameterError


class ConstantMapWarning(RuntimeWarning):
    """A map has a single value everywhere, so it ranks no pixel above another.

    Metrics then return ``nan`` (pandas skips it in means) instead of raising, so one
    blank map does not stop the evaluation of a whole data set. Silence it with
    ``warnings.simplefilter("ignore", labkit.metrics.ConstantMapWarning)``.
    """


def as_map(value, name):
    """``value`` (an array or an Explanation) as a finite float64 (H, W) array, a copy.

    Maps whose values approach float64's limit are divided by their largest magnitude
    first, so that ``max - min`` cannot overflow; every metric is invariant to that
    positive scaling.
    """
    if hasattr(value, "saliency") and hasattr(value, "method"):
        value = value.saliency
    if not isinstance(value, np.ndarray):
        raise ParameterError(f"{name} must be a 2-D numpy array or an Explanation, "
                             f"got {type(value).__name__}.")
    if value.ndim == 3 and value.shape[-1] == 1:
        value = value[..., 0]
    if value.ndim != 2:
        raise ParameterError(f"{name} must be a 2-D map of shape (H, W), got shape "
                             f"{value.shape}.")
    if value.size == 0:
        raise ParameterError(f"{name} is empty (shape {value.shape}); pass a map with at least "
                             "one pixel, at the image's resolution.")
    if value.dtype == bool:
        value = value.astype(np.float64)
    if not (np.issubdtype(value.dtype, np.floating) or np.issubdtype(value.dtype, np.integer)):
        raise ParameterError(f"{name} has dtype {value.dtype}; use a numeric array.")
    value = value.astype(np.float64, copy=True)
    if not np.all(np.isfinite(value)):
        raise ParameterError(f"{name} contains NaN or infinite values; "
                             "replace them (e.g. np.nan_to_num) before computing metrics.")
    peak = np.abs(value).max()
    if peak > _LARGEST / 4:
        value /= peak
    return value


_LARGEST = np.finfo(np.float64).max


def as_mask(value, shape, name="mask"):
    """``value`` as a boolean (H, W) mask of ``shape`` with at least one True pixel."""
    if not isinstance(value, np.ndarray):
        raise ParameterError(f"{name} must be a 2-D boolean numpy array, got "
                             f"{type(value).__name__}.")
    if value.dtype != bool:
        if not np.isin(value, (0, 1)).all():
            raise ParameterError(f"{name} must be boolean or contain only 0 and 1; "
                                 "threshold a soft map first, e.g. mask = heat > 0.5.")
        value = value.astype(bool)
    if value.shape != tuple(shape):
        raise ParameterError(f"{name} has shape {value.shape} but the saliency map has shape "
                             f"{tuple(shape)}; resize the mask with nearest-neighbour "
                             "interpolation (skimage.transform.resize(mask, shape, order=0)).")
    if not value.any():
        raise ParameterError(f"{name} is empty (no True pixel): there is no object to find.")
    return value


def is_constant(values, name, stacklevel=3):
    """True, with a :class:`ConstantMapWarning`, when ``values`` has a single value.

    ``stacklevel`` 3 points the warning at the caller of the public metric that calls this.
    """
    if values.max() > values.min():
        return False
    warnings.warn(f"{name} is constant ({values.flat[0]:.3g} everywhere): it ranks no pixel "
                  "above another, so the metric is undefined and returns nan.",
                  ConstantMapWarning, stacklevel=stacklevel)
    return True


def descending_order(saliency):
    """Flat pixel indices from most to least salient; ties keep raster (row-major) order."""
    return np.argsort(-saliency.ravel(), kind="stable")


def check_explains(saliency, pixels, where):
    """Refuse an Explanation of another image than ``pixels`` (float, checked): a curve
    metric would otherwise score one image's order on another image."""
    explained = getattr(saliency, "image", None)
    if explained is not None and not np.array_equal(
            explained, np.clip(pixels, 0, 255).astype(np.uint8)):
        raise ParameterError(f"{where}: the explanation is of another image than image; pass "
                             "the image it explains (explanation.image).")


def resolve_target(model, pixels, saliency, target):
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
