"""FEM, the Feature Explanation Method (Fuad et al., IPTA 2020; Ayyar et al. 2021)."""
from .._tf import tf
from .cam import activation_function, upsample


def fem(model, pixels, target, *, seed=0, progress=False, layer=None, k=2.0):
    """FEM saliency: k-sigma thresholding of a convolutional layer's feature maps.

    For each channel A_c of the layer, a binary map keeps the locations where
    ``A_c > mean(A_c) + k * std(A_c)`` (spatial statistics): unusually strong
    responses. The saliency is ``sum_c w_c * B_c`` with ``w_c = mean(A_c)``, the
    channel's mean activation, upsampled bilinearly to the image.

    Channel weights differ between implementations. We follow the paper and its
    authors' code (Fuad et al. 2020), which xplique also follows: the mean of the
    *original* feature map, so channels that respond strongly overall count more.
    pytorch-grad-cam weighs by the fraction of locations above threshold instead,
    which favours channels with large binary areas.

    FEM uses no gradient and no class: it is class-agnostic, so every ``target`` gets
    the same map (the Explanation still reports the class for reference).

    Parameters
    ----------
    layer : str, optional
        A convolutional layer; default the model's ``target_layer``.
    k : float, > 0
        Threshold in standard deviations above the mean; 2 in the paper.

    Extras
    ------
    layer, low_res map, channel_weights (C,), active_fraction (share of locations
    above threshold, over all channels).
    """
    if not k > 0:
        raise ValueError(f"k must be positive (standard deviations above the mean), got {k}.")
    name, run = activation_function(model, layer)
    acts, _, _ = run(tf.constant(pixels[None]), tf.constant([target], tf.int32))
    mean = tf.reduce_mean(acts, axis=(1, 2), keepdims=True)
    std = tf.math.reduce_std(acts, axis=(1, 2), keepdims=True)
    binary = tf.cast(acts > mean + k * std, tf.float32)
    low = tf.reduce_sum(binary * mean, axis=-1)[0].numpy()
    extras = {"layer": name, "low_res": low, "channel_weights": mean[0, 0, 0].numpy(),
              "active_fraction": float(tf.reduce_mean(binary))}
    return upsample(low, pixels.shape[:2]), extras, {"layer": name, "k": float(k)}
