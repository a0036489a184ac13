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


def conv_layer_names(model):
    """Names of every layer with a 4-D (N, H, W, C) output, nested models included,
    in forward order. These are the valid targets for CAM methods."""
    names = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            names.extend(conv_layer_names(layer))
            continue
        if isinstance(layer, keras.layers.InputLayer):
            continue  # an image input is 4-D but has nothing to explain
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            continue
        if len(shape) == 4:
            names.append(layer.name)
    return names


def check_target_layer(model, layer_name, model_name):
    """``(layer, path)`` of a CAM target layer in ``model`` (nested models included).

    ``layer_name`` None means the last layer with a 4-D output. Raises a ParameterError that
    lists the candidates when the layer does not exist or is not convolutional.
    """
    candidates = conv_layer_names(model)
    if not candidates:
        raise ParameterError(f"model {model_name!r} has no convolutional layer (no layer with "
                             "a 4-D (N, H, W, C) output): the CAM methods need one. Use LIME or "
                             "RISE, or occlusion.")
    layer_name = layer_name or candidates[-1]
    layer, path = find_layer(model, layer_name)
    if layer is None:
        raise ParameterError(f"model {model_name!r} has no layer named {layer_name!r}. "
                             f"The last convolutional layers are {candidates[-5:]}; "
                             "labkit.models.conv_layer_names(model.model) lists them all.")
    if len(layer.output.shape) != 4:
        raise ParameterError(f"layer {layer_name!r} has output shape "
                             f"{tuple(layer.output.shape)}; CAM methods need a convolutional "
                             f"layer with a (N, H, W, C) output, such as {candidates[-1]!r}.")
    return layer, path
