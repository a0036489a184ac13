"""Inference backends of a :class:`~labkit.models.Classifier`: TensorFlow or OpenVINO.

LIME, RISE and the insertion/deletion curves spend their time in forward passes. The
forward path (preprocessing and model) is converted once to an OpenVINO
graph, which runs about 3x faster than TensorFlow on the course's CPUs at the same f32
precision (README, "Speed": ONNX Runtime was measured too; OpenVINO converts the
``tf.function`` directly, with no tf2onnx/onnx pins against TensorFlow 2.21, and offers
bf16 inference on CPUs that support it).

Converted graphs are cached in ``data_home()/openvino``, keyed by a content hash of
the architecture, the weights, the preprocessing code, the model input size and the
OpenVINO version. The batch dimension is left free in the stored graph and fixed when
it is compiled, so one conversion serves every batch size. Each entry records the
SHA-256 of its files: a corrupt or half-written entry is detected and rebuilt.
"""
import hashlib
import json
import os
import warnings

import numpy as np

from .._paths import data_home
from .._tf import keras, tf

BACKENDS = ("auto", "tensorflow", "openvino")
PRECISIONS = ("f32", "bf16")
#: Bumped when the stored graph changes meaning, to invalidate old cache entries.
_FORMAT = 2


class ConversionError(RuntimeError):
    """The model's forward path could not be converted to the runtime."""


def check_backend(backend, precision):
    """Validate ``backend`` and ``precision`` with one clear sentence each."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {list(BACKENDS)}.")
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {list(PRECISIONS)}.")
    if precision != "f32" and backend == "tensorflow":
        raise ValueError(f"precision={precision!r} needs the 'openvino' backend (or 'auto'); "
                         "the TensorFlow backend runs in f32.")


def resolve(classifier, backend, precision):
    """The runtime for ``classifier``: an :class:`OpenVINORuntime`, or None for TensorFlow.

    ``"auto"`` picks OpenVINO on CPU and falls back to TensorFlow, with a one-line
    warning naming the reason, when the runtime is missing or the conversion fails;
    ``"openvino"`` raises instead. Where TensorFlow sees a GPU, ``"auto"`` keeps
    TensorFlow (the GPU path is untested: the course machines have none).
    """
    check_backend(backend, precision)
    if backend == "tensorflow":
        return None
    if backend == "auto" and tf.config.list_physical_devices("GPU"):
        return None
    try:
        return OpenVINORuntime(classifier, precision)
    except (ConversionError, ImportError) as err:
        if backend == "openvino":
            raise
        warnings.warn(f"{classifier.name}: running on TensorFlow, OpenVINO is unavailable "
                      f"({err})", RuntimeWarning, stacklevel=4)
        return None


def cache_dir():
    """Where converted graphs are kept: ``labkit.data.data_home() / "openvino"``."""
    return data_home() / "openvino"


def _code_digest(fn):
    # The preprocessing is part of the converted graph: its code belongs to the key.
    code = getattr(fn, "__code__", None)
    if code is None:
        return repr(fn).encode()
    return code.co_code + repr(code.co_consts).encode() + repr(code.co_names).encode()


def model_key(classifier, shape):
    """Content hash (hex) of everything the converted graph depends on."""
    import openvino

    digest = hashlib.blake2b(digest_size=16)
    model = classifier.model
    # Layer types and configurations, without names: Keras numbers auto-generated names
    # per process, so the same model built twice must give the same key.
    for layer in model._flatten_layers():
        if isinstance(layer, keras.Model):  # its config lists its layers by name
            digest.update(type(layer).__qualname__.encode())
            continue
        try:
            config = {k: v for k, v in layer.get_config().items() if k != "name"}
        except Exception:  # a custom layer without get_config
            config = {}
        digest.update(f"{type(layer).__qualname__}{config}".encode())
    _feed_weights(digest, model)
    digest.update(_code_digest(classifier.preprocess))
    digest.update(repr((tuple(shape), openvino.__version__, _FORMAT)).encode())
    return digest.hexdigest()


def weights_hash(model):
    """SHA-256 (hex) of a Keras model's weights, in order: what tells two models of the
    same architecture apart (``Classifier.model_hash``, the store's settings, saved
    explanations). The bytes are those the converted graph's cache key hashes."""
    digest = hashlib.sha256()
    _feed_weights(digest, model)
    return digest.hexdigest()


