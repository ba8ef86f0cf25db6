"""Text -> vectors: the bundled MiniLM (``store.embedding.embedders``, with ``make_embedder``), its
fused ONNX graph, and any OpenAI-compatible ``/embeddings`` endpoint."""
