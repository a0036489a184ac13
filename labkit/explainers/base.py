"""The minimal base every explainer shares: the `Explanation` it returns. Methods import
this module; it imports none of them. Progress reporting, the thread budget and the
baseline image live lower (``labkit._work``, ``labkit._pixels``), as the metrics and plots
use them too: method files import them from there."""
from dataclasses import dataclass, field, fields

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
    model_hash: str | None = None

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


def load_explanation(path):
    """Read an :class:`Explanation` written by :meth:`Explanation.save`.

    Nothing is unpickled. The file is refused, with one sentence saying why, when it is
    not an ``.npz`` explanation, was written by a newer labkit (a higher format), was
    altered after saving (its checksum does not match) or holds pickled objects.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    Explanation
        Equal (``==``) to the one saved: same arrays (dtype, shape, values), parameters
        and by-products with their types. Plots and metrics take it as any other.

    Raises
    ------
    ExplanationFileError
        A ``ValueError``: the file is not one labkit will read (see above).
    FileNotFoundError
    """
    from .saved import read_explanation

    return Explanation(**read_explanation(path))


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


__all__ = ["Explanation", "load_explanation", "same"]
