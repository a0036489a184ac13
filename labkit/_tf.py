"""Import TensorFlow and Keras once, quietly.

TensorFlow's C++ start-up lines (CUDA probing, oneDNN notices) are written straight
to file descriptor 2, so Jupyter shows them as cell output and nbval compares them.
Silencing them needs the descriptor itself redirected while the import runs.
"""
import contextlib
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


@contextlib.contextmanager
def _stderr_to_devnull():
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


with _stderr_to_devnull():
    import keras  # noqa: E402
    import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")
if keras.backend.backend() != "tensorflow":
    raise ImportError(
        f"labkit needs the TensorFlow backend of Keras, but KERAS_BACKEND is "
        f"{keras.backend.backend()!r}. Unset KERAS_BACKEND or set it to 'tensorflow'."
    )

__all__ = ["tf", "keras"]
