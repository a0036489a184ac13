"""The bundled photo benchmark: real COCO photos with human-drawn masks and their licences."""
import fnmatch
import json
import re
from pathlib import Path

import numpy as np
import pytest
import tomllib
from PIL import Image

from labkit.data import load_photo_benchmark, photo_benchmark_root
from labkit.data.images import resize_mask
from labkit.data.photo_benchmark import ALLOWED_LICENCES, KEEP, object_fit

ROOT = photo_benchmark_root()
INFO = json.loads((ROOT / "groundtruth.json").read_text(encoding="utf-8"))
CLASSES = ("bear", "bird", "cat", "dog", "elephant")


@pytest.fixture(scope="module")
def data():
    return load_photo_benchmark()


def test_loads_offline_as_stackable_arrays(data):
    n = len(INFO["items"])
    assert n >= 16 and data.class_names == CLASSES
    assert data.images.shape == (n, 224, 224, 3) and data.images.dtype == np.uint8
    assert data.masks.shape == (n, 224, 224) and data.masks.dtype == bool
    assert data.densities.shape == (n, 224, 224) and data.densities.dtype == np.float32
    assert sorted(set(data.labels.tolist())) == list(range(len(CLASSES)))
    for item in data:
        assert set(INFO["imagenet_classes"][item.class_name]) <= set(_imagenet_names())
        assert data.info["items"][item.image_path.stem]["fit"] in ("centre", "object", "letterbox")
    assert sum(data.info["counts"].values()) == n


def test_masks_cover_part_of_the_image(data):
    for item in data:
        share = item.mask.mean()
        assert 0.005 < share < 0.95, (item.image_path.name, share)


def test_native_size_files_match_and_stay_small():
    data = load_photo_benchmark(size=None)
    for item in data:
        h, w = item.image.shape[:2]
        assert max(h, w) <= 640
        assert item.mask.shape == (h, w) == item.density.shape
        meta = INFO["items"][item.image_path.stem]
        assert [h, w] == meta["size"]
        assert abs(item.mask.mean() - meta["mask_fraction"]) < 1e-3


def test_density_is_the_blurred_mask_peaking_on_the_object(data):
    for item in data:
        d = item.density
        assert d.min() >= 0 and d.max() == pytest.approx(1.0, abs=1e-6)
        peak = np.unravel_index(np.argmax(d), d.shape)
        assert item.mask[peak], item.image_path.name
        assert d[item.mask].mean() > 3 * d[~item.mask].mean(), item.image_path.name


def test_crop_keeps_the_object_in_view():
    for item in load_photo_benchmark(size=None):
        fit, kind = object_fit(item.mask, 224)
        kept = resize_mask(item.mask, fit).sum() / (item.mask.sum() * np.prod(fit.scale))
        assert kept >= KEEP - 0.05, (item.image_path.name, kind, kept)


def test_object_fit_moves_then_letterboxes():
    mask = np.zeros((100, 300), bool)
    mask[40:60, 5:40] = True                      # at the left edge: centre crop loses it
    fit, kind = object_fit(mask, 50)
    assert kind == "object" and resize_mask(mask, fit).sum() > 0
    wide = np.zeros((100, 300), bool)
    wide[40:60, 10:290] = True                    # wider than any square: letterbox
    fit, kind = object_fit(wide, 50)
    kept = resize_mask(wide, fit)
    assert kind == "letterbox" and kept.shape == (50, 50)
    assert kept[:, 2].any() and kept[:, -3].any() and not kept[:10].any()
    centred = np.zeros((100, 100), bool)
    centred[30:70, 30:70] = True
    assert object_fit(centred, 50)[1] == "centre"


def test_classes_filter_and_bad_class():
    some = load_photo_benchmark(classes=["elephant", "bear"])
    assert some.class_names == ("bear", "elephant")
    assert {item.class_name for item in some} == {"bear", "elephant"}
    assert set(some.info["items"]) == {item.image_path.stem for item in some}
    with pytest.raises(ValueError, match="unknown class.*zebra"):
        load_photo_benchmark(classes=["zebra"])


def test_every_photo_is_attributed_with_an_allowed_licence():
    text = (ROOT / "ATTRIBUTION.md").read_text(encoding="utf-8")
    rows = {m.group(1): m.group(0)
            for m in re.finditer(r"^\| `Images/(\w+)\.jpg` \|.*$", text, re.M)}
    images = {p.stem for p in (ROOT / "Images").iterdir()}
    assert images == set(rows) == set(INFO["items"])
    for stem, row in rows.items():
        meta = INFO["items"][stem]
        cells = [c.strip() for c in row.strip("|").split("|")]
        licence_id = int(cells[3].split(":")[0])
        assert licence_id in ALLOWED_LICENCES and licence_id == meta["license_id"]
        assert meta["license_name"] == ALLOWED_LICENCES[licence_id]
        assert str(meta["coco_id"]) == cells[2] and meta["flickr_url"] in cells[4]
        assert re.fullmatch(r"[0-9a-f]{40}", meta["source"]["annotation_commit"])
        assert meta["annotation_licence"].startswith("CC BY 4.0")
    for needed in ("CC BY 4.0", "COCO Consortium", "creativecommons.org/licenses/by/2.0",
                   "creativecommons.org/licenses/by-sa/2.0"):
        assert needed in text


def test_files_are_valid_and_installed_as_package_data():
    for path in (ROOT / "Images").iterdir():
        with Image.open(path) as image:
            assert image.format == "JPEG" and max(image.size) <= 640
    for folder in ("Masks", "Density Maps"):
        for path in (ROOT / folder).iterdir():
            with Image.open(path) as image:
                assert image.format == "PNG" and image.mode == "L"
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["labkit"]
    package = ROOT.parents[1]
    for path in ROOT.rglob("*"):
        if path.is_file():
            relative = path.relative_to(package).as_posix()
            assert any(fnmatch.fnmatch(relative, g) for g in globs), relative


def _imagenet_names():
    from labkit.models import imagenet_classes
    return imagenet_classes()[1]


@pytest.mark.weights
@pytest.mark.slow
def test_real_models_recognise_and_gradcam_points_at_the_object(data, mobilenet):
    import labkit
    from labkit.metrics import pointing_game
    for model in (labkit.load_model("efficientnet_lite0"), mobilenet):
        probs = model.predict(data.images)
        top5_right, hits = [], []
        for item, p in zip(data, probs):
            correct = [model.class_names.index(n)
                       for n in INFO["imagenet_classes"][item.class_name]]
            top5_right.append(bool(set(np.argsort(p)[-5:]) & set(correct)))
            # Explain the best-ranked correct class; 15 px tolerance at 224 as in Zhang et al. 2018.
            target = correct[int(np.argmax(p[correct]))]
            explanation = labkit.explain(model, item.image, "gradcam", target=target)
            hits.append(pointing_game(explanation, item.mask, tolerance=15))
        assert np.mean(top5_right) >= 0.7, (model.name, top5_right)
        assert np.mean(hits) >= 0.75, (model.name, hits)
