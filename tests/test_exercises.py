"""Exercise checks: a correct answer passes, typical mistakes are caught and named."""
import numpy as np
import pytest
from sklearn.linear_model import Ridge

from labkit.course import exercises


# Correct answers, as a student would write them (a few lines each).
def lime_kernel(data, kernel_width):
    d = 1 - np.sqrt(data.sum(axis=1) / data.shape[1])
    return np.sqrt(np.exp(-d ** 2 / kernel_width ** 2))


def lime_surrogate(data, scores, weights, alpha):
    return Ridge(alpha=alpha).fit(data, scores, sample_weight=weights).coef_


def rise(masks, probs, p1):
    return np.tensordot(probs, masks, axes=1) / (len(masks) * p1)


def gradcam(activations, gradients):
    return np.maximum((activations * gradients.mean(axis=(0, 1))).sum(-1), 0)


def fem(activations, k):
    mean, std = activations.mean(axis=(0, 1)), activations.std(axis=(0, 1))
    return ((activations > mean + k * std) * mean).sum(-1)


def auc(fractions, scores):
    return np.trapezoid(scores, fractions)


def pcc(a, b):
    a, b = a - a.mean(), b - b.mean()
    return (a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum())


CORRECT = [(exercises.check_lime_kernel, lime_kernel),
           (exercises.check_lime_surrogate, lime_surrogate),
           (exercises.check_rise, rise), (exercises.check_gradcam, gradcam),
           (exercises.check_fem, fem), (exercises.check_auc, auc), (exercises.check_pcc, pcc)]

WRONG = [
    (exercises.check_lime_kernel,
     lambda data, w: np.exp(-(1 - np.sqrt(data.mean(1))) ** 2 / w ** 2), "square root"),
    (exercises.check_lime_surrogate,
     lambda data, scores, weights, alpha: Ridge(alpha=alpha).fit(data, scores).coef_,
     "sample weights"),
    (exercises.check_rise, lambda masks, probs, p1: np.tensordot(probs, masks, 1) / len(masks),
     "not by N alone"),
    (exercises.check_rise,
     lambda masks, probs, p1: np.tensordot(probs, masks, 1) / masks.sum(0), "xplique"),
    (exercises.check_gradcam, lambda a, g: (a * g.mean(axis=(0, 1))).sum(-1), "ReLU"),
    (exercises.check_gradcam, lambda a, g: np.maximum((a * g.mean(-1)[..., None]).sum(-1), 0),
     "not over the channels"),
    (exercises.check_gradcam,
     lambda a, g: np.maximum((a * g.sum(axis=(0, 1))).sum(-1), 0), "not their sum"),
    (exercises.check_fem, lambda a, k: ((a >= a.mean((0, 1)) + k * a.std((0, 1)))
                                        * a.mean((0, 1))).sum(-1), "strictly above"),
    (exercises.check_fem, lambda a, k: ((a > a.mean() + k * a.std()) * a.mean((0, 1))).sum(-1),
     "per channel"),
    (exercises.check_auc, lambda x, y: np.mean(y), "trapezoidal rule"),
    (exercises.check_auc, lambda x, y: np.sum(y), "not an area"),
    (exercises.check_pcc, lambda a, b: (a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()),
     "centering"),
]


@pytest.mark.parametrize("check, answer", CORRECT, ids=lambda v: getattr(v, "__name__", ""))
def test_a_correct_answer_passes(check, answer, capsys):
    assert check(answer) is True
    out = capsys.readouterr().out
    assert "correct" in out and "FAIL" not in out and "Hint" not in out


@pytest.mark.parametrize("check, answer, hint", WRONG,
                         ids=lambda v: v if isinstance(v, str) else getattr(v, "__name__", ""))
def test_a_typical_mistake_is_named(check, answer, hint, capsys):
    assert check(answer) is False
    out = capsys.readouterr().out
    assert "not yet right" in out and "FAIL" in out and "expected" in out
    assert hint in out.split("Hint:")[1]


def test_the_student_stub_is_not_implemented_yet(capsys):
    def stub(activations, gradients):
        raise NotImplementedError("Exercise: write this part yourself")

    assert exercises.check_gradcam(stub) is False
    assert capsys.readouterr().out.strip() == "Grad-CAM: not implemented yet."


def test_shapes_errors_and_none_are_reported_not_raised(capsys):
    assert exercises.check_fem(lambda a, k: a.mean(axis=(0, 1))) is False
    out = capsys.readouterr().out
    assert "expected shape (7, 7), received (" in out
    assert exercises.check_auc(lambda x, y: None) is False
    assert "returned None" in capsys.readouterr().out
    assert exercises.check_pcc(lambda a, b: 1 / 0) is False
    assert "raised ZeroDivisionError" in capsys.readouterr().out


def test_checks_never_print_the_solution(capsys):
    exercises.check_rise(lambda masks, probs, p1: masks.sum(0) / (len(masks) * p1))
    out = capsys.readouterr().out
    assert "Hint: weight each mask by its probability" in out
    assert "tensordot" not in out and "def " not in out and "lambda" not in out
