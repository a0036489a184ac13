"""Assertions shared by several test modules (conftest is for fixtures: with two conftest
files in one run, ``from conftest import`` would pick the wrong one)."""
import numpy as np


def top_fraction_inside(saliency, mask, fraction=0.2):
    """Share of the top ``fraction`` most salient pixels that fall inside ``mask``."""
    k = int(fraction * saliency.size)
    top = np.argsort(saliency.ravel(), kind="stable")[-k:]
    return float(mask.ravel()[top].mean())
