"""The camera-trap photos shipped in labkit/data/photos, their attribution, and
labkit.data.course_images (the course's class folders, or the shipped photos)."""
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labkit.data import SAMPLES, CourseImages, course_images, list_samples, load_image, sample_image

PHOTOS = Path(__file__).resolve().parents[1] / "labkit" / "data" / "photos"
ATTRIBUTION = PHOTOS / "ATTRIBUTION.md"
# Licences a shipped photo may carry: its own licence, traceable to its source.
ALLOWED = ("CDLA-Permissive-1.0", "CC0", "Public domain", "CC BY 2.0", "CC BY 4.0",
           "CC BY-SA 2.0", "CC BY-SA 4.0")
LICENCE_TEXT_HEADINGS = {"CDLA-Permissive-1.0": "Community Data License Agreement - Permissive"}


def _shipped():
    return sorted(PHOTOS.glob("*.jpg"))


def _section(name):
    """The ATTRIBUTION.md section of one file: from its heading to the next heading."""
    text = ATTRIBUTION.read_text(encoding="utf-8")
    match = re.search(rf"^### `{re.escape(name)}`\n(.*?)(?=^##)", text, re.S | re.M)
    assert match, f"{name} has no section in ATTRIBUTION.md"
    return match.group(1)


# -- the shipped photos ---------------------------------------------------------------
def test_every_shipped_photo_is_a_small_jpeg_and_a_sample():
    files = _shipped()
    assert len(files) >= 10
    for path in files:
        with Image.open(path) as im:
            assert im.format == "JPEG" and max(im.size) <= 640 and min(im.size) >= 224
        assert SAMPLES[path.stem].package == "labkit"
        image = sample_image(path.stem, size=None)
        assert image.shape[2] == 3 and max(image.shape[:2]) <= 640
        assert image.std() > 10  # a real photo, not a blank
    # ...and every photo sample has its file (the COCO ones live in the photo benchmark).
    assert {s.name for s in SAMPLES.values()
            if s.package == "labkit" and not s.origin.startswith("Microsoft COCO")} == \
        {p.stem for p in files}


def test_coco_samples_are_photo_benchmark_images_with_their_attribution():
    from labkit.data import load_photo_benchmark
    coco = [s for s in SAMPLES.values() if s.origin.startswith("Microsoft COCO")]
    assert {s.imagenet_class for s in coco} == {"African elephant", "American black bear"}
    text = (ATTRIBUTION.parent.parent / "groundtruth" / "ATTRIBUTION.md").read_text("utf-8")
    bench = {item.image_path.stem: item.image for item in load_photo_benchmark(size=None)}
    for sample in coco:
        coco_id = re.search(r"/0*(\d+)\.jpg", sample.origin).group(1)
        row = next(line for line in text.splitlines() if f"| {coco_id} |" in line)
        url = {"CC BY 2.0": "/licenses/by/2.0/", "CC BY-SA 2.0": "/licenses/by-sa/2.0/"}
        assert url[sample.licence] in row  # the licence COCO records for the photo
        stem = re.search(r"Images/(\w+)\.jpg", row).group(1)
        np.testing.assert_array_equal(sample_image(sample.name, size=None), bench[stem])


def test_every_shipped_photo_is_attributed_with_an_allowed_licence():
    text = ATTRIBUTION.read_text(encoding="utf-8")
    for path in _shipped():
        sample = SAMPLES[path.stem]
        section = _section(path.name)
        licence = re.search(r"\*\*Licence\*\*: (.+)", section).group(1).strip()
        assert licence in ALLOWED and licence == sample.licence
        assert re.search(r"\*\*Origin\*\*: \S+/\S+ @[0-9a-f]{40}, \S+", section), path.name
        assert "640 px" in section and "quality 90" in section  # the changes are stated
        assert sample.origin in section and sample.author in section
        assert "Top-3, efficientnet_lite0" in section and "Top-3, mobilenet" in section
        if licence in LICENCE_TEXT_HEADINGS:  # the licence text ships with the photos
            assert LICENCE_TEXT_HEADINGS[licence] in text.split("## Licence text")[-1]


def test_every_sample_has_the_fields_and_a_real_imagenet_class():
    from labkit.models import imagenet_classes
    names = set(imagenet_classes()[1])
    for row in list_samples():
        assert set(row) >= {"name", "imagenet_class", "licence", "author", "origin",
                            "description"}
        assert row["name"] and row["licence"] and row["author"] and row["origin"]
        assert row["description"]
        assert row["imagenet_class"] is None or row["imagenet_class"] in names


def test_the_course_classes_have_shipped_photos():
    elephants = list_samples(imagenet_class="African elephant")
    bears = list_samples(imagenet_class="american BLACK bear")  # case does not matter
    assert len(elephants) >= 5 and len(bears) >= 1
    assert {row["imagenet_class"] for row in elephants} == {"African elephant"}
    assert all(row["package"] == "labkit" for row in elephants + bears)


def test_list_samples_names_the_classes_it_has_when_none_match():
    with pytest.raises(ValueError, match="zebra.*African elephant.*American black bear"):
        list_samples(imagenet_class="zebra")


