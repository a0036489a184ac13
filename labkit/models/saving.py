"""Writing a :class:`~labkit.models.Classifier` to a ``.keras`` file (see
:meth:`Classifier.save`); :mod:`labkit.models.saved` reads it back.

The file is an ordinary Keras archive with one extra entry, :data:`METADATA`: class
names and ids, the preprocessing name and the target layer."""
import json
import warnings
import zipfile
from pathlib import Path

from .._version import __version__
from .preprocessing import PREPROCESSING

METADATA = "labkit.json"


def save(classifier, path):
    """Write ``classifier`` to a ``.keras`` file that :func:`labkit.load_model` reloads
    with the same class names, preprocessing, target layer and predictions.

    See :meth:`Classifier.save`.
    """
    path = Path(path)
    if path.suffix.lower() != ".keras":
        raise ValueError(f"save to a file ending in .keras (Keras 3's format), got {path.name!r}.")
    mode = next((k for k, fn in PREPROCESSING.items() if fn is classifier.preprocess), None)
    if mode is None:
        warnings.warn(f"{classifier.name}'s preprocess is a custom function, which cannot be "
                      "stored: pass it again when loading, load_model(path, preprocess=...).",
                      stacklevel=3)
    meta = {"format": 1, "labkit_version": __version__, "name": classifier.name,
            "class_names": classifier.class_names, "class_ids": classifier.class_ids,
            "preprocess": mode, "layer": classifier.layer}
    classifier.model.save(path)
    with zipfile.ZipFile(path, "a") as archive:  # Keras ignores entries it does not know
        archive.writestr(METADATA, json.dumps(meta, indent=1))
    return path
