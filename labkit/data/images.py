"""`load_image`: any picture (file, file-like object or array) to RGB uint8 pixels,
and the one resize policy that every labkit loader shares."""
import io
import numbers
import os
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .._checks import check_int

# Pillow modes that hold more than 8 bits per sample; 16-bit PNG and TIFF open as these.
_WIDE_INT_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N")


def load_image(source, size=None):
    """Load an image as RGB pixels, shape (H, W, 3), dtype uint8.

    Parameters
    ----------
    source : str, path-like, file-like object, bytes or numpy.ndarray
        A file in any format Pillow reads (JPEG, PNG, GIF, BMP, TIFF, WebP, ...), an
        open binary file, the file's bytes, or an array. The input is never modified.

        Files: grayscale and palette images become RGB; images with transparency
        (RGBA, LA, palette with a transparent colour) are **composited on a white
        background** and the alpha channel is dropped; 16-bit images are scaled to
        8 bits (value / 257, so 65535 -> 255); JPEGs with an EXIF orientation tag are
        turned upright (:func:`PIL.ImageOps.exif_transpose`); an animated GIF gives
        its first frame.

        Arrays of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) (alpha composited on
        white as for files). Integer arrays must hold values in 0..255. Float arrays
        whose maximum is at most 1 are read as intensities in [0, 1] and multiplied by
        255; a maximum in (1, 2] is refused as ambiguous (a [0, 1] image overshot by a
        resize, or a black photo); any other float array is read as pixels in [0, 255].
        A very dark float image in [0, 255] with every value <= 2 must be passed as uint8.
    size : int or (int, int), optional
        None keeps the original size. An int ``S`` resizes so the **shorter side** is
        ``S`` (aspect ratio kept), then crops the central S x S square: the square
        input ImageNet classifiers expect, without distorting the object. A tuple
        ``(height, width)`` resizes to exactly that shape (aspect ratio not kept).
        Resampling is bicubic with antialiasing (Pillow).

    Returns
    -------
    numpy.ndarray
        (H, W, 3) uint8, a new array.
    """
    fit_size = check_size(size)
    if isinstance(source, np.ndarray):
        pixels = _array_to_rgb(source)
    else:
        pixels = _pil_to_rgb(_open(source))
    if fit_size is None:
        return pixels
    return resize_image(pixels, Fit.from_shape(pixels.shape[:2], fit_size))


def check_size(size, name="size"):
    """None, a positive int, or a (height, width) pair of positive ints."""
    if size is None:
        return None
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        return check_int(size, name)
    if isinstance(size, (tuple, list)) and len(size) == 2:
        return tuple(check_int(v, f"{name}[{i}]") for i, v in enumerate(size))
    raise TypeError(
        f"{name} must be None, an int (shorter side, then centre crop) or a (height, width) "
        f"tuple, got {size!r}."
    )


