"""Classifiers to explain: the ImageNet registry, saved Keras files, the `Classifier` wrapper,
transfer learning."""
from .classifier import Classifier, Prediction, conv_layer_names, find_layer, layer_table
from .registry import (MODELS, ModelSpec, WeightsNotFoundError, imagenet_classes, keras_cache_dir,
                       list_models, load_model, register, weights_path)
from .transfer import TransferReport, transfer

__all__ = ["Classifier", "Prediction", "ModelSpec", "MODELS", "TransferReport",
           "WeightsNotFoundError", "conv_layer_names", "find_layer", "imagenet_classes",
           "keras_cache_dir", "layer_table", "list_models", "load_model", "register", "transfer",
           "weights_path"]
