"""``labkit.exercises`` is :mod:`labkit.course.exercises` (the labs import it by this name)."""
import sys

from .course import exercises

sys.modules[__name__] = exercises
