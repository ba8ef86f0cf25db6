"""PaperStore's parts over Chroma and BM25: paper records and their chunks, reading, writing (and
its crash consistency), search and rank fusion, and the reindex."""
