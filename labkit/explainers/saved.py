"""Explanations on disk: :meth:`Explanation.save` and :func:`load_explanation`.

The file is an ordinary NumPy ``.npz`` archive that ``numpy.load(path)`` opens without
pickle (``allow_pickle=False``, NumPy's default):

- ``saliency`` and ``image``: the map and the explained image;
- ``params/...`` and ``extras/...``: every array among the parameters and by-products,
  nested ones named by their keys (LIME's ``weights_by_label`` ``{3: array}`` becomes
  ``extras/weights_by_label/3``, RISE's ``running`` list of ``(n, map)`` pairs
  ``extras/running/0/1``...);
- ``metadata``: JSON text: the format version, the labkit version, the method, class,
  probability, model name and weights hash, seconds, and the parameters (seed included)
  and by-products, where each array is a reference ``{"array": name}``. Python numbers,
  strings, booleans and None are written as they are; tuples, dicts with non-string keys
  and NumPy scalars are tagged (``{"tuple": [...]}``, ``{"dict": [[key, value], ...]}``,
  ``{"numpy": "<f4", "value": 0.5}``) so that they come back with their types;
- ``checksum``: SHA-256 of the metadata and every array (name, dtype, shape, bytes).

Loading checks the format version (a newer file is refused, with the version that
wrote it), the checksum (an altered file is refused) and that nothing is pickled, then
rebuilds an :class:`Explanation` equal to the one saved, field by field.
"""
import hashlib
import json
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .._paths import replaced_atomically
from .._version import __version__

#: Bumped when the file layout changes meaning; files of a higher format are refused.
FORMAT = 1
_SCALARS = (str, int, float, bool, type(None))


class ExplanationFileError(ValueError):
    """A file that :func:`load_explanation` will not read: not an explanation, written
    by a newer labkit, altered after it was saved, or holding pickled objects."""


def save_explanation(explanation, path):
    """Write ``explanation`` to ``path`` (``.npz`` appended if missing); see the module
    docstring. Written to a temporary name and renamed, so a crash leaves no half file.

    Returns
    -------
    pathlib.Path
    """
    # Duck-typed: this module sits below base.py, whose Explanation.save calls it.
    if not all(hasattr(explanation, f) for f in ("saliency", "image", "params", "extras")):
        raise TypeError(f"save_explanation takes an Explanation, got "
                        f"{type(explanation).__name__}.")
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    arrays = {"saliency": _plain_array(explanation.saliency, "saliency"),
              "image": _plain_array(explanation.image, "image")}
    meta = {"format": FORMAT, "labkit": __version__}
    for name in ("method", "target", "target_name", "probability", "model_name", "model_hash",
                 "seconds"):
        meta[name] = _encode(getattr(explanation, name), name, arrays)
    for name in ("params", "extras"):
        value = getattr(explanation, name)
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise TypeError(f"Explanation.{name} must be a dict with string keys to be saved, "
                            f"got {_describe(value)}.")
        meta[name] = {k: _encode(v, f"{name}/{k}", arrays) for k, v in value.items()}
    text = json.dumps(meta)
    arrays["metadata"] = np.array(text)
    arrays["checksum"] = np.array(_checksum(text, arrays))
    with replaced_atomically(path) as temporary, open(temporary, "wb") as f:
        np.savez_compressed(f, **arrays)
    return path


