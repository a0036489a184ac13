"""Photos that ship inside installed packages, so every lab runs offline: a few from
scikit-image, matplotlib and scikit-learn, and the camera-trap photos in
``labkit/data/photos/`` (sources and licences in ``photos/ATTRIBUTION.md``)."""
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

from .images import load_image


@dataclass(frozen=True)
class Sample:
    """One bundled photo and where it comes from.

    ``imagenet_class`` is the ImageNet-1k class the photo shows, spelt as in
    ``labkit.models.imagenet_classes()[1]`` (e.g. "African elephant"); None when no
    ImageNet class fits. It is what a person sees, not what a model predicts: the
    description says where the offline models disagree.
    """

    name: str
    package: str
    licence: str
    author: str
    origin: str
    description: str
    imagenet_class: str | None
    load: Callable


def _skimage(name):
    def load():
        import skimage.data
        return getattr(skimage.data, name)()
    return load


def _motorcycle():
    import skimage.data
    return skimage.data.stereo_motorcycle()[0]


def _grace_hopper():
    from matplotlib.cbook import get_sample_data
    return get_sample_data("grace_hopper.jpg", asfileobj=False)


def _sklearn(filename):
    def load():
        from sklearn.datasets import load_sample_image
        return load_sample_image(filename)
    return load


def _photo(name, folder="photos"):
    # Read the bytes through importlib.resources so the photos load from a wheel or a zip too.
    def load():
        return load_image(resources.files(__package__).joinpath(folder, f"{name}.jpg").read_bytes())
    return load


# Camera-trap photos shipped in labkit/data/photos/ (resized to <= 640 px, JPEG quality 90).
# Each one's source, licence and the offline models' top-3 are in photos/ATTRIBUTION.md.
_CAMERATRAPAI = "google/cameratrapai @6520b8368750604257c87e59284c6c735d95b006, test_data/"
_CAMERATRAPS = ("microsoft/CameraTraps @56d0c16214182934dc832485c1629f48bd7420cf, "
                "api/detector_synchronous/example/sample_input/test_images/")
_GALLERY = ("microsoft/CameraTraps @9b1d4764c87b8b747fea446704e642970cf78a1e, "
            "demo/static/gallery/")
