"""Grad-CAM++ (Chattopadhay, Sarkar, Howlader & Balasubramanian, WACV 2018)."""
import numpy as np

from ._record import Explainer, Param
from .cam import gradient_cam


def gradcam_plus_plus_map(activations, gradients):
    """Grad-CAM++ at the layer's resolution, from one image's activations and gradients.

    Parameters
    ----------
    activations, gradients : array-like, shape (h, w, C)
        The layer's activations A and the gradients g of the class logit with respect
        to them.

    Returns
    -------
    low_res : ndarray, shape (h, w), float32, >= 0
        ``ReLU(sum_k w_k A_k)``.
    channel_weights : ndarray, shape (C,), float32
        ``w_k = sum_ij alpha_ij^k ReLU(g_ij^k)`` with
        ``alpha_ij^k = g^2 / (2 g^2 + sum_ab A_ab^k g^3)`` where ``g != 0``, else 0
        (the paper's eq. 19 with the exponential of the logit as the score).
    """
    # float64: g**3 of small float32 gradients would underflow to 0.
    acts = np.asarray(activations, np.float64)
    grads = np.asarray(gradients, np.float64)
    g2 = grads ** 2
    denominator = 2 * g2 + acts.sum(axis=(0, 1)) * g2 * grads
    alpha = np.divide(g2, denominator, out=np.zeros_like(g2),
                      where=(grads != 0) & (denominator != 0))
    weights = (alpha * np.maximum(grads, 0)).sum(axis=(0, 1))
    low = np.maximum(acts @ weights, 0)
    return low.astype(np.float32), weights.astype(np.float32)


def gradcam_plus_plus(model, pixels, target, *, seed=0, progress=False, layer=None):
    """Grad-CAM++ saliency of ``target`` at ``layer``.

    Grad-CAM weighs each channel by its mean gradient; Grad-CAM++ weighs the positive
    gradients location by location (``alpha``), so that several instances of a class, or
    a large object whose parts each raise the score a little, all count.

    The closed form: with the score ``Y = exp(S)`` of the class logit ``S`` and a network
    that is piecewise linear after the layer (ReLU/ReLU6, pooling, dense), the second and
    third derivatives of Y are ``exp(S) g^2`` and ``exp(S) g^3`` with ``g = dS/dA``
    (paper, eqs. 17-19). ``exp(S)`` cancels in ``alpha`` and only scales the weights, so
    it is dropped, as pytorch-grad-cam and xplique drop it: ``alpha = g^2 / (2 g^2 +
    sum_ij(A) g^3)`` where ``g != 0`` (0 elsewhere), ``w_k = sum_ij alpha ReLU(g)``, map
    ``ReLU(sum_k w_k A_k)`` (:func:`gradcam_plus_plus_map`), upsampled bilinearly to the
    image as Grad-CAM's. We follow the paper and pytorch-grad-cam in using spatial
    *sums*; xplique uses spatial means for both sums (the activations' in ``alpha`` and
    the weights'), which changes ``alpha`` and so the map. Deterministic: ``seed`` is
    ignored.

    Parameters
    ----------
    layer : str, optional
        Name of a convolutional layer (nested models are searched too); default the
        model's ``layer``, the last convolutional block. A layer the class score has no
        gradient path from is refused with a ParameterError.

    Extras
    ------
    layer, low_res (h, w) map at the layer's resolution, channel_weights (C,).
    """
    return gradient_cam(model, pixels, target, layer, "gradcam_plus_plus",
                        gradcam_plus_plus_map)


GRADCAM_PLUS_PLUS = Explainer(
    "gradcam_plus_plus", gradcam_plus_plus, (Param("layer", "layer", widget=("dropdown",)),),
    needs_gradients=True,
    summary="Grad-CAM with pixel-wise weights of positive gradients (Chattopadhay et al. 2018)")
