"""FEM, the Feature Explanation Method (Fuad et al., IPTA 2020; Ayyar et al. 2021)."""
from .._tf import tf
from ._record import Explainer, Param
from .cam import activation_function, upsample


def fem_map(activations, k=2.0):
    """FEM at the layer's resolution, from one image's activations (see :func:`fem`).

    Parameters
    ----------
    activations : array-like, shape (h, w, C)
    k : float, > 0

    Returns
    -------
    low_res : ndarray, shape (h, w), float32
        ``sum_c mean(A_c) * [A_c > mean(A_c) + k * std(A_c)]``, spatial statistics per
        channel (population standard deviation).
    channel_weights : ndarray, shape (C,), float32
        ``mean(A_c)``.
    active_fraction : float
        Share of locations above threshold, over all channels.
    """
    acts = tf.constant(activations, tf.float32)
    mean = tf.reduce_mean(acts, axis=(0, 1))
    std = tf.math.reduce_std(acts, axis=(0, 1))
    binary = tf.cast(acts > mean + k * std, tf.float32)
    low = tf.reduce_sum(binary * mean, axis=-1)
    return low.numpy(), mean.numpy(), float(tf.reduce_mean(binary))


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
        A convolutional layer; default the model's ``layer``.
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
    low, weights, active = fem_map(acts[0], k)
    extras = {"layer": name, "low_res": low, "channel_weights": weights,
              "active_fraction": active}
    return upsample(low, pixels.shape[:2]), extras, {"layer": name, "k": float(k)}


FEM = Explainer("fem", fem,
                (Param("layer", "layer", widget=("dropdown",)),
                 Param("k", "float", low=0, open_low=True, high=10,
                       widget=("slider", 0.5, 4.0, 0.25), label="k (std above mean)")),
                summary="k-sigma thresholded feature maps, class-agnostic (Fuad et al. 2020)")
