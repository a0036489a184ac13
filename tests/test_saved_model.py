"""Saved Keras classifiers: load_model(path) and Classifier.save, on models built and saved here."""
import json
import warnings
import zipfile

import numpy as np
import pytest

import labkit
from labkit import explain
from labkit._tf import keras
from labkit.models import efficientnet_lite, load_model, transfer


def _images(n, size, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3)).astype(np.uint8)


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _functional(head, units=3, size=32, seed=0, free_size=False):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((None, None, 3) if free_size else (size, size, 3))
    # As in Keras's image classification tutorial: augmentation, then rescaling.
    augment = keras.Sequential([keras.layers.RandomFlip("horizontal")], name="augment")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(augment(inputs))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv1")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(8, 3, activation="relu", name="conv2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    if head == "dense":
        out = keras.layers.Dense(units, activation="sigmoid" if units == 1 else "softmax",
                                 name="scores")(x)
    else:
        z = keras.layers.Dense(units, name="scores")(x)
        out = {"layer": keras.layers.Softmax(), "activation": keras.layers.Activation("softmax"),
               "op": keras.ops.softmax}[head](z)
    return keras.Model(inputs, out, name=f"small_{head}")


def _pre_softmax(model, images):
    """The 'scores' layer's input times its kernel plus bias: the logits, computed by hand."""
    dense = model.get_layer("scores")
    features = keras.Model(model.inputs[0], model.get_layer("pool").output)(
        images.astype(np.float32), training=False).numpy()
    kernel, bias = (w.numpy() for w in dense.weights)
    return features @ kernel + bias


@pytest.mark.parametrize("head", ["dense", "layer", "activation", "op"])
def test_softmax_heads_are_undone_so_grad_cam_gets_logits(tmp_path, head):
    model = _functional(head)
    path = tmp_path / "small.keras"
    model.save(path)
    clf = load_model(path, class_names=["a", "b", "c"])
    images = _images(4, 32)
    logits = _pre_softmax(model, images)
    np.testing.assert_allclose(clf.predict(images, output="logit"), logits, rtol=1e-4, atol=1e-5)
    expected = model(images.astype(np.float32), training=False).numpy()
    np.testing.assert_allclose(clf.predict(images), expected, atol=1e-5)
    assert clf.input_size == (32, 32) and clf.layer == "conv2"
    assert clf.preprocess(np.float32(255.0)) == 255.0  # Rescaling first: raw pixels ("none")
    assert clf.input_range == (0.0, 255.0) and clf.name == "small"
    e = explain(clf, images[0], "gradcam", target="b")
    assert e.saliency.shape == (32, 32) and np.isfinite(e.saliency).all()


def test_sequential_cnn_in_h5_loads_like_keras_file(tmp_path):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((24, 24, 3)),
        keras.layers.Conv2D(4, 3, activation="relu", name="c1"),
        keras.layers.Conv2D(6, 3, activation="relu", name="c2"),
        keras.layers.GlobalAveragePooling2D(name="pool"),
        keras.layers.Dense(2, activation="softmax", name="scores"),
    ])
    images = _images(3, 24)
    expected = model(images / 127.5 - 1).numpy()
    loaded = {}
    for suffix in (".keras", ".h5"):
        model.save(tmp_path / f"seq{suffix}")
        loaded[suffix] = load_model(str(tmp_path / f"seq{suffix}"), class_names=["no", "yes"],
                                    preprocess="tf")
        np.testing.assert_allclose(loaded[suffix].predict(images), expected, atol=1e-5)
        np.testing.assert_allclose(loaded[suffix].predict(images, output="logit"),
                                   _pre_softmax(model, images / 127.5 - 1), rtol=1e-4, atol=1e-5)
        assert loaded[suffix].layer == "c2" and loaded[suffix].input_range == (-1.0, 1.0)
    with pytest.raises(ValueError, match="cannot tell how seq.keras expects its pixels scaled"):
        load_model(tmp_path / "seq.keras", class_names=["no", "yes"])
    with pytest.raises(ValueError, match="preprocess must be one of .*'torch'.* got 'imagenet'"):
        load_model(tmp_path / "seq.keras", class_names=["no", "yes"], preprocess="imagenet")


def test_sigmoid_unit_becomes_two_logits(tmp_path):
    model = _functional("dense", units=1)
    model.save(tmp_path / "binary.keras")
    clf = load_model(tmp_path / "binary.keras", class_names=["cat", "dog"])
    images = _images(4, 32)
    p = model(images.astype(np.float32), training=False).numpy()[:, 0]
    np.testing.assert_allclose(clf.predict(images), np.stack([1 - p, p], axis=1), atol=1e-5)
    z = _pre_softmax(model, images)[:, 0]
    np.testing.assert_allclose(clf.predict(images, output="logit"),
                               np.stack([np.zeros_like(z), z], axis=1), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="1 output unit .*two classes.* but 3 class names"):
        load_model(tmp_path / "binary.keras", class_names=["a", "b", "c"])


