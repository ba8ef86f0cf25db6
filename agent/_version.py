"""The installed version of paperbrief, read once from the package metadata."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("paperbrief")
except PackageNotFoundError:  # a source tree that was never installed (pip install -e .)
    __version__ = "0+unknown"

USER_AGENT = f"paperbrief/{__version__} (+https://pypi.org/project/paperbrief/)"
