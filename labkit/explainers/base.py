"""The minimal base every explainer shares: the `Explanation` it returns, progress
reporting, the hidden-colour image and the host's thread budget. Methods import this
module; it imports none of them."""
from dataclasses import dataclass, field, fields
from typing import Optional

import numpy as np


@dataclass(frozen=True)
class Explanation:
    """What an explainer says about one image.

    Attributes
    ----------
    method : str
        Registered name of the explainer ("lime", "rise", "gradcam", "fem", ...).
    saliency : ndarray, shape (H, W), float32
        Importance of each pixel at the image's resolution; higher means more important
        for ``target``. Units depend on the method (see its docstring); plots and metrics
        normalise it.
    image : ndarray, shape (H, W, 3), uint8
        The explained image (a copy).
    target : int
        Index of the explained class.
    target_name : str
    probability : float
        The model's probability of ``target`` on the unperturbed image.
    model_name : str
    params : dict
        Every parameter the explainer used, defaults included, and the seed.
    seconds : float
        Wall-clock time of the explanation.
    extras : dict
        The method's by-products: LIME superpixels and weights, RISE mask statistics...
    model_hash : str or None
        SHA-256 of the model's weights (``Classifier.model_hash``), to tell two models
        with one name apart; None when unknown.

    Two explanations are equal (``==``) when every field is: arrays of the same dtype,
    shape and values, and the same ``extras``, key by key. :meth:`save` writes one to
    a file that :func:`labkit.load_explanation` reads back equal.
    """

    method: str
    saliency: np.ndarray
    image: np.ndarray
    target: int
    target_name: str
    probability: float
    model_name: str
    params: dict = field(default_factory=dict)
    seconds: float = 0.0
    extras: dict = field(default_factory=dict, repr=False)
    model_hash: Optional[str] = None

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return all(same(getattr(self, f.name), getattr(other, f.name)) for f in fields(self))

    def save(self, path):
        """Write this explanation to an ``.npz`` file, readable without pickle.

        The file holds the map, the image and every array of ``extras`` and ``params``,
        plus JSON metadata (method, class, probability, parameters, seed, time, model
        name and weights hash, labkit version, file format) and a SHA-256 checksum of
        it all. ``numpy.load(path)`` opens it as it is; :func:`labkit.load_explanation`
        gives back an equal :class:`Explanation`. See :mod:`labkit.explainers.saved`.

        Parameters
        ----------
        path : str or path-like
            ``.npz`` is appended when the name lacks it; an existing file is replaced.

        Returns
        -------
        pathlib.Path
            The file written.
        """
        from .saved import save_explanation
        return save_explanation(self, path)

    def __repr__(self):
        h, w = self.saliency.shape
        return (f"Explanation({self.method!r} of {self.target_name!r} (p={self.probability:.3f}) "
                f"by {self.model_name!r}, {h}x{w}, {self.seconds:.2f} s)")


def same(a, b):
    """Deep equality of explanation fields: same types, arrays of the same dtype, shape
    and values (NaN equal to NaN), dicts with the same keys."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and bool(
            np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, (float, np.floating)) and np.isnan(a):
        return bool(np.isnan(b))
    return bool(a == b)


def track(batches, progress, desc):
    """Iterate over ``batches`` (a sized iterable), reporting progress as ``explain`` says.

    False: silent; True: a tqdm bar; a callable: ``progress(done, total)`` before the
    first batch and after each one.
    """
    if callable(progress):
        return _report(batches, progress)
    if progress:
        from tqdm.auto import tqdm
        return tqdm(batches, desc=desc, unit="batch", leave=False)
    return batches


def one_blas_thread():
    """A context in which numpy's BLAS runs on one thread: for loops that alternate model
    calls with numpy work.

    The model's runtime (OpenVINO or TensorFlow) uses every core. OpenBLAS threads keep
    spinning for a while after a numpy product, waiting for more work, and take those
    cores from the next model call: on the 2-core course machines RISE took 1.3x its
    inference time with the default BLAS threads and 1.05x with one.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")


def _report(batches, callback):
    total = len(batches)
    callback(0, total)
    for done, batch in enumerate(batches, 1):
        yield batch
        callback(done, total)


def hide_color_pixels(hide_color, pixels, segments=None):
    """The replacement image for hidden regions, in pixel space.

    ``hide_color`` is ``None`` (each superpixel's mean colour, as the `lime` package
    does; needs ``segments``), a grey level in [0, 255], or an RGB triple in [0, 255].
    labkit perturbs images in **pixel space, before preprocessing**, so ``0`` is black
    for every model. (The `lime` package hides in whatever space it is given: with a
    preprocessed image, 0 is mid-grey for a [-1, 1] model and the mean colour for
    a caffe-style model. That ambiguity is why labkit converts for you.)
    """
    if hide_color is None:
        if segments is None:
            raise ValueError("hide_color=None (superpixel mean colour) needs superpixels; "
                             "give an RGB colour instead.")
        labels = segments.ravel()
        counts = np.bincount(labels)
        flat = pixels.reshape(-1, 3)
        means = np.stack([np.bincount(labels, flat[:, c]) for c in range(3)], axis=1)
        means /= np.maximum(counts, 1)[:, None]
        return means[segments].astype(np.float32)
    color = np.asarray(hide_color, dtype=np.float32)
    if color.ndim == 0:
        color = np.repeat(color, 3)
    if color.shape != (3,) or not np.all((color >= 0) & (color <= 255)):
        raise ValueError(f"hide_color must be None, a grey level or an RGB triple in [0, 255], "
                         f"got {hide_color!r}.")
    return np.broadcast_to(color, pixels.shape).astype(np.float32)