def _feed_weights(digest, model):
    for weight in model.weights:
        digest.update(np.ascontiguousarray(weight.numpy()).tobytes())


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class OpenVINORuntime:
    """The classifier's preprocessing and model as one OpenVINO graph.

    The converted graph (preprocessing and model) is compiled with a small front for
    each kind of call and image size, twice: for full batches of ``batch_size`` (static
    shapes, the fastest) and for any shorter batch (a dynamic batch dimension, a few
    per cent slower), so that the last batch of LIME, RISE or a curve is never padded
    (51 curve points would otherwise cost 64 images):

    - ``images``: a batch of images, resized to the model input when their size differs;
    - ``masked``: one image, one fill image and a batch of masks, composited as
      ``masks * image + (1 - masks) * fill`` and then resized. LIME, RISE and the
      insertion/deletion curves are this call; compositing in the graph runs on every
      core and moves a third of the bytes of finished images. Measured on the course
      machine (EfficientNet-Lite0, 512 composites of 224 x 224): numpy compositing
      between calls took 1.3x the inference time, compositing in the graph 1.0x.

    The resize is OpenVINO's antialiased "bilinear_pillow" interpolation, which matches
    TensorFlow's ``tf.image.resize(..., antialias=True)`` to within 0.005 of a grey level.

    Parameters
    ----------
    classifier : Classifier
    precision : {"f32", "bf16"}
        "f32" (default) matches TensorFlow to about 1e-5 in the logits. "bf16" runs
        matrix products (and may run the compositing) in bfloat16 where the CPU supports
        it (AVX512-BF16, AMX): several times faster, logits off by up to about 1, top-1
        usually unchanged.

    Attributes
    ----------
    conversions : int
        Graphs converted by this runtime (0 when every graph came from the disk cache).
    compilations : int
        Graphs compiled so far (two per kind of call and image size).
    """

    #: Compiled graphs kept at once (least recently used dropped); each holds its own
    #: buffers for a whole batch.
    MAX_COMPILED = 8

    def __init__(self, classifier, precision="f32"):
        try:
            import openvino
        except ImportError as err:
            raise ImportError(f"the openvino package is not installed ({err}); "
                              "pip install openvino") from err
        self._ov = openvino
        self._core = openvino.Core()
        self.classifier = classifier
        self.precision = precision
        self.conversions = 0
        self.compilations = 0
        self._requests = {}
        self._graph = self._load_or_convert(classifier.input_size)  # failures show at load

    def __call__(self, batch):
        """Logits (N, C) float32 of a batch (N, H, W, 3) of pixels in [0, 255]."""
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        return self._infer("images", batch.shape[:3], {"images": batch})

    def masked(self, image, masks, fill):
        """Logits (N, C) of ``masks * image + (1 - masks) * fill``, composited in the graph.

        ``image`` and ``fill`` are (H, W, 3) float32 pixels, ``masks`` (N, H, W) float32.
        """
        inputs = {"image": np.ascontiguousarray(image[None], dtype=np.float32),
                  "masks": np.ascontiguousarray(masks, dtype=np.float32),
                  "fill": np.ascontiguousarray(fill[None], dtype=np.float32)}
        return self._infer("masked", inputs["masks"].shape, inputs)

    def _infer(self, kind, shape, inputs):
        n, height, width = shape
        if n > self.classifier.batch_size:
            raise ValueError(f"a batch of {n} is larger than the classifier's batch_size "
                             f"{self.classifier.batch_size}; call it through Classifier.predict.")
        key = (kind, n == self.classifier.batch_size, height, width)
        request = self._requests.pop(key, None)
        if request is None:
            request = self._compile(kind, n if key[1] else None, height, width)
            if len(self._requests) >= self.MAX_COMPILED:
                del self._requests[next(iter(self._requests))]  # least recently used
        self._requests[key] = request  # most recently used last
        request.infer(inputs, share_inputs=True)
        return request.get_output_tensor(0).data.copy()

    def _compile(self, kind, n, height, width):
        """A compiled front + model for batches of ``n`` (None: any size up to batch_size)."""
        import openvino.opset13 as ops

        size = self.classifier.input_size
        if n is None:
            n = self._ov.Dimension(1, self.classifier.batch_size)
        shape = lambda *dims: self._ov.PartialShape(list(dims))  # noqa: E731
        model = self._graph.clone()
        model.reshape(shape(n, *size, 3))
        if kind == "images":
            x = ops.parameter(shape(n, height, width, 3), np.float32, name="images")
            inputs = [x]
        else:
            image = ops.parameter(shape(1, height, width, 3), np.float32, name="image")
            masks = ops.parameter(shape(n, height, width), np.float32, name="masks")
            fill = ops.parameter(shape(1, height, width, 3), np.float32, name="fill")
            keep = ops.unsqueeze(masks, ops.constant(np.int64(3)))
            drop = ops.subtract(ops.constant(np.float32(1)), keep)
            # m * I + (1 - m) * F rather than F + m * (I - F): exact for binary masks
            x = ops.add(ops.multiply(keep, image), ops.multiply(drop, fill))
            inputs = [image, masks, fill]
        if (height, width) != size:
            x = ops.interpolate(x, np.array(size, np.int64), "bilinear_pillow", "sizes",
                                axes=np.array([1, 2], np.int64), antialias=True,
                                coordinate_transformation_mode="half_pixel")
        (parameter,) = model.get_parameters()
        for consumer in list(parameter.output(0).get_target_inputs()):
            consumer.replace_source_output(x.output(0))
        front = self._ov.Model(model.get_results(), inputs, f"{kind}_{height}x{width}")
        config = {"INFERENCE_PRECISION_HINT": self.precision, "PERFORMANCE_HINT": "LATENCY"}
        self.compilations += 1
        return self._core.compile_model(front, "CPU", config).create_infer_request()

    def _load_or_convert(self, shape):
        folder = cache_dir()
        key = model_key(self.classifier, shape)
        xml, binary, meta = (folder / f"{key}.{ext}" for ext in ("xml", "bin", "json"))
        try:
            recorded = json.loads(meta.read_text())
            if recorded == {"xml": _sha256(xml), "bin": _sha256(binary)}:
                return self._core.read_model(xml)
        except (OSError, ValueError, RuntimeError):
            pass  # missing, partial or corrupt entry: convert again
        model = self._convert(shape)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"{key}.{os.getpid()}.tmp.xml"
        # f32 weights on disk: the default fp16 compression would break the f32 parity.
        self._ov.save_model(model, tmp, compress_to_fp16=False)
        sums = {"xml": _sha256(tmp), "bin": _sha256(tmp.with_suffix(".bin"))}
        os.replace(tmp, xml)
        os.replace(tmp.with_suffix(".bin"), binary)
        tmp_meta = folder / f"{key}.{os.getpid()}.tmp.json"
        tmp_meta.write_text(json.dumps(sums))
        os.replace(tmp_meta, meta)  # written last: an entry without it is never trusted
        return model

    def _convert(self, shape):
        classifier = self.classifier
        spec = tf.TensorSpec((None,) + shape + (3,), tf.float32)
        forward = tf.function(lambda x: classifier.model(classifier.preprocess(x), training=False),
                              input_signature=[spec])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = self._ov.convert_model(forward)
        except Exception as err:
            first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
            raise ConversionError(f"{classifier.name} could not be converted to OpenVINO: "
                                  f"{first}") from err
        self.conversions += 1
        return model
