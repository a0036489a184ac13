"""``python -m labkit.grade`` runs :mod:`labkit.course.grade`; ``labkit.grade`` is that module."""
import sys

from .course import grade

if __name__ == "__main__":
    sys.exit(grade.main())
sys.modules[__name__] = grade
