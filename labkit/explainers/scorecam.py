"""Score-CAM (Wang et al., CVPR Workshops 2020): CAM weights from forward passes alone."""
import math

import numpy as np

from .._pixels import baseline_pixels
from .._tf import tf
from .._work import one_blas_thread, track
from ._record import Explainer, Param
from .cam import activation_function, upsample
from .rise import IMAGENET_MEAN_RGB


def scorecam_weights(logits):
    """Channel weights from the class logits of the channel-masked images: their softmax
    over the channels (Wang et al. 2020, Algorithm 1; pytorch-grad-cam)."""
    z = np.asarray(logits, np.float64)
    e = np.exp(z - z.max())
    return (e / e.sum()).astype(np.float32)


def scorecam(model, pixels, target, *, seed=0, progress=False, layer=None,
             baseline=IMAGENET_MEAN_RGB, max_channels=None):
    """Score-CAM saliency of ``target`` at ``layer``: each channel weighted by the class
    score of the image it keeps.

    Each channel ``A_k`` of the layer is upsampled bilinearly to the image and min-max
    normalised to a mask ``H_k`` in [0, 1]; the model scores ``H_k * image + (1 - H_k) *
    baseline``, one forward pass per channel, batched through
    :meth:`~labkit.models.Classifier.predict_masked`. The map is ``ReLU(sum_k w_k A_k)`` at
    the layer's resolution, upsampled bilinearly to the image as Grad-CAM's.

    How the scores become weights differs between implementations. The paper's Algorithm 1
    scores each mask by its class logit relative to the baseline image's,
    ``f(H_k * X) - f(X_b)``, and takes the softmax over the channels; pytorch-grad-cam takes
    the softmax over the channels of the masked images' logits alone. The two are the
    same weights (a softmax ignores a shift shared by all channels), and labkit computes
    them (:func:`scorecam_weights`), so it needs no pass on the baseline image. The authors'
    code weighs by the class *probability* of each masked image instead (a softmax over
    the classes, none over the channels), which spreads the weight over more channels. On
    three photos with EfficientNet-Lite0 the channel softmax had the lower deletion AUC on
    two, the probabilities the higher insertion AUC on all three, by 0.01-0.05: no clear
    winner, so labkit follows the paper's algorithm.

    Channels that are constant over the image (dead ReLU channels: a third to two thirds
    of EfficientNet-Lite0's last layer on a photo) give no mask; they are skipped, with
    weight 0, as in the authors' code, so they cost no forward pass.

    Parameters
    ----------
    layer : str, optional
        A convolutional layer; default the model's ``layer``, the last
        convolutional block (1280 channels for EfficientNet-Lite0, of which 450 to 900
        are active on the photos shipped with labkit: a few seconds on OpenVINO).
    baseline : float or (r, g, b) in [0, 255]
        What the masks fade to, in pixel space. The paper masks the normalised input
        with zeros; for ImageNet-normalised models that is the ImageNet mean colour,
        labkit's default (RISE's and occlusion's too), for every model.
    max_channels : int, optional
        Score only the ``max_channels`` active channels with the largest mean activation
        (the others get weight 0): a faster approximation for labs, not in the paper;
        128 channels changed the deletion and insertion AUCs by at most 0.005 on six of
        the shipped photos. None (default): every active channel, as the paper.

    Deterministic: ``seed`` is ignored.

    Extras
    ------
    layer, low_res (h, w) map at the layer's resolution, channel_weights (C,) (0 for the
    channels not scored), channel_logits (C,) (NaN for the channels not scored),
    num_scored.
    """
    name, run = activation_function(model, layer)
    acts, _, _ = run(tf.constant(pixels[None]), tf.constant([target], tf.int32))
    acts = acts[0].numpy()
    flat = acts.reshape(-1, acts.shape[-1])
    active = np.flatnonzero(flat.max(axis=0) > flat.min(axis=0))
    if max_channels is not None and len(active) > max_channels:
        strongest = np.argsort(-flat[:, active].mean(axis=0), kind="stable")[:max_channels]
        active = np.sort(active[strongest])
    fill = baseline_pixels(baseline, pixels[:1, :1])[0, 0]
    # Bilinear upsampling is linear and separable: its two 1-D operators, taken from
    # cam.upsample once, make each batch two matrix products in numpy, with no
    # TensorFlow call in the loop to compete with the backend for the cores.
    (h, w), (height, width) = acts.shape[:2], pixels.shape[:2]
    rows = upsample(np.eye(h, dtype=np.float32)[:, None, :], (height, 1))[:, 0]  # (H, h)
    cols = upsample(np.eye(w, dtype=np.float32)[None], (1, width))[0]  # (W, w)

    b = model.batch_size
    logits = np.full(acts.shape[-1], np.nan, np.float32)
    with one_blas_thread():
        for i in track(range(math.ceil(len(active) / b)), progress, "Score-CAM"):
            channels = active[i * b:(i + 1) * b]
            up = rows @ acts[..., channels].transpose(2, 0, 1) @ cols.T  # (b, H, W)
            low = up.min(axis=(1, 2), keepdims=True)
            masks = (up - low) / (up.max(axis=(1, 2), keepdims=True) - low)
            logits[channels] = model.predict_masked(pixels, masks, fill,
                                                    output="logit")[:, target]

    weights = np.zeros(acts.shape[-1], np.float32)
    if len(active):
        weights[active] = scorecam_weights(logits[active])
    low_res = np.maximum(acts @ weights, 0).astype(np.float32)
    extras = {"layer": name, "low_res": low_res, "channel_weights": weights,
              "channel_logits": logits, "num_scored": len(active)}
    used = {"layer": name, "baseline": baseline, "max_channels": max_channels}
    return upsample(low_res, pixels.shape[:2]), extras, used


SCORECAM = Explainer(
    "scorecam", scorecam,
    (Param("layer", "layer", widget=("dropdown",)),
     Param("baseline", "color"),
     Param("max_channels", "int", low=1, none_ok=True)),
    summary="channels as masks, weighted by the class score they keep (Wang et al. 2020)")