_SERENGETI = "Snapshot Serengeti (University of Minnesota Lion Center; Swanson et al. 2015)"
_NACTI = "North American Camera Trap Images (NACTI; Tabak et al. 2019)"
_CDLA = "CDLA-Permissive-1.0"
# Two COCO photos of the photo benchmark double as samples (the clearest elephant and black
# bear we could license); their sources are in groundtruth/ATTRIBUTION.md.
_COCO = "Microsoft COCO 2017 (Lin et al. 2014), see labkit/data/groundtruth/ATTRIBUTION.md: "
PHOTOS = [
    Sample("elephant_waterhole", "labkit", "CC BY-SA 2.0", "Flickr photographer of COCO 286994",
           _COCO + "val2017/000000286994.jpg, http://farm3.staticflickr.com/2879/"
           "9593058971_c198b320ee_z.jpg",
           "An African elephant drinking at a waterhole, more elephants and acacias behind, "
           "daytime. efficientnet_lite0: African elephant; mobilenet: water buffalo (African "
           "elephant in its top 5).", "African elephant",
           _photo("Images/elephant_N_3", folder="groundtruth")),
    Sample("elephant_grass", "labkit", _CDLA, _SERENGETI,
           _GALLERY + "S5_E01_R3_IMAG0336.JPG; Snapshot Serengeti via LILA BC (identified by "
           "its Snapshot Serengeti image ID)",
           "An African elephant in profile, trunk curled, in tall dry grass under a blue sky, "
           "daytime. efficientnet_lite0: tusker; mobilenet: African elephant (tusker second).",
           "African elephant", _photo("elephant_grass")),
    Sample("elephant_legs", "labkit", _CDLA, _SERENGETI,
           _CAMERATRAPS + "S1_D04_R6_PICT0020.JPG; Snapshot Serengeti via LILA BC",
           "Close-up of an African elephant's legs and belly passing the camera at sunset, "
           "savanna and acacias behind. efficientnet_lite0: African elephant; mobilenet: Indian "
           "elephant (skin texture alone does not tell the species).", "African elephant",
           _photo("elephant_legs")),
    Sample("elephant_foot", "labkit", _CDLA, _SERENGETI,
           _CAMERATRAPS + "S1_D04_R6_PICT0022.JPG; Snapshot Serengeti via LILA BC",
           "The same elephant one second later, a foot lifted towards the camera. "
           "efficientnet_lite0: African elephant; mobilenet: tusker.", "African elephant",
           _photo("elephant_foot")),
    Sample("elephant_dusk", "labkit", _CDLA, _SERENGETI,
           _GALLERY + "S6_J06_R2_IMAG0033.JPG; Snapshot Serengeti via LILA BC (identified by "
           "its Snapshot Serengeti image ID)",
           "An African elephant facing the camera on an open grass plain at dusk, backlit, its "
           "long shadow in front. Both models say Indian elephant (African elephant third).",
           "African elephant", _photo("elephant_dusk")),
    Sample("elephant_herd", "labkit", _CDLA, _SERENGETI,
           _CAMERATRAPAI + "african_elephants.jpg; Snapshot Serengeti via LILA BC",
           "A herd of African elephants, small in a dry savanna with bare trees, daytime. Both "
           "offline models rank warthog first, African elephant only third: the animals are "
           "small, the dry grass dominates.", "African elephant", _photo("elephant_herd")),
    Sample("black_bear_grass", "labkit", "CC BY-SA 2.0", "Flickr photographer of COCO 229997",
           _COCO + "val2017/000000229997.jpg, http://farm3.staticflickr.com/2771/"
           "4517379000_2189421767_z.jpg",
           "An American black bear sitting in green grass among black vultures, daytime. "
           "efficientnet_lite0: American black bear; mobilenet: chimpanzee (black bear in its "
           "top 5): black birds and a black bear share the colour that matters.",
           "American black bear", _photo("Images/bear_N_1", folder="groundtruth")),
    Sample("black_bear_night", "labkit", _CDLA, _NACTI,
           _CAMERATRAPAI + "american_black_bear.jpg; NACTI via LILA BC",
           "An American black bear in a conifer forest at night, infrared (greyscale). Both "
           "models get it wrong (Arctic fox, hog, ice bear): grey fur under infrared looks "
           "white.", "American black bear", _photo("black_bear_night")),
    Sample("cattle_forest", "labkit", _CDLA, _NACTI,
           _CAMERATRAPAI + "domestic_cattle.jpg; NACTI via LILA BC",
           "Black cattle grazing in a conifer forest, daytime. Both models say American black "
           "bear: a black animal in a forest, wrong for a reason an explanation can show.",
           "ox", _photo("cattle_forest")),
    Sample("german_shepherd", "labkit", _CDLA, _NACTI,
           _CAMERATRAPAI + "domestic_dog.jpg; NACTI via LILA BC",
           "A German shepherd dog sitting on a wooded slope, daytime. efficientnet_lite0: German "
           "shepherd; mobilenet: timber wolf.", "German shepherd", _photo("german_shepherd")),
    Sample("pickup_truck", "labkit", _CDLA, _NACTI,
           _CAMERATRAPAI + "vehicle.jpg; NACTI via LILA BC",
           "A white pickup truck driving past a camera trap on a dirt track, motion-blurred. "
           "efficientnet_lite0: pickup; mobilenet: car wheel.", "pickup",
           _photo("pickup_truck")),
    Sample("ocelot_night", "labkit", _CDLA, "WCS Camera Traps (Wildlife Conservation Society)",
           _CAMERATRAPAI + "ocelot.jpg; WCS Camera Traps via LILA BC",
           "An ocelot walking through a forest at night, flash. ImageNet has no ocelot class: "
           "efficientnet_lite0 says leopard or jaguar, mobilenet gar (a fish).", None,
           _photo("ocelot_night")),
]

