"""What Grad-CAM and FEM share: reading a convolutional layer's activations.

The public Keras Grad-CAM recipe, ``keras.Model(model.inputs, [layer.output,
model.output])``, breaks when the layer lives in a model nested inside another (the
usual transfer-learning shape: a frozen ``keras.applications`` backbone inside a
new model): the inner layer's output is not part of the outer graph. Here the outer
model is replayed layer by layer, and the nested model is swapped for a copy that
also returns the target activations.
"""
import numpy as np

from .._checks import ParameterError
from .._tf import keras, tf
from ..models.layers import check_target_layer

_CACHE = {}


def _with_activations(model, path, layer):
    """A callable x -> (activations, output) for ``model`` (the outermost of ``path``)."""
    if len(path) == 1:
        return keras.Model(model.inputs, [layer.output, model.output])
    inner_model = path[1]
    inner = _with_activations(inner_model, path[1:], layer)

    def run(x):
        acts = None
        for lyr in model.layers:
            if isinstance(lyr, keras.layers.InputLayer):
                continue
            if lyr is inner_model:
                acts, x = inner(x)
            else:
                x = lyr(x, training=False)
        return acts, x

    # Replaying layers in order is right only for a chain; check on a random input.
    probe = np.random.default_rng(0).normal(size=(1,) + tuple(model.input_shape[1:]))
    probe = tf.constant(probe.astype(np.float32))
    if not np.allclose(run(probe)[1].numpy(), model(probe, training=False).numpy(), atol=1e-4):
        raise ValueError(
            f"layer {layer.name!r} is inside the nested model {inner_model.name!r}, and "
            f"{model.name!r} is not a simple chain of layers, so its activations cannot be "
            "reached. Build the outer model as a chain (input -> backbone -> head).")
    return run


def activation_function(classifier, layer_name=None):
    """A compiled ``f(pixels (N,H,W,3) in [0,255]) -> (activations (N,h,w,C), logits)``.

    ``layer_name`` defaults to the classifier's ``layer``. Cached per
    classifier and layer, so a second explanation costs one forward pass.
    """
    layer_name = layer_name or classifier.layer
    key = (id(classifier), layer_name)
    if key not in _CACHE:
        layer, path = check_target_layer(classifier.model, layer_name, classifier.name)
        inner = _with_activations(classifier.model, path, layer)

        @tf.function(reduce_retracing=True)
        def run(pixels, target):
            x = classifier.preprocess(classifier.resize_to_input(pixels))
            with tf.GradientTape() as tape:
                acts, logits = inner(x)
                score = tf.gather(logits, target, axis=1)
            return acts, logits, tape.gradient(score, acts)

        _CACHE[key] = (layer.name, run)
    return _CACHE[key]


def gradient_cam(model, pixels, target, layer, method, cam_map):
    """The body every gradient CAM shares: one image's activations at ``layer`` and the
    class score's gradients there, ``cam_map(activations, gradients) -> (low_res,
    channel_weights)`` (both (h, w, C) numpy arrays), and the map upsampled to the image.
    Returns the explainer's ``(saliency, extras, used)``; a new gradient CAM writes only
    its ``cam_map``."""
    name, run = activation_function(model, layer)
    acts, _, grads = run(tf.constant(pixels[None]), tf.constant([target], tf.int32))
    grads = check_gradients(grads, name, method)
    low, weights = cam_map(acts[0].numpy(), grads[0].numpy())
    extras = {"layer": name, "low_res": low, "channel_weights": weights}
    return upsample(low, pixels.shape[:2]), extras, {"layer": name}


def check_gradients(grads, layer, method):
    """``grads``, the class score's gradients at ``layer``; None (TensorFlow's answer when
    the score does not depend on the layer differentiably) is a ParameterError."""
    if grads is None:
        raise ParameterError(
            f"{method}: layer {layer!r} has no gradient path to the class score (the output "
            "does not depend on it through differentiable operations, e.g. after a "
            "stop_gradient, a rounding or an argmax); choose a later layer, or use FEM, "
            "which needs no gradient.")
    return grads


def trace_count():
    """How many times the compiled activation functions have been traced so far."""
    return sum(run.experimental_get_tracing_count() for _, run in _CACHE.values())


def upsample(low_res, shape):
    """Bilinear upsampling of an (h, w) map, or of (h, w, C) channels at once, to ``shape``
    (H, W), as in the Grad-CAM paper.

    ``tf.image.resize(method="bilinear")``, with half-pixel centres: cell ``i``'s value
    sits at output coordinate ``(i + 0.5) * H / h - 0.5``, and outside the outer cell
    centres the edge value is held, so a band of ``H / (2 h)`` pixels along each border
    is flat (16 pixels from 7 x 7 to 224 x 224). pytorch-grad-cam's ``cv2.resize`` is the
    same (equal to within 1e-7 of the range). tf-keras-vis's ``scipy.ndimage.zoom(order=1)``
    aligns the corners instead (cell 0's value on pixel 0, cell ``h - 1``'s on pixel
    ``H - 1``, cells stretched by ``(H - 1) / (h - 1)`` pixels), with no flat band; the two
    agree exactly at the layer's resolution, but after upsampling they differ by up to a
    third of the map's range near the borders (PCC 0.93 on the chelsea photo's 7 x 7
    EfficientNet-Lite0 map).
    """
    low = np.asarray(low_res, np.float32)
    up = tf.image.resize(low[None] if low.ndim == 3 else low[None, ..., None], shape,
                         method="bilinear")[0].numpy()
    return up if low.ndim == 3 else up[..., 0]
