"""The four explainers of Labs 4 and 5 behind one signature: :func:`explain`.

One small file per method around a minimal shared base (``base.py``):

- ``lime``: LIME (Ribeiro et al. 2016), and ``lime_package`` running the reference package.
- ``rise``: RISE (Petsiuk et al. 2018).
- ``gradcam``: Grad-CAM (Selvaraju et al. 2017).
- ``fem``: FEM (Fuad et al. 2020).
"""
from . import fem, gradcam, lime, rise  # noqa: F401  (register the methods)
from .base import Explanation, explain, list_methods
from .lime import lime_mask, segment

__all__ = ["Explanation", "explain", "list_methods", "lime_mask", "segment"]
