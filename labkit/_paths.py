"""Where labkit keeps what it generates (benchmarks, converted graphs, result stores).

The lowest layer: the data generators and the model backend both need it, and
neither may import the other."""
import os
from pathlib import Path


def data_home():
    """Where labkit keeps generated data: ``$LABKIT_DATA`` if set, else
    ``$XDG_CACHE_HOME/labkit`` (default ``~/.cache/labkit``)."""
    if os.environ.get("LABKIT_DATA"):
        return Path(os.environ["LABKIT_DATA"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "labkit"
