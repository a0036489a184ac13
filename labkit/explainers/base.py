"""The minimal base every explainer shares: the `Explanation` it returns, progress
reporting, the hidden-colour image and the host's thread budget. Methods import this
module; it imports none of them."""
from dataclasses import dataclass, field

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

    def __repr__(self):
        h, w = self.saliency.shape
        return (f"Explanation({self.method!r} of {self.target_name!r} (p={self.probability:.3f}) "
                f"by {self.model_name!r}, {h}x{w}, {self.seconds:.2f} s)")


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
