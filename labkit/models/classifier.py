"""`Classifier`: a Keras model plus everything an explainer needs around it."""
import warnings
from dataclasses import dataclass

import numpy as np

from .._checks import ParameterError, check_image, check_int, renamed_keyword
from .._tf import tf
from .backend import resolve, weights_hash
from .layers import conv_layer_names, find_layer
from .saving import save


@dataclass(frozen=True)
class Prediction:
    """One row of a top-k list."""

    rank: int
    index: int
    wnid: str
    name: str
    probability: float


def _normalise_label(text):
    return str(text).strip().lower().replace("_", " ").replace("-", " ")


class Classifier:
    """An image classifier ready to be explained.

    Parameters
    ----------
    model : keras.Model
        Maps a batch of *preprocessed* images (N, H, W, 3) to class **logits** (N, C).
        Logits, not probabilities: Grad-CAM differentiates the pre-softmax score.
    name : str
        Short name shown in tables and plots.
    preprocess : callable
        Maps float pixels in [0, 255] (numpy or tf tensor, RGB, channels last) to the
        model's input space.
    input_range : (float, float)
        The smallest and largest values ``preprocess`` produces. A colour in pixel
        space converts to model space with :meth:`to_model_space`.
    layer : str or None
        The default convolutional layer for CAM methods (Grad-CAM, FEM): the name
        ``explain(..., layer=...)`` uses too. ``target_layer`` is its deprecated old name.
    class_names : sequence of str
        One human-readable name per output unit.
    class_ids : sequence of str, optional
        Stable identifiers (WordNet ids for ImageNet); default: the names.
    batch_size : int
        Every model call runs on batches of this size at most. TensorFlow pads the last
        one to the full size, so its graph is traced once per image size; OpenVINO runs
        it short on a dynamic-batch graph.
    backend : {"auto", "tensorflow", "openvino"}
        What runs the forward-only calls (:meth:`predict`, hence LIME, RISE and the
        insertion/deletion curves); Grad-CAM and FEM always use TensorFlow, which they
        differentiate. "auto" (default) converts the forward path to OpenVINO once
        (cached on disk, see :mod:`labkit.models.backend`) and falls back to TensorFlow
        with a warning where conversion fails (a custom layer, say); "openvino" raises
        instead. Where TensorFlow sees a GPU, "auto" keeps TensorFlow (untested: the
        course machines have no GPU).
    precision : {"f32", "bf16"}
        OpenVINO's inference precision. "f32" (default) matches TensorFlow (logits
        within 1e-4); "bf16" is an opt-in, several times faster on CPUs with bf16
        support and no longer exact (logits off by up to about 1).

    Attributes
    ----------
    requested_backend : str
        The ``backend`` asked for ("auto", ...), which copies of this classifier ask for
        again; :attr:`backend` is the one that runs.
    """

    def __init__(self, model, *, name, preprocess, input_range, class_names, layer=None,
                 class_ids=None, batch_size=32, backend="auto", precision="f32", **old):
        self.model = model
        self.name = name
        self.preprocess = preprocess
        self.input_range = tuple(float(v) for v in input_range)
        self.layer = renamed_keyword(layer, old, {"target_layer": "layer"}, "Classifier")
        self.class_names = list(class_names)
        self.class_ids = list(class_ids) if class_ids is not None else list(self.class_names)
        self.batch_size = check_int(batch_size, "batch_size")
        n_out = model.output_shape[-1]
        if n_out != len(self.class_names):
            raise ValueError(
                f"the model has {n_out} outputs but {len(self.class_names)} class names were given."
            )
        self._forward = tf.function(self.forward, reduce_retracing=True)
        self._forward_masked = tf.function(self._composite_forward, reduce_retracing=True)
        self._runtime = resolve(self, backend, precision)
        self.requested_backend = backend  # what copies (with_backend, transfer) ask for again
        self.precision = precision if self._runtime is not None else "f32"
        self._model_hash = None
        self._lookup = {}
        for i, (cid, cname) in enumerate(zip(self.class_ids, self.class_names)):
            self._lookup.setdefault(_normalise_label(cid), i)
            self._lookup.setdefault(_normalise_label(cname), i)

    def __repr__(self):
        h, w = self.input_size
        return (f"Classifier({self.name!r}, input {h}x{w}, {self.num_classes} classes, "
                f"layer {self.layer!r}, backend {self.backend!r})")

    @property
    def target_layer(self):
        """Deprecated old name of :attr:`layer`."""
        warnings.warn("Classifier.target_layer is now called Classifier.layer; target_layer "
                      "will be removed in the next release.", DeprecationWarning, stacklevel=2)
        return self.layer

    @property
    def backend(self):
        """The backend that runs forward-only calls: "openvino" or "tensorflow"."""
        return "tensorflow" if self._runtime is None else "openvino"

    @property
    def runtime(self):
        """The OpenVINO runtime that runs forward-only calls, or None on TensorFlow."""
        return self._runtime

    def trace_count(self):
        """How many times this classifier's compiled graphs have been traced (TensorFlow)
        or compiled (OpenVINO) so far; a benchmark checks that its timed runs add none."""
        traced = sum(f.experimental_get_tracing_count()
                     for f in (self._forward, self._forward_masked))
        return traced + (0 if self._runtime is None else self._runtime.compilations)

    def with_backend(self, backend="auto", *, precision="f32"):
        """The same classifier (same Keras model) on another backend or precision."""
        return Classifier(self.model, name=self.name, preprocess=self.preprocess,
                          input_range=self.input_range, layer=self.layer,
                          class_names=self.class_names, class_ids=self.class_ids,
                          batch_size=self.batch_size, backend=backend, precision=precision)

    @property
    def input_size(self):
        """(height, width) of the model input, in pixels."""
        return tuple(int(v) for v in self.model.input_shape[1:3])

    @property
    def model_hash(self):
        """SHA-256 (hex) of the model's weights, computed on first use and kept: a
        classifier's weights do not change after it is made (its OpenVINO graph assumes
        so too; ``transfer`` returns a new classifier). Saved explanations and evaluation
        stores record it, to tell two models with one name apart."""
        if self._model_hash is None:
            self._model_hash = weights_hash(self.model)
        return self._model_hash

    @property
    def num_classes(self):
        return len(self.class_names)

    # -- model calls ------------------------------------------------------------
    def forward(self, pixels):
        """Logits for a tensor of pixels (N, H, W, 3) in [0, 255]: resize, preprocess, model.

        Graph-friendly: explainers call it inside their own ``tf.function``.
        """
        return self.model(self.preprocess(self.resize_to_input(pixels)), training=False)

    def _composite_forward(self, image, masks, fill):
        keep = masks[..., None]
        # m * I + (1 - m) * F rather than F + m * (I - F): exact for binary masks
        return self.forward(keep * image + (1.0 - keep) * fill)

    def resize_to_input(self, pixels):
        """``pixels`` (N, H, W, 3) resized to the model input, as :meth:`forward` does."""
        if tuple(pixels.shape[1:3]) == self.input_size:
            return pixels
        return tf.image.resize(pixels, self.input_size, method="bilinear", antialias=True)

    def predict(self, images, *, output="probability", progress=False):
        """Class probabilities (or logits) for a batch of images.

        Parameters
        ----------
        images : ndarray, shape (N, H, W, 3)
            RGB pixels in [0, 255], uint8 or float. Images of another size than the
            model input are resized (bilinear, antialiased) inside the graph.
        output : {"probability", "logit"}
        progress : bool
            Show a tqdm progress bar over batches.

        Returns
        -------
        ndarray, shape (N, C), float32
        """
        images = np.asarray(images)
        if images.ndim == 3:
            raise ValueError("predict takes a batch (N, H, W, 3); use images[None] for one image.")
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"images must have shape (N, H, W, 3), got {images.shape}.")
        if len(images) == 0:
            raise ValueError("images is empty: pass at least one image.")
        _check_output(output)
        return _output(self._batched(images, self._forward, self._runtime, progress), output)

    def predict_masked(self, image, masks, baseline=None, *, output="probability", **old):
        """Class probabilities (or logits) of ``masks * image + (1 - masks) * baseline``.

        What LIME, RISE and the insertion/deletion curves score: one image, partly
        replaced by a baseline image, once per mask. The compositing runs inside the
        backend's compiled graph, so a batch of masks costs what a batch of finished
        images costs (measured in :mod:`labkit.models.backend`).

        Parameters
        ----------
        image : ndarray, shape (H, W, 3)
            RGB pixels in [0, 255], uint8 or float, any size (resized after compositing,
            as :meth:`predict` resizes).
        masks : ndarray, shape (N, H, W)
            Float in [0, 1] or bool: 1 keeps the image, 0 shows the baseline, values in
            between blend the two.
        baseline : ndarray or float
            What masked pixels show, in pixel space [0, 255]: an image (H, W, 3), an RGB
            colour (3,) or a grey level. Required; ``fill`` is its deprecated old name.
        output : {"probability", "logit"}

        Returns
        -------
        ndarray, shape (N, C), float32
        """
        baseline = renamed_keyword(baseline, old, {"fill": "baseline"}, "predict_masked")
        if baseline is None:
            raise ParameterError("predict_masked needs baseline: what hidden pixels show, an "
                                 "image, an RGB colour or a grey level in [0, 255].")
        image = np.asarray(image, dtype=np.float32)
        masks = np.asarray(masks)
        if image.ndim != 3 or image.shape[-1] != 3:
            raise ValueError(f"image must have shape (H, W, 3), got {image.shape}.")
        if masks.ndim != 3 or masks.shape[1:] != image.shape[:2] or len(masks) == 0:
            raise ValueError(f"masks must have shape (N, {image.shape[0]}, {image.shape[1]}) "
                             f"with N >= 1 for this image, got {masks.shape}.")
        try:
            fill = np.broadcast_to(np.asarray(baseline, dtype=np.float32), image.shape)
        except ValueError:
            raise ValueError(f"baseline must be an image of shape {image.shape}, an RGB colour "
                             f"or a grey level, got shape {np.shape(baseline)}.") from None
        _check_output(output)
        fill = np.ascontiguousarray(fill)
        logits = self._batched(masks, lambda m: self._forward_masked(image, m, fill),
                               lambda m: self._runtime.masked(image, m, fill))
        return _output(logits, output)

    def _batched(self, items, tensorflow_fn, runtime_fn, progress=False):
        """Logits of ``items`` (images or masks) through the backend, a batch at a time."""
        if self._runtime is not None:  # OpenVINO takes a short last batch as it is
            return run_batched(runtime_fn, items, self.batch_size, pad=False,
                               progress=progress, desc=self.name)
        # One item (a prediction, a Grad-CAM) runs alone; anything else in full batches.
        b = 1 if len(items) == 1 else self.batch_size
        return run_batched(tensorflow_fn, items, b, progress=progress, desc=self.name)

    def top_k(self, image, k=5):
        """The k most probable classes for one image, as a list of :class:`Prediction`."""
        pixels = check_image(image)
        k = check_int(k, "k", maximum=self.num_classes)
        probs = self.predict(pixels[None])[0]
        order = np.argsort(-probs)[:k]
        return [Prediction(r + 1, int(i), self.class_ids[i], self.class_names[i], float(probs[i]))
                for r, i in enumerate(order)]

    def save(self, path):
        """Save to a ``.keras`` file that ``labkit.load_model(path)`` reloads as this classifier.

        The file is an ordinary Keras archive (``keras.saving.load_model`` opens it; the
        model outputs logits) with one extra entry, ``labkit.json``, that holds the class
        names and ids, the preprocessing and the target layer, so that labkit needs no
        other argument to reload it. A custom preprocess function cannot be stored (a
        warning says so): pass it again as ``load_model(path, preprocess=...)``.

        Parameters
        ----------
        path : str or path-like
            Ends in ``.keras``; an existing file is overwritten.

        Returns
        -------
        pathlib.Path
        """
        return save(self, path)

    # -- classes and colours ----------------------------------------------------
    def class_index(self, target):
        """Resolve a class given as an index, a name or an id to its output index."""
        if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
            if not 0 <= target < self.num_classes:
                raise ValueError(f"class index {target} is outside 0..{self.num_classes - 1}.")
            return int(target)
        if isinstance(target, str):
            key = _normalise_label(target)
            if key in self._lookup:
                return self._lookup[key]
            close = [n for n in self.class_names if key in _normalise_label(n)][:5]
            hint = f" Did you mean one of {close}?" if close else ""
            raise ValueError(f"{self.name} has no class named {target!r}.{hint}")
        raise TypeError(f"target must be a class index, a class name or None, got {target!r}.")

    def to_model_space(self, color):
        """Convert an RGB colour in pixel space [0, 255] to the model's input space."""
        pixel = np.asarray(color, dtype=np.float32).reshape(1, 1, 1, 3)
        return np.asarray(self.preprocess(pixel)).reshape(3)

    def to_pixel_space(self, value):
        """The RGB colour in pixel space that ``preprocess`` maps to ``value``.

        The inverse of :meth:`to_model_space` for a preprocessing that is affine per
        pixel, ``A @ rgb + b`` (every labkit mode is: "tf", "caffe", "torch", "none",
        "efficientnet_lite"). ``A`` and ``b`` are read off ``preprocess`` at black and at
        the three primaries, then checked at two other colours.

        Parameters
        ----------
        value : float or (3,) floats
            A colour in the model's input space (a number for all three channels).

        Returns
        -------
        ndarray, shape (3,), float64
            Not clipped: it may lie outside [0, 255] (``preprocess = x / 255 + 0.5``
            maps 0 from -127.5). Compositing with it still gives ``value`` exactly in
            model space, because neither :meth:`predict_masked` nor the resize clips.

        Raises
        ------
        ValueError
            If ``preprocess`` is not affine per pixel (then no colour is known to map
            to ``value``).
        """
        target = np.broadcast_to(np.asarray(value, np.float64), (3,))
        probes = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255],
                           [37, 201, 90], [250, 3, 128]], np.float64)
        out = np.stack([self.to_model_space(p) for p in probes]).astype(np.float64)
        offset, matrix = out[0], (out[1:4] - out[0]).T / 255.0
        affine = probes[4:] @ matrix.T + offset
        scale = max(1.0, float(np.abs(out).max()))
        if (not np.allclose(affine, out[4:], rtol=0, atol=1e-4 * scale)
                or abs(np.linalg.det(matrix)) < 1e-12):
            raise ParameterError(f"{self.name}'s preprocess is not an invertible affine map of "
                             "each pixel's colour, so no pixel colour is known to map to "
                             f"{value!r} in model space; pass a colour in pixel space instead.")
        return np.linalg.solve(matrix, target - offset)


