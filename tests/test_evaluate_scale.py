"""evaluate() on a whole dataset: a resumable Parquet store, process pools and Dask,
per-(image, method) seeds, and the command line."""
import multiprocessing
import re
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from test_metrics import region_image, region_mask, region_model

from labkit.metrics import _work, evaluate

FAST = {"rise": {"num_masks": 32, "grid_size": 4}}
STEPS = {"insertion": {"steps": 7}, "deletion": {"steps": 7}}
METRICS = ("iou", "pointing_game", "deletion")
EXPLAIN = _work.explain


@pytest.fixture(scope="module")
def model():
    return region_model()


@pytest.fixture(scope="module")
def data():
    images = [region_image(seed) for seed in range(3)]
    return images, [region_mask()] * 3


def _run(model, data, **kw):
    images, masks = data
    options = dict(methods=("gradcam", "rise"), metrics=METRICS, masks=masks,
                   method_params=FAST, metric_params=STEPS, image_ids=["a", "b", "c"],
                   progress=False)
    return evaluate(model, images, **{**options, **kw})


class Killed(Exception):
    """Stands for a kill of the evaluating process."""


def _count_explanations(monkeypatch, fail_after=None):
    """Count the explanations computed; raise (as a kill would stop the run) after some."""
    calls = []

    def counting(model, image, method, **kw):
        if fail_after is not None and len(calls) == fail_after:
            raise Killed
        calls.append(method)
        return EXPLAIN(model, image, method, **kw)

    monkeypatch.setattr(_work, "explain", counting)
    return calls


def _files(store):
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes())
            for p in store.glob("*.parquet")}


def _values(table):
    return table.drop(columns="seconds").reset_index(drop=True)


def test_an_interrupted_run_resumes_with_only_the_missing_pairs(model, data, tmp_path,
                                                                monkeypatch):
    whole = _run(model, data)
    store = tmp_path / "results.parquet"
    calls = _count_explanations(monkeypatch, fail_after=3)
    with pytest.raises(Killed):
        _run(model, data, store=store)
    assert calls == ["gradcam", "rise", "gradcam"]  # a, a, b: each written on completion
    before = _files(store)
    assert len(before) == 3

    calls = _count_explanations(monkeypatch)
    resumed = _run(model, data, store=store)
    assert calls == ["rise", "gradcam", "rise"]  # b/rise, c/gradcam, c/rise only
    after = _files(store)
    assert {name: after[name] for name in before} == before  # old files untouched
    pd.testing.assert_frame_equal(_values(resumed), _values(whole))

    # The store is the table: pandas reads it directly, one settings hash per method.
    stored = pd.read_parquet(store)
    assert len(stored) == len(whole) and set(stored.columns) >= set(whole.columns) | {"settings"}
    assert dict(stored.groupby("method")["settings"].unique().map(list)) == \
        {m: [h] for m, h in resumed.attrs["settings"].items()}
    key = ["image", "method", "metric"]
    merged = stored.merge(resumed, on=key, suffixes=("_stored", ""))
    assert (merged["value_stored"].equals(merged["value"])
            and merged["seconds_stored"].equals(merged["seconds"]))

    calls = _count_explanations(monkeypatch)
    again = _run(model, data, store=store)  # complete: nothing left to compute
    assert calls == []
    pd.testing.assert_frame_equal(again, resumed)


def test_curves_come_back_from_a_store_for_computed_and_resumed_pairs(model, data, tmp_path,
                                                                     monkeypatch):
    metrics = ("iou", "deletion", "insertion")
    _, whole = _run(model, data, metrics=metrics, return_curves=True)
    store = tmp_path / "results.parquet"
    calls = _count_explanations(monkeypatch, fail_after=3)
    with pytest.raises(Killed):
        _run(model, data, metrics=metrics, store=store)
    calls = _count_explanations(monkeypatch)
    table, curves = _run(model, data, metrics=metrics, store=store, return_curves=True)
    assert calls == ["rise", "gradcam", "rise"]  # the stored pairs' curves are read back
    assert sorted(curves) == sorted(whole) and len(curves) == 3 * 2 * 2
    for key, curve in whole.items():
        got = curves[key]
        assert (got.metric, got.target, got.higher_is_better) == \
            (curve.metric, curve.target, curve.higher_is_better)
        np.testing.assert_array_equal(got.fractions, curve.fractions)
        np.testing.assert_allclose(got.scores, curve.scores, atol=1e-6)
        row = table[(table.image == key[0]) & (table.method == key[1]) & (table.metric == key[2])]
        assert row.value.item() == got.auc
    # A store written without curve files (an older labkit) recomputes only for curves.
    for path in (store / "_curves").glob("*-*.npz"):
        if path.name.startswith(next(iter(table.attrs["settings"].values()))):
            path.unlink()
    calls = _count_explanations(monkeypatch)
    _, again = _run(model, data, metrics=metrics, store=store, return_curves=True)
    assert sorted(calls) == ["gradcam"] * 3 and sorted(again) == sorted(whole)
    calls = _count_explanations(monkeypatch)
    _run(model, data, metrics=metrics, store=store)  # without curves: nothing to recompute
    assert calls == []


