"""What integrated gradients and SmoothGrad share: gradients of a class logit with respect
to the input pixels, through the model's resizing and preprocessing, batched.

The gradients are taken in **pixel space** ([0, 255], before preprocessing), so an
attribution is in the units of the images students see, whatever the model's input
scaling. ``Classifier.forward`` (resize, preprocess, network) runs inside one compiled
``tf.function`` per classifier, cached like the CAM layers' in ``cam.py``.
"""
import numbers

import numpy as np

from .._checks import ParameterError
from .._tf import tf
from .._work import track

_CACHE = {}


def gradient_function(classifier):
    """A compiled ``f(pixels (n, H, W, 3), target) -> (gradients (n, H, W, 3), logits (n,))``.

    ``gradients[i]`` is the gradient of image i's ``target`` logit with respect to its
    pixels (each image's logit depends on its own pixels only: the network runs in
    inference mode). Cached per classifier, so a second call costs no tracing.
    """
    key = id(classifier)
    if key not in _CACHE:
        @tf.function(reduce_retracing=True)
        def run(pixels, target):
            with tf.GradientTape() as tape:
                tape.watch(pixels)
                score = tf.gather(classifier.forward(pixels), target, axis=1)
            return tape.gradient(score, pixels), score

        _CACHE[key] = run
    return _CACHE[key]


def input_gradients(model, images, target, *, progress=False):
    """Gradients of the ``target`` logit with respect to each image's pixels.

    Parameters
    ----------
    model : labkit.Classifier
    images : ndarray, shape (n, H, W, 3)
        Pixels in [0, 255] or beyond (noisy or interpolated images are fine), any size:
        the model resizes inside the differentiated graph.
    target : int
        Class index.
    progress : bool or callable
        As in :func:`labkit.explain` (one step per batch).

    Returns
    -------
    gradients : ndarray, shape (n, H, W, 3), float32
        d logit_target / d pixel, in logit units per pixel level.
    logits : ndarray, shape (n,), float32
        The ``target`` logit of each image.

    Notes
    -----
    Batches of ``model.batch_size``; a last, shorter batch is padded to the full size
    (and the padding dropped), so the graph is traced once per image size, as
    ``Classifier.predict`` does on TensorFlow. A single image runs alone.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[-1] != 3 or len(images) == 0:
        raise ParameterError(f"images must be a batch of RGB images (n, H, W, 3) with n >= 1, "
                             f"got shape {images.shape}; use image[None] for one image.")
    if isinstance(target, bool) or not isinstance(target, numbers.Integral) or not (
            0 <= target < model.num_classes):
        raise ParameterError(f"target must be a class index from 0 to {model.num_classes - 1}, "
                             f"got {target!r}; model.class_index(name) converts a class name.")
    run = gradient_function(model)
    b = 1 if len(images) == 1 else model.batch_size
    target = tf.constant(int(target), tf.int32)
    grads, logits = [], []
    for start in track(range(0, len(images), b), progress, "gradients"):
        chunk = images[start:start + b]
        n = len(chunk)
        if n < b:
            chunk = np.concatenate([chunk, np.repeat(chunk[-1:], b - n, axis=0)])
        g, s = run(tf.constant(chunk), target)
        if g is None:  # TensorFlow's answer when the score does not depend on the pixels
            raise ParameterError(
                f"{model.name}'s class score has no gradient path to the pixels (a "
                "stop_gradient, a rounding or an argmax cuts it): gradient methods cannot "
                "explain it; use LIME or RISE.")
        grads.append(g.numpy()[:n])
        logits.append(s.numpy()[:n])
    return np.concatenate(grads), np.concatenate(logits)


__all__ = ["gradient_function", "input_gradients"]