def run_batched(fn, images, batch_size, *, pad=True, progress=False, desc=None):
    """Apply a compiled ``fn`` (a ``tf.function`` or a runtime taking float32 numpy
    batches) to ``images`` (or masks) in batches of ``batch_size``.

    With ``pad`` (for TensorFlow, where a new batch shape would retrace the graph) the
    last batch is padded to the full size and the padding dropped from the result;
    without it (OpenVINO, whose graphs take any shorter batch) the last batch is short.
    """
    starts = range(0, len(images), batch_size)
    if progress:
        from tqdm.auto import tqdm
        starts = tqdm(starts, desc=desc, unit="batch", leave=False)
    out = []
    for s in starts:
        chunk = np.asarray(images[s:s + batch_size], dtype=np.float32)
        n = len(chunk)
        if pad and n < batch_size:
            chunk = np.concatenate([chunk, np.repeat(chunk[-1:], batch_size - n, axis=0)])
        out.append(np.asarray(fn(chunk))[:n])
    return np.concatenate(out)


def _check_output(output):
    if output not in ("probability", "logit"):
        raise ValueError(f"output must be 'probability' or 'logit', got {output!r}.")


def _output(logits, output):
    return logits if output == "logit" else _softmax(logits)


def _softmax(logits):
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def layer_table(classifier):
    """The layers CAM methods can target, as a table to choose from.

    Parameters
    ----------
    classifier : Classifier

    Returns
    -------
    pandas.DataFrame
        One row per layer with a 4-D output, in forward order: ``layer`` (name),
        ``type`` (Keras class), ``resolution`` ("H x W" cells), ``channels``, and
        ``default`` (True for the model's ``layer``).
    """
    import pandas as pd

    rows = []
    for name in conv_layer_names(classifier.model):
        layer, _ = find_layer(classifier.model, name)
        _, height, width, channels = layer.output.shape
        rows.append({"layer": name, "type": type(layer).__name__,
                     "resolution": f"{height} x {width}", "channels": channels,
                     "default": name == classifier.layer})
    return pd.DataFrame(rows)
