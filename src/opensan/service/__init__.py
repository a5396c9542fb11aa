"""The array's operations behind one door: ArrayService (array.py) over a unit of work."""

from opensan.service.array import ArrayService

__all__ = ["ArrayService"]
