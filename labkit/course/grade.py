"""Grade an explanation assignment: a student's settings, scored on photos with object masks.

``python -m labkit.grade submission.json`` runs the submitted explainer settings on a
grading set and prints, per image, the IoU of the explanation's most important region
with the object's ground-truth mask and the seconds the explanation took, then the means.

The submission is **JSON, never a pickle**: unpickling runs whatever code the file
carries, so a grader that unpickles student files runs student code with the grader's
rights. A file with a pickle extension or pickle's magic bytes is refused with that reason.

Submission::

    {"method": "lime",
     "params": {"num_samples": 500, "n_segments": 40, "segmentation": "quickshift"},
     "num_features": 5}

- ``method``: "lime", "lime_package", "rise", "gradcam" or "fem".
- ``params``: exactly :func:`labkit.explain`'s parameters for that method (``seed``
  included), each checked against the method's record (``labkit.explainers.get_explainer``),
  its laptop limits included; an unknown key or an out-of-range value is refused with one
  sentence.
- LIME is scored by its ``num_features`` strongest positive superpixels
  (:func:`labkit.lime_mask`, default 5); RISE, Grad-CAM and FEM by their ``top_percent``
  most salient pixels (default 20, :func:`labkit.metrics.iou`).

A submission whose explanation labkit flags as unreliable (an
:class:`~labkit.explainers.UnreliableResultWarning`, e.g. LIME with no more samples than
superpixels) is refused like an invalid one, never scored. The command line prints one
line on stderr and exits with 2 for any refusal or usage error (``--debug`` adds the
traceback); a JSON file with a UTF-8 byte-order mark is read as it is.

Fair timing: the model is loaded once, a warm-up explanation (first image, not scored)
pays for graph tracing, each explanation is timed alone, and the number of CPU cores
available is recorded beside the result.
"""
import argparse
import csv
import datetime
import json
import numbers
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._checks import ParameterError, UnreliableResultWarning, check_int, check_seed
from .._cli import Parser, UsageError, positive_int, read_json
from .._cli import run as run_command

PICKLE_EXTENSIONS = (".pkl", ".pickle", ".p", ".joblib", ".dill", ".sav")
DEFAULT_NUM_FEATURES = 5
DEFAULT_TOP_PERCENT = 20.0


class SubmissionError(ValueError):
    """The submission cannot be graded; the message says why and how to fix it."""


def method_params(method):
    """The parameter names a submission may give for ``method`` (seed included): every
    parameter of its record (``labkit.explainers.get_explainer``) that JSON can carry."""
    from ..explainers import get_explainer

    return ["seed"] + [p.name for p in get_explainer(method).params if p.gradable]


def validate(submission):
    """Check a submission (a dict parsed from JSON) and fill in the defaults.

    Returns
    -------
    dict
        ``method``, ``params``, and ``num_features`` (LIME) or ``top_percent`` (maps).

    Raises
    ------
    SubmissionError
        With one sentence naming the problem: unknown key, wrong type, out of range.
    """
    from ..explainers import RENAMED, get_explainer, list_methods

    if not isinstance(submission, dict):
        raise SubmissionError(f"the submission must be a JSON object {{...}}, "
                              f"got a {type(submission).__name__}.")
    methods = list_methods()
    method = submission.get("method")
    if method is None:
        raise SubmissionError(f"the submission has no 'method'; give one of {methods}.")
    if not isinstance(method, str) or method not in methods:
        raise SubmissionError(f"unknown method {method!r}; choose one of {methods}.")
    record = get_explainer(method)
    score_key = "num_features" if record.superpixels else "top_percent"
    allowed = {"method", "params", score_key}
    for key in submission:
        if key not in allowed:
            raise SubmissionError(f"unknown key {key!r} for method {method!r}; the keys are "
                                  f"{sorted(allowed)}.")
    params = submission.get("params", {})
    if not isinstance(params, dict):
        raise SubmissionError(f"'params' must be a JSON object, got {params!r}.")
    known = method_params(method)
    for name, value in params.items():
        name = RENAMED.get(name, name)  # old names still grade, as explain takes them
        if name not in known:
            why = ("an array cannot travel in JSON" if name in record.defaults else
                   f"{method} has no parameter {name!r}")
            raise SubmissionError(f"params.{name} is not accepted: {why}; the parameters are "
                                  f"{known}.")
        try:
            if name == "seed":
                check_seed(value)
            else:  # the laptop limits always hold here: grading times every submission
                record.param(name).check(value, method)
        except ParameterError as error:
            raise SubmissionError(f"params.{str(error).removeprefix(method + ': ')}") from None
    clean = {"method": method, "params": dict(params)}
    if record.superpixels:
        k = submission.get("num_features", DEFAULT_NUM_FEATURES)
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= 100:
            raise SubmissionError(f"num_features must be an integer from 1 to 100, got {k!r}.")
        clean["num_features"] = int(k)
    else:
        top = submission.get("top_percent", DEFAULT_TOP_PERCENT)
        if isinstance(top, bool) or not isinstance(top, numbers.Real) or not 0 < top < 100:
            raise SubmissionError(f"top_percent must be a number strictly between 0 and 100, "
                                  f"got {top!r}.")
        clean["top_percent"] = float(top)
    return clean


