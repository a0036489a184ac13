"""`load_folder`: a class-per-folder image set (``root/<class>/<image>``) as arrays."""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._checks import check_int
from .images import check_size, load_image
from .saliency import IMAGE_EXTENSIONS


@dataclass(frozen=True)
class FolderDataset:
    """Images of a class-per-folder set.

    Attributes
    ----------
    images : (N, H, W, 3) uint8
    labels : (N,) int64, index into ``class_names``
    class_names : tuple of str, the folder names (sorted, or in the order asked for)
    paths : tuple of Path, one per image
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple
    paths: tuple

    def __len__(self):
        return len(self.paths)


def load_folder(root, size=224, *, classes=None, limit=None):
    """Load a class-per-folder image set, e.g. ``root/african_elephant/*.jpg``.

    Parameters
    ----------
    root : str or path-like
        Folder with one subfolder per class; each holds image files (.png, .jpg,
        .jpeg, .bmp, .gif, .tif, .tiff, .webp). Hidden files and other files are
        ignored; subfolders of class folders are not searched.
    size : int or (int, int)
        As in :func:`load_image`: int -> shorter side resized, centre square crop
        (default 224); (height, width) -> exact resize. Needed to stack the images.
    classes : sequence of str, optional
        Class folders to load, in this order (labels follow it). Default: every
        subfolder, sorted by name.
    limit : int, optional
        At most this many images per class (the first by file name).

    Returns
    -------
    FolderDataset
    """
    size = check_size(size)
    if size is None:
        raise ValueError("size must be given (an int such as 224): images of different sizes "
                         "cannot be stacked into one array.")
    limit = check_int(limit, "limit") if limit is not None else None
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no such folder: {root}. Point root at the folder that holds one "
                                "subfolder per class (see data/README.md).")
    available = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if classes is None:
        if not available:
            raise FileNotFoundError(f"{root} has no class folders; expected "
                                    "root/<class>/<image>.jpg.")
        classes = available
    else:
        if isinstance(classes, str):
            raise TypeError("classes must be a list of folder names, e.g. ['cat', 'dog'], "
                            f"not the string {classes!r}.")
        classes = [str(c) for c in classes]
        missing = [c for c in classes if c not in available]
        if missing:
            raise FileNotFoundError(f"no class folder {missing[0]!r} in {root}; available: "
                                    f"{', '.join(available) or 'none'}.")
    paths, labels = [], []
    for label, name in enumerate(classes):
        files = sorted(p for p in (root / name).iterdir()
                       if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                       and not p.name.startswith("."))
        if not files:
            raise FileNotFoundError(f"class folder {root / name} holds no images "
                                    f"({', '.join(IMAGE_EXTENSIONS)}); add some or leave it out "
                                    "with classes=[...].")
        files = files[:limit]
        paths += files
        labels += [label] * len(files)
    images = np.stack([load_image(path, size=size) for path in paths])
    return FolderDataset(images, np.array(labels, dtype=np.int64), tuple(classes), tuple(paths))
