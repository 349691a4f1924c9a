"""alma-onelink: a typed SDK for the Ex Libris Alma Users API, with institution policies."""

from ._version import __version__

__all__ = ["__version__"]
