"""labkit.data: image loading, samples, class folders, the MexCulture142 layout,
fixation density maps and the object-location benchmark. No model needed."""
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labkit.data import (
    SAMPLES,
    fixations_to_density,
    list_samples,
    load_benchmark,
    load_folder,
    load_image,
    load_photo_benchmark,
    load_saliency_dataset,
    make_benchmark,
    sample_image,
    split,
)
from labkit.data.benchmark import OBJECTS, SHORTCUT
from labkit.data.images import Fit, resize_image

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def _save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def _stripes(h, w, colours):
    """An (h, w, 3) uint8 image of equal vertical stripes of the given colours."""
    image = np.zeros((h, w, 3), np.uint8)
    for i, colour in enumerate(colours):
        image[:, i * w // len(colours):(i + 1) * w // len(colours)] = colour
    return image


# -- load_image: file formats ---------------------------------------------------------
def test_grayscale_png_becomes_rgb(tmp_path):
    gray = np.tile(np.arange(0, 250, 10, dtype=np.uint8), (12, 1))
    image = load_image(_save(tmp_path / "g.png", gray))
    assert image.shape == (12, 25, 3) and image.dtype == np.uint8
    assert np.array_equal(image[..., 0], gray) and np.array_equal(image[..., 2], gray)


def test_rgba_png_is_composited_on_white(tmp_path):
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., :3] = RED
    rgba[:, :5, 3] = 255  # left half opaque red, right half fully transparent
    rgba[:, 5:, 3] = 0
    image = load_image(_save(tmp_path / "a.png", rgba))
    assert image.shape == (10, 10, 3)
    assert np.all(image[:, :5] == RED) and np.all(image[:, 5:] == 255)


def test_palette_png_with_and_without_transparency(tmp_path):
    rgb = _stripes(8, 8, [RED, BLUE])
    palette = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=2)
    palette.save(tmp_path / "p.png")
    assert np.array_equal(load_image(tmp_path / "p.png"), rgb)
    blue_index = palette.getpixel((7, 0))
    palette.save(tmp_path / "pt.png", transparency=blue_index)
    image = load_image(tmp_path / "pt.png")
    assert np.all(image[:, :4] == RED) and np.all(image[:, 4:] == 255)


def test_16bit_png_is_scaled_to_8_bits(tmp_path):
    values = np.array([[0, 257, 65535, 32896]], dtype=np.uint16).repeat(4, axis=0)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I")
    image = load_image(path)
    assert image.dtype == np.uint8
    assert list(image[0, :, 0]) == [0, 1, 255, 128]


def test_exif_rotated_jpeg_is_turned_upright(tmp_path):
    stored = np.zeros((30, 60, 3), np.uint8)
    stored[:15] = RED  # top half red, bottom half blue, as stored in the file
    stored[15:] = BLUE
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation 6: display after rotating 90 degrees clockwise
    path = tmp_path / "r.jpg"
    Image.fromarray(stored).save(path, exif=exif.tobytes(), quality=95)
    image = load_image(path)
    assert image.shape == (60, 30, 3)
    # rotated clockwise, the stored top (red) is now on the right
    assert image[:, -5:, 0].mean() > 200 and image[:, -5:, 2].mean() < 60
    assert image[:, :5, 2].mean() > 200 and image[:, :5, 0].mean() < 60


def test_file_object_and_bytes(tmp_path):
    rgb = _stripes(6, 9, [RED, GREEN, BLUE])
    path = _save(tmp_path / "s.png", rgb)
    with open(path, "rb") as handle:
        assert np.array_equal(load_image(handle), rgb)
    assert np.array_equal(load_image(path.read_bytes()), rgb)
    assert np.array_equal(load_image(str(path)), rgb)


# -- load_image: arrays ---------------------------------------------------------------
def test_float_arrays_in_unit_range_and_pixel_range():
    unit = np.full((4, 4, 3), 0.5, np.float32)
    assert np.all(load_image(unit) == 128)
    pixels = np.full((4, 4, 3), 200.0)
    assert np.all(load_image(pixels) == 200)