def read_submission(path):
    """Parse a JSON submission file; refuse pickles and say why."""
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"no such submission file: {path}.")
    raw = path.read_bytes()
    if path.suffix.lower() in PICKLE_EXTENSIONS or raw[:1] == b"\x80":
        raise SubmissionError(f"{path.name} looks like a pickle, which this grader never opens: "
                              "unpickling runs any code the file contains. Submit your "
                              "parameters as JSON (json.dump(submission, file)).")
    try:  # a UTF-8 byte-order mark (Windows Notepad) is fine; deep nesting is one sentence
        return read_json(raw, path.name)
    except UsageError as error:
        raise SubmissionError(str(error)) from None


def default_grading_set(size=224):
    """(name, dataset): real photos with masks when available, else the offline benchmark."""
    from .. import data

    if hasattr(data, "load_photo_benchmark"):
        return "photo benchmark (real photos, COCO masks)", data.load_photo_benchmark(size=size)
    return "offline benchmark, test split (synthetic)", data.load_benchmark(split="test", size=size)


def load_grading_set(path, size=224):
    """(name, dataset) from a folder in the layout of :func:`labkit.data.load_saliency_dataset`."""
    from ..data import load_saliency_dataset

    dataset = load_saliency_dataset(path, size=size)
    missing = [item.image_path.name for item in dataset if item.mask is None]
    if missing or not len(dataset):
        raise SubmissionError(f"the grading set {path} needs a Masks/ folder with one object mask "
                              f"per image; missing for {missing[:3] or 'every image'}.")
    return str(path), dataset


def score_explanation(explanation, mask, submission):
    """IoU in [0, 1] of the explanation's top region with the boolean object ``mask``.

    LIME: the ``num_features`` strongest positive superpixels; maps: the ``top_percent``
    most salient pixels. An empty region (no positive superpixel, a constant map) finds
    nothing: 0.
    """
    from ..explainers import lime_mask
    from ..metrics import iou

    mask = np.asarray(mask, bool)
    if "num_features" in submission:
        region = lime_mask(explanation, num_features=submission["num_features"])[1] > 0
        union = (region | mask).sum()
        return float((region & mask).sum() / union) if union else 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = iou(explanation.saliency, mask, threshold=submission["top_percent"] / 100)
    return 0.0 if np.isnan(value) else value


