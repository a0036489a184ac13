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
    from ..data.benchmark import data_home

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
    for weight in model.weights:
        digest.update(np.ascontiguousarray(weight.numpy()).tobytes())
    digest.update(_code_digest(classifier.preprocess))
    digest.update(repr((tuple(shape), openvino.__version__, _FORMAT)).encode())
    return digest.hexdigest()


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class OpenVINORuntime:
    """The classifier's preprocessing and model as one OpenVINO graph.

    Images of another size than the model input are first resized by TensorFlow (its
    antialiased resize has no OpenVINO equivalent), exactly as the TensorFlow path does.

    Parameters
    ----------
    classifier : Classifier
    precision : {"f32", "bf16"}
        "f32" (default) matches TensorFlow to about 1e-5 in the logits. "bf16" runs
        matrix products in bfloat16 where the CPU supports it (AVX512-BF16, AMX):
        several times faster, logits off by up to about 1, top-1 usually unchanged.

    Attributes
    ----------
    conversions : int
        Graphs converted by this runtime (0 when every graph came from the disk cache).
    """

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
        self._requests = {}
        self._graph = self._load_or_convert(classifier.input_size)  # failures show at load

    def __call__(self, batch):
        """Logits (N, C) float32 of a float32 batch (N, H, W, 3) of pixels in [0, 255]."""
        batch = np.asarray(batch, dtype=np.float32)
        if batch.shape[1:3] != self.classifier.input_size:
            batch = self.classifier.resize_to_input(batch).numpy()
        batch = np.ascontiguousarray(batch)
        key = batch.shape
        if key not in self._requests:
            model = self._graph.clone()
            model.reshape(list(batch.shape))
            config = {"INFERENCE_PRECISION_HINT": self.precision, "PERFORMANCE_HINT": "LATENCY"}
            compiled = self._core.compile_model(model, "CPU", config)
            self._requests[key] = compiled.create_infer_request()
        request = self._requests[key]
        request.infer({0: batch}, share_inputs=True)
        return request.get_output_tensor(0).data.copy()

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
