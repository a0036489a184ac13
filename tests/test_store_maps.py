"""evaluate(..., store=, keep_maps=True): the store keeps each (image, method) map, which
load_maps gives back to re-score without explaining again; resuming still works."""
import numpy as np
import pandas as pd
import pytest

import labkit
from labkit.metrics import _work, evaluate, load_maps, score

EXPLAIN = _work.explain
IDS = ["elephant_waterhole", "black_bear_grass"]
OPTIONS = dict(methods=("gradcam", "rise"), metrics=("deletion",), image_ids=IDS,
               method_params={"rise": {"num_masks": 48, "grid_size": 5}},
               metric_params={"deletion": {"steps": 7}}, progress=False)


@pytest.fixture(scope="module")
def model():
    return labkit.load_model("efficientnet_lite0")


@pytest.fixture(scope="module")
def images():
    return [labkit.sample_image(name, size=224) for name in IDS]


def _count_explanations(monkeypatch):
    calls = []

    def counting(model, image, method, **kw):
        calls.append(method)
        return EXPLAIN(model, image, method, **kw)

    monkeypatch.setattr(_work, "explain", counting)
    return calls


def test_kept_maps_come_back_and_rescore_to_the_stored_values(model, images, tmp_path):
    store = tmp_path / "results.parquet"
    table = evaluate(model, images, store=store, keep_maps=True, **OPTIONS)
    maps = load_maps(store, settings=table.attrs["settings"])
    assert list(maps) == sorted((i, m) for i in IDS for m in ("gradcam", "rise"))
    assert len(list((store / "_maps").glob("*.npz"))) == 4
    # The map is the one evaluate scored: the unit's own seed gives it again.
    rise = maps["black_bear_grass", "rise"]
    seed = _work.unit_seed(0, "black_bear_grass", "rise")
    again = labkit.explain(model, images[1], "rise", seed=seed, num_masks=48, grid_size=5)
    np.testing.assert_array_equal(rise.saliency, again.saliency)
    np.testing.assert_array_equal(rise.image, images[1])
    assert rise.params["seed"] == seed and rise.extras == {}
    assert rise.model_hash == model.model_hash
    # Re-scoring the kept maps needs no explainer and gives the stored values.
    rescored = score(maps, metrics=("deletion",), model=model,
                     metric_params={"deletion": {"steps": 7}})
    stored = table.set_index(["image", "method"])["value"]
    for key in maps:
        assert rescored.loc[key, "deletion ↓"] == stored[key]
    # Parquet readers skip the maps folder.
    assert len(pd.read_parquet(store)) == len(table)


def test_resuming_keeps_or_adds_maps(model, images, tmp_path, monkeypatch):
    store = tmp_path / "results.parquet"
    first = evaluate(model, images, store=store, **OPTIONS)  # an old-style store: no maps
    assert load_maps(store) == {} and not (store / "_maps").exists()
    calls = _count_explanations(monkeypatch)
    evaluate(model, images, store=store, **OPTIONS)
    assert calls == []  # complete without maps when none are asked for
    with_maps = evaluate(model, images, store=store, keep_maps=True, **OPTIONS)
    assert sorted(calls) == ["gradcam", "gradcam", "rise", "rise"]  # explained again for maps
    pd.testing.assert_frame_equal(first.drop(columns="seconds"),
                                  with_maps.drop(columns="seconds"))
    (store / "_maps" / (sorted(p.stem for p in store.glob("*.parquet"))[0] + ".npz")).unlink()
    calls.clear()
    evaluate(model, images, store=store, keep_maps=True, **OPTIONS)
    assert len(calls) == 1  # only the pair whose map went missing
    calls.clear()
    evaluate(model, images, store=store, keep_maps=True, **OPTIONS)
    assert calls == [] and len(load_maps(store)) == 4


def test_keep_maps_checks(model, images, tmp_path):
    with pytest.raises(ValueError, match="keep_maps=True keeps the maps in the store: pass store="):
        evaluate(model, images, keep_maps=True, **OPTIONS)
    with pytest.raises(ValueError, match="is no labkit store"):
        load_maps(tmp_path)
    store = tmp_path / "s"
    options = {**OPTIONS, "methods": ("rise",), "image_ids": IDS[:1]}
    a = evaluate(model, images[:1], store=store, keep_maps=True, **options)
    b = evaluate(model, images[:1], store=store, keep_maps=True,
                 **{**options, "method_params": {"rise": {"num_masks": 32, "grid_size": 5}}})
    with pytest.raises(ValueError, match="keeps rise maps of several settings; choose one"):
        load_maps(store)
    for table, masks in ((a, 48), (b, 32)):
        chosen = load_maps(store, settings=table.attrs["settings"])
        assert chosen[IDS[0], "rise"].params["num_masks"] == masks
    assert len(load_maps(store, settings=b.attrs["settings"]["rise"])) == 1
