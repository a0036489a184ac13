"""Speed benchmark of the explainers against the model's own inference time.

Run ``python -m labkit.bench`` (``--quick`` for a smoke run). Every explainer is
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

import numpy as np

#: Largest acceptable value of each row: a ratio, or megabytes for memory.
TARGETS = {
    "lime_vs_package": 0.5,
    "lime_vs_inference": 1.15,
    "rise_vs_inference": 1.15,
    "rise_peak_memory": 300.0,
    "gradcam_vs_forward": 3.0,
    "fem_vs_forward": 3.0,
}
FULL = dict(num_samples=500, num_masks=1000, memory_masks=4000, n_segments=50, cam_calls=10)
QUICK = dict(num_samples=40, num_masks=40, memory_masks=64, n_segments=20, cam_calls=2)


def _load(model, weights):
    from .models import load_model

    return load_model(model, weights=weights)


def _image(model):
    from .data import sample_image

    return sample_image("chelsea", size=model.input_size)


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def _trace_count(model):
    """How many times the model's compiled graphs have been traced so far."""
    from .explainers import cam, lime, rise

    fns = [model._forward] + list(lime._GRAPHS.values()) + list(rise._GRAPHS.values())
    fns += [run for _, run in cam._CACHE.values()]
    return sum(f.experimental_get_tracing_count() for f in fns)


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


