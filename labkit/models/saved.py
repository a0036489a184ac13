"""Saved Keras classifiers (``.keras``, ``.h5``) as labkit Classifiers, and back.

A student's own model, saved to disk, is loaded into a :class:`Classifier`: the class
names, the preprocessing and the CAM target layer come from the arguments, from the
metadata labkit stores with its own saves, or from the model itself; a final softmax
(or a single-unit sigmoid) is removed, because Grad-CAM differentiates pre-softmax
scores. Files are inspected before Keras reads them, so that a ``Lambda`` layer (which
runs arbitrary code when loaded) is refused with labkit's explanation unless the
caller opts in with ``safe_mode=False``, and a config that stores a lambda's bytecode or
names a module outside Keras is refused in every mode (see :func:`_check_config`).
Nothing is ever unpickled.

labkit's own saves (:meth:`Classifier.save`) are ordinary Keras ``.keras`` archives with
one extra entry, ``labkit.json``: class names and ids, the preprocessing name and the
target layer. Keras ignores it; it travels with the single file.
"""
import json
import os
import re
import zipfile
from pathlib import Path

import numpy as np

from .._tf import keras
from ..data.images import check_size
from .classifier import Classifier
from .layers import check_target_layer, conv_layer_names
from .preprocessing import PREPROCESSING, input_range
from .saving import METADATA, save

SUFFIXES = (".keras", ".h5", ".hdf5")

# keras.applications families (model-name prefixes) and the preprocess_input mode
# their documentation prescribes; used only to suggest a value in an error message.
_FAMILY_HINTS = (("mobilenetv3", "none"), ("mobilenet", "tf"), ("xception", "tf"),
                 ("inception", "tf"), ("nasnet", "tf"), ("resnet50v2", "tf"),
                 ("resnet101v2", "tf"), ("resnet152v2", "tf"), ("resnet", "caffe"),
                 ("vgg", "caffe"), ("densenet", "torch"), ("efficientnet", "none"),
                 ("convnext", "none"), ("regnet", "none"))


def is_model_path(name):
    """True when ``name`` designates a file or folder rather than a registered name: a
    path-like object, or a string that ends in .keras/.h5/.hdf5 or exists on disk."""
    if isinstance(name, os.PathLike):
        return True
    return isinstance(name, str) and (name.lower().endswith(SUFFIXES) or os.path.exists(name))


def load_saved_model(path, *, class_names=None, preprocess=None, input_size=None,
                     layer=None, safe_mode=True, batch_size=32, backend="auto",
                     precision="f32"):
    """Load a saved Keras image classifier as a :class:`Classifier`.

    Called by :func:`labkit.load_model` for paths; see its documentation for the
    parameters. Returns a Classifier whose model outputs logits.
    """
    path = _check_file(path)
    config, meta = _read_config(path)
    _check_config(config, path, safe_mode)
    model = _keras_load(path, safe_mode)
    n_units = _check_image_classifier(model, path)
    names = _class_names(class_names, meta, path)
    ids = meta.get("class_ids") if class_names is None and meta.get("class_ids") else None
    expected = 2 if n_units == 1 else n_units
    if len(names) != expected:
        binary = " (a single sigmoid/logit unit means two classes)" if n_units == 1 else ""
        raise ValueError(f"{path.name} has {n_units} output unit{'s' * (n_units > 1)}{binary} "
                         f"but {len(names)} class names were given: give {expected}.")
    fn, range_ = _preprocessing(preprocess, meta, model, path)
    model = _logits_model(model, _input_size(model, input_size, path), safe_mode, path)
    layer = _cam_layer(model, layer, meta, path)
    classifier = Classifier(model, name=meta.get("name") or path.stem, preprocess=fn,
                            input_range=range_, layer=layer, class_names=names,
                            class_ids=ids, batch_size=batch_size, backend=backend,
                            precision=precision)
    _check_not_probabilities(classifier, path)
    return classifier


