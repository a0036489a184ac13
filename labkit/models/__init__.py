"""Classifiers to explain: the ImageNet registry, saved Keras files, the `Classifier` wrapper,
transfer learning."""
from .classifier import Classifier, Prediction, layer_table
from .layers import check_target_layer, conv_layer_names, find_layer
from .registry import (
    MODELS,
    ModelSpec,
    imagenet_classes,
    list_models,
    load_model,
    register,
    weights_path,
)
from .transfer import TransferReport, transfer
from .weights import WeightsNotFoundError, keras_cache_dir

__all__ = ["Classifier", "Prediction", "ModelSpec", "MODELS", "TransferReport",
           "WeightsNotFoundError", "check_target_layer", "conv_layer_names", "find_layer",
           "imagenet_classes", "keras_cache_dir", "layer_table", "list_models", "load_model",
           "register", "transfer", "weights_path"]