def _memory_in_subprocess(model, weights, num_masks):
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [package_parent] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    code = ("import json, sys; from labkit.bench import rise_peak_memory; "
            "print(json.dumps(rise_peak_memory(sys.argv[1], weights=json.loads(sys.argv[2]), "
            "num_masks=int(sys.argv[3]))))")
    out = subprocess.run([sys.executable, "-c", code, model, json.dumps(weights), str(num_masks)],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(model="mobilenet", *, weights="imagenet", quick=False, repeats=3, echo=True):
    """Time the explainers against inference and return the report rows.

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
    echo : bool
        Print the table.

    Returns
    -------
    dict
        ``settings`` (what was run), ``rows`` (list of dicts with ``name``, ``what``,
        ``seconds``, ``baseline``, ``baseline_seconds``, ``ratio``, ``cpu_ratio``,
        ``value``, ``target``, ``verdict`` "PASS"/"MISS"/"" and ``unit``), and
        ``retraced`` (graph traces during the timed runs; 0 expected).
    """
    from .explainers import explain
    from .explainers.lime import segment

    settings = dict(QUICK if quick else FULL, model=model, weights=weights, repeats=repeats,
                    quick=quick)
    classifier = _load(model, weights)
    image = _image(classifier)
    pixels = image.astype(np.float32)
    b = classifier.batch_size
    ns, nm = settings["num_samples"], settings["num_masks"]
    segments = segment(pixels, n_segments=settings["n_segments"])
    lime_args = dict(seed=0, num_samples=ns, segments=segments, hide_color=None)
    batch = {n: np.repeat(pixels[None], n, axis=0) for n in {ns, nm}}

    tasks = {
        "inference_lime": lambda: classifier.predict(batch[ns]),
        "lime": lambda: explain(classifier, image, "lime", **lime_args),
        "lime_package": lambda: explain(classifier, image, "lime_package", **lime_args),
        "inference_rise": lambda: classifier.predict(batch[nm]),
        "rise": lambda: explain(classifier, image, "rise", seed=0, num_masks=nm),
    }
    for method in ("gradcam", "fem"):
        tasks[method] = (lambda m: lambda: [explain(classifier, image, m)
                                            for _ in range(settings["cam_calls"])])(method)
    tasks["forward"] = lambda: [classifier.predict(pixels[None])
                                for _ in range(settings["cam_calls"])]

    # Warm-up: trace every graph at the timed shapes, fill the segmentation cache.
    classifier.predict(batch[ns][:b])
    classifier.predict(pixels[None])
    explain(classifier, image, "lime", **dict(lime_args, num_samples=b))
    explain(classifier, image, "lime_package", **dict(lime_args, num_samples=b))
    explain(classifier, image, "rise", seed=0, num_masks=b)
    explain(classifier, image, "gradcam")
    explain(classifier, image, "fem")

    traces = _trace_count(classifier)
    times = {name: [] for name in tasks}
    for _ in range(repeats):
        for name, fn in tasks.items():  # each explainer right after its baseline
            times[name].append(_timed(fn))
    retraced = _trace_count(classifier) - traces

    def pair(name, base, per=1):
        t, tb = np.array(times[name]), np.array(times[base])
        return dict(seconds=float(np.median(t[:, 0])) / per,
                    baseline_seconds=float(np.median(tb[:, 0])) / per,
                    ratio=float(np.median(t[:, 0] / tb[:, 0])),
                    cpu_ratio=float(np.median(t[:, 1] / tb[:, 1])))

    inf = np.median([t for t, _ in times["inference_rise"]])
    rows = [dict(name="inference", what=f"predict, {nm} images, batch {b}",
                 seconds=float(inf), baseline="", baseline_seconds=None, ratio=None,
                 cpu_ratio=None, value=nm / float(inf), unit="images/s", target=None)]
    rows.append(dict(name="lime_vs_package", what=f"LIME, {ns} samples",
                     baseline="lime package, same settings", unit="ratio",
                     **pair("lime", "lime_package")))
    rows.append(dict(name="lime_vs_inference", what=f"LIME, {ns} samples",
                     baseline=f"inference of {ns} images", unit="ratio",
                     **pair("lime", "inference_lime")))
    rows.append(dict(name="rise_vs_inference", what=f"RISE, {nm} masks",
                     baseline=f"inference of {nm} images", unit="ratio",
                     **pair("rise", "inference_rise")))
    megabytes, memory_method = _memory_in_subprocess(model, weights, settings["memory_masks"])
    rows.append(dict(name="rise_peak_memory", what=f"RISE, {settings['memory_masks']} masks",
                     seconds=None, baseline=memory_method, baseline_seconds=None, ratio=None,
                     cpu_ratio=None, value=float(megabytes), unit="MB"))
    for method in ("gradcam", "fem"):
        rows.append(dict(name=f"{method}_vs_forward", what=f"{method}, 1 image",
                         baseline="forward pass of 1 image", unit="ratio",
                         **pair(method, "forward", per=settings["cam_calls"])))
    for row in rows:
        row.setdefault("value", row.get("ratio"))
        row["target"] = TARGETS.get(row["name"])
        row["verdict"] = ("" if row["target"] is None else
                          "PASS" if row["value"] <= row["target"] else "MISS")
    report = dict(settings=settings, rows=rows, retraced=retraced)
    if echo:
        print(format_report(report))
    return report


def format_report(report):
    """The report of :func:`run` as a plain-text table."""
    s = report["settings"]
    lines = [
        f"labkit benchmark: {s['model']} (weights: {s['weights']}), {s['repeats']} repeat(s), "
        f"median; warm-up excluded{'; QUICK smoke run, timings meaningless' if s['quick'] else ''}",
        f"{'measure':<20} {'what':<30} {'seconds':>8}  {'baseline':<34} {'base s':>7} "
        f"{'ratio':>6} {'cpu r.':>6} {'target':>8}  verdict",
    ]
    fmt = lambda v, spec: "" if v is None else format(v, spec)  # noqa: E731
    for r in report["rows"]:
        if r["unit"] == "ratio":
            target = f"<= {r['target']}x"
        elif r["unit"] == "MB":
            target = f"<= {r['target']:.0f} MB"
        else:  # the baseline row: its value is the throughput
            target = f"{r['value']:.1f} {r['unit']}"
        ratio = fmt(r["ratio"], ".2f") if r["unit"] != "MB" else f"{r['value']:.0f} MB"
        lines.append(f"{r['name']:<20} {r['what']:<30} {fmt(r['seconds'], '8.3f'):>8}  "
                     f"{r['baseline'][:34]:<34} {fmt(r['baseline_seconds'], '7.3f'):>7} "
                     f"{ratio:>6} {fmt(r['cpu_ratio'], '.2f'):>6} {target:>8}  {r['verdict']}")
    memory = next(r for r in report["rows"] if r["name"] == "rise_peak_memory")
    lines.append(f"memory: {memory['baseline']}, fresh process, growth over RSS after warm-up")
    lines.append(f"graph retraces during timed runs: {report['retraced']}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m labkit.bench", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="mobilenet", help="registered model name")
    parser.add_argument("--repeats", type=int, default=3, help="timed repetitions (median)")
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--random-weights", action="store_true",
                        help="random weights (no weight files needed; same speed)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1.")
    run(args.model, weights=None if args.random_weights else "imagenet", quick=args.quick,
        repeats=args.repeats)


if __name__ == "__main__":
    main()
