"""The read store port: documents that projections build and the API reads."""

from tauro_platform.readstore.port import Filter, ReadStore, Sort

__all__ = ["Filter", "ReadStore", "Sort"]
