"""Vectors from any OpenAI-compatible ``POST {base_url}/embeddings`` endpoint."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from store.embedding.base import Embedder, normalise
from store.errors import EmbedderError

if TYPE_CHECKING:
    import httpx


class OpenAIEmbedder(Embedder):
    """Any OpenAI-compatible ``POST {base_url}/embeddings`` (OpenAI, Ollama, vLLM, llama.cpp).

    ``base_url`` follows the OpenAI SDK convention and includes ``/v1``. The dimension is learnt
    from the first response unless given.
    """

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        batch_size: int = 64,
        timeout: float = 60.0,
        dim: int | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        self.model = model
        self.base_url = (base_url or "https://api.openai.com/v1").rstrip("/")
        self.url = self.base_url + "/embeddings"
        self._api_key = api_key
        self.batch_size = max(1, int(batch_size))
        self.timeout = timeout
        self.dim = int(dim or 0)
        self._http = http_client

    @property
    def model_id(self) -> str:  # type: ignore[override]
        return f"openai:{self.model}@{self.dim or '?'}"

    def _client(self) -> httpx.Client:
        if self._http is None:
            import httpx

            self._http = httpx.Client(timeout=self.timeout)
        return self._http

    def _post(self, batch: Sequence[str]) -> np.ndarray:
        import httpx

        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        payload = {"model": self.model, "input": list(batch), "encoding_format": "float"}
        hint = "Check embedding_base_url (it should end in /v1), embedding_model and the API key."
        try:
            resp = self._client().post(self.url, json=payload, headers=headers)
        except httpx.HTTPError as exc:
            raise EmbedderError(
                f"embedding endpoint {self.url} failed: {type(exc).__name__}: {exc}", hint=hint
            ) from exc
        if resp.status_code != 200:
            raise EmbedderError(
                f"embedding endpoint {self.url} answered HTTP {resp.status_code}: "
                f"{resp.text[:200]}",
                hint=hint,
            )
        try:
            data = sorted(resp.json()["data"], key=lambda d: d["index"])
            vectors = np.asarray([d["embedding"] for d in data], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbedderError(
                f"embedding endpoint {self.url} sent an unexpected payload: {exc}", hint=hint
            ) from exc
        if vectors.ndim != 2 or len(vectors) != len(batch):
            raise EmbedderError(
                f"embedding endpoint {self.url} returned {len(vectors)} vectors for "
                f"{len(batch)} texts",
                hint=hint,
            )
        return vectors

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [
            self._post(texts[i : i + self.batch_size])
            for i in range(0, len(texts), self.batch_size)
        ]
        vectors = np.concatenate(parts)
        if self.dim and vectors.shape[1] != self.dim:
            raise EmbedderError(
                f"embedding endpoint {self.url} returned {vectors.shape[1]}-d vectors for model "
                f"{self.model}; expected {self.dim}",
                hint="The endpoint serves another model than before; run `paperbrief reindex`.",
            )
        self.dim = int(vectors.shape[1])
        return normalise(vectors)


__all__ = ["OpenAIEmbedder"]