def test_other_settings_write_a_new_row_set_beside_the_old(model, data, tmp_path, monkeypatch):
    store = tmp_path / "results.parquet"
    first = _run(model, data, store=store)
    calls = _count_explanations(monkeypatch)
    more = {"rise": {"num_masks": 48, "grid_size": 4}}
    second = _run(model, data, store=store, method_params=more)
    assert calls == ["rise"] * 3  # Grad-CAM's settings did not change: reused
    assert second.attrs["settings"]["gradcam"] == first.attrs["settings"]["gradcam"]
    assert second.attrs["settings"]["rise"] != first.attrs["settings"]["rise"]
    stored = pd.read_parquet(store)
    assert len(stored) == len(first) + len(second) // 2
    old = stored[stored.settings == first.attrs["settings"]["rise"]]
    old = old.sort_values(["image", "metric"])["value"].to_numpy()
    assert np.array_equal(old, first[first.method == "rise"].sort_values(["image", "metric"])
                          ["value"].to_numpy())

    images, masks = data
    changed = ([images[0][::-1]] + images[1:], masks)
    with pytest.raises(ValueError, match="image 'a' computed on other pixels"):
        _run(model, changed, store=store)


def test_a_corrupt_store_file_stops_the_run_and_is_left_untouched(model, data, tmp_path):
    store = tmp_path / "results.parquet"
    _run(model, data, store=store)
    victim = sorted(store.glob("*.parquet"))[0]
    victim.write_bytes(b"PAR1 truncated by a crash")
    before = _files(store)
    with pytest.raises(ValueError, match=r"store file .* is unreadable .* nothing was overwritten"):
        _run(model, data, store=store)
    assert _files(store) == before

    (store / "_labkit_store.json").write_text("{not json")
    with pytest.raises(ValueError, match="store description .* is unreadable"):
        _run(model, data, store=store)


def test_store_argument_checks(model, data, tmp_path):
    a_file = tmp_path / "results.parquet"
    a_file.write_bytes(b"")
    with pytest.raises(ValueError, match="is a file; the store is a folder"):
        _run(model, data, store=a_file)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    with pytest.raises(ValueError, match="is not empty and is no labkit store"):
        _run(model, data, store=foreign)
    with pytest.raises(ValueError, match="return_explanations is not available with store="):
        _run(model, data, store=tmp_path / "s", return_explanations=True)
    with pytest.raises(ValueError, match="all integers or all strings"):
        _run(model, data, store=tmp_path / "s", image_ids=[1, "b", 3.5])
    _run(model, data, store=tmp_path / "s")
    with pytest.raises(ValueError, match="labels images with str values but these image_ids "
                                         "are int"):
        _run(model, data, store=tmp_path / "s", image_ids=[0, 1, 2])


def test_executor_argument_checks(model, data):
    with pytest.raises(TypeError, match="executor must be a concurrent.futures.Executor"):
        _run(model, data, executor=multiprocessing.get_context("spawn").Pool)
    with ThreadPoolExecutor(1) as pool:
        with pytest.raises(ValueError, match="cannot travel to the executor's workers: 'region' "
                                             "lives only in this process .* save it"):
            _run(model, data, executor=pool)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        with pytest.raises(ValueError, match="forks its workers.*'spawn'"):
            _run("efficientnet_lite0", data, executor=pool)
    with pytest.raises(TypeError, match="model must be a labkit.Classifier, a registered model "
                                        "name or a saved model's path"):
        _run(3, data)