@dataclass(frozen=True)
class Fit:
    """The geometry of one resize (+ centre crop), so that images, maps, masks and
    points of the same picture move together.

    ``scale`` is output pixels per input pixel along (rows, cols); ``resized`` the
    shape after scaling; ``offset`` the (top, left) corner of the crop in the resized
    image; ``shape`` the final shape.
    """

    scale: tuple
    resized: tuple
    offset: tuple
    shape: tuple

    @classmethod
    def from_shape(cls, shape, size):
        h, w = int(shape[0]), int(shape[1])
        if isinstance(size, tuple):
            out = size
            resized = size
        else:
            k = size / min(h, w)
            resized = (max(size, round(h * k)), max(size, round(w * k)))
            out = (size, size)
        offset = ((resized[0] - out[0]) // 2, (resized[1] - out[1]) // 2)
        return cls((resized[0] / h, resized[1] / w), resized, offset, out)

    def _apply(self, image, resample):
        image = image.resize(self.resized[::-1], resample)
        top, left = self.offset
        return image.crop((left, top, left + self.shape[1], top + self.shape[0]))

    def points(self, points):
        """Move (row, col) points (pixel centres at integers) into the output image.

        Returns the moved points and a boolean array: which points fall inside it.
        """
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        moved = (points + 0.5) * np.asarray(self.scale) - 0.5 - np.asarray(self.offset)
        return moved, inside_image(moved, self.shape)


def inside_image(points, shape):
    """Which (row, col) points (K, 2) fall on an image of ``shape`` (H, W, ...):
    -0.5 <= row < H - 0.5 and the same for columns (pixel centres at integers)."""
    limits = np.asarray(shape[:2], dtype=np.float64) - 0.5
    return np.all((points >= -0.5) & (points < limits), axis=1)


def resize_image(pixels, fit):
    """(H, W, 3) uint8 -> the fitted (h, w, 3) uint8, bicubic with antialiasing."""
    return np.asarray(fit._apply(Image.fromarray(pixels), Image.Resampling.BICUBIC))


def resize_map(values, fit):
    """(H, W) float map -> the fitted (h, w) float32 map, bilinear (never overshoots)."""
    image = Image.fromarray(np.asarray(values, dtype=np.float32), mode="F")
    return np.asarray(fit._apply(image, Image.Resampling.BILINEAR), dtype=np.float32).copy()


def resize_mask(mask, fit):
    """(H, W) bool mask -> the fitted (h, w) bool mask, nearest neighbour."""
    image = Image.fromarray(np.asarray(mask, dtype=np.uint8) * 255)
    return np.asarray(fit._apply(image, Image.Resampling.NEAREST)) > 127


def _open(source):
    """Open ``source`` with Pillow and decode it fully, or fail with one clear sentence."""
    if isinstance(source, (bytes, bytearray)):
        source, label = io.BytesIO(source), "the given bytes"
    elif isinstance(source, (str, os.PathLike)):
        label = os.fspath(source)
        if not os.path.exists(label):
            raise FileNotFoundError(f"no such file: {label}. Check the path (relative paths "
                                    f"start at the notebook's folder, {os.getcwd()!r}).")
        if os.path.isdir(label):
            raise IsADirectoryError(f"{label} is a folder, not an image file; for a folder of "
                                    "class folders use labkit.data.load_folder.")
    elif hasattr(source, "read"):
        label = getattr(source, "name", "the file object")
    else:
        raise TypeError(f"cannot load an image from {type(source).__name__}; pass a file path, "
                        "an open binary file, bytes or a numpy array.")
    try:
        image = Image.open(source)
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise ValueError(f"{label} is not an image PIL can read ({err}); pass a JPEG, PNG, GIF, "
                         "BMP, TIFF or WebP file.") from err
    return image


def _pil_to_rgb(image):
    image = ImageOps.exif_transpose(image)
    if image.mode in _WIDE_INT_MODES:
        values = np.asarray(image, dtype=np.float64) / 257.0
        return _array_to_rgb(np.clip(np.round(values), 0, 255).astype(np.uint8))
    if image.mode == "F":
        return _array_to_rgb(np.asarray(image, dtype=np.float32))
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if has_alpha:
        return _on_white(np.asarray(image.convert("RGBA")))
    return np.array(image.convert("RGB"), dtype=np.uint8)


def _on_white(rgba):
    """Composite an (H, W, 4) uint8 image over white: alpha is not kept."""
    alpha = rgba[..., 3:].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
    return np.round(rgb).astype(np.uint8)


def _array_to_rgb(array, name="image"):
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (3, 4))):
        hint = " (a batch? pass one image at a time)" if array.ndim == 4 else ""
        raise ValueError(f"{name} must have shape (H, W), (H, W, 3) or (H, W, 4), got "
                         f"{array.shape}{hint}; put the colour channels last.")
    if array.dtype == np.bool_:
        raise TypeError(f"{name} is a boolean mask, not an image; pass "
                        "mask.astype(np.uint8) * 255.")
    if array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape}); pass an image with pixels.")
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} contains NaN or infinite values; replace them first "
                             "(np.nan_to_num).")
        lo, hi = float(array.min()), float(array.max())
        if lo < 0 or hi > 255:
            raise ValueError(f"{name} has values in [{lo:.3g}, {hi:.3g}]; float images must lie in "
                             "[0, 1] or [0, 255] (undo any model preprocessing first).")
        if 1.0 < hi <= 2.0:  # as labkit.explain's check: [0, 1] overshot by a resize
            raise ValueError(f"{name} has values up to {hi:.3g}: a [0, 1] image that overshot "
                             "(clip it with numpy.clip(image, 0, 1)) or a black [0, 255] "
                             "one (pass it as uint8); labkit will not guess.")
        array = np.round(array * 255.0 if hi <= 1.0 else array).astype(np.uint8)
    elif np.issubdtype(array.dtype, np.integer):
        if array.size and (array.min() < 0 or array.max() > 255):
            raise ValueError(f"{name} has integer values in [{array.min()}, {array.max()}], "
                             "outside 0..255; for 16-bit data divide by 257 first.")
        array = array.astype(np.uint8)
    else:
        raise TypeError(f"{name} has dtype {array.dtype}; use uint8 pixels (0..255) or floats "
                        "in [0, 1] or [0, 255].")
    if array.ndim == 2:
        return np.repeat(array[..., None], 3, axis=2)
    if array.shape[-1] == 4:
        return _on_white(array)
    return array  # already a new array: astype copies
