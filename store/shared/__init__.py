"""The shared twins: what several machines using one ``chroma run`` server must agree on (summary
cache, digest history, reader signals, the store's revision and the writer lease), kept on that
server as rows of JSON (``store.shared.table``)."""
