"""The course tools, above the library: the exercises' checks (``exercises``), the
instructor's student-notebook builder (``instructor``) and the grader (``grade``).

``python -m labkit.grade``, ``python -m labkit.instructor`` and ``labkit.exercises`` keep
working: those names are the same modules as ``labkit.course.*``."""
