"""labkit's version, in its own module so that any layer can read it without importing
the package root (which imports models and explainers). Keep it equal to pyproject.toml's."""
__version__ = "0.1.0"