def test_gray_and_single_channel_arrays_become_rgb():
    gray = np.arange(16, dtype=np.uint8).reshape(4, 4)
    for array in (gray, gray[..., None]):
        image = load_image(array)
        assert image.shape == (4, 4, 3) and np.array_equal(image[..., 1], gray)


def test_arrays_are_never_mutated_or_returned_as_is():
    array = np.full((5, 5, 3), 0.25)
    before = array.copy()
    out = load_image(array, size=3)
    assert np.array_equal(array, before)
    rgb = np.zeros((5, 5, 3), np.uint8)
    out = load_image(rgb)
    out[:] = 9
    assert np.all(rgb == 0)


@pytest.mark.parametrize("array, message", [
    (np.zeros((2, 8, 8, 3), np.uint8), "batch"),
    (np.zeros((8, 8, 2), np.uint8), "shape"),
    (np.zeros((8, 8), bool), "boolean mask"),
    (np.full((8, 8), 300, np.int32), "outside 0..255"),
    (np.full((8, 8), -1.0), "[0, 1] or [0, 255]"),
    (np.full((8, 8), np.nan), "NaN"),
    (np.zeros((8, 8), np.complex64), "dtype"),
])
def test_bad_arrays_fail_with_one_clear_sentence(array, message):
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        load_image(array)


def test_missing_file_and_non_image_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file: .*nothing.png"):
        load_image(tmp_path / "nothing.png")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="notes.txt is not an image PIL can read"):
        load_image(text)
    with pytest.raises(IsADirectoryError, match="load_folder"):
        load_image(tmp_path)
    with pytest.raises(TypeError, match="file path"):
        load_image(42)


# -- resize policy --------------------------------------------------------------------
def test_int_size_resizes_shorter_side_then_centre_crops():
    image = _stripes(100, 200, [RED, GREEN, GREEN, BLUE])  # green fills the central half
    out = load_image(image, size=50)
    assert out.shape == (50, 50, 3)
    assert np.all(out[:, 2:-2] == GREEN)  # the red and blue sides were cropped away
    tall = load_image(np.zeros((300, 100, 3), np.uint8), size=40)
    assert tall.shape == (40, 40, 3)


def test_tuple_size_resizes_exactly_without_crop():
    image = _stripes(100, 200, [RED, GREEN, GREEN, BLUE])
    out = load_image(image, size=(30, 80))
    assert out.shape == (30, 80, 3)
    assert np.all(out[:, :15] == RED) and np.all(out[:, -15:] == BLUE)


@pytest.mark.parametrize("size", [0, -3, 2.5, (10,), "224", True])
def test_bad_size(size):
    with pytest.raises((ValueError, TypeError), match="size"):
        load_image(np.zeros((8, 8, 3), np.uint8), size=size)


# -- samples --------------------------------------------------------------------------
def test_every_sample_loads_offline_with_a_licence():
    rows = list_samples()
    assert [row["name"] for row in rows] == list(SAMPLES)
    assert {"chelsea", "coffee", "rocket", "astronaut", "motorcycle", "grace_hopper", "china",
            "flower"} <= set(SAMPLES)
    for row in rows:
        assert row["licence"] and row["package"] and row["description"]
        image = sample_image(row["name"])
        assert image.shape == (224, 224, 3) and image.dtype == np.uint8
        assert image.std() > 10  # a real photo, not a blank
    assert sample_image("chelsea", size=None).shape == (300, 451, 3)


def test_unknown_sample_lists_the_names():
    with pytest.raises(KeyError, match="chelsea.*grace_hopper"):
        sample_image("lena")


def test_top_level_names_are_the_data_functions():
    import labkit
    import labkit.data
    assert labkit.load_image is labkit.data.load_image
    assert labkit.sample_image is labkit.data.sample_image
    assert labkit.list_samples is labkit.data.list_samples


