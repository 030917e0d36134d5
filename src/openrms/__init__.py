"""OpenRMS: one records platform for police forces and their justice partners."""

__version__ = "0.1.0"