@pytest.mark.weights
@pytest.mark.slow
@pytest.mark.parametrize("model_name", ["efficientnet_lite0", "mobilenet"])
def test_the_offline_models_see_the_shipped_elephants_and_the_black_cattle(model_name, request):
    model = request.getfixturevalue("mobilenet") if model_name == "mobilenet" else None
    if model is None:
        from labkit.models import load_model
        model = load_model(model_name)
    elephants = [row["name"] for row in list_samples(imagenet_class="African elephant")]
    in_top5 = [name for name in elephants
               if "African elephant" in [p.name for p in model.top_k(sample_image(name), 5)]]
    assert len(in_top5) >= 2, (model_name, in_top5)
    # The documented mistake: black cattle in a forest are taken for a black bear.
    assert model.top_k(sample_image("cattle_forest"), 1)[0].name == "American black bear"


# -- course_images ------------------------------------------------------------------------
def _course_folders(root, names=("African elephants", "Black-Bear")):
    """Class folders with real pixels: two shipped elephants, two copies of the bear."""
    elephant, bear = (root / name for name in names)
    elephant.mkdir(parents=True)
    bear.mkdir()
    shutil.copy(PHOTOS / "elephant_legs.jpg", elephant / "e2.jpg")
    shutil.copy(PHOTOS / "elephant_herd.jpg", elephant / "e1.jpg")
    (elephant / "notes.txt").write_text("not an image")
    shutil.copy(PHOTOS / "black_bear_night.jpg", bear / "b1.jpg")
    Image.open(PHOTOS / "black_bear_night.jpg").save(bear / "b2.png")
    return elephant, bear


def test_course_images_reads_the_class_folders(tmp_path):
    elephant, bear = _course_folders(tmp_path)
    course = course_images(tmp_path)
    assert isinstance(course, CourseImages) and course.source == "folders"
    assert course.root == tmp_path
    assert course.folders == {"African_elephant": elephant, "black_bear": bear}
    assert list(course) == ["African_elephant", "black_bear"]
    assert list(course["African_elephant"]) == ["e1.jpg", "e2.jpg"]  # sorted, .txt ignored
    assert list(course["black_bear"]) == ["b1.jpg", "b2.png"]
    expected = load_image(elephant / "e2.jpg", size=224)
    assert np.array_equal(course["African_elephant"]["e2.jpg"], expected)
    assert course["black_bear"]["b1.jpg"].shape == (224, 224, 3)
    assert "source='folders'" in repr(course) and "African_elephant: 2" in repr(course)


@pytest.mark.parametrize("names", [("African_elephant", "black_bear"),
                                   ("elephant", "bears"),
                                   ("african-elephant", "American black bear")])
def test_course_images_accepts_the_documented_folder_names(tmp_path, names):
    _course_folders(tmp_path, names)
    course = course_images(tmp_path, size=(100, 120), limit=1)
    assert course.source == "folders"
    assert [len(v) for v in course.values()] == [1, 1]
    assert course["African_elephant"]["e1.jpg"].shape == (100, 120, 3)


def test_course_images_falls_back_on_the_shipped_photos(tmp_path):
    (tmp_path / "README.md").write_text("drop the course set here")
    (tmp_path / "MexCulture142").mkdir()  # other data sets do not count as class folders
    for root in (tmp_path, tmp_path / "missing"):
        course = course_images(root)
        assert course.source == "samples" and course.folders == {}
        elephants = course["African_elephant"]
        assert list(elephants) == [r["name"]
                                   for r in list_samples(imagenet_class="African elephant")]
        assert np.array_equal(elephants["elephant_herd"], sample_image("elephant_herd"))
        assert list(course["black_bear"]) == ["black_bear_grass", "black_bear_night"]
    assert [len(v) for v in course_images(root, limit=1).values()] == [1, 1]
    # Any class spelt as an ImageNet class with a shipped photo falls back too.
    assert list(course_images(tmp_path, classes=["ox"])["ox"]) == ["cattle_forest"]


def test_course_images_errors_name_the_problem_and_the_fix(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        course_images(tmp_path / "file.txt")
    with pytest.raises(ValueError, match="no folder for class 'zebra'.*African elephant"):
        course_images(tmp_path, classes=["zebra"])
    with pytest.raises(TypeError, match="not the string"):
        course_images(tmp_path, classes="black_bear")
    with pytest.raises(ValueError, match="size must be given"):
        course_images(tmp_path, size=None)
    with pytest.raises(ValueError, match="limit"):
        course_images(tmp_path, limit=0)
    (tmp_path / "elephant").mkdir()
    shutil.copy(PHOTOS / "elephant_herd.jpg", tmp_path / "elephant" / "e.jpg")
    with pytest.raises(FileNotFoundError, match="none for black_bear.*leave that class out"):
        course_images(tmp_path)
    (tmp_path / "African_elephant").mkdir()
    with pytest.raises(ValueError, match="several folders.*African_elephant, elephant"):
        course_images(tmp_path, classes=["African_elephant"])
    shutil.rmtree(tmp_path / "elephant")
    with pytest.raises(FileNotFoundError, match="holds no images"):
        course_images(tmp_path, classes=["African_elephant"])