# Licences as the packages state them: the skimage.data docstrings, matplotlib PR #1599
# (which added Grace Hopper as a public-domain replacement for Lena) and
# sklearn/datasets/images/README.txt.
_SAMPLES = [
    Sample("chelsea", "scikit-image", "CC0", "Stefan van der Walt", "skimage.data.chelsea()",
           "Chelsea the cat, close-up of the face.", "Egyptian cat", _skimage("chelsea")),
    Sample("coffee", "scikit-image", "CC0", "Rachel Michetti", "skimage.data.coffee()",
           "An espresso cup on a saucer, on a wooden table (Pikolo Espresso Bar).", "espresso",
           _skimage("coffee")),
    Sample("rocket", "scikit-image", "Public domain", "SpaceX (launch photo)",
           "skimage.data.rocket()",
           "Falcon 9 with DSCOVR on the launch pad at dusk; ImageNet has no class that "
           "classifiers find for it (a hard case).", None, _skimage("rocket")),
    Sample("astronaut", "scikit-image", "Public domain (no known copyright restrictions)",
           "NASA", "skimage.data.astronaut()",
           "Portrait of astronaut Eileen Collins with a flag and a helmet; several objects, no "
           "single ImageNet class.", None, _skimage("astronaut")),
    Sample("motorcycle", "scikit-image",
           "No licence stated by scikit-image; Middlebury 2014 stereo benchmark (Scharstein et "
           "al., GCPR 2014): cite the paper, check its terms before redistributing",
           "Scharstein et al. (Middlebury College)", "skimage.data.stereo_motorcycle()[0]",
           "A red motorcycle in a garage (left image of the stereo pair).", "moped", _motorcycle),
    Sample("grace_hopper", "matplotlib", "Public domain (U.S. Navy photograph)", "U.S. Navy",
           "matplotlib sample data grace_hopper.jpg",
           "Official portrait of Rear Admiral Grace Hopper in uniform.", "military uniform",
           _grace_hopper),
    Sample("china", "scikit-learn", "CC BY 2.0", "danielbuechele on Flickr",
           "sklearn.datasets.load_sample_image('china.jpg')",
           "A Chinese temple roof and garden.", "palace", _sklearn("china.jpg")),
    Sample("flower", "scikit-learn", "CC BY 2.0",
           "vultilion on Flickr (scikit-learn's README credits danielbuechele by a copy-paste "
           "slip; its link is vultilion's photo)",
           "sklearn.datasets.load_sample_image('flower.jpg')",
           "Close-up of a pink flower; no ImageNet flower class fits.", None,
           _sklearn("flower.jpg")),
] + PHOTOS
SAMPLES = {sample.name: sample for sample in _SAMPLES}


def sample_image(name, size=224):
    """A bundled photo as RGB uint8 pixels, offline.

    Parameters
    ----------
    name : str
        One of :data:`SAMPLES` (see :func:`list_samples`): a package sample such as
        "chelsea", or a shipped camera-trap photo such as "elephant_herd".
    size : int, (int, int) or None
        As in :func:`load_image`: int -> shorter side resized then centre-cropped to a
        square (default 224, the classifiers' input); None -> original size.

    Returns
    -------
    numpy.ndarray
        (H, W, 3) uint8.
    """
    if not isinstance(name, str) or name not in SAMPLES:
        raise KeyError(f"no sample named {name!r}; choose one of {', '.join(SAMPLES)}.")
    return load_image(SAMPLES[name].load(), size=size)


def list_samples(imagenet_class=None):
    """The bundled photos as a list of dicts: ``pandas.DataFrame(list_samples())`` shows
    them as a table.

    Parameters
    ----------
    imagenet_class : str, optional
        Keep only the photos of this ImageNet-1k class, e.g. "African elephant" or
        "American black bear" (case-insensitive).

    Returns
    -------
    list of dict
        Keys: name, imagenet_class (None where no class fits), licence, author, origin,
        package ("labkit" for the photos shipped in ``labkit/data/photos``), description.

    Raises
    ------
    ValueError
        If no photo has the class asked for; the message lists the classes that have one.
    """
    rows = [{"name": s.name, "imagenet_class": s.imagenet_class, "licence": s.licence,
             "author": s.author, "origin": s.origin, "package": s.package,
             "description": s.description} for s in _SAMPLES]
    if imagenet_class is None:
        return rows
    wanted = str(imagenet_class).strip().lower()
    rows = [row for row in rows if (row["imagenet_class"] or "").lower() == wanted]
    if not rows:
        have = sorted({s.imagenet_class for s in _SAMPLES if s.imagenet_class})
        raise ValueError(f"no bundled photo of ImageNet class {imagenet_class!r}; classes with "
                         f"photos: {', '.join(have)}.")
    return rows
