"""The model registry: offline weights, clear errors, preprocessing, nested models."""
import h5py
import numpy as np
import pytest

import labkit
from labkit import explain
from labkit._tf import keras
from labkit.models import (
    WeightsNotFoundError,
    conv_layer_names,
    list_models,
    load_model,
    registry,
    transfer,
)


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    """An empty Keras cache and no network: any download attempt fails at once."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "models").mkdir()

    def no_network(*args, **kwargs):
        raise OSError("network is unreachable")
    monkeypatch.setattr(keras.utils, "get_file", no_network)
    registry._load.cache_clear()
    yield tmp_path / "models"
    registry._load.cache_clear()


@pytest.mark.weights
def test_mobilenet_classifies_the_bundled_photos(mobilenet, chelsea):
    import skimage.data
    cats = {"Egyptian cat", "tabby", "tiger cat"}
    assert cats & {p.name for p in mobilenet.top_k(chelsea, 3)}
    coffee = labkit.load_image(skimage.data.coffee(), size=224)
    assert {"espresso", "cup"} & {p.name for p in mobilenet.top_k(coffee, 3)}
    top = mobilenet.top_k(chelsea, 5)
    assert [p.rank for p in top] == [1, 2, 3, 4, 5]
    assert all(a.probability >= b.probability for a, b in zip(top, top[1:]))
    assert top[0].wnid.startswith("n0")


def test_registry_names():
    assert list_models()[:6] == ["mobilenet", "efficientnet_lite0", "efficientnet_lite1",
                                 "efficientnet_lite2", "resnet50", "xception"]
    with pytest.raises(ValueError, match="unknown model 'vgg16'; choose one of"):
        load_model("vgg16")
    with pytest.raises(ValueError, match="weights must be 'imagenet' or None"):
        load_model("mobilenet", weights="random")


def test_missing_weights_name_the_file_the_place_and_the_fix(empty_cache):
    with pytest.raises(WeightsNotFoundError) as err:
        load_model("mobilenet")
    message = str(err.value)
    assert "mobilenet_7_5_224_tf.h5" in message and str(empty_cache) in message
    assert "shared/weights" in message and "download failed" in message
    with pytest.raises(WeightsNotFoundError,
                       match="resnet50_weights_tf_dim_ordering_tf_kernels.h5"):
        load_model("resnet50")


@pytest.mark.parametrize("name, module, size, layer", [
    ("resnet50", keras.applications.resnet50, 224, "conv5_block3_out"),
    ("xception", keras.applications.xception, 299, "block14_sepconv2_act"),
])
def test_internet_models_load_a_cached_weights_file_offline(empty_cache, name, module, size,
                                                            layer):
    from keras.src.legacy.saving import legacy_h5_format

    random_model = load_model(name, weights=None)
    assert random_model.input_size == (size, size)
    assert random_model.layer == layer
    assert layer in conv_layer_names(random_model.model)
    # Our preprocessing is Keras's own, and the advertised range is right.
    pixels = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype(np.float32)
    ours = np.asarray(random_model.preprocess(pixels))
    np.testing.assert_allclose(ours, module.preprocess_input(pixels.copy()), atol=1e-4)
    lo, hi = random_model.input_range
    corners = random_model.to_model_space([0, 0, 0]), random_model.to_model_space([255] * 3)
    assert lo - 1e-4 <= np.min(corners) and np.max(corners) <= hi + 1e-4

    # A weights file written into the cache loads with no network at all.
    with h5py.File(empty_cache / registry.MODELS[name].weights_file, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, random_model.model)
    registry._load.cache_clear()
    loaded = load_model(name)
    assert loaded is not random_model
    for a, b in zip(loaded.model.weights[:5], random_model.model.weights[:5]):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    e = explain(loaded, np.zeros((size, size, 3), np.uint8) + 128, "gradcam")
    assert e.extras["layer"] == layer and e.saliency.shape == (size, size)


@pytest.mark.weights
@pytest.mark.parametrize("shape", ["sequential", "functional"])
def test_gradcam_reaches_inside_a_nested_backbone(mobilenet, cat_on_grass, shape):
    from helpers import top_fraction_inside

    backbone = mobilenet.model
    if shape == "sequential":
        outer = keras.Sequential([keras.Input((224, 224, 3)), backbone])
    else:
        inputs = keras.Input((224, 224, 3))
        outer = keras.Model(inputs, keras.layers.Identity()(backbone(inputs)))
    wrapped = labkit.Classifier(outer, name=f"nested_{shape}", preprocess=mobilenet.preprocess,
                                input_range=mobilenet.input_range,
                                layer="conv_pw_13_relu", class_names=mobilenet.class_names)
    image, mask = cat_on_grass
    direct = explain(mobilenet, image, "gradcam")
    nested = explain(wrapped, image, "gradcam")
    np.testing.assert_allclose(nested.saliency, direct.saliency, rtol=1e-3, atol=1e-4)
    assert top_fraction_inside(nested.saliency, mask) > 2 * mask.mean()


def test_cam_methods_need_a_convolutional_layer():
    inputs = keras.Input((32, 32, 3))
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(inputs))
    dense = labkit.Classifier(keras.Model(inputs, outputs), name="dense", preprocess=lambda x: x,
                              input_range=(0, 255), layer=None, class_names=["a", "b"])
    image = np.zeros((32, 32, 3), np.uint8)
    for method in ("gradcam", "fem"):
        with pytest.raises(ValueError, match="no convolutional layer.*Use LIME or RISE"):
            explain(dense, image, method)
    assert explain(dense, image, "rise", num_masks=8, grid_size=4).saliency.shape == (32, 32)


def test_classifier_argument_checks(random_mobilenet):
    with pytest.raises(ValueError, match="use images\\[None\\] for one image"):
        random_mobilenet.predict(np.zeros((224, 224, 3)))
    with pytest.raises(ValueError, match="images is empty"):
        random_mobilenet.predict(np.zeros((0, 224, 224, 3)))
    with pytest.raises(ValueError, match="class index 1000 is outside 0..999"):
        random_mobilenet.class_index(1000)
    assert random_mobilenet.class_index("Egyptian_cat") == random_mobilenet.class_index("n02124075")
    with pytest.raises(ValueError, match="the model has 1000 outputs but 2 class names"):
        labkit.Classifier(random_mobilenet.model, name="x", preprocess=None, input_range=(0, 1),
                          layer=None, class_names=["a", "b"])


@pytest.mark.weights
def test_transfer_learning_trains_registers_and_explains(mobilenet, cat_on_grass):
    import skimage.data
    from skimage.transform import resize

    rng = np.random.default_rng(0)
    grass = (resize(skimage.data.grass(), (224, 224)) * 255).astype(np.uint8)
    objects = [(resize(im, (90, 120)) * 255).astype(np.uint8)
               for im in (skimage.data.chelsea(), skimage.data.coffee())]
    images, labels = [], []
    for label, obj in enumerate(objects):
        for _ in range(12):
            canvas = np.repeat(grass[..., None], 3, axis=2)
            r, c = rng.integers(0, 224 - 90), rng.integers(0, 224 - 120)
            canvas[r:r + 90, c:c + 120] = obj
            images.append(canvas)
            labels.append(label)
    clf, report = transfer(mobilenet, ["cat", "coffee"], np.stack(images), np.array(labels),
                           name="cat_vs_coffee", epochs=20, augment=1)
    assert report.val_accuracy >= 0.75 and report.n_val == 6
    assert ("frozen mobilenet: 2 classes, 18 training / 6 validation images, 20 epochs"
            in repr(report))
    table = report.confusion_table()
    assert list(table.index) == ["cat", "coffee"] and table.to_numpy().sum() == 6
    assert load_model("cat_vs_coffee") is clf and "cat_vs_coffee" in list_models()
    image, mask = cat_on_grass
    e = explain(clf, image, "gradcam")
    assert e.target_name == "cat"
    with pytest.raises(ValueError, match="labels must lie in 0..1"):
        transfer(mobilenet, ["cat", "coffee"], np.stack(images), np.array(labels) + 1)
    # validation_split=0: every image trains (tiny sets keep their own test images apart).
    everything, report = transfer(mobilenet, ["cat", "coffee"], np.stack(images),
                                  np.array(labels), name="cat_vs_coffee_all", epochs=5,
                                  augment=0, validation_split=0)
    assert report.n_train == 24 and report.n_val == 0 and np.isnan(report.val_accuracy)
    with pytest.raises(ValueError, match="validation_split must lie in"):
        transfer(mobilenet, ["cat", "coffee"], np.stack(images), np.array(labels),
                 validation_split=1.0)


def test_layer_table_lists_cam_targets_with_their_resolution(random_mobilenet):
    from labkit.models import layer_table

    table = layer_table(random_mobilenet)
    assert list(table.columns) == ["layer", "type", "resolution", "channels", "default"]
    assert list(table.layer) == conv_layer_names(random_mobilenet.model)
    last = table.set_index("layer").loc["conv_pw_13_relu"]
    assert (last.resolution, last.channels, last.default) == ("7 x 7", 768, True)
    assert table.default.sum() == 1
    assert table.resolution.iloc[0] == "112 x 112"  # the stem halves the 224 input


def test_random_weights_are_reproducible_by_seed():
    a = load_model("mobilenet", weights=None, seed=1)
    registry._load.cache_clear()
    b = load_model("mobilenet", weights=None, seed=1)
    c = load_model("mobilenet", weights=None, seed=2)
    assert a is not b
    for wa, wb in zip(a.model.weights[:3], b.model.weights[:3]):
        np.testing.assert_array_equal(wa.numpy(), wb.numpy())
    assert not np.array_equal(a.model.weights[0].numpy(), c.model.weights[0].numpy())
    with pytest.raises(TypeError, match="seed must be an integer for random weights"):
        load_model("mobilenet", weights=None, seed=None)
