"""Read a PyTorch ``state_dict`` file (``.pth``) into numpy arrays, without torch.

``torch.save`` writes a pickle whose tensors point at raw storages through
"persistent ids". Two layouts exist:

* zip (torch >= 1.6): ``<name>/data.pkl`` plus one ``<name>/data/<key>`` entry per storage;
* legacy (torch < 1.6): on one stream, the pickles magic number, protocol version,
  system info, the object itself, then the list of storage keys, and finally, for each
  key in that order, an int64 element count followed by the raw bytes.

The unpickler below resolves only the handful of globals a state dict needs (tensor
rebuilders, storage types, ``OrderedDict``), so a file cannot run arbitrary code.
"""
import collections
import pickle
import zipfile

import numpy as np

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

_STORAGE_DTYPES = {
    "DoubleStorage": np.float64, "FloatStorage": np.float32, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class _Storage:
    """A storage whose bytes are read after the pickle (legacy) or on demand (zip)."""

    def __init__(self, dtype, key, numel):
        self.dtype, self.key, self.numel = np.dtype(dtype), key, numel
        self.data = None


class _Tensor:
    """A view (offset, shape, strides in elements) into a storage, materialised later."""

    def __init__(self, storage, offset, shape, stride):
        self.storage, self.offset = storage, offset
        self.shape, self.stride = tuple(shape), tuple(stride)

    def to_numpy(self):
        flat = self.storage.data
        item = flat.itemsize
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset:], shape=self.shape, strides=[s * item for s in self.stride])
        return np.array(view)  # a copy: the storage buffer may be shared between tensors


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    return _Tensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    return data


class _StorageType:
    def __init__(self, name):
        self.dtype = _STORAGE_DTYPES[name]


_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, storages):
        super().__init__(file, encoding="latin1")  # legacy files were written by Python 2 too
        self.storages = storages

    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return _ALLOWED[module, name]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(
            f"unexpected object {module}.{name} in a PyTorch weights file; "
            "only plain state dicts of tensors can be read without torch.")

    def persistent_load(self, saved_id):
        # ("storage", storage_type, key, location, numel[, view_metadata])
        kind, storage_type, key, _location, numel = saved_id[:5]
        if kind != "storage":
            raise pickle.UnpicklingError(f"unsupported persistent id {kind!r}.")
        if len(saved_id) > 5 and saved_id[5] is not None:
            raise pickle.UnpicklingError("storage views (torch < 0.4 files) are not supported.")
        if key not in self.storages:
            self.storages[key] = _Storage(storage_type.dtype, key, numel)
        return self.storages[key]


def _materialise(obj):
    if isinstance(obj, _Tensor):
        return obj.to_numpy()
    if isinstance(obj, dict):
        return {k: _materialise(v) for k, v in obj.items()}
    return obj


def _load_zip(path):
    storages = {}
    with zipfile.ZipFile(path) as archive:
        pkl = next(n for n in archive.namelist() if n.endswith("data.pkl"))
        prefix = pkl[:-len("data.pkl")]
        if prefix + "byteorder" in archive.namelist() and \
                archive.read(prefix + "byteorder").strip() != b"little":
            raise ValueError(f"{path} was saved on a big-endian machine; it is not supported.")
        with archive.open(pkl) as f:
            result = _Unpickler(f, storages).load()
        for key, storage in storages.items():
            raw = archive.read(f"{prefix}data/{key}")
            storage.data = np.frombuffer(raw, dtype=storage.dtype.newbyteorder("<"),
                                         count=storage.numel)
    return result


def _load_legacy(path):
    storages = {}
    with open(path, "rb") as f:
        if pickle.load(f) != _LEGACY_MAGIC:
            raise ValueError(f"{path} is not a PyTorch file (wrong magic number).")
        pickle.load(f)  # protocol version
        sys_info = pickle.load(f)
        if not sys_info.get("little_endian", True):
            raise ValueError(f"{path} was saved on a big-endian machine; it is not supported.")
        result = _Unpickler(f, storages).load()
        keys = pickle.load(f)
        for key in keys:
            storage = storages[key]
            nbytes = storage.numel * storage.dtype.itemsize
            header, raw = f.read(8), f.read(nbytes)
            if len(raw) != nbytes or int.from_bytes(header, "little") != storage.numel:
                raise ValueError(f"{path} is truncated or corrupt: storage {key} is incomplete.")
            storage.data = np.frombuffer(raw, dtype=storage.dtype.newbyteorder("<"))
    return result


def load_state_dict(path):
    """Tensors of a PyTorch ``state_dict`` file as numpy arrays, without importing torch.

    Parameters
    ----------
    path : str or path-like
        A file written by ``torch.save(model.state_dict(), path)``, zip or legacy format.

    Returns
    -------
    dict
        Parameter name (``"_conv_stem.weight"``) to ndarray, in PyTorch layout
        (convolution kernels are ``(out, in, kh, kw)``).
    """
    state = _load_zip(path) if zipfile.is_zipfile(path) else _load_legacy(path)
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a state dict.")
    return _materialise(state)