def test_free_input_size_needs_input_size(tmp_path):
    model = _functional("layer", free_size=True)
    model.save(tmp_path / "free.keras")
    with pytest.raises(ValueError, match="accepts any image size; pass input_size="):
        load_model(tmp_path / "free.keras", class_names=list("abc"))
    clf = load_model(tmp_path / "free.keras", class_names=list("abc"), input_size=40)
    assert clf.input_size == (40, 40)
    images = _images(2, 40)
    np.testing.assert_allclose(clf.predict(images, output="logit"), _pre_softmax(model, images),
                               rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="takes 32x32 images; input_size=40 disagrees"):
        _functional("dense").save(tmp_path / "fixed.keras")
        load_model(tmp_path / "fixed.keras", class_names=list("abc"), input_size=40)


def test_nested_efficientnet_lite_backbone_with_softmax_head(tmp_path):
    base = load_model("efficientnet_lite0")
    backbone = keras.Model(base.model.input, base.model.get_layer(base.layer).output,
                           name="lite_backbone")
    keras.utils.set_random_seed(0)
    inputs = keras.Input((224, 224, 3))
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(backbone(inputs))
    dense = keras.layers.Dense(3, activation="softmax", name="scores")
    model = keras.Model(inputs, dense(pooled), name="students_model")
    # The reference: the same weights with the softmax left out, built in memory.
    logit_model = keras.Model(inputs, keras.layers.Dense(3, name="ref")(pooled))
    logit_model.get_layer("ref").set_weights(dense.get_weights())
    reference = labkit.Classifier(logit_model, name="ref", preprocess=efficientnet_lite.preprocess,
                                  input_range=efficientnet_lite.INPUT_RANGE,
                                  layer="top_activation", class_names=list("abc"))
    model.save(tmp_path / "students_model.keras")

    clf = load_model(tmp_path / "students_model.keras", class_names=list("abc"),
                     preprocess="efficientnet_lite")
    assert clf.layer == "top_activation"  # found inside the nested backbone
    images = _images(2, 224)
    np.testing.assert_allclose(clf.predict(images, output="logit"),
                               reference.predict(images, output="logit"), rtol=1e-4, atol=1e-4)
    image = images[0]
    ours, ref = explain(clf, image, "gradcam", target=1), explain(reference, image, "gradcam",
                                                                  target=1)
    np.testing.assert_allclose(ours.saliency, ref.saliency, rtol=1e-3, atol=1e-4)


def test_transfer_classifier_saves_and_reloads_identically(tmp_path):
    images = _images(8, 96, seed=3)
    images[4:, :48] = 255  # the two classes differ (a white top half), so the head learns
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    clf, _ = transfer("efficientnet_lite0", ["plain", "white_top"], images, labels,
                      name="saved_model_test_transfer", epochs=3, augment=0, validation_split=0.25)
    path = clf.save(tmp_path / "mine.keras")
    with zipfile.ZipFile(path) as archive:
        meta = json.loads(archive.read("labkit.json"))
    assert meta["preprocess"] == "efficientnet_lite" and meta["layer"] == "top_activation"

    again = labkit.load_model(str(path))
    assert again is not clf and again.name == clf.name
    assert again.class_names == clf.class_names and again.layer == clf.layer
    assert again.preprocess is clf.preprocess and again.input_range == clf.input_range
    np.testing.assert_allclose(again.predict(images, output="logit"),
                               clf.predict(images, output="logit"), atol=1e-5)
    first, second = explain(clf, images[5], "gradcam"), explain(again, images[5], "gradcam")
    assert first.target == second.target
    np.testing.assert_allclose(second.saliency, first.saliency, atol=1e-5)


