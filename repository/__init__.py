"""Kho: a linked-data archive of Hanoi's records, units and agencies."""

__version__ = "0.1.0"
