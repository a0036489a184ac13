"""Where labkit keeps what it generates (benchmarks, converted graphs, result stores).

The lowest layer: the data generators and the model backend both need it, and
neither may import the other."""
import os
import uuid
from contextlib import contextmanager
from pathlib import Path


def data_home():
    """Where labkit keeps generated data: ``$LABKIT_DATA`` if set, else
    ``$XDG_CACHE_HOME/labkit`` (default ``~/.cache/labkit``)."""
    if os.environ.get("LABKIT_DATA"):
        return Path(os.environ["LABKIT_DATA"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "labkit"


@contextmanager
def replaced_atomically(target):
    """A temporary path beside ``target`` to write to; renamed onto ``target`` when the
    block ends without error (an atomic step on every platform), removed otherwise, so a
    crash never leaves half a file."""
    target = Path(target)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        if temporary.exists():
            temporary.unlink()
