"""Finding layers in a Keras model, nested models included: the CAM target layer and the
candidates for it. Used by the classifier, the saved-model loader and the CAM explainers."""
from .._checks import ParameterError
from .._tf import keras


def find_layer(model, name):
    """Find a layer by name in ``model`` or any model nested inside it.

    Returns ``(layer, path)`` where ``path`` is the list of nested models from the
    outermost to the one that owns the layer.
    """
    stack = [(model, [])]
    while stack:
        current, path = stack.pop(0)
        for layer in current.layers:
            if layer.name == name:
                return layer, path + [current]
            if isinstance(layer, keras.Model):
                stack.append((layer, path + [current]))
    return None, None


def is_pixel_layer(layer):
    """True for layers that only prepare pixels: the input, preprocessing (Rescaling,
    Normalization, Resizing, CenterCrop) and augmentation (Random*) layers."""
    return isinstance(layer, _PIXEL_LAYERS) or type(layer).__name__.startswith("Random")


_PIXEL_LAYERS = (keras.layers.InputLayer, keras.layers.Rescaling, keras.layers.Normalization,
                 keras.layers.Resizing, keras.layers.CenterCrop)


def conv_layer_names(model):
    """Names of every layer with a 4-D (N, H, W, C) output, nested models included,
    in forward order. These are the valid targets for CAM methods.

    Layers that only prepare the pixels (:func:`is_pixel_layer`: the input,
    preprocessing and augmentation) are 4-D too but compute no feature, so they are
    left out: a model without a convolutional layer has no candidate.
    """
    names = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            names.extend(conv_layer_names(layer))
            continue
        if is_pixel_layer(layer):
            continue  # 4-D, but nothing to explain in it
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            continue
        if len(shape) == 4:
            names.append(layer.name)
    return names


def check_target_layer(model, layer_name, model_name):
    """``(layer, path)`` of a CAM target layer in ``model`` (nested models included).

    ``layer_name`` None means the last candidate of :func:`conv_layer_names`. Raises a
    ParameterError that lists the candidates when the layer does not exist, is not 4-D or
    only prepares the pixels (input, preprocessing, augmentation).
    """
    candidates = conv_layer_names(model)
    if not candidates:
        raise ParameterError(
            f"model {model_name!r} has no convolutional layer (no layer with a 4-D (N, H, W, "
            "C) output beyond its input and preprocessing): the CAM methods need one. Use "
            "LIME or RISE, or occlusion.")
    layer_name = layer_name or candidates[-1]
    layer, path = find_layer(model, layer_name)
    if layer is None:
        raise ParameterError(f"model {model_name!r} has no layer named {layer_name!r}. "
                             f"The last convolutional layers are {candidates[-5:]}; "
                             "labkit.models.conv_layer_names(model.model) lists them all.")
    if len(layer.output.shape) != 4:
        raise ParameterError(
            f"layer {layer_name!r} has output shape {tuple(layer.output.shape)}; CAM methods "
            f"need a convolutional layer with a (N, H, W, C) output, such as {candidates[-1]!r}.")
    if is_pixel_layer(layer):
        raise ParameterError(
            f"layer {layer_name!r} is a {type(layer).__name__} layer: it only prepares the "
            "pixels, so a CAM there explains nothing; choose a layer that computes features, "
            f"such as {candidates[-1]!r}.")
    return layer, path
