"""The version of aekit, written once: the package metadata reads it (pyproject.toml, dynamic) and
``aekit.__version__`` re-exports it."""

__version__ = "0.1.0"
