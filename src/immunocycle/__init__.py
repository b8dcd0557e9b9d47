"""immunocycle: a workbench for designing nano-immunotherapies on the cancer-immunity cycle."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("immunocycle")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["__version__"]
