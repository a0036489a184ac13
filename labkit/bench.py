"""Speed benchmark of the explainers against the model's own inference time.

Run ``python -m labkit.bench`` (``--quick`` for a smoke run; EfficientNet-Lite0 and
mobilenet by default). LIME, RISE and the curves run on the classifier's backend
(OpenVINO under "auto") and are compared with TensorFlow's inference of the same number
of images, at the rate measured in the same repeat, and with the backend's own
inference; Grad-CAM and FEM stay on TensorFlow, and integrated gradients and SmoothGrad
are compared with TensorFlow's forward-and-backward pass of as many images; occlusion and
Score-CAM with the backend's inference of as many images as they score. Every explainer is
timed next to a baseline measured in the same run, in the same repeat, right before
it: on a machine shared with other work, absolute seconds drift by a factor of two
within minutes while the paired ratio stays put, so the ratios are what count. Each
row reports the median over ``repeats`` of wall-clock seconds and of the paired
ratios; ``cpu ratio`` is the same ratio in process CPU seconds (all threads), which
other processes disturb much less. Warm-up calls (graph tracing, segmentation cache)
run first and are excluded; the report says whether any graph was retraced during
the timed runs.

Peak memory of RISE is measured in a fresh Python process: after a warm-up, the
kernel's peak resident set (``VmHWM``) is reset through ``/proc/self/clear_refs``,
RISE runs, and the growth is ``VmHWM`` after minus ``VmRSS`` before. Where that
reset is unavailable, a thread samples ``VmRSS`` every millisecond instead (it can
miss a shorter spike).
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time
import warnings

import numpy as np

#: Largest acceptable value of each row: a ratio, or megabytes for memory.
TARGETS = {
    "lime_vs_tf": 0.4,
    "lime_vs_runtime": 1.15,
    "rise_vs_tf": 0.4,
    "rise_vs_runtime": 1.15,
    "curves_vs_tf": 0.4,
    "curves_vs_runtime": 1.15,
    "rise_peak_memory": 300.0,
    "gradcam_vs_forward": 3.0,
    "fem_vs_forward": 3.0,
    "max_logit_diff": 1e-3,
    "ig_vs_backward": 1.2,
    "sg_vs_backward": 1.2,
    "occlusion_vs_runtime": 1.15,
    "scorecam_vs_runtime": 1.15,
}
#: Rows reported without a target. ``lime_vs_package`` runs both on the same backend: it
#: shows what the reference package's per-sample numpy loop costs, not the runtime's speed.
INFO = ("runtime_inference", "lime_vs_package", "bf16_lime_pcc", "bf16_rise_pcc",
        "load_first", "load_second")
MODELS = ("efficientnet_lite0", "mobilenet")
FULL = dict(num_samples=500, num_masks=1000, memory_masks=4000, n_segments=50, cam_calls=10,
            steps=50, tf_images=128)
QUICK = dict(num_samples=40, num_masks=40, memory_masks=64, n_segments=20, cam_calls=2,
             steps=10, tf_images=8)
#: Integrated gradients' steps and SmoothGrad's samples: full run (the defaults), quick run.
GRADIENT_COUNTS = {False: dict(steps=50, num_samples=50), True: dict(steps=4, num_samples=4)}


def _load(model, weights, **kwargs):
    from .models import load_model

    return load_model(model, weights=weights, **kwargs)


def _image(model):
    from .data import sample_image

    return sample_image("chelsea", size=model.input_size)


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def _trace_count(model):
    """How many times the model's compiled graphs have been traced so far."""
    from .explainers import cam

    return model.trace_count() + cam.trace_count()


def _rss_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"{field} not in /proc/self/status")