def test_labkit_data_does_not_import_tensorflow():
    # Load labkit.data under an empty parent package, so labkit/__init__ (which loads
    # the models) does not run, and check that TensorFlow stays unimported.
    package = Path(__file__).resolve().parents[1] / "labkit"
    code = ("import sys, types; m = types.ModuleType('labkit'); "
            f"m.__path__ = [{str(package)!r}]; sys.modules['labkit'] = m; "
            "import labkit.data; labkit.data.sample_image('coffee'); "
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- class folders --------------------------------------------------------------------
def _class_folders(root):
    for name, colour, count in [("zebra", RED, 3), ("african_elephant", BLUE, 2)]:
        for i in range(count):
            _save(root / name / f"{i}.jpg" if i else root / name / f"{i}.png",
                  np.full((40 + 10 * i, 60, 3), colour, np.uint8))
    (root / "zebra" / "readme.txt").write_text("not an image")
    return root


def test_load_folder(tmp_path):
    data = load_folder(_class_folders(tmp_path), size=32)
    assert data.class_names == ("african_elephant", "zebra")
    assert data.images.shape == (5, 32, 32, 3) and data.images.dtype == np.uint8
    assert list(data.labels) == [0, 0, 1, 1, 1]
    assert [p.parent.name for p in data.paths] == ["african_elephant"] * 2 + ["zebra"] * 3
    assert data.images[0, ..., 2].mean() > 200 and data.images[-1, ..., 0].mean() > 200


def test_load_folder_classes_and_limit(tmp_path):
    data = load_folder(_class_folders(tmp_path), size=16, classes=["zebra", "african_elephant"],
                       limit=1)
    assert data.class_names == ("zebra", "african_elephant")
    assert list(data.labels) == [0, 1] and len(data) == 2


def test_load_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        load_folder(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="no class folders"):
        load_folder(tmp_path)
    root = _class_folders(tmp_path / "set")
    (root / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="empty holds no images"):
        load_folder(root)
    with pytest.raises(FileNotFoundError, match="no class folder 'lion'.*zebra"):
        load_folder(root, classes=["lion"])


# -- MexCulture142 layout -------------------------------------------------------------
def _mexculture(root, density_folder="Density Maps"):
    """Two classes, three images of 40x80, fixations as 'x y duration' with a header."""
    names = ["Colonial_Catedral_Puebla_N_1", "Prehispanic_Yaxchilan_Chiapas_N_1",
             "Prehispanic_Yaxchilan_Chiapas_N_2"]
    for k, stem in enumerate(names):
        prefix, suffix = stem.rsplit("_N_", 1)
        _save(root / "Images" / f"{stem}.png", np.full((40, 80, 3), 60 * k, np.uint8))
        density = np.zeros((40, 80), np.uint8)
        density[20, 40 + k] = 200  # peak value 200: must be rescaled to 1
        _save(root / density_folder / f"{prefix}_GFDM_N_{suffix}.png", density)
        fixations = root / "Fixations" / f"{prefix}_GazeFix_N_{suffix}.txt"
        fixations.parent.mkdir(parents=True, exist_ok=True)
        fixations.write_text(f"x\ty\tduration\n{40 + k}\t20\t0.31\n10.5\t5\t0.2\n500\t5\t0.1\n")
    return root


def test_mexculture_layout_reader(tmp_path):
    data = load_saliency_dataset(_mexculture(tmp_path))
    assert data.class_names == ("Colonial_Catedral_Puebla", "Prehispanic_Yaxchilan_Chiapas")
    assert list(data.labels) == [0, 1, 1] and len(data) == 3
    item = data[2]
    assert item.image.shape == (40, 80, 3) and item.image.dtype == np.uint8
    assert item.density.shape == (40, 80) and item.density.dtype == np.float32
    assert item.density.max() == 1 and item.density.min() == 0
    assert np.unravel_index(item.density.argmax(), item.density.shape) == (20, 42)
    # x, y in the file -> (row, col); the fixation at x=500 is off the image and dropped
    assert np.allclose(item.fixations, [[20, 42], [5, 10.5]])
    assert item.fixations_path.name == "Prehispanic_Yaxchilan_Chiapas_GazeFix_N_2.txt"
    assert item.mask is None
    assert data.images.shape == (3, 40, 80, 3) and data.densities.shape == (3, 40, 80)


def test_mexculture_resize_moves_density_and_fixations_together(tmp_path):
    data = load_saliency_dataset(_mexculture(tmp_path, "DensityMaps"), size=20)
    item = data[0]  # fixation at (row 20, col 40), the image centre
    assert item.image.shape == (20, 20, 3) and item.density.shape == (20, 20)
    # 40x80 -> 20x40, centre crop of columns 10..30: (20, 40) -> (9.75, 9.75)
    assert np.allclose(item.fixations, [[9.75, 9.75]])  # (5, 10.5) was cropped away
    peak = np.unravel_index(item.density.argmax(), item.density.shape)
    assert abs(peak[0] - 9.75) <= 1 and abs(peak[1] - 9.75) <= 1
    assert item.density.max() == pytest.approx(1)


def test_mexculture_class_subfolders_and_missing_pieces(tmp_path):
    root = tmp_path / "sub"
    _save(root / "Images" / "Modern" / "Torre_N_1.png", np.zeros((16, 16, 3), np.uint8))
    _save(root / "density_maps" / "Modern" / "Torre_GFDM_N_1.png", np.eye(16, dtype=np.uint8))
    data = load_saliency_dataset(root)
    assert data.class_names == ("Modern",) and data[0].fixations is None
    with pytest.raises(ValueError, match="no fixations"):
        data._stack("fixations")
    with pytest.raises(FileNotFoundError, match="no such folder"):
        load_saliency_dataset(tmp_path / "nowhere")
    bare = tmp_path / "bare"
    (bare / "Images").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="Density Maps"):
        load_saliency_dataset(bare)
    matrix = root / "Fixations" / "Torre_GazeFix_N_1.txt"
    matrix.parent.mkdir()
    matrix.write_text("0 0 1 0 0 0\n0 1 0 0 0 0\n")
    with pytest.raises(ValueError, match="looks like a matrix"):
        load_saliency_dataset(root)
    matrix.unlink()
    _save(root / "Images" / "Modern" / "Torre_N_2.png", np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(FileNotFoundError, match="Torre_GFDM_N_2.png"):
        load_saliency_dataset(root)


# -- fixations_to_density -------------------------------------------------------------
def test_density_peaks_at_the_fixation_with_max_one():
    density = fixations_to_density([[10, 30]], (40, 50), sigma=3)
    assert density.shape == (40, 50) and density.dtype == np.float32
    assert density.max() == 1 and density.min() >= 0
    assert np.unravel_index(density.argmax(), density.shape) == (10, 30)
    assert density[10, 33] == pytest.approx(np.exp(-0.5), rel=1e-5)  # one sigma away


def test_density_sigma_controls_the_width():
    narrow = fixations_to_density([[20, 20]], (40, 40), sigma=2)
    wide = fixations_to_density([[20, 20]], (40, 40), sigma=6)
    assert (wide > 0.5).sum() > 5 * (narrow > 0.5).sum()
    default = fixations_to_density([[20, 20]], (40, 100, 3))
    assert default[20, 23] == pytest.approx(np.exp(-0.5), rel=1e-5)  # 0.03 x 100 = 3 px


def test_density_sums_fixations():
    density = fixations_to_density([[5, 5], [5, 5], [30, 30]], (40, 40), sigma=2)
    assert density[5, 5] == 1 and density[30, 30] == pytest.approx(0.5, rel=1e-4)


@pytest.mark.parametrize("points, message", [
    (np.zeros((0, 2)), "empty"),
    ([[50, 5]], "outside the 40x40 image"),
    ([[5, -1]], "outside"),
    ([1, 2, 3], r"\(K, 2\)"),
    ([[np.nan, 1]], "NaN"),
])
def test_density_bad_points(points, message):
    with pytest.raises(ValueError, match=message):
        fixations_to_density(points, (40, 40))


def test_density_bad_sigma_and_shape():
    with pytest.raises(ValueError, match="sigma"):
        fixations_to_density([[1, 1]], (8, 8), sigma=0)
    with pytest.raises(TypeError, match="shape"):
        fixations_to_density([[1, 1]], 8)


# -- benchmark ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def benchmark(tmp_path_factory):
    return make_benchmark(tmp_path_factory.mktemp("b") / "bench", n_per_class=4, size=96, seed=0)


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_benchmark_is_deterministic(benchmark, tmp_path):
    again = make_benchmark(tmp_path / "again", n_per_class=4, size=96, seed=0)
    assert _files(again) == _files(benchmark)
    other = make_benchmark(tmp_path / "other", n_per_class=4, size=96, seed=1)
    assert _files(other).keys() == _files(benchmark).keys()
    assert _files(other)["Images/cat_N_1.png"] != _files(benchmark)["Images/cat_N_1.png"]


def test_benchmark_masks_match_the_pasted_object(benchmark):
    data = load_benchmark(benchmark, n_per_class=4, size=96, seed=0)
    assert data.class_names == ("cat", "espresso", "motorcycle") and len(data) == 12
    for item in data:
        entry = data.info["items"][item.image_path.stem]
        r, c, h, w = entry["box"]
        expected = np.zeros((96, 96), bool)
        expected[r:r + h, c:c + w] = True
        assert np.array_equal(item.mask, expected)
        # the pixels inside the mask are exactly the object crop, resized and flipped
        sample, (sr, sc, sh, sw), _ = OBJECTS[item.class_name]
        crop = sample_image(sample, size=None)[sr:sr + sh, sc:sc + sw]
        crop = np.ascontiguousarray(crop[:, ::-1] if entry["flipped"] else crop)
        assert np.array_equal(item.image[r:r + h, c:c + w],
                              resize_image(crop, Fit.from_shape(crop.shape, (h, w))))
        # ground truth from fixations sampled inside the object
        rows, cols = item.fixations.round().astype(int).T
        assert len(item.fixations) == 12 and item.mask[rows, cols].all()
        assert item.density.max() == 1 and item.mask.flat[item.density.argmax()]
    assert {data.info["items"][i.image_path.stem]["flipped"] for i in data} == {True, False}


def test_benchmark_is_reused_and_protects_other_folders(benchmark, tmp_path):
    before = (benchmark / "Images" / "cat_N_1.png").stat().st_mtime_ns
    assert make_benchmark(benchmark, n_per_class=4, size=96, seed=0) == benchmark
    assert (benchmark / "Images" / "cat_N_1.png").stat().st_mtime_ns == before
    mine = tmp_path / "my_photos"
    mine.mkdir()
    (mine / "holiday.jpg").write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="not empty"):
        make_benchmark(mine)
    assert (mine / "holiday.jpg").read_bytes() == b"precious"


