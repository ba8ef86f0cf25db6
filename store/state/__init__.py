"""The local twins, in the home's SQLite file (``state.sqlite3``): run state (``StateDB``: meta
keys, watermarks, the revision), the summary cache, digest history and reader signals."""
