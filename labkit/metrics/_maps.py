"""Checks shared by every metric that reads a 2-D map (the min-max scaling is
:func:`labkit._pixels.minmax`, shared with the plots)."""
import warnings

import numpy as np


class ConstantMapWarning(RuntimeWarning):
    """A map has a single value everywhere, so it ranks no pixel above another.

    Metrics then return ``nan`` (pandas skips it in means) instead of raising, so one
    blank map does not stop the evaluation of a whole data set. Silence it with
    ``warnings.simplefilter("ignore", labkit.metrics.ConstantMapWarning)``.
    """


def as_map(value, name):
    """``value`` (an array or an Explanation) as a finite float64 (H, W) array, a copy."""
    if hasattr(value, "saliency") and hasattr(value, "method"):
        value = value.saliency
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a 2-D numpy array or an Explanation, "
                        f"got {type(value).__name__}.")
    if value.ndim == 3 and value.shape[-1] == 1:
        value = value[..., 0]
    if value.ndim != 2:
        raise ValueError(f"{name} must be a 2-D map of shape (H, W), got shape {value.shape}.")
    if value.dtype == bool:
        value = value.astype(np.float64)
    if not (np.issubdtype(value.dtype, np.floating) or np.issubdtype(value.dtype, np.integer)):
        raise TypeError(f"{name} has dtype {value.dtype}; use a numeric array.")
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{name} contains NaN or infinite values; "
                         "replace them (e.g. np.nan_to_num) before computing metrics.")
    return value.astype(np.float64, copy=True)


def as_mask(value, shape, name="mask"):
    """``value`` as a boolean (H, W) mask of ``shape`` with at least one True pixel."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a 2-D boolean numpy array, got {type(value).__name__}.")
    if value.dtype != bool:
        if not np.isin(value, (0, 1)).all():
            raise ValueError(f"{name} must be boolean or contain only 0 and 1; "
                             "threshold a soft map first, e.g. mask = heat > 0.5.")
        value = value.astype(bool)
    if value.shape != tuple(shape):
        raise ValueError(f"{name} has shape {value.shape} but the saliency map has shape "
                         f"{tuple(shape)}; resize the mask with nearest-neighbour interpolation "
                         "(skimage.transform.resize(mask, shape, order=0)).")
    if not value.any():
        raise ValueError(f"{name} is empty (no True pixel): there is no object to find.")
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