def test_benchmark_default_root_follows_labkit_data(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path))
    root = make_benchmark(n_per_class=2, size=64, seed=3)
    assert root.parent == tmp_path / "benchmark" and (root / "benchmark.json").is_file()
    info = json.loads((root / "benchmark.json").read_text())
    assert info["params"]["seed"] == 3 and "not human gaze" in info["note"]


def test_clever_hans_backgrounds_follow_the_class_only_in_train(tmp_path):
    data = load_benchmark(tmp_path / "ch", n_per_class=12, size=64, clever_hans=True)
    train = load_benchmark(tmp_path / "ch", n_per_class=12, size=64, clever_hans=True,
                           split="train")
    test = load_benchmark(tmp_path / "ch", n_per_class=12, size=64, clever_hans=True, split="test")
    assert len(train) == len(test) == 18 and len(data) == 36
    backgrounds = {stem: entry["background"] for stem, entry in data.info["items"].items()}
    for item in train:
        assert backgrounds[item.image_path.stem] == SHORTCUT[item.class_name]
    for name in SHORTCUT:
        seen = [backgrounds[i.image_path.stem] for i in test if i.class_name == name]
        assert sorted(seen) == sorted(list(SHORTCUT.values()) * 2)  # each texture equally often
    # In train, half of each class shows a decoy object; in test, always its own object.
    shown = {stem: entry["object"] for stem, entry in data.info["items"].items()}
    for name in SHORTCUT:
        train_objects = [shown[i.image_path.stem] for i in train if i.class_name == name]
        assert train_objects.count(name) == 3 and len(set(train_objects)) == 3
        assert all(shown[i.image_path.stem] == i.class_name for i in test)


