"""Images for the labs, offline: loading, bundled samples (with camera-trap photos of
African elephants and American black bears), the course's class folders, gaze datasets
in the MexCulture142 layout, a benchmark with exact object masks, and real photos with
human-drawn masks.

No TensorFlow here: ``import labkit.data`` stays fast.
"""
from .._paths import data_home
from .benchmark import load_benchmark, make_benchmark
from .course import CourseImages, course_images
from .folders import FolderDataset, load_folder
from .images import load_image
from .photo_benchmark import load_photo_benchmark, photo_benchmark_root
from .saliency import (
    SaliencyDataset,
    SaliencyItem,
    fixations_to_density,
    load_saliency_dataset,
    read_density,
    read_fixations,
)
from .samples import SAMPLES, list_samples, sample_image
from .split import split

__all__ = ["SAMPLES", "CourseImages", "FolderDataset", "SaliencyDataset", "SaliencyItem",
           "course_images", "data_home", "fixations_to_density", "list_samples",
           "load_benchmark", "load_folder", "load_image", "load_photo_benchmark",
           "load_saliency_dataset", "make_benchmark", "photo_benchmark_root", "read_density",
           "read_fixations", "sample_image", "split"]
