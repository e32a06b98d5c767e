"""The PSSL store: labels, done-lists, settings fingerprint, locks, atomic files, manifest."""
