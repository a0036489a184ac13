"""Argument checks shared by every public function, so that bad input fails early
with a sentence that names the problem and the fix."""
import numbers

import numpy as np


class ParameterError(ValueError, TypeError):
    """A bad argument to a labkit function. The message names the parameter, what was
    given and what is allowed. Both a ValueError and a TypeError, so code that caught
    either before keeps working."""


class UnreliableResultWarning(UserWarning):
    """A result was computed but may mean little, for a reason the message names (LIME
    with fewer samples than superpixels, a surrogate whose weights are all zero...).

    labkit raises an error where a result would mean nothing at all and warns with this
    class where it means little; each function's docstring says which. The grader turns
    this warning into a refusal; ``warnings.simplefilter("error", UnreliableResultWarning)``
    does the same anywhere.
    """


def check_image(image, name="image"):
    """Return ``image`` as a float32 RGB array in pixel space [0, 255], never a view.

    Accepts an (H, W, 3) array, at least 8 x 8, of dtype uint8 (0..255) or float
    (0..255, finite). A float image whose maximum lies in (0, 2] is refused as
    [0, 1]-scaled (an error, not a guess: see ``_MAX_OF_SCALED``).
    """
    if not isinstance(image, np.ndarray):
        raise ParameterError(
            f"{name} must be a numpy array of shape (H, W, 3), got {type(image).__name__}. "
            "Load files with labkit.load_image(path)."
        )
    if image.ndim != 3 or image.shape[-1] != 3:
        hint = " (a batch? pass one image at a time)" if image.ndim == 4 else ""
        raise ParameterError(
            f"{name} must have shape (H, W, 3) with RGB channels last, got {image.shape}{hint}. "
            "labkit.load_image converts grayscale and RGBA files to RGB."
        )
    if image.shape[0] < 8 or image.shape[1] < 8:
        raise ParameterError(f"{name} is {image.shape[0]}x{image.shape[1]} pixels; it must be at "
                             "least 8x8.")
    if image.dtype == np.uint8:
        return image.astype(np.float32)
    if not np.issubdtype(image.dtype, np.floating):
        raise ParameterError(
            f"{name} has dtype {image.dtype}; use uint8 (0..255) or float (0..255) pixels."
        )
    if not np.all(np.isfinite(image)):
        raise ParameterError(f"{name} contains NaN or infinite values.")
    lo, hi = float(image.min()), float(image.max())
    if lo < 0 or hi > 255:
        raise ParameterError(
            f"{name} has values in [{lo:.3g}, {hi:.3g}], outside pixel range [0, 255]. "
            "Pass raw pixels, not preprocessed model input: labkit preprocesses for you."
        )
    if 0 < hi <= _MAX_OF_SCALED:
        raise ParameterError(
            f"{name} looks scaled to [0, 1] (max {hi:.3g}); labkit expects pixels in [0, 255]. "
            "Multiply by 255 or pass the uint8 image."
        )
    return image.astype(np.float32, copy=True)


#: A float image whose maximum is in (0, 2] is taken for a [0, 1]-scaled one, not for a
#: nearly black [0, 255] photo: resizing or sharpening a [0, 1] image overshoots 1 a
#: little (1.02 is common), while a photo whose brightest pixel is 2/255 is black to the
#: eye and to a classifier. An all-zero (black) image is accepted as it is.
_MAX_OF_SCALED = 2.0


def check_model(model, where):
    """``model`` if it is a labkit Classifier (by what it does: it predicts, composites
    masks and resolves class names), else a ParameterError naming ``where``."""
    if not all(callable(getattr(model, attr, None))
               for attr in ("predict", "predict_masked", "class_index")):
        raise ParameterError(f"{where}: model must be a labkit Classifier, got "
                             f"{type(model).__name__}; load one with labkit.load_model(name).")
    return model


def check_int(value, name, minimum=1, maximum=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ParameterError(f"{name} must be an integer, got {value!r}.")
    if value < minimum:
        raise ParameterError(f"{name} must be at least {minimum}, got {value}.")
    if maximum is not None and value > maximum:
        raise ParameterError(f"{name} must be at most {maximum}, got {value}.")
    return int(value)


def check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def check_fraction(value, name, *, closed=False):
    """A float in the open interval (0, 1), or [0, 1] when ``closed``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{name} must be a number, got {value!r}.")
    ok = 0 <= value <= 1 if closed else 0 < value < 1
    if not ok:
        interval = "[0, 1]" if closed else "the open interval (0, 1)"
        raise ParameterError(f"{name} must lie in {interval}, got {value}.")
    return float(value)


def check_seed(seed):
    """``seed`` as numpy's generators accept it: None or an integer in [0, 2**32 - 1]."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
                             or not 0 <= seed < 2**32):
        raise ParameterError(f"seed must be None or an integer from 0 to 2**32 - 1, got "
                             f"{seed!r}; pick any non-negative integer, e.g. seed=0.")
    return None if seed is None else int(seed)


def available_memory():
    """Bytes of memory available to new allocations, or None where the system does not
    say (then memory checks are skipped)."""
    import os

    try:  # Linux: what the kernel estimates it can give without swapping
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(nbytes, what, fix):
    """Refuse, before allocating, work whose estimated memory ``nbytes`` exceeds what the
    machine has available; ``what`` names the work and its parameters, ``fix`` the cure."""
    available = available_memory()
    if available is not None and nbytes > available:
        raise ParameterError(f"{what} needs about {_size(nbytes)} of memory, more than the "
                             f"{_size(available)} available; {fix}.")


def _size(nbytes):
    for unit in ("bytes", "kB", "MB", "GB"):
        if nbytes < 1000:
            return f"{nbytes:.3g} {unit}"
        nbytes /= 1000
    return f"{nbytes:.3g} TB"


def renamed(params, renames, where, *, stacklevel=3):
    """``params`` (a dict of keyword arguments) with the old names in ``renames`` (old ->
    new) replaced by the new ones: old keywords work for one release, with a
    DeprecationWarning naming the new one. Refuses an old and a new name together."""
    import warnings

    out = dict(params)
    for old, new in renames.items():
        if old not in out:
            continue
        if new in out:
            raise ParameterError(f"{where}: give {new}, not both {new} and its old name {old}.")
        warnings.warn(f"{where}: {old} is now called {new}; {old} will be removed in the "
                      "next release.", DeprecationWarning, stacklevel=stacklevel)
        out[new] = out.pop(old)
    return out


def renamed_keyword(value, extra, renames, where, *, default=None):
    """The value of the keyword whose new name is ``renames``' value (``value``, None when
    not given) or whose old name (``renames``' key) arrived in ``extra``, a function's
    ``**kwargs``; ``default`` when neither was given. A keyword other than the old name
    is refused with a sentence naming it."""
    (old, new), = renames.items()
    for name in extra:
        if name != old:
            raise ParameterError(f"{where} has no parameter {name!r}.")
    given = renamed({**({} if value is None else {new: value}), **extra}, renames, where,
                    stacklevel=4)
    return given.get(new, default)