def read_explanation(path):
    """The fields of the :class:`~labkit.explainers.Explanation` in the file at ``path``,
    checked as :func:`labkit.load_explanation` says (which builds the Explanation)."""
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(6)
    if head[:1] == b"\x80":
        _refuse(path, "is a Python pickle, and labkit never unpickles files (loading one "
                      "can run any code); save explanations with Explanation.save")
    if head == b"\x93NUMPY":
        _refuse(path, "is a single NumPy array (.npy), not an explanation; save explanations "
                      "with Explanation.save, which writes an .npz file")
    if head[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):
        _refuse(path, "is not an .npz file; labkit reads explanations written by "
                      "Explanation.save")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "metadata" not in archive.files or "checksum" not in archive.files:
                _refuse(path, "is an .npz file but no labkit explanation (it has no metadata "
                              "or checksum entry); save explanations with Explanation.save")
            arrays = {name: _read(archive, name, path) for name in archive.files}
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
        _refuse(path, f"is damaged ({type(err).__name__}: {err}); save the explanation again")
    text = str(arrays.pop("metadata"))
    stored = str(arrays.pop("checksum"))
    try:
        meta = json.loads(text)
        version = meta["format"]
    except (ValueError, KeyError, TypeError):
        _refuse(path, "has unreadable metadata, so it was altered or is no labkit explanation")
    if not isinstance(version, int) or version < 1:
        _refuse(path, f"has an unknown format {version!r}; it was not written by labkit")
    if version > FORMAT:
        _refuse(path, f"was written by labkit {meta.get('labkit', '?')} in explanation format "
                      f"{version}, newer than this labkit ({__version__}) reads (format "
                      f"{FORMAT} and older): upgrade labkit to load it")
    if _checksum(text, arrays) != stored:
        _refuse(path, "was altered after labkit saved it (its checksum does not match its "
                      "contents); labkit reads only unaltered files: save the explanation again")
    try:
        used = set()
        fields = {name: _decode(meta[name], arrays, used)
                  for name in ("method", "target", "target_name", "probability",
                               "model_name", "model_hash", "seconds")}
        for name in ("params", "extras"):
            fields[name] = {k: _decode(v, arrays, used) for k, v in meta[name].items()}
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        _refuse(path, f"has metadata labkit cannot rebuild an explanation from ({err!r})")
    stray = sorted(set(arrays) - used - {"saliency", "image"})
    if stray:
        _refuse(path, f"holds arrays its metadata does not mention ({stray[0]!r}); it was not "
                      "written by Explanation.save")
    return dict(saliency=arrays["saliency"], image=arrays["image"], **fields)


def _refuse(path, reason):
    raise ExplanationFileError(f"{path} {reason}.")


def _read(archive, name, path):
    try:
        return archive[name]
    except ValueError as err:  # NumPy refuses object (pickled) arrays without allow_pickle
        if "pickle" in str(err):
            _refuse(path, f"holds a pickled object array ({name!r}), and labkit never unpickles "
                          "files (loading one can run any code)")
        _refuse(path, f"is damaged (entry {name!r}: {err}); save the explanation again")


def _checksum(text, arrays):
    digest = hashlib.sha256(text.encode("utf-8"))
    for name in sorted(n for n in arrays if n not in ("metadata", "checksum")):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"\x1f{name}\x1f{array.dtype.str}\x1f{array.shape}\x1f".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _plain_array(value, where):
    if not isinstance(value, np.ndarray):
        raise TypeError(f"Explanation.{where} must be a numpy array to be saved, got "
                        f"{_describe(value)}.")
    if value.dtype.hasobject:
        raise TypeError(f"{where} is an array of Python objects, which an explanation file "
                        "cannot hold without pickle; convert it to numbers or strings.")
    return value


def _encode(value, where, arrays):
    """The JSON node of ``value``; arrays go into ``arrays`` under a name from ``where``."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is np.ndarray:
        name = where
        while name in arrays:  # keys 3 and "3" in one dict
            name += "'"
        arrays[name] = _plain_array(value, where)
        return {"array": name}
    if isinstance(value, np.generic) and value.dtype.kind in "biufU":
        return {"numpy": value.dtype.str, "value": value.item()}
    if kind in (list, tuple):
        return {kind.__name__: [_encode(v, f"{where}/{i}", arrays) for i, v in enumerate(value)]}
    if kind is dict:
        return {"dict": [[_encode(k, f"{where}/key", {}), _encode(v, f"{where}/{k}", arrays)]
                         for k, v in value.items()]}
    raise TypeError(f"{where} is {_describe(value)}, which an explanation file cannot hold; it "
                    "holds arrays, numbers, strings, booleans, None, lists, tuples and dicts.")


def _decode(node, arrays, used):
    if not isinstance(node, dict):
        return node
    if "numpy" in node:
        return np.dtype(node["numpy"]).type(node["value"])
    (tag, value), = node.items()
    if tag == "array":
        used.add(value)
        return arrays[value]
    if tag in ("list", "tuple"):
        items = [_decode(v, arrays, used) for v in value]
        return items if tag == "list" else tuple(items)
    if tag == "dict":
        return {_decode(k, arrays, used): _decode(v, arrays, used) for k, v in value}
    raise ValueError(f"unknown tag {tag!r}")


def _describe(value):
    return f"a {type(value).__module__}.{type(value).__qualname__}".replace("a builtins.", "a ")