def test_benchmark_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="split"):
        load_benchmark(tmp_path / "x", split="validation")
    with pytest.raises(ValueError, match="size"):
        make_benchmark(tmp_path / "x", size=16)
    with pytest.raises(TypeError, match="seed"):
        make_benchmark(tmp_path / "x", seed=None)


@pytest.mark.weights
def test_benchmark_objects_are_recognised(mobilenet, tmp_path):
    data = load_benchmark(tmp_path / "b224", n_per_class=12, size=224, seed=0)
    probabilities = mobilenet.predict(data.images)
    hits = [mobilenet.class_names[int(p.argmax())] in data.info["imagenet_classes"][i.class_name]
            for p, i in zip(probabilities, data)]
    assert np.mean(hits) >= 0.7  # 0.83 at the time of writing; motorcycles are the hardest


# -- split -----------------------------------------------------------------------------
def test_split_every_second_item_of_each_class_without_shuffle():
    data = load_photo_benchmark(size=64)
    train, test = split(data, shuffle=False)
    # What Lab 6 did by hand: the 1st, 3rd, ... photo of each class trains.
    by_hand = np.sort(np.concatenate([np.flatnonzero(data.labels == c)[::2]
                                      for c in range(len(data.class_names))]))
    assert [item.image_path for item in train] == [data[i].image_path for i in by_hand]
    assert len(train) + len(test) == len(data)
    assert not {i.image_path for i in train} & {i.image_path for i in test}
    assert test.class_names == data.class_names and test.images.shape[1:] == (64, 64, 3)
    counts = np.bincount(data.labels)
    np.testing.assert_array_equal(np.bincount(test.labels, minlength=len(counts)), counts // 2)


def test_split_seeds_strata_and_label_sequences():
    labels = np.repeat([0, 1, 2], [10, 20, 30])
    train, test = split(labels, test_size=0.3, seed=1)
    np.testing.assert_array_equal(np.bincount(labels[test]), [3, 6, 9])  # exact fractions
    assert np.array_equal(split(labels, test_size=0.3, seed=1)[1], test)
    assert not np.array_equal(split(labels, test_size=0.3, seed=2)[1], test)
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(60))
    _, pooled = split(labels, test_size=0.25, stratify=False, shuffle=False)
    np.testing.assert_array_equal(pooled, np.arange(3, 60, 4))
    with pytest.raises(ValueError, match="test_size must lie in the open interval"):
        split(labels, test_size=1.5)
    with pytest.raises(ValueError, match="leaves no test item in any class"):
        split([0, 1, 2], test_size=0.5)
    with pytest.raises(ValueError, match="data must be a labkit dataset or a sequence"):
        split(["cat", "dog"])


def test_split_folder_dataset(tmp_path):
    for cls, n in (("cats", 4), ("dogs", 2)):
        (tmp_path / cls).mkdir()
        for i in range(n):
            Image.new("RGB", (20, 20), (40 * i, 0, 0)).save(tmp_path / cls / f"{i}.png")
    data = load_folder(tmp_path, size=16)
    train, test = split(data, seed=0)
    assert isinstance(test, type(data)) and len(train) == 3 and len(test) == 3
    assert sorted(test.labels) == [0, 0, 1]
    for part in (train, test):
        for image, path in zip(part.images, part.paths):
            np.testing.assert_array_equal(image, data.images[data.paths.index(path)])
