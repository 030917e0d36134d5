"""Imports from legacy systems: streaming readers, the declarative mapping language, runs and quarantine.

Data flows: a reader yields `SourceRow`s -> a compiled mapping turns each into records and links (or
reasons it cannot) -> the store writes them idempotently in checkpointed batches -> rows that fail go to
quarantine with every reason, never lost.
"""
