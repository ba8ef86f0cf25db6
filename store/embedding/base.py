"""What every embedder is: the interface the store needs, and L2 normalisation of its rows."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Embedder(ABC):
    """What the store needs from an embedding model. Subclass it to plug in another model."""

    #: Identifies the vectors: two embedders with the same id produce interchangeable vectors.
    model_id: str
    #: Vector length; 0 while unknown (an endpoint's dimension is learnt on the first call).
    dim: int

    @abstractmethod
    def embed(self, texts: list[str]) -> np.ndarray:
        """float32 array (len(texts), dim), each row L2-normalised."""

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def adopt(self, stored_id: str) -> bool:
        """Become the variant that made ``stored_id``'s vectors, if this embedder has one (a
        choice left to the store); True if it did. Called when a store is opened."""
        return False

    def warm(self) -> None:  # noqa: B027 - optional hook: most embedders have nothing to load
        """Load what the first embed needs (a model file), if anything; safe in a thread."""


def normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


__all__ = ["Embedder", "normalise"]
