"""`split`: a training part and a test part of a dataset, each class split alike."""
from dataclasses import replace
from fractions import Fraction

import numpy as np

from .._checks import ParameterError, check_fraction, check_seed
from .folders import FolderDataset
from .saliency import SaliencyDataset


def split(data, *, test_size=0.5, stratify=True, shuffle=True, seed=0):
    """Split a dataset into a training part and a test part.

    Within each class (or over all items with ``stratify=False``) the test items are
    spread evenly along the class's items: with ``test_size=0.5`` every second item
    (the 2nd, 4th, ...) is a test item, with ``1/3`` every third. A class of ``n`` items
    gives ``floor(n * test_size)`` of them to the test part, so a class with a single
    item stays in training. ``shuffle=True`` (default) first puts each class's items in
    a random order drawn from ``seed``, as scikit-learn's ``train_test_split(...,
    stratify=labels)`` does (its rounding differs); ``shuffle=False`` keeps the dataset's
    order, which is reproducible without a seed and spreads a dataset sorted by, say,
    photo session over both parts.

    Parameters
    ----------
    data : SaliencyDataset, FolderDataset, or sequence of int
        A dataset from :mod:`labkit.data` (its labels are the classes), or one class
        label per item.
    test_size : float in (0, 1)
        Fraction of each class that goes to the test part.
    stratify : bool
        Split each class separately (default), so both parts keep the class
        proportions; False splits the items as one group.
    shuffle : bool
        Shuffle within each class before splitting.
    seed : int
        Seed of the shuffle; the same seed gives the same split.

    Returns
    -------
    (train, test)
        Two datasets of the same type as ``data`` (items in the dataset's order), or,
        for a sequence of labels, two sorted index arrays.
    """
    test_size = check_fraction(test_size, "test_size")
    seed = check_seed(seed)
    labels = _labels(data)
    groups = [np.flatnonzero(labels == c) for c in np.unique(labels)] if stratify \
        else [np.arange(len(labels))]
    rng = np.random.default_rng(seed)
    # floor((i + 1) f) > floor(i f) marks floor(n f) evenly spread positions; exact fractions
    # so that 0.3 of 10 items is 3, not 2.
    f = Fraction(test_size).limit_denominator(10**6)
    test = []
    for group in groups:
        order = rng.permutation(group) if shuffle else group
        picked = [(i + 1) * f.numerator // f.denominator > i * f.numerator // f.denominator
                  for i in range(len(order))]
        test.extend(order[picked])
    test = np.sort(np.asarray(test, dtype=np.int64))
    if len(test) == 0 or len(test) == len(labels):
        raise ParameterError(f"test_size={test_size:g} of {len(labels)} items leaves "
                             f"{'no test' if len(test) == 0 else 'no training'} item"
                             f"{' in any class' if stratify else ''}; pick a test_size closer "
                             "to 0.5 or use more items.")
    train = np.setdiff1d(np.arange(len(labels)), test)
    if isinstance(data, SaliencyDataset):
        return tuple(replace(data, items=tuple(data.items[i] for i in part))
                     for part in (train, test))
    if isinstance(data, FolderDataset):
        return tuple(replace(data, images=data.images[part], labels=data.labels[part],
                             paths=tuple(data.paths[i] for i in part))
                     for part in (train, test))
    return train, test


def _labels(data):
    if isinstance(data, (SaliencyDataset, FolderDataset)):
        return np.asarray(data.labels)
    labels = np.asarray(data)
    if labels.ndim != 1 or len(labels) < 2 or not np.issubdtype(labels.dtype, np.integer):
        raise ParameterError(f"data must be a labkit dataset or a sequence of at least two "
                             f"integer class labels, got {type(data).__name__} "
                             f"{'of shape ' + str(labels.shape) if labels.ndim else ''}; "
                             "load images with labkit.data (load_folder, "
                             "load_saliency_dataset, load_photo_benchmark).")
    return labels
