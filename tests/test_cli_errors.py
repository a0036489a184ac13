"""The two command lines: a usage error is one line on stderr and exit status 2, never a
traceback (``--debug`` shows it); JSON files saved with a byte-order mark are read."""
import json
import subprocess
import sys

import pytest

from labkit import evaluate as evaluate_cli
from labkit import grade

LIME = {"method": "lime", "params": {"num_samples": 40, "n_segments": 20}}


def _one_line(capsys, *words):
    """stderr of the last call: one line starting with "error: ", holding ``words``."""
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err, err
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"
    return lines[0]


def _deep(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    return path


@pytest.fixture
def bom_params(tmp_path):
    """A params file as Windows Notepad saves it (UTF-8 with a byte-order mark), with a
    parameter typo that can only be reported once the file has been read."""
    path = tmp_path / "params.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"rise": {"num_maskz": 16}}).encode())
    return path


def test_evaluate_usage_errors_are_one_line_and_exit_2(tmp_path, capsys, bom_params):
    empty = tmp_path / "empty"
    for sub in ("Images", "Density Maps"):
        (empty / sub).mkdir(parents=True)
    a_file = tmp_path / "results.parquet"
    a_file.write_text("not a store")
    base = ["--dataset", "benchmark", "--limit", "1", "--methods", "rise", "--metrics", "pcc",
            "--quiet"]
    rows = [
        (["--dataset", "benchmark", "--methods", "shap"], ["--methods", "'shap'"]),
        (["--dataset", "benchmark", "--metrics", "accuracy"], ["--metrics", "'accuracy'"]),
        (["--methods", "rise"], ["--dataset"]),
        (["--dataset", "benchmark", "--limit", "-1"], ["--limit", ">= 1", "-1"]),
        (["--dataset", "benchmark", "--limit", "0"], ["--limit", "0"]),
        (["--dataset", "benchmark", "--workers", "0"], ["--workers", ">= 1", "0"]),
        (["--dataset", "benchmark", "--workers", "-2"], ["--workers", "-2"]),
        (["--dataset", str(tmp_path / "nowhere")], ["nowhere", "neither 'benchmark' nor"]),
        (["--dataset", str(empty)], ["no images in", "Images"]),
        (["--dataset", str(tmp_path)], ["Images"]),
        (base + ["--params", str(_deep(tmp_path))], ["deep.json", "nests brackets deeper"]),
        (base + ["--params", str(tmp_path / "none.json")], ["none.json", "cannot be read"]),
        (base + ["--params", str(bom_params)], ["rise", "'num_maskz'", "num_masks"]),
        (base + ["--param", "rise.grid_size=1"], ["grid_size", "got 1"]),
        (base + ["--param", "insertion.stepz=3", "--metrics", "insertion"],
         ["insertion", "'stepz'"]),
        (base + ["--param", "foo.x=1"], ["'foo'", "neither a method"]),
        (base + ["--seed", "-1"], ["seed", "-1"]),
        (base + ["--store", str(a_file)], ["results.parquet", "is a file"]),
        (base + ["--model", "resnet9000"], ["unknown model 'resnet9000'"]),
    ]
    for argv, words in rows:
        assert evaluate_cli.main(argv) == 2, argv
        _one_line(capsys, *words)


def test_evaluate_gives_up_on_an_unreachable_scheduler_quickly(capsys, monkeypatch):
    pytest.importorskip("dask.distributed")
    monkeypatch.setattr(evaluate_cli, "CONNECT_TIMEOUT", 1)
    argv = ["--dataset", "benchmark", "--limit", "1", "--methods", "rise", "--metrics", "pcc",
            "--param", "rise.num_masks=8", "--scheduler", "tcp://127.0.0.1:1", "--quiet"]
    assert evaluate_cli.main(argv) == 2
    _one_line(capsys, "--scheduler tcp://127.0.0.1:1", "within 1 s", "dask scheduler")


def test_debug_shows_the_traceback_and_a_bug_exits_1(tmp_path, capsys, monkeypatch):
    argv = ["--dataset", str(tmp_path / "nowhere")]
    assert evaluate_cli.main(argv + ["--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("error: ")

    def broken(*args):
        raise RuntimeError("an unexpected state")
    monkeypatch.setattr(evaluate_cli, "_dataset", broken)
    assert evaluate_cli.main(["--dataset", "benchmark"]) == 1
    _one_line(capsys, "RuntimeError: an unexpected state", "--debug")


def test_evaluate_command_prints_no_traceback_as_a_process():
    done = subprocess.run([sys.executable, "-m", "labkit.evaluate", "--dataset", "benchmark",
                           "--workers", "-1"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: argument --workers: must be an integer >= 1, got -1 "
        "(see python -m labkit.evaluate --help)"]


# -- the grader ----------------------------------------------------------------------------
def _write(tmp_path, submission, name="submission.json", bom=False):
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + json.dumps(submission).encode())
    return str(path)


def test_grader_reads_a_byte_order_mark_and_refuses_deep_nesting(tmp_path, capsys):
    assert grade.read_submission(_write(tmp_path, LIME, bom=True)) == LIME
    assert grade.main([str(_deep(tmp_path))]) == 2
    _one_line(capsys, "deep.json", "nests brackets deeper")
    bad = _write(tmp_path, {"method": "lime", "params": {"kernel_width": -1}}, bom=True)
    assert grade.main([bad]) == 2
    _one_line(capsys, "params.kernel_width")


def test_grader_usage_errors_are_one_line_and_exit_2(tmp_path, capsys):
    good = _write(tmp_path, LIME)
    rows = [
        ([good, "--limit", "-1"], ["--limit", "-1"]),
        ([good, "--limit", "0"], ["--limit", "0"]),
        ([good, "--size", "0"], ["--size", "0"]),
        ([good, "--colour", "red"], ["unrecognized arguments: --colour red"]),
        ([str(tmp_path / "none.json")], ["no such submission file"]),
        ([_write(tmp_path, {**LIME, "params": {"num_samples": 1}}, "one.json")],
         ["params.num_samples", ">= 2", "got 1"]),
        ([good, "--model", "resnet9000", "--limit", "1"], ["unknown model 'resnet9000'"]),
        ([good, "--grading-set", str(tmp_path)], ["Images"]),
    ]
    for argv, words in rows:
        assert grade.main(argv) == 2, argv
        _one_line(capsys, *words)
    with pytest.raises(ValueError, match="limit must be at least 1, got 0"):
        grade.grade(LIME, limit=0)


def test_grader_refuses_an_unreliable_explanation_instead_of_scoring_it(tmp_path, capsys):
    """Fewer LIME samples than superpixels: labkit warns, and the grader refuses (exit 2)
    rather than score a map that reflects the ridge penalty more than the model."""
    few = _write(tmp_path, {"method": "lime", "params": {"num_samples": 8, "n_segments": 20}})
    assert grade.main([few, "--limit", "1"]) == 2
    _one_line(capsys, "unreliable explanation", "not graded", "num_samples=8")