def test_save_with_a_custom_preprocess_warns_and_asks_for_it_on_load(tmp_path):
    inputs = keras.Input((16, 16, 3))
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(
        keras.layers.Conv2D(3, 3, name="conv")(inputs)))
    clf = labkit.Classifier(keras.Model(inputs, outputs), name="custom",
                            preprocess=lambda x: x / 255,
                            input_range=(0, 1), layer="conv", class_names=["a", "b"])
    with pytest.warns(UserWarning, match="custom function, which cannot be stored"):
        clf.save(tmp_path / "custom.keras")
    with pytest.raises(ValueError, match="cannot tell how custom.keras expects"):
        load_model(tmp_path / "custom.keras")
    again = load_model(tmp_path / "custom.keras", preprocess=lambda x: x / 255)
    assert again.input_range == (0.0, 1.0) and again.class_names == ["a", "b"]
    assert again.layer == "conv"
    named = labkit.Classifier(clf.model, name="named", preprocess=efficientnet_lite.preprocess,
                              input_range=efficientnet_lite.INPUT_RANGE, layer="conv",
                              class_names=["a", "b"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        named.save(tmp_path / "named.keras")
    assert not [w for w in caught if "cannot be stored" in str(w.message)]
    assert load_model(tmp_path / "named.keras").input_range == efficientnet_lite.INPUT_RANGE
    # Arguments win over the stored metadata.
    renamed = load_model(tmp_path / "named.keras", class_names=["x", "y"], preprocess="tf")
    assert renamed.class_names == ["x", "y"] and renamed.input_range == (-1.0, 1.0)
    with pytest.raises(ValueError, match="save to a file ending in .keras"):
        clf.save(tmp_path / "custom.h5")


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_lambda_layers_need_safe_mode_false(tmp_path, suffix):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Lambda(lambda t: t / 255.0)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(3, 3, name="conv")(x))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="scores")(x))
    path = tmp_path / f"lambda{suffix}"
    model.save(path)
    with pytest.raises(ValueError, match="contains a Lambda layer.*runs the Python code.*"
                                         "pass safe_mode=False") as err:
        load_model(path, class_names=["a", "b"], preprocess="none")
    assert err.value.__cause__ is None and err.value.__context__ is None  # ours, not Keras's
    clf = load_model(path, class_names=["a", "b"], preprocess="none", safe_mode=False)
    images = _images(2, 16)
    expected = model(images.astype(np.float32), training=False).numpy()
    np.testing.assert_allclose(clf.predict(images), expected, atol=1e-5)


def test_class_names_from_a_list_a_folder_or_a_text_file(tmp_path):
    _functional("dense").save(tmp_path / "m.keras")
    root = tmp_path / "train"
    for name in ("zebra", "ant", "moth", ".ipynb_checkpoints"):
        (root / name).mkdir(parents=True)
    (root / "notes.txt").write_text("not a class")
    from_folder = load_model(tmp_path / "m.keras", class_names=root)
    assert from_folder.class_names == ["ant", "moth", "zebra"]
    names = tmp_path / "classes.txt"
    names.write_text("cat\ndog\n\nfox\n")
    from_file = load_model(tmp_path / "m.keras", class_names=str(names))
    assert from_file.class_names == ["cat", "dog", "fox"]
    with pytest.raises(ValueError, match="has 3 output units but 2 class names were given: give 3"):
        load_model(tmp_path / "m.keras", class_names=["cat", "dog"])
    with pytest.raises(ValueError, match="repeats \\['cat'\\]"):
        load_model(tmp_path / "m.keras", class_names=["cat", "dog", "cat"])
    with pytest.raises(ValueError, match="does not say its class names: pass class_names= as a"):
        load_model(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="neither a folder nor a text file"):
        load_model(tmp_path / "m.keras", class_names=str(tmp_path / "nowhere"))


def test_layer_override_and_bad_name(tmp_path):
    _functional("dense").save(tmp_path / "m.keras")
    assert load_model(tmp_path / "m.keras", class_names=list("abc"),
                      layer="conv1").layer == "conv1"
    with pytest.raises(ValueError, match="no layer named 'conv9'. The last convolutional layers "
                                         "are .*'conv2'"):
        load_model(tmp_path / "m.keras", class_names=list("abc"), layer="conv9")