def rise_peak_memory(model="mobilenet", *, weights="imagenet", num_masks=4000, seed=0):
    """Peak resident memory growth (MB) of one RISE explanation, in this process.

    Returns ``(megabytes, method)``. Call it in a fresh process (:func:`run` does):
    memory freed by earlier work would otherwise be reused and hide the growth.
    """
    from .explainers import explain

    classifier = _load(model, weights)
    image = _image(classifier)
    explain(classifier, image, "rise", seed=seed, num_masks=classifier.batch_size)  # warm-up
    before = _rss_kb("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM, the kernel's exact peak RSS, to the current RSS
        sampler = None
        method = "kernel peak RSS (VmHWM reset via /proc/self/clear_refs)"
    except OSError:
        peak, done = [before], threading.Event()

        def sample():
            while not done.wait(0.001):
                peak[0] = max(peak[0], _rss_kb("VmRSS"))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        method = "VmRSS sampled every 1 ms by a thread"
    explain(classifier, image, "rise", seed=seed, num_masks=num_masks)
    if sampler is None:
        top = _rss_kb("VmHWM")
    else:
        done.set()
        sampler.join()
        top = max(peak[0], _rss_kb("VmRSS"))
    return (top - before) / 1024, method


def _in_fresh_process(code, *args, **env):
    """Run ``python -c code *args`` in a new process that imports this labkit, with extra
    environment variables, and return the JSON its last output line prints."""
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, **env, PYTHONPATH=os.pathsep.join(
        [package_parent] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _memory_in_subprocess(model, weights, num_masks):
    code = ("import json, sys; from labkit.bench import rise_peak_memory; "
            "print(json.dumps(rise_peak_memory(sys.argv[1], weights=json.loads(sys.argv[2]), "
            "num_masks=int(sys.argv[3]))))")
    return _in_fresh_process(code, model, json.dumps(weights), str(num_masks))


def _load_times(model, weights):
    """Seconds of ``load_model`` in two fresh processes sharing an empty cache folder:
    the first converts, the second reads the converted graph."""
    import tempfile

    code = ("import json, sys, time; from labkit.models import load_model; t = time.perf_counter();"
            "c = load_model(sys.argv[1], weights=json.loads(sys.argv[2]));"
            "print(json.dumps([time.perf_counter() - t, c.runtime.conversions]))")
    with tempfile.TemporaryDirectory() as home:
        return [_in_fresh_process(code, model, json.dumps(weights), LABKIT_DATA=home)
                for _ in range(2)]


def gradient_rows(classifier, image, *, quick=False, repeats=2):
    """Integrated gradients and SmoothGrad against TensorFlow's forward-and-backward pass of
    as many images, in the same batches (``labkit.explainers.gradients.input_gradients`` on
    copies of the image: the method's own gradient work without the method around it).

    Returns ``(rows, retraced)``: two report rows (``ig_vs_backward``,
    ``sg_vs_backward``) and the graph traces during the timed runs (0 expected).
    """
    from functools import partial

    from .explainers import explain
    from .explainers.gradients import gradient_function, input_gradients

    counts = GRADIENT_COUNTS[quick]
    pixels = image.astype(np.float32)
    target = int(np.argmax(classifier.predict(pixels[None])[0]))
    rows, retraced = [], 0
    for key, method, n, params in (("ig", "integrated_gradients", counts["steps"] + 1,
                                    {"steps": counts["steps"]}),
                                   ("sg", "smoothgrad", counts["num_samples"],
                                    {"num_samples": counts["num_samples"]})):
        batch = np.repeat(pixels[None], n, axis=0)
        tasks = (partial(input_gradients, classifier, batch, target),
                 partial(explain, classifier, image, method, target=target, **params))
        for task in tasks:  # warm-up: trace the graph at these batch shapes
            task()
        traces = gradient_function(classifier).experimental_get_tracing_count()
        times = np.array([[_timed(task) for task in tasks] for _ in range(repeats)])
        retraced += gradient_function(classifier).experimental_get_tracing_count() - traces
        base, own = times[:, 0], times[:, 1]  # (repeats, [wall, cpu])
        what = ", ".join(f"{k} {v}" for k, v in params.items())
        rows.append(dict(name=f"{key}_vs_backward", what=f"{method}, {what}",
                         baseline=f"TF forward+backward, {n} images", unit="ratio",
                         seconds=float(np.median(own[:, 0])),
                         baseline_seconds=float(np.median(base[:, 0])),
                         ratio=float(np.median(own[:, 0] / base[:, 0])),
                         cpu_ratio=float(np.median(own[:, 1] / base[:, 1]))))
    return rows, retraced


def masked_method_rows(classifier, image, *, quick=False, repeats=2):
    """Occlusion and Score-CAM against the classifier's own inference of as many images as
    they score (window positions; active channels), each run right after its baseline in
    every repeat.

    Returns ``(rows, retraced)``: two report rows (``occlusion_vs_runtime``,
    ``scorecam_vs_runtime``) and the graph traces during the timed runs (0 expected).
    """
    from functools import partial

    from .explainers import explain

    settings = {"occlusion": {"stride": 32} if quick else {},
                "scorecam": {"max_channels": 16} if quick else {}}
    rows, retraced = [], 0
    for method, params in settings.items():
        e = explain(classifier, image, method, **params)  # warm-up; how many images it scores
        n = e.extras["num_windows" if method == "occlusion" else "num_scored"]
        batch = np.repeat(np.asarray(image)[None], n, axis=0)
        tasks = (partial(classifier.predict, batch),
                 partial(explain, classifier, image, method, **params))
        tasks[0]()
        traces = _trace_count(classifier)
        times = np.array([[_timed(task) for task in tasks] for _ in range(repeats)])
        retraced += _trace_count(classifier) - traces
        base, own = times[:, 0], times[:, 1]  # (repeats, [wall, cpu])
        rows.append(dict(name=f"{method}_vs_runtime", what=f"{method}, {n} masked images",
                         baseline=f"{classifier.backend} inference, {n} images", unit="ratio",
                         seconds=float(np.median(own[:, 0])),
                         baseline_seconds=float(np.median(base[:, 0])),
                         ratio=float(np.median(own[:, 0] / base[:, 0])),
                         cpu_ratio=float(np.median(own[:, 1] / base[:, 1]))))
    return rows, retraced


def run(model="mobilenet", *, weights="imagenet", quick=False, repeats=2, memory=True,
        echo=True):
    """Time the explainers against inference on both backends and return the report rows.

    :func:`measure` runs everything, :func:`report_rows` turns its measures into rows with
    their verdicts, :func:`format_report` prints them.

    Parameters
    ----------
    model : str
        A registered model name (``labkit.list_models()``).
    weights : "imagenet" or None
        None uses random weights (timings are the same; for smoke runs without files).
    quick : bool
        Small sample counts: checks that the benchmark runs, says nothing about speed.
    repeats : int, >= 1
        Timed repetitions of every measure; rows report medians.
    memory : bool
        Also measure RISE's peak memory (a fresh process, ``memory_masks`` masks).
    echo : bool
        Print the table.

    Returns
    -------
    dict
        ``settings`` (what was run), ``rows`` (list of dicts with ``name``, ``what``,
        ``seconds``, ``baseline``, ``baseline_seconds``, ``ratio``, ``cpu_ratio``,
        ``value``, ``target``, ``verdict`` "PASS"/"MISS"/"" and ``unit``), and
        ``retraced`` (graph traces or runtime compilations during the timed runs; 0
        expected).
    """
    measures = measure(model, weights=weights, quick=quick, repeats=repeats, memory=memory)
    report = dict(settings=measures["settings"], rows=report_rows(measures),
                  retraced=measures["retraced"])
    if echo:
        print(format_report(report))
    return report


def measure(model="mobilenet", *, weights="imagenet", quick=False, repeats=2, memory=True):
    """Everything the benchmark measures, raw: see :func:`run` for the parameters.

    Returns
    -------
    dict
        ``settings``; ``backend`` and ``batch_size`` of the classifier; ``times``, task
        name -> one (wall, cpu) seconds pair per repeat (:func:`_tasks`); ``retraced``;
        ``memory`` (megabytes, how) or None; ``max_logit_diff`` against TensorFlow;
        ``bf16_pcc``, method -> PCC of its bf16 and f32 maps, and ``load_times``, one
        (seconds, conversions) pair per fresh process, both empty on TensorFlow;
        ``gradient_rows``, the finished rows of :func:`gradient_rows`; ``masked_rows``,
        those of :func:`masked_method_rows`.
    """
    settings = dict(QUICK if quick else FULL, model=model, weights=weights, repeats=repeats,
                    quick=quick)
    classifier = _load(model, weights)
    reference = classifier.with_backend("tensorflow")
    image = _image(classifier)
    tasks, lime_args = _tasks(classifier, reference, image, settings)
    times, retraced = _time(tasks, classifier, reference, repeats)
    measures = dict(settings=settings, backend=classifier.backend,
                    batch_size=classifier.batch_size, times=times, retraced=retraced,
                    memory=None, bf16_pcc={}, load_times=[])
    if memory:
        measures["memory"] = tuple(_memory_in_subprocess(model, weights,
                                                         settings["memory_masks"]))
    measures["max_logit_diff"] = _max_logit_diff(classifier, reference)
    if classifier.backend != "tensorflow":
        measures["bf16_pcc"] = _bf16_pcc(classifier, image, lime_args, settings["num_masks"])
        measures["load_times"] = [tuple(t) for t in _load_times(model, weights)]
    measures["gradient_rows"], gradient_retraces = gradient_rows(classifier, image, quick=quick,
                                                                 repeats=repeats)
    measures["retraced"] += gradient_retraces
    measures["masked_rows"], masked_retraces = masked_method_rows(classifier, image, quick=quick,
                                                                  repeats=repeats)
    measures["retraced"] += masked_retraces
    return measures


def _tasks(classifier, reference, image, settings):
    """(name -> callable timed by :func:`_time`, LIME's arguments), warmed up: every graph
    traced and compiled at the timed shapes, caches filled."""
    from .explainers import UnreliableResultWarning, explain
    from .explainers.lime import segment
    from .metrics import deletion, insertion

    pixels = image.astype(np.float32)
    b = classifier.batch_size
    ns, nm, steps = settings["num_samples"], settings["num_masks"], settings["steps"]
    nc = 2 * (steps + 1)
    segments = segment(pixels, n_segments=settings["n_segments"])
    lime_args = dict(seed=0, num_samples=ns, segments=segments, baseline=None)
    batch = {n: np.repeat(pixels[None], n, axis=0) for n in {ns, nm, nc, settings["tf_images"]}}
    rise_map = explain(classifier, image, "rise", seed=0, num_masks=b).saliency

    def curves():
        insertion(classifier, image, rise_map, target=None, steps=steps)
        deletion(classifier, image, rise_map, target=None, steps=steps)

    def cam(method):
        return lambda: [explain(classifier, image, method) for _ in range(settings["cam_calls"])]

    tasks = {
        "tf_inference": lambda: reference.predict(batch[settings["tf_images"]]),
        "inference_lime": lambda: classifier.predict(batch[ns]),
        "lime": lambda: explain(classifier, image, "lime", **lime_args),
        "lime_package": lambda: explain(classifier, image, "lime_package", **lime_args),
        "inference_rise": lambda: classifier.predict(batch[nm]),
        "rise": lambda: explain(classifier, image, "rise", seed=0, num_masks=nm),
        # the curves score steps + 1 images twice (insertion, deletion), in that batching
        "inference_curves": lambda: [classifier.predict(batch[nc][:steps + 1]) for _ in "id"],
        "curves": curves,
        "gradcam": cam("gradcam"),
        "fem": cam("fem"),
        "forward": lambda: [reference.predict(pixels[None]) for _ in range(settings["cam_calls"])],
    }

    reference.predict(batch[ns][:b])
    reference.predict(pixels[None])
    classifier.predict(batch[ns][:b])
    classifier.predict(pixels[None])
    with warnings.catch_warnings():  # a warm-up surrogate is too small to mean anything
        warnings.simplefilter("ignore", UnreliableResultWarning)
        explain(classifier, image, "lime", **dict(lime_args, num_samples=b + 1))
        explain(classifier, image, "lime_package", **dict(lime_args, num_samples=b))
    explain(classifier, image, "gradcam")
    explain(classifier, image, "fem")
    curves()
    return tasks, lime_args


def _time(tasks, classifier, reference, repeats):
    """(name -> [(wall, cpu) per repeat], graph traces during the timed runs)."""
    traces = _trace_count(classifier) + _trace_count(reference)
    times = {name: [] for name in tasks}
    for _ in range(repeats):
        for name, fn in tasks.items():  # each explainer right after its baseline
            times[name].append(_timed(fn))
    return times, _trace_count(classifier) + _trace_count(reference) - traces


def _max_logit_diff(classifier, reference):
    from .data import sample_image

    photos = np.stack([sample_image(p, size=classifier.input_size) for p in ("chelsea", "coffee")])
    return float(np.abs(classifier.predict(photos, output="logit")
                        - reference.predict(photos, output="logit")).max())


def _bf16_pcc(classifier, image, lime_args, num_masks):
    from .explainers import explain
    from .metrics import pcc

    bf16 = classifier.with_backend(classifier.backend, precision="bf16")
    out = {}
    for key, kw in (("lime", dict(lime_args)), ("rise", dict(seed=0, num_masks=num_masks))):
        out[key] = pcc(explain(classifier, image, key, **kw).saliency,
                       explain(bf16, image, key, **kw).saliency)
    return out


def report_rows(measures):
    """The rows of the report, with targets and verdicts, from :func:`measure`'s output."""
    settings, times, backend = measures["settings"], measures["times"], measures["backend"]
    b = measures["batch_size"]
    ns, nm, steps = settings["num_samples"], settings["num_masks"], settings["steps"]
    nc = 2 * (steps + 1)
    tf_rate = np.array([settings["tf_images"] / t for t, _ in times["tf_inference"]])
    tf_cpu_rate = np.array([settings["tf_images"] / c for _, c in times["tf_inference"]])

    def pair(name, base, per=1):
        t, tb = np.array(times[name]), np.array(times[base])
        return dict(seconds=float(np.median(t[:, 0])) / per,
                    baseline_seconds=float(np.median(tb[:, 0])) / per,
                    ratio=float(np.median(t[:, 0] / tb[:, 0])),
                    cpu_ratio=float(np.median(t[:, 1] / tb[:, 1])))

    def vs_tf(name, n):
        # TensorFlow's inference of n images, at the rate measured in the same repeat.
        t = np.array(times[name])
        return dict(seconds=float(np.median(t[:, 0])),
                    baseline_seconds=float(n / np.median(tf_rate)),
                    ratio=float(np.median(t[:, 0] * tf_rate / n)),
                    cpu_ratio=float(np.median(t[:, 1] * tf_cpu_rate / n)))

    def info(name, what, baseline, value, unit, seconds=None):
        return dict(name=name, what=what, seconds=seconds, baseline=baseline,
                    baseline_seconds=None, ratio=None, cpu_ratio=None, value=value, unit=unit)

    rt_rate = float(np.median([nm / t for t, _ in times["inference_rise"]]))
    rows = [info("inference", f"TF predict, batch {b}", "", float(np.median(tf_rate)),
                 "images/s"),
            dict(info("runtime_inference", f"{backend} predict, {nm} images", "", rt_rate,
                      "images/s", seconds=nm / rt_rate),
                 ratio=float(np.median(tf_rate)) / rt_rate)]
    for key, what, n, base in (("lime", f"LIME, {ns} samples", ns, "inference_lime"),
                               ("rise", f"RISE, {nm} masks", nm, "inference_rise"),
                               ("curves", f"insertion+deletion, {steps} steps", nc,
                                "inference_curves")):
        rows.append(dict(name=f"{key}_vs_tf", what=what, baseline=f"TF inference of {n} images",
                         unit="ratio", **vs_tf(key, n)))
        rows.append(dict(name=f"{key}_vs_runtime", what=what,
                         baseline=f"{backend} inference, {n} images", unit="ratio",
                         **pair(key, base)))
    rows.append(dict(name="lime_vs_package", what=f"LIME, {ns} samples",
                     baseline="lime package, same settings", unit="ratio",
                     **pair("lime", "lime_package")))
    if measures["memory"] is not None:
        megabytes, memory_method = measures["memory"]
        rows.append(info("rise_peak_memory", f"RISE, {settings['memory_masks']} masks",
                         memory_method, float(megabytes), "MB"))
    for method in ("gradcam", "fem"):
        rows.append(dict(name=f"{method}_vs_forward", what=f"{method}, 1 image (TF)",
                         baseline="TF forward pass of 1 image", unit="ratio",
                         **pair(method, "forward", per=settings["cam_calls"])))
    rows.append(info("max_logit_diff", "chelsea + coffee, vs TF", f"{backend} f32",
                     measures["max_logit_diff"], "logit"))
    for key, value in measures["bf16_pcc"].items():
        rows.append(info(f"bf16_{key}_pcc", f"{key} map, bf16 vs f32", "PCC", value, "pcc"))
    for (seconds, conversions), name in zip(measures["load_times"], ("load_first", "load_second")):
        rows.append(info(name, "load_model, fresh process", f"{conversions} conversion(s)",
                         seconds, "s", seconds=seconds))
    rows.extend(dict(row) for row in measures["gradient_rows"])
    rows.extend(dict(row) for row in measures["masked_rows"])
    for row in rows:
        row.setdefault("value", row.get("ratio"))
        row["target"] = TARGETS.get(row["name"])
        row["verdict"] = ("" if row["target"] is None else
                          "PASS" if row["value"] <= row["target"] else "MISS")
    return rows


def format_report(report):
    """The report of :func:`run` as a plain-text table."""
    s = report["settings"]
    lines = [
        f"labkit benchmark: {s['model']} (weights: {s['weights']}), {s['repeats']} repeat(s), "
        f"median; warm-up excluded{'; QUICK smoke run, timings meaningless' if s['quick'] else ''}",
        f"{'measure':<20} {'what':<34} {'seconds':>8}  {'baseline':<34} {'base s':>7} "
        f"{'ratio/value':>12} {'cpu r.':>6} {'target':>8}  verdict",
    ]
    fmt = lambda v, spec: "" if v is None else format(v, spec)  # noqa: E731
    for r in report["rows"]:
        if r["unit"] == "ratio":
            target = "" if r["target"] is None else f"<= {r['target']}x"
            ratio = fmt(r["ratio"], ".2f")
        elif r["unit"] == "MB":
            target, ratio = f"<= {r['target']:.0f} MB", f"{r['value']:.0f} MB"
        elif r["target"] is not None:
            target, ratio = f"<= {r['target']:g}", f"{r['value']:.1e}"
        else:  # informative rows: the value is the measure
            target, ratio = "", f"{r['value']:.4g} {r['unit']}"
        lines.append(f"{r['name']:<20} {r['what'][:34]:<34} {fmt(r['seconds'], '8.3f'):>8}  "
                     f"{r['baseline'][:34]:<34} {fmt(r['baseline_seconds'], '7.3f'):>7} "
                     f"{ratio:>12} {fmt(r['cpu_ratio'], '.2f'):>6} {target:>8}  {r['verdict']}")
    memory = [r for r in report["rows"] if r["name"] == "rise_peak_memory"]
    if memory:
        lines.append(f"memory: {memory[0]['baseline']}, fresh process, growth over RSS after "
                     "warm-up")
    lines.append(f"graph retraces during timed runs: {report['retraced']}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m labkit.bench", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", help=f"registered model name, repeatable "
                        f"(default: {', '.join(MODELS)})")
    parser.add_argument("--repeats", type=int, default=2, help="timed repetitions (median)")
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--random-weights", action="store_true",
                        help="random weights (no weight files needed; same speed)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1.")
    for i, model in enumerate(args.model or MODELS):
        # RISE's peak memory once (the last model, mobilenet by default): it is per batch
        run(model, weights=None if args.random_weights else "imagenet", quick=args.quick,
            repeats=args.repeats, memory=i == len(args.model or MODELS) - 1)


if __name__ == "__main__":
    main()