def cores():
    """CPU cores this process may use (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count()


@dataclass
class GradeReport:
    """The result of :func:`grade`: one row per image, and the means.

    Attributes
    ----------
    rows : list of dict
        ``image``, ``class`` (the explained prediction), ``iou`` in [0, 1], ``seconds``.
    mean_iou : float in [0, 1]
    seconds_per_explanation : float
        Mean wall-clock seconds, warm-up excluded.
    submission : dict
        The validated submission, defaults filled in.
    grading_set, model : str
    cores : int
    """

    rows: list
    mean_iou: float
    seconds_per_explanation: float
    submission: dict
    grading_set: str
    model: str
    cores: int

    def table(self):
        import pandas as pd

        return pd.DataFrame(self.rows).to_string(index=False, float_format="{:.3f}".format)


def grade(submission, *, model="efficientnet_lite0", grading_set=None, limit=None, size=224):
    """Run a submission on a grading set and score it.

    Parameters
    ----------
    submission : dict or path-like
        A parsed submission or the path of its JSON file.
    model : str or labkit.Classifier
        The classifier to explain, loaded once; default EfficientNet-Lite0.
    grading_set : path-like, (name, SaliencyDataset) or None
        A folder in the layout of :func:`labkit.data.load_saliency_dataset` with
        ``Masks/``; default :func:`default_grading_set`.
    limit : int >= 1, optional
        Grade only the first ``limit`` images.
    size : int
        Side of the square the images are resized to when read from a folder.

    Returns
    -------
    GradeReport
    """
    from ..explainers import explain
    from ..models import load_model

    if not isinstance(submission, dict):
        submission = read_submission(submission)
    submission = validate(submission)
    if limit is not None:
        limit = check_int(limit, "limit")
    if grading_set is None:
        name, dataset = default_grading_set(size)
    elif isinstance(grading_set, tuple):
        name, dataset = grading_set
    else:
        name, dataset = load_grading_set(grading_set, size)
    items = list(dataset)[:limit]
    if not items:
        raise SubmissionError("the grading set has no image.")
    classifier = load_model(model) if isinstance(model, str) else model

    def run(image):
        try:
            with warnings.catch_warnings():  # a meaningless map is refused, not scored
                warnings.simplefilter("error", UnreliableResultWarning)
                return explain(classifier, image, submission["method"], **submission["params"])
        except UnreliableResultWarning as warning:
            raise SubmissionError(f"these settings give an unreliable explanation, which is "
                                  f"not graded: {warning}") from None
        except (TypeError, ValueError) as error:
            raise SubmissionError(f"the explainer refused these settings: {error}") from None

    run(items[0].image)  # warm-up: graph tracing and caches, not timed, not scored
    rows = []
    for item in items:
        start = time.perf_counter()
        explanation = run(item.image)
        seconds = time.perf_counter() - start
        rows.append({"image": item.image_path.stem, "class": explanation.target_name,
                     "iou": score_explanation(explanation, item.mask, submission),
                     "seconds": seconds})
    return GradeReport(rows=rows, mean_iou=float(np.mean([r["iou"] for r in rows])),
                       seconds_per_explanation=float(np.mean([r["seconds"] for r in rows])),
                       submission=submission, grading_set=name, model=classifier.name,
                       cores=cores())


LEADERBOARD_FIELDS = ("time", "student", "method", "submission", "grading_set", "images",
                      "mean_iou", "seconds_per_explanation", "cores", "model")


def append_leaderboard(path, student, report):
    """Append one row for ``student`` to the CSV leaderboard at ``path`` (created if new)."""
    path = Path(path)
    new = not path.exists()
    with path.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, LEADERBOARD_FIELDS)
        if new:
            writer.writeheader()
        writer.writerow({
            "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "student": student, "method": report.submission["method"],
            "submission": json.dumps(report.submission, sort_keys=True),
            "grading_set": report.grading_set, "images": len(report.rows),
            "mean_iou": f"{report.mean_iou:.4f}",
            "seconds_per_explanation": f"{report.seconds_per_explanation:.3f}",
            "cores": report.cores, "model": report.model})


def leaderboard(path):
    """The class ranking: each student's best submission, by mean IoU then speed.

    Returns
    -------
    pandas.DataFrame
        Columns rank, student, method, mean_iou, seconds_per_explanation, submissions.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"no leaderboard at {path}; grade a submission with "
                              "--leaderboard FILE --student NAME first.")
    board = pd.read_csv(path)
    counts = board.groupby("student").size().rename("submissions")
    best = (board.sort_values(["mean_iou", "seconds_per_explanation"], ascending=[False, True])
            .drop_duplicates("student").join(counts, on="student").reset_index(drop=True))
    best.insert(0, "rank", range(1, len(best) + 1))
    return best[["rank", "student", "method", "mean_iou", "seconds_per_explanation", "cores",
                 "submissions"]]


def main(argv=None):
    """Command line; returns the exit code (0 graded, 2 refused: one line on stderr, the
    traceback too with ``--debug``)."""
    return run_command(_main, argv)


def _main(argv):
    parser = Parser(prog="python -m labkit.grade", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submission", nargs="?", help="the student's JSON file")
    parser.add_argument("--grading-set", help="folder with Images/, 'Density Maps/', Masks/ "
                        "(default: the photo benchmark, else the offline benchmark)")
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--limit", type=positive_int, help="grade only the first N >= 1 images")
    parser.add_argument("--size", type=positive_int, default=224,
                        help="image side when reading a folder")
    parser.add_argument("--leaderboard", help="CSV file to append the result to")
    parser.add_argument("--student", help="name recorded on the leaderboard")
    parser.add_argument("--show-leaderboard", action="store_true",
                        help="print the class ranking from --leaderboard")
    args = parser.parse_args(argv)
    if args.submission is None and not args.show_leaderboard:
        raise SubmissionError("give a submission JSON file, or --show-leaderboard.")
    if (args.student or args.show_leaderboard) and not args.leaderboard:
        raise SubmissionError("--student and --show-leaderboard need --leaderboard FILE.csv.")
    if args.leaderboard and args.submission and not args.student:
        raise SubmissionError("--leaderboard needs --student NAME to record the result.")
    if args.submission:
        report = grade(args.submission, model=args.model, grading_set=args.grading_set,
                       limit=args.limit, size=args.size)
        print(f"grading set: {report.grading_set}; model {report.model}; "
              f"{report.cores} CPU core(s); warm-up excluded")
        print(f"submission: {json.dumps(report.submission, sort_keys=True)}")
        print(report.table())
        print(f"mean IoU {report.mean_iou:.3f} over {len(report.rows)} images, "
              f"{report.seconds_per_explanation:.2f} s per explanation")
        if args.leaderboard:
            append_leaderboard(args.leaderboard, args.student, report)
    if args.show_leaderboard:
        print(leaderboard(args.leaderboard).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
