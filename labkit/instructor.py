"""``python -m labkit.instructor`` runs :mod:`labkit.course.instructor`; ``labkit.instructor``
is that module."""
import sys

from .course import instructor

if __name__ == "__main__":
    sys.exit(instructor.main())
sys.modules[__name__] = instructor
