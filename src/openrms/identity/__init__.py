"""The master index: normalisation, blocking, the match model, resolution, judgements and merges."""