def test_target_layer_is_a_deprecated_name_of_layer_and_old_files_still_load(tmp_path):
    _functional("dense").save(tmp_path / "m.keras")
    with pytest.warns(DeprecationWarning, match="target_layer is now called layer"):
        clf = load_model(tmp_path / "m.keras", class_names=list("abc"), target_layer="conv1")
    assert clf.layer == "conv1"
    with pytest.warns(DeprecationWarning, match="Classifier.target_layer is now called "
                                                "Classifier.layer"):
        assert clf.target_layer == "conv1"
    with pytest.raises(ValueError, match="give layer, not both layer and its old name"):
        load_model(tmp_path / "m.keras", class_names=list("abc"), layer="conv1",
                   target_layer="conv2")
    with pytest.raises(TypeError, match="load_model has no parameter 'layers'"):
        load_model(tmp_path / "m.keras", class_names=list("abc"), layers="conv1")
    with pytest.warns(DeprecationWarning, match="Classifier: target_layer is now called layer"):
        old = labkit.Classifier(clf.model, name="old", preprocess=clf.preprocess,
                                input_range=clf.input_range, target_layer="conv1",
                                class_names=list("abc"))
    assert old.layer == "conv1"
    # A file saved by labkit 0.1 stores the layer under "target_layer": still honoured.
    path = old.save(tmp_path / "old.keras")
    with zipfile.ZipFile(path) as archive:
        entries = {n: archive.read(n) for n in archive.namelist()}
    meta = json.loads(entries["labkit.json"])
    meta["target_layer"] = meta.pop("layer")
    entries["labkit.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    assert load_model(path).layer == "conv1"  # not conv2, the last convolution


def test_files_that_are_not_loadable_classifiers_get_one_sentence(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model file at .*missing.keras"):
        load_model(tmp_path / "missing.keras")
    saved_model = tmp_path / "exported"
    saved_model.mkdir()
    with pytest.raises(ValueError, match="is a folder; give the path of a saved .keras"):
        load_model(saved_model)
    (saved_model / "saved_model.pb").write_bytes(b"")
    with pytest.raises(ValueError, match="TensorFlow SavedModel folder.*TFSMLayer"):
        load_model(str(saved_model))
    (tmp_path / "broken.keras").write_bytes(b"not a zip at all")
    with pytest.raises(ValueError, match="not a valid .keras file .*corrupt"):
        load_model(tmp_path / "broken.keras")
    (tmp_path / "broken.h5").write_bytes(b"\x89HDF garbage")
    with pytest.raises(ValueError, match="not a valid HDF5 file"):
        load_model(tmp_path / "broken.h5")
    model = _functional("dense")
    model.save_weights(tmp_path / "m.weights.h5")
    with pytest.raises(ValueError, match="holds weights only"):
        load_model(tmp_path / "m.weights.h5")
    inputs = keras.Input((10,))
    keras.Model(inputs, keras.layers.Dense(2)(inputs)).save(tmp_path / "tabular.keras")
    with pytest.raises(ValueError, match=r"takes inputs of shape \[\(10,\)\].*\(height, width"):
        load_model(tmp_path / "tabular.keras", class_names=["a", "b"])
    image_in = keras.Input((8, 8, 3))
    keras.Model(image_in, keras.layers.Conv2D(2, 1)(image_in)).save(tmp_path / "seg.keras")
    with pytest.raises(ValueError, match=r"outputs shape \[\(8, 8, 2\)\]"):
        load_model(tmp_path / "seg.keras", class_names=["a", "b"])
    (tmp_path / "model.pt").write_bytes(b"")
    with pytest.raises(ValueError, match="model.pt is not a Keras model file"):
        load_model(str(tmp_path / "model.pt"))


def test_registered_names_keep_their_meaning(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mobilenet").mkdir()  # a folder named like a model does not shadow it
    assert load_model("mobilenet", weights=None).name == "mobilenet"
    with pytest.raises(ValueError, match="class_names=, preprocess= only apply to saved model "
                                         "files, and 'mobilenet' is a registered model"):
        load_model("mobilenet", class_names=["a"], preprocess="tf")
    _functional("dense").save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="weights= only applies to registered models"):
        load_model("m.keras", weights=None)
    with pytest.raises(ValueError, match="or give the path of a saved .keras or .h5 model file"):
        load_model("my_model")


def test_a_softmax_labkit_cannot_undo_is_refused_not_explained(tmp_path):
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(3, 3, name="conv")(inputs))
    probabilities = keras.layers.Dense(3, activation="softmax")(x)
    model = keras.Model(inputs, keras.layers.Reshape((3,))(probabilities))
    model.save(tmp_path / "hidden.keras")
    with pytest.raises(ValueError, match="outputs probabilities .*Grad-CAM needs the scores "
                                         "before softmax"):
        load_model(tmp_path / "hidden.keras", class_names=list("abc"), preprocess="none")


def test_missing_preprocess_error_suggests_the_backbone_family(tmp_path):
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(3, 3)(inputs))
    backbone = keras.Model(inputs, x, name="mobilenetv2_1.00_224")
    outer_in = keras.Input((16, 16, 3))
    keras.Model(outer_in, keras.layers.Dense(2)(backbone(outer_in))).save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="pass preprocess= 'tf'.*the same as in training.*"
                                         "'mobilenetv2_1.00_224'.*preprocess_input is 'tf'"):
        load_model(tmp_path / "m.keras", class_names=["a", "b"])


def test_an_unknown_custom_layer_is_named_with_the_fix(tmp_path):
    @keras.saving.register_keras_serializable(package="labkit_test")
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return 2 * x

    inputs = keras.Input((16, 16, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(3, 3)(Doubler()(inputs)))
    keras.Model(inputs, keras.layers.Dense(2)(x)).save(tmp_path / "custom_layer.keras")
    del keras.saving.get_custom_objects()["labkit_test>Doubler"]  # a fresh kernel's view
    with pytest.raises(ValueError, match="custom_layer.keras uses 'Doubler', which Keras "
                                         "does not know: run the code that defines it"):
        load_model(tmp_path / "custom_layer.keras", class_names=["a", "b"], preprocess="none")