# -- reading the file, before Keras does ------------------------------------------------
def _check_file(path):
    path = Path(path)
    if path.is_dir():
        if (path / "saved_model.pb").exists():
            raise ValueError(
                f"{path} is a TensorFlow SavedModel folder, which Keras 3 cannot load as a "
                "model: re-save it as .keras where it was made (model.save('my_model.keras')), "
                "or use keras.layers.TFSMLayer(path, call_endpoint='serving_default') for "
                "predictions only (no Grad-CAM).")
        raise ValueError(f"{path} is a folder; give the path of a saved .keras or .h5 model file.")
    if not path.exists():
        raise FileNotFoundError(f"no model file at {path}; check the path (the notebook runs in "
                                f"{Path.cwd()}) or save the model first.")
    if path.suffix.lower() not in SUFFIXES:
        raise ValueError(f"{path.name} is not a Keras model file: labkit loads .keras and .h5 "
                         "files (save with model.save('my_model.keras')).")
    return path


def _read_config(path):
    """(model config as a dict, labkit metadata or {}), without deserializing anything."""
    if path.suffix.lower() == ".keras":
        if not zipfile.is_zipfile(path):
            raise ValueError(f"{path.name} is not a valid .keras file (it is not a zip archive): "
                             "it is corrupt or incomplete; save the model again.")
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
                config = json.loads(archive.read("config.json"))
                meta = json.loads(archive.read(METADATA)) if METADATA in names else {}
        except (KeyError, ValueError, RecursionError, zipfile.BadZipFile) as err:
            raise ValueError(f"{path.name} is not a valid .keras file ({err}): it is corrupt or "
                             "was not written by model.save; save the model again.") from None
        return config, _check_metadata(meta, path)
    import h5py
    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs.get("model_config")
    except OSError:
        raise ValueError(f"{path.name} is not a valid HDF5 file: it is corrupt or incomplete; "
                         "save the model again.") from None
    if raw is None:
        raise ValueError(f"{path.name} holds weights only, not a model (it was saved with "
                         "save_weights): save the whole model with model.save('my_model.keras').")
    try:
        return json.loads(raw.decode() if isinstance(raw, bytes) else raw), {}
    except (ValueError, RecursionError) as err:
        raise ValueError(f"{path.name} has an unreadable model config ({err}): it is corrupt "
                         "or was not written by model.save; save the model again.") from None


def _check_metadata(meta, path):
    if not isinstance(meta, dict) or not isinstance(meta.get("class_names", []), list):
        raise ValueError(f"{path.name} has an unreadable {METADATA}; pass class_names= and "
                         "preprocess= yourself.")
    return meta


#: Packages whose classes Keras resolves itself (it imports nothing else by a file's word).
_KERAS_PACKAGES = ("keras", "keras_hub", "keras_cv", "keras_nlp")


def _check_config(config, path, safe_mode):
    """Refuse, before Keras deserializes anything, a config that would run code stored in
    the file or name a module outside Keras, each with one sentence.

    - A ``Lambda`` layer (or a serialized ``__lambda__``) runs the Python code stored in
      the file: refused unless ``safe_mode=False``.
    - A Python lambda given as a layer's activation is stored as bare bytecode, which
      Keras cannot reload at all: refused, with the fix.
    - An object whose ``module`` is not Keras's (``os``, ``builtins``...) is refused
      unless it is registered with Keras (your own layer, defined before loading) or,
      for Keras's ``builtins`` convention, a Keras activation: older Keras releases
      imported any module a file named.

    The walk is iterative (a deep config cannot exhaust Python's stack); the compile
    config is skipped, since labkit loads with ``compile=False`` and never reads it.
    """
    stack = [(config, None)]
    while stack:
        node, layer = stack.pop()
        if isinstance(node, list):
            stack.extend((v, layer) for v in node)
            continue
        if not isinstance(node, dict):
            continue
        inner = node.get("config")
        if "class_name" in node and isinstance(inner, dict) and isinstance(inner.get("name"), str):
            layer = inner["name"]
        where = f" (layer {layer!r})" if layer else ""
        if safe_mode and node.get("class_name") in ("Lambda", "__lambda__"):
            raise ValueError(
                f"{path.name} contains a Lambda layer{where}, and loading one runs the Python "
                "code stored in the file: labkit refuses it by default. If you trust the file "
                "(you saved it yourself), pass safe_mode=False; better, replace the Lambda by "
                "a built-in layer (e.g. keras.layers.Rescaling) and save again.")
        for key, value in node.items():
            if _is_bytecode(value):
                raise ValueError(
                    f"{path.name}{where} stores a Python lambda as its {key}: Keras cannot "
                    "reload it (and loading it would run code stored in the file). Use a "
                    f"built-in {key} (e.g. activation='relu') or a named function registered "
                    "with @keras.saving.register_keras_serializable(), and save again.")
        unknown = _foreign_object(node)
        if unknown:
            raise ValueError(
                f"{path.name} uses {unknown!r}, which Keras does not know: run the code that "
                "defines it (decorated with @keras.saving.register_keras_serializable()) "
                "before loading; labkit never imports the module a model file names "
                f"({node['module']!r}{', layer ' + repr(layer) if layer else ''}).")
        stack.extend((v, layer) for k, v in node.items() if k != "compile_config")


