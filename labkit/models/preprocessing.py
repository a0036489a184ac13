"""Preprocessing by name: pixels in [0, 255], RGB, channels last -> model input.

The functions labkit's registry uses and the names a saved model's ``labkit.json``
stores (:data:`PREPROCESSING`)."""
import numpy as np

from . import efficientnet_lite


def preprocess_tf(x):
    """Inception / "tf" mode: scale to [-1, 1] (MobileNet, Xception)."""
    return x / 127.5 - 1.0


CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def preprocess_caffe(x):
    """"caffe" mode: RGB to BGR, subtract the ImageNet mean per channel (ResNet50)."""
    return x[..., ::-1] - np.asarray(CAFFE_MEAN_BGR, dtype=np.float32)


_TORCH_MEAN = np.asarray((0.485, 0.456, 0.406), np.float32)
_TORCH_STD = np.asarray((0.229, 0.224, 0.225), np.float32)


def preprocess_torch(x):
    """"torch" mode: scale to [0, 1], then ImageNet mean/std per RGB channel (DenseNet,
    torchvision models)."""
    return (x / 255.0 - _TORCH_MEAN) / _TORCH_STD


def preprocess_none(x):
    """"none": raw pixels in [0, 255]; the model rescales them itself."""
    return x


#: Every preprocessing by the name ``load_model(path, preprocess=...)`` and a saved
#: model's metadata use.
PREPROCESSING = {"tf": preprocess_tf, "caffe": preprocess_caffe, "torch": preprocess_torch,
                 "none": preprocess_none, "efficientnet_lite": efficientnet_lite.preprocess}


def input_range(fn):
    """(min, max) that ``fn`` gives black and white pixels: the model-space range of
    [0, 255] for preprocessing that is increasing and affine per channel."""
    corners = np.asarray([[[[0.0] * 3, [255.0] * 3]]], np.float32)
    out = np.asarray(fn(corners), np.float64)
    return float(out.min()), float(out.max())
