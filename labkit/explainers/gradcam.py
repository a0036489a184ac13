"""Grad-CAM (Selvaraju et al., ICCV 2017)."""
from .._tf import tf
from ._record import Explainer, Param
from .cam import gradient_cam


def gradcam_map(activations, gradients):
    """Grad-CAM at the layer's resolution, from one image's activations and gradients.

    Parameters
    ----------
    activations, gradients : array-like, shape (h, w, C)
        The layer's activations A and the gradients of the class logit with respect to them.

    Returns
    -------
    low_res : ndarray, shape (h, w), float32, >= 0
        ``ReLU(sum_k w_k A_k)``.
    channel_weights : ndarray, shape (C,), float32
        ``w_k``, the spatial mean of the gradients of channel k.
    """
    acts = tf.constant(activations, tf.float32)
    weights = tf.reduce_mean(tf.constant(gradients, tf.float32), axis=(0, 1))
    low = tf.nn.relu(tf.reduce_sum(acts * weights, axis=-1))
    return low.numpy(), weights.numpy()


def gradcam(model, pixels, target, *, seed=0, progress=False, layer=None):
    """Grad-CAM saliency of ``target`` at ``layer``.

    The channel weights are the spatial mean of the gradients of the class **logit**
    (pre-softmax, as in the paper) with respect to the layer's activations; the map is
    ``ReLU(sum_k w_k A_k)``, upsampled bilinearly to the image. Deterministic: ``seed``
    is ignored.

    Parameters
    ----------
    layer : str, optional
        Name of a convolutional layer (nested models are searched too); default the
        model's ``layer``, the last convolutional block. A layer the class score has no
        gradient path from is refused with a ParameterError (its map would be undefined,
        not zero).

    Extras
    ------
    layer, low_res (h, w) map at the layer's resolution, channel_weights (C,).
    """
    return gradient_cam(model, pixels, target, layer, "gradcam", gradcam_map)


GRADCAM = Explainer("gradcam", gradcam, (Param("layer", "layer", widget=("dropdown",)),),
                    needs_gradients=True,
                    summary="gradient-weighted class activation map (Selvaraju et al. 2017)")