def _is_bytecode(value):
    """Keras's dump of a lambda activation: {"value": [base64 bytecode, defaults, closure]}."""
    return (isinstance(value, dict) and list(value) == ["value"]
            and isinstance(value["value"], list) and len(value["value"]) == 3
            and isinstance(value["value"][0], str))


def _foreign_object(node):
    """The name of the object a serialized ``node`` designates outside Keras, or None."""
    module, name = node.get("module"), node.get("class_name")
    if not isinstance(module, str) or not module or module.split(".")[0] in _KERAS_PACKAGES:
        return None
    if name == "function":  # Keras's form for functions: the name is the config
        name = node.get("config") if isinstance(node.get("config"), str) else None
        if module == "builtins" and name and _keras_function(name):
            return None
        key = name  # Keras looks registered functions up by their name
    else:
        key = node.get("registered_name")
    if isinstance(key, str) and keras.saving.get_registered_object(key) is not None:
        return None
    return name if isinstance(name, str) and name else module


def _keras_function(name):
    try:
        keras.activations.get(name)
    except ValueError:
        return False
    return True


def _keras_load(path, safe_mode):
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=safe_mode)
    except Exception as err:  # Keras raises many types; the user needs one sentence
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        custom = re.search(r"Could not locate (?:class|function) '([^']+)'", str(err))
        if custom:
            raise ValueError(
                f"{path.name} uses {custom.group(1)!r}, which Keras does not know: run the code "
                "that defines it (decorated with @keras.saving.register_keras_serializable()) "
                "before loading.") from None
        raise ValueError(f"Keras could not load {path.name}: {reason}") from None


# -- what the model is -----------------------------------------------------------------
def _check_image_classifier(model, path):
    """Number of output units; raises unless one (H, W, 3) input and one (C,) output."""
    if len(model.inputs) != 1 or len(model.inputs[0].shape) != 4 or model.inputs[0].shape[-1] != 3:
        shapes = [tuple(t.shape[1:]) for t in model.inputs]
        raise ValueError(f"{path.name} takes inputs of shape {shapes}; labkit explains image "
                         "classifiers with one (height, width, 3) RGB input, channels last.")
    if len(model.outputs) != 1 or len(model.outputs[0].shape) != 2:
        shapes = [tuple(t.shape[1:]) for t in model.outputs]
        raise ValueError(f"{path.name} outputs shape {shapes}; labkit explains classifiers with "
                         "one output of one score per class, (num_classes,).")
    return int(model.outputs[0].shape[-1])


