"""Where weights files live (the Keras cache) and the error when one is missing: the
lowest layer of :mod:`labkit.models`, shared by the registry and the EfficientNet-Lite
builder."""
import os
from pathlib import Path


class WeightsNotFoundError(FileNotFoundError):
    """A model's weights file is neither in the Keras cache nor downloadable."""


def keras_cache_dir():
    """The folder where Keras keeps downloaded weights: ``$KERAS_HOME/models``."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"
