"""Transfer learning: a new classification head on a frozen ImageNet backbone."""
import re
from dataclasses import dataclass

import numpy as np

from .._checks import check_fraction, check_int
from .._tf import keras, tf
from .classifier import Classifier, run_batched
from .registry import load_model, register


@dataclass(frozen=True)
class TransferReport:
    """How the head trained.

    Attributes
    ----------
    history : dict of list
        Keras training history per epoch (loss, accuracy, val_loss, val_accuracy).
    train_accuracy, val_accuracy : float
        Accuracy on the (un-augmented) training and validation images, in [0, 1].
    confusion : ndarray (K, K) int
        Validation confusion matrix, rows = true class, columns = prediction.
    n_train, n_val : int
    base : str
        Name of the frozen backbone.
    class_names : tuple of str
    """

    history: dict
    train_accuracy: float
    val_accuracy: float
    confusion: np.ndarray
    n_train: int
    n_val: int
    base: str = ""
    class_names: tuple = ()

    def __repr__(self):
        return (f"TransferReport(head on a frozen {self.base}: {len(self.class_names)} classes, "
                f"{self.n_train} training / {self.n_val} validation images, "
                f"{len(self.history.get('loss', []))} epochs; accuracy: training "
                f"{self.train_accuracy:.2f}, validation "
                + (f"{self.val_accuracy:.2f})" if self.n_val else "not measured)"))

    def confusion_table(self):
        """The validation confusion matrix as a labelled pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.confusion, index=pd.Index(self.class_names, name="true"),
                            columns=pd.Index(self.class_names, name="predicted"))


def _augment(images, copies, rng):
    """Light augmentation: horizontal flips and random crops of 80-100% of the side."""
    out = [images]
    h, w = images.shape[1:3]
    for _ in range(copies):
        batch = []
        for img in images:
            scale = rng.uniform(0.8, 1.0)
            ch, cw = int(h * scale), int(w * scale)
            r, c = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
            crop = img[r:r + ch, c:c + cw]
            if rng.random() < 0.5:
                crop = crop[:, ::-1]
            batch.append(tf.image.resize(crop[None].astype(np.float32), (h, w))[0].numpy())
        out.append(np.stack(batch))
    return np.concatenate(out)


def _split(labels, validation_split, rng):
    # Stratified: every class keeps the same share of validation images.
    val = np.zeros(len(labels), bool)
    if validation_split == 0:  # the caller keeps its own test set
        return ~val, val
    for k in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == k))
        val[idx[:max(1, round(len(idx) * validation_split))]] = True
    return ~val, val


def transfer(base, class_names, images, labels, *, name=None, validation_split=0.25, epochs=60,
             augment=2, dropout=0.2, learning_rate=1e-3, seed=0, progress=False):
    """Train a new head on a frozen ImageNet backbone and return it as a Classifier.

    The backbone is the registry model ``base`` cut at its ``layer`` (the last
    convolutional block). The head is global average pooling, dropout and a dense
    layer with one logit per class. Because the backbone is frozen, its features are
    computed once per (augmented) image and cached, and the head trains on the cache:
    seconds instead of minutes on a laptop CPU.

    The returned model is a chain ``input -> backbone (nested model) -> head``, the
    usual transfer-learning shape; Grad-CAM and FEM reach the nested backbone's layers.
    It is registered under ``name``, so ``load_model(name)`` returns it.

    Parameters
    ----------
    base : str or Classifier
        A registry name ("mobilenet", "efficientnet_lite0", ...) or a loaded model.
    class_names : sequence of str
        One name per class; ``labels`` index into it.
    images : ndarray (N, H, W, 3)
        RGB pixels in [0, 255]; resized to the backbone's input inside the graph.
    labels : ndarray (N,) int
    name : str, optional
        Registered name; default ``"<base>_transfer"``.
    validation_split : float in [0, 1)
        Share of images per class held out for validation (stratified, at least one
        image per class). 0 trains on every image, for tiny sets whose held-out test
        images the caller keeps apart; the report's validation accuracy is then nan.
    epochs : int
        Epochs over the cached features (cheap).
    augment : int, >= 0
        Augmented copies per training image (random flip and 80-100% crop).
    dropout, learning_rate : float
    seed : int
        Seeds the split, the augmentation, the head's initialisation and the shuffling.

    Returns
    -------
    classifier : Classifier
    report : TransferReport
    """
    base = load_model(base) if isinstance(base, str) else base
    class_names = [str(c) for c in class_names]
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must have shape (N, H, W, 3), got {images.shape}.")
    if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be {len(images)} integers, got {labels.dtype} "
                         f"{labels.shape}.")
    if len(class_names) < 2 or labels.min() < 0 or labels.max() >= len(class_names):
        raise ValueError(f"labels must lie in 0..{len(class_names) - 1} for {len(class_names)} "
                         "class names, and there must be at least two classes.")
    if validation_split != 0:
        check_fraction(validation_split, "validation_split")
    check_int(epochs, "epochs")
    check_int(augment, "augment", minimum=0)
    rng = np.random.default_rng(seed)
    train, val = _split(labels, validation_split, rng)

    backbone = keras.Model(base.model.input, base.model.get_layer(base.layer).output,
                           name=f"{base.name}_backbone")
    backbone.trainable = False
    features = tf.function(lambda px: backbone(base.preprocess(base.resize_to_input(px)),
                                               training=False))
    train_images = _augment(images[train], augment, rng)
    train_labels = np.tile(labels[train], augment + 1)
    train_features = run_batched(features, train_images, base.batch_size, progress=progress,
                                 desc="backbone features")
    validation = ((run_batched(features, images[val], base.batch_size), labels[val])
                  if val.any() else None)

    keras.utils.set_random_seed(seed)
    head = keras.Sequential([
        keras.Input(train_features.shape[1:]),
        keras.layers.GlobalAveragePooling2D(name="head_pool"),
        keras.layers.Dropout(dropout, name="head_dropout"),
        keras.layers.Dense(len(class_names), name="head_logits"),
    ], name="head")
    head.compile(optimizer=keras.optimizers.Adam(learning_rate),
                 loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                 metrics=["accuracy"])
    fit = head.fit(train_features, train_labels, validation_data=validation,
                   epochs=epochs, batch_size=32, shuffle=True, verbose=0)

    inputs = keras.Input(base.model.input_shape[1:], name="input")
    x = backbone(inputs)
    for layer in head.layers:
        x = layer(x)
    name = name or f"{base.name}_transfer"
    # A Keras name becomes a TensorFlow name scope when traced (OpenVINO's conversion does
    # that): no spaces or punctuation there; the Classifier keeps the name as given.
    model = keras.Model(inputs, x, name=re.sub(r"\W", "_", name))
    classifier = Classifier(model, name=name, preprocess=base.preprocess,
                            input_range=base.input_range, layer=base.layer,
                            class_names=class_names, batch_size=base.batch_size,
                            backend=base.requested_backend, precision=base.precision)

    val_pred = classifier.predict(images[val]).argmax(axis=1) if val.any() else labels[val]
    train_pred = classifier.predict(images[train]).argmax(axis=1)
    confusion = np.zeros((len(class_names),) * 2, int)
    np.add.at(confusion, (labels[val], val_pred), 1)
    report = TransferReport(
        history={k: [float(v) for v in vals] for k, vals in fit.history.items()},
        train_accuracy=float((train_pred == labels[train]).mean()),
        val_accuracy=float((val_pred == labels[val]).mean()) if val.any() else float("nan"),
        confusion=confusion, n_train=int(train.sum()), n_val=int(val.sum()),
        base=base.name, class_names=tuple(class_names),
    )
    return register(classifier), report