def _class_names(given, meta, path):
    if given is None:
        if not meta.get("class_names"):
            raise ValueError(
                f"{path.name} does not say its class names: pass class_names= as a list "
                "(['cat', 'dog']), the training folder (one subfolder per class, sorted as "
                "image_dataset_from_directory does), or a text file with one name per line.")
        return [str(c) for c in meta["class_names"]]
    if isinstance(given, (str, os.PathLike)):
        source = Path(given)
        if source.is_dir():
            names = sorted(p.name for p in source.iterdir()
                           if p.is_dir() and not p.name.startswith("."))
            if not names:
                raise ValueError(f"class_names folder {source} has no subfolders: give the "
                                 "folder that holds one subfolder per class.")
        elif source.is_file():
            names = [line.strip() for line in source.read_text(encoding="utf-8").splitlines()]
            names = [n for n in names if n]
            if not names:
                raise ValueError(f"class_names file {source} is empty: write one name per line.")
        else:
            raise ValueError(f"class_names {str(given)!r} is neither a folder nor a text file; "
                             "pass a list of names, a class-folder root or a file of names.")
    else:
        names = [str(c) for c in given]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"class_names repeats {duplicates}; each class needs its own name.")
    return names


def _first_layer(model):
    """The first layer that acts at inference: inputs and augmentation (Random*) skipped."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer) or type(layer).__name__.startswith("Random"):
            continue
        first = _first_layer(layer) if isinstance(layer, keras.Model) else layer
        if first is not None:
            return first
    return None


def _preprocessing(given, meta, model, path):
    table = PREPROCESSING
    if given is None:
        given = meta.get("preprocess")
    if given is None and isinstance(_first_layer(model), (keras.layers.Rescaling,
                                                          keras.layers.Normalization)):
        given = "none"  # the model scales raw pixels itself
    if given is None:
        hint = _family_hint(model)
        raise ValueError(
            f"labkit cannot tell how {path.name} expects its pixels scaled: pass preprocess= "
            "'tf' (x/127.5 - 1, MobileNet/Xception), 'caffe' (BGR minus ImageNet mean, "
            "ResNet50/VGG), 'torch' (ImageNet mean/std on [0, 1]), 'none' (raw 0-255) or a "
            f"function, the same as in training.{hint}")
    if isinstance(given, str):
        if given not in table:
            raise ValueError(f"preprocess must be one of {list(table)} or a function, "
                             f"got {given!r}.")
        fn = table[given]
    elif callable(given):
        fn = given
    else:
        raise TypeError(f"preprocess must be a name or a function, got {type(given).__name__}.")
    try:
        return fn, input_range(fn)
    except Exception as err:
        raise ValueError(f"preprocess failed on a (1, 1, 2, 3) array of pixels in [0, 255] "
                         f"({type(err).__name__}: {err}); it must map pixels to model "
                         "input, keeping the shape.") from None


def _family_hint(model):
    names = [model.name.lower()] + [lyr.name.lower() for lyr in model.layers
                                    if isinstance(lyr, keras.Model)]
    for name in names:
        for prefix, mode in _FAMILY_HINTS:
            if name.startswith(prefix):
                return (f" (Its backbone {name!r} looks like keras.applications' {prefix}, "
                        f"whose preprocess_input is {mode!r}.)")
    return ""


def _input_size(model, given, path):
    saved = tuple(model.inputs[0].shape[1:3])
    if given is None:
        if None in saved:
            raise ValueError(f"{path.name} accepts any image size; pass input_size=(height, "
                             "width), the size it was trained on (e.g. input_size=224).")
        return None
    size = check_size(given, "input_size")
    size = (size, size) if isinstance(size, int) else size
    if None not in saved and size != saved:
        raise ValueError(f"{path.name} takes {saved[0]}x{saved[1]} images; input_size={given!r} "
                         "disagrees. Leave input_size out.")
    return None if size == saved else size


def _cam_layer(model, given, meta, path):
    candidates = conv_layer_names(model)
    # files saved by labkit 0.1 call the key "target_layer": still read
    layer = (given or meta.get("layer") or meta.get("target_layer")
             or (candidates[-1] if candidates else None))
    if layer is not None:
        check_target_layer(model, layer, path.stem)
    return layer


# -- logits ------------------------------------------------------------------------------
def _output_operation(model):
    """(chain of models from outer to owner, the operation that makes the final output)."""
    chain = [model]
    op = model.outputs[0]._keras_history.operation
    while isinstance(op, keras.Model):
        chain.append(op)
        op = op.outputs[0]._keras_history.operation
    return chain, op


def _activation_name(op):
    if isinstance(op, keras.layers.Softmax) or type(op).__name__ == "Softmax":
        return "softmax"  # the layer, or keras.ops.softmax in a functional graph
    fn = getattr(op, "activation", None)
    for name in ("softmax", "sigmoid"):
        if fn is keras.activations.get(name):
            return name
    return None


def _entry(config, name):
    """The serialized layer called ``name`` in a Functional or Sequential config."""
    for entry in config["layers"]:
        if entry.get("name", entry["config"].get("name")) == name:
            return entry
    raise KeyError(name)


def _logits_model(model, input_size, safe_mode, path):
    """A model that outputs pre-softmax scores, with a fixed input size.

    The model is rebuilt from its own config with the final softmax (a Softmax layer, an
    ``Activation``, ``keras.ops.softmax``, or a layer's ``activation="softmax"``) made
    linear, and the weights copied. A single output unit (sigmoid or logit z) becomes two
    logits [0, z], so that softmax gives [1 - sigmoid(z), sigmoid(z)]: class 0 is the
    first class name, as Keras's binary labels count.
    """
    chain, op = _output_operation(model)
    activation = _activation_name(op)
    units = int(model.outputs[0].shape[-1])
    if activation == "sigmoid" and units > 1:
        raise ValueError(f"{path.name} ends in a sigmoid over {units} units, a multi-label "
                         "classifier; labkit explains single-label (softmax) classifiers.")
    if activation == "softmax" and units == 1:
        raise ValueError(f"{path.name} ends in a softmax over one unit, which is always 1; "
                         "a binary classifier needs a sigmoid or two softmax units.")
    if activation is None and input_size is None:
        rebuilt = model
    else:
        # Through JSON, as model.save does: a private copy, tuples as lists.
        serialized = json.loads(json.dumps(keras.saving.serialize_keras_object(model)))
        config = serialized["config"]
        if input_size is not None:
            _set_input_size(serialized, input_size)
        if activation is not None:
            inner = config
            for nested in chain[1:]:
                inner = _entry(inner, nested.name)["config"]
            entry = _entry(inner, op.name)
            if type(op).__name__ == "Softmax" or isinstance(op, keras.layers.Activation):
                entry.update(module="keras.layers", class_name="Activation", registered_name=None,
                             config={"name": op.name, "activation": "linear"})
                for node in entry.get("inbound_nodes", []):
                    node["kwargs"] = {}  # Softmax's mask=None; Activation takes no mask
            else:
                entry["config"]["activation"] = "linear"
        rebuilt = keras.saving.deserialize_keras_object(serialized, safe_mode=safe_mode)
        rebuilt.set_weights(model.get_weights())
    if units == 1:
        z = rebuilt.outputs[0]
        two = keras.ops.concatenate([keras.ops.zeros_like(z), z], axis=-1)
        rebuilt = keras.Model(rebuilt.inputs[0], two, name=rebuilt.name)
    return rebuilt


def _set_input_size(serialized, size):
    """Fix the (height, width) of the outer model's input in its serialized form."""
    config = serialized["config"]
    shapes = [e["config"]["batch_shape"] for e in config["layers"]
              if e["class_name"] == "InputLayer"][:1]
    shapes += [config.get("build_input_shape"),
               (serialized.get("build_config") or {}).get("input_shape")]
    for shape in shapes:
        if shape:
            shape[1:3] = list(size)


def _check_not_probabilities(classifier, path):
    """Refuse a model whose 'logits' are still probabilities (a softmax labkit missed)."""
    pixels = np.random.default_rng(0).uniform(0, 255, (1,) + classifier.input_size + (3,))
    scores = classifier.predict(pixels, output="logit")
    if scores.shape[1] > 1 and scores.min() >= 0 and np.allclose(scores.sum(axis=1), 1, atol=1e-4):
        raise ValueError(
            f"{path.name} outputs probabilities (each row sums to 1) through an operation labkit "
            "cannot undo, and Grad-CAM needs the scores before softmax: save the model with "
            "a linear last layer followed by keras.layers.Softmax().")


__all__ = ["is_model_path", "load_saved_model", "save", "SUFFIXES"]
