"""Evaluate explainers on a whole dataset from the command line, resumably, in parallel.

::

    python -m labkit.evaluate --dataset benchmark --model efficientnet_lite0 \\
        --methods lime rise gradcam fem --param rise.num_masks=500 \\
        --param lime.num_samples=200 --store results.parquet --workers 2

``--dataset`` is ``benchmark`` (the test split of :func:`labkit.data.load_benchmark`) or a
folder in the MexCulture142 layout (:func:`labkit.data.load_saliency_dataset`).
``--workers N`` runs N worker processes on this machine, ``--scheduler ADDRESS`` a Dask
cluster (``pip install labkit[cluster]``). Rerunning with the same ``--store`` computes
only what is missing; ``--keep-maps`` keeps the maps in the store too
(:func:`labkit.metrics.load_maps` reads them back). The summary table
(:func:`labkit.metrics.summarize`) is printed at the end; ``pandas.read_parquet(store)`` reads
every row.

A usage error (an unknown method, metric, model or parameter, an unreadable store or
params file, an empty dataset folder, a worker count below 1, an unreachable scheduler)
prints one line on stderr and exits with status 2, before any model runs where it can
be known then; ``--debug`` adds the traceback.
"""
import contextlib
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ._cli import Parser, UsageError, positive_int, read_json, run

#: Seconds to wait for a Dask scheduler before giving up (Dask's own default is 30).
CONNECT_TIMEOUT = 5


def main(argv=None):
    """Run the command line; returns the exit status (0 on success, 2 on a usage error)."""
    return run(_main, argv)


def _main(argv):
    args = _parser().parse_args(argv)
    from .explainers import list_methods
    from .metrics import METRICS, evaluate, summarize

    method_params, metric_params = _split_params(_read_params(args), list_methods(), METRICS)
    items, ids = _dataset(args.dataset, args.split, args.limit)
    masks = [item.mask for item in items]
    with _executor(args) as executor:
        table = evaluate(args.model, [item.image for item in items], methods=args.methods,
                         metrics=args.metrics, ground_truths=[item.density for item in items],
                         masks=None if all(m is None for m in masks) else masks,
                         method_params=method_params, metric_params=metric_params,
                         image_ids=ids, seed=args.seed, progress=not args.quiet,
                         store=args.store, keep_maps=args.keep_maps, executor=executor)
    print(summarize(table).round(4).to_string())
    if args.store:
        print(f"{len(table)} rows in {args.store} (pandas.read_parquet reads them).")
    return 0


def _parser():
    parser = Parser(prog="python -m labkit.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True,
                        help="'benchmark' or a folder in the MexCulture142 layout")
    parser.add_argument("--split", default="test", choices=["train", "test", "all"],
                        help="benchmark split (default test)")
    parser.add_argument("--limit", type=positive_int, help="only the first N images (N >= 1)")
    parser.add_argument("--model", default="efficientnet_lite0",
                        help="registered model name or saved model path")
    from .explainers import list_methods
    from .metrics import METRICS

    parser.add_argument("--methods", nargs="+", default=["gradcam", "fem", "rise", "lime"],
                        choices=list_methods(), metavar="METHOD",
                        help=f"explainers, from {', '.join(list_methods())}")
    parser.add_argument("--metrics", nargs="+",
                        default=["pcc", "ssim", "iou", "pointing_game", "insertion", "deletion"],
                        choices=sorted(METRICS), metavar="METRIC",
                        help=f"metrics, from {', '.join(sorted(METRICS))}")
    parser.add_argument("--param", action="append", default=[], metavar="NAME.KEY=VALUE",
                        help="a method or metric parameter, e.g. rise.num_masks=500 or "
                             "insertion.steps=20 (VALUE read as JSON, else as text); repeatable")
    parser.add_argument("--params", type=Path, metavar="FILE.json",
                        help='JSON {"rise": {"num_masks": 500}, "deletion": {"steps": 20}}')
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--store", help="results folder, e.g. results.parquet (resumable)")
    parser.add_argument("--keep-maps", action="store_true",
                        help="keep every map in the store too (labkit.metrics.load_maps "
                             "reads them back); needs --store")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int,
                       help="N >= 1 worker processes on this machine")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="a Dask scheduler, e.g. tcp://10.0.0.5:8786")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _read_params(args):
    params = {}
    if args.params:
        try:
            raw = args.params.read_bytes()
        except OSError as err:
            raise UsageError(f"--params {args.params} cannot be read ({err.strerror}).") from None
        loaded = read_json(raw, f"--params {args.params}")
        if not isinstance(loaded, dict) or not all(isinstance(v, dict) for v in loaded.values()):
            raise UsageError(f"--params {args.params} must hold {{name: {{key: value}}}}.")
        params = {name: dict(values) for name, values in loaded.items()}
    for text in args.param:
        name_key, sep, value = text.partition("=")
        name, dot, key = name_key.partition(".")
        if not (sep and dot and name and key):
            raise UsageError(f"--param {text!r} must look like NAME.KEY=VALUE, "
                             "e.g. rise.num_masks=500.")
        try:
            value = read_json(value, f"--param {name_key}")
        except UsageError:
            pass  # plain text, e.g. baseline=blur
        params.setdefault(name, {})[key] = value
    return params


def _split_params(params, methods, metrics):
    unknown = [name for name in params if name not in methods and name not in metrics]
    if unknown:
        raise UsageError(f"parameters for {unknown[0]!r}, which is neither a method "
                         f"({', '.join(methods)}) nor a metric ({', '.join(metrics)}).")
    return ({n: p for n, p in params.items() if n in methods},
            {n: p for n, p in params.items() if n in metrics})


def _dataset(name, split, limit):
    from .data import load_benchmark, load_saliency_dataset

    if name == "benchmark":
        dataset = load_benchmark(split=None if split == "all" else split)
    elif Path(name).is_dir():
        dataset = load_saliency_dataset(name)
    else:
        raise UsageError(f"--dataset {name!r} is neither 'benchmark' nor a folder.")
    items = list(dataset)[:limit]  # an empty folder is refused by the loader, in one sentence
    return items, [item.image_path.stem for item in items]


@contextlib.contextmanager
def _executor(args):
    if args.workers:
        # spawn: TensorFlow does not survive a fork.
        with ProcessPoolExecutor(args.workers,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            yield pool
    elif args.scheduler:
        try:
            from dask.distributed import Client
        except ImportError:
            raise UsageError("--scheduler needs Dask: pip install 'labkit[cluster]'.") from None
        try:
            client = Client(args.scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, ValueError, TypeError) as err:  # refused, timed out, bad address
            raise UsageError(f"--scheduler {args.scheduler}: no Dask scheduler answered within "
                             f"{CONNECT_TIMEOUT} s ({' '.join(str(err).split())}); check the "
                             "address and that `dask scheduler` runs there.") from None
        with client:
            yield client.get_executor()
    else:
        yield None


if __name__ == "__main__":
    sys.exit(main())