def test_a_classifier_renamed_like_a_registered_model_does_not_travel(data):
    from labkit.models import load_model

    impostor = load_model("efficientnet_lite0", weights=None)  # same name, random weights
    with ThreadPoolExecutor(1) as pool:
        with pytest.raises(ValueError, match="is not the model labkit.load_model"):
            _run(impostor, data, executor=pool)


def test_each_image_and_method_has_its_own_stable_seed(model, data):
    seeds = {(i, m): _work.unit_seed(0, i, m) for i in ("a", "b", 0, 1) for m in ("rise", "lime")}
    assert len(set(seeds.values())) == len(seeds)
    assert all(0 <= s < 2**32 for s in seeds.values())
    assert _work.unit_seed(0, np.int64(1), "rise") == seeds[1, "rise"]
    assert _work.unit_seed(1, "a", "rise") != seeds["a", "rise"]
    assert _work.unit_seed(None, "a", "rise") is None
    # The same picture under two labels gets independent RISE masks, hence other maps.
    images, masks = data
    table, explanations = _run(model, ([images[0]] * 2, masks[:2]), image_ids=["x", "y"],
                               methods=["rise"], return_explanations=True)
    assert explanations["x", "rise"].params["seed"] != explanations["y", "rise"].params["seed"]
    assert not np.array_equal(explanations["x", "rise"].saliency,
                              explanations["y", "rise"].saliency)


@pytest.mark.slow
def test_process_pool_and_dask_give_the_serial_table(tmp_path, monkeypatch):
    from dask.distributed import Client, LocalCluster

    from labkit.data import load_benchmark

    items = list(load_benchmark(split="test"))[:2]
    images = [item.image for item in items]
    kw = dict(methods=("gradcam", "fem", "rise", "lime"), metrics=("pcc", "iou", "deletion"),
              ground_truths=[item.density for item in items], masks=[item.mask for item in items],
              method_params={"rise": {"num_masks": 16}, "lime": {"num_samples": 16}},
              metric_params={"deletion": {"steps": 7}},
              image_ids=[item.image_path.stem for item in items], progress=False)
    serial = evaluate("efficientnet_lite0", images, **kw)
    assert len(serial) == 2 * 4 * 3 and serial["value"].notna().all()

    store = tmp_path / "results.parquet"
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        pooled = evaluate("efficientnet_lite0", images, executor=pool, store=store, **kw)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        dasked, explanations = evaluate("efficientnet_lite0", images,
                                        executor=client.get_executor(),
                                        return_explanations=True, **kw)
    # Identical, not merely close: same seeds, same batch composition, same kernels.
    pd.testing.assert_frame_equal(_values(pooled), _values(serial))
    pd.testing.assert_frame_equal(_values(dasked), _values(serial))
    assert explanations[items[1].image_path.stem, "lime"].model_name == "efficientnet_lite0"

    # A store filled by the pool is complete for a serial rerun in this process.
    calls = _count_explanations(monkeypatch)
    resumed = evaluate("efficientnet_lite0", images, store=store, **kw)
    assert calls == []
    pd.testing.assert_frame_equal(resumed, pooled)


@pytest.mark.slow
def test_command_line_prints_the_summary_and_writes_the_store(tmp_path, capsys):
    from labkit.evaluate import main

    store = tmp_path / "results.parquet"
    args = ["--dataset", "benchmark", "--limit", "2", "--methods", "gradcam", "rise",
            "--metrics", "iou", "pointing_game", "--param", "rise.num_masks=8",
            "--param", "pointing_game.tolerance=0", "--store", str(store), "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "pointing_game" in out and "gradcam" in out and "rise" in out
    stored = pd.read_parquet(store)
    assert len(stored) == 2 * 2 * 2 and stored["image"].str.startswith("cat_N_").all()
    rise = pd.read_json(store / "_labkit_store.json", typ="series")["settings"]
    assert any(d["method_params"] == {"num_masks": 8} for d in rise.values())

    assert main(args + ["--param", "rise"]) == 2
    assert "must look like NAME.KEY=VALUE" in capsys.readouterr().err
    assert main(args + ["--param", "risk.num_masks=3"]) == 2
    assert re.search("neither a method .* nor a metric", capsys.readouterr().err)
