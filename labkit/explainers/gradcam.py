"""Grad-CAM (Selvaraju et al., ICCV 2017)."""
from .._tf import tf
from .cam import activation_function, upsample


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
        model's ``target_layer``, the last convolutional block.

    Extras
    ------
    layer, low_res (h, w) map at the layer's resolution, channel_weights (C,).
    """
    name, run = activation_function(model, layer)
    acts, _, grads = run(tf.constant(pixels[None]), tf.constant([target], tf.int32))
    weights = tf.reduce_mean(grads, axis=(1, 2))  # (1, C)
    low = tf.nn.relu(tf.reduce_sum(acts * weights[:, None, None, :], axis=-1))[0].numpy()
    extras = {"layer": name, "low_res": low, "channel_weights": weights[0].numpy()}
    return upsample(low, pixels.shape[:2]), extras, {"layer": name}

