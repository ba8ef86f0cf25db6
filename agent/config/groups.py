"""The typed groups of settings (``[llm]``, ``[smtp]``, ``[digest]`` ...) and reader profiles.

Each group is a plain pydantic model; ``agent.config.settings.Settings`` nests them. A profile
(``[profiles.NAME]``) is a digest group plus its own recipients and library files; the top-level
``[digest]`` group and ``smtp.to`` are the default profile.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SecretStr,
    field_validator,
)

from agent._version import USER_AGENT
from agent.config.lists import AddressList, CommaList, PathList, TextList
from agent.config.secrets import mask_webhook_url


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


def _webhook_urls(value: object) -> object:
    """A plain string is one URL or several separated by commas or whitespace (never part of
    an apprise URL); each must look like ``scheme://...``: apprise itself checks the rest when
    posting, so loading the config stays fast."""
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split() if v]
    if isinstance(value, list):
        for url in value:
            if not isinstance(url, str) or "://" not in url or any(c.isspace() for c in url):
                shown = mask_webhook_url(url) if isinstance(url, str) else repr(url)
                raise ValueError(f"{shown} is not a webhook URL (e.g. slack://T000/B000/XXXX)")
    return value


#: Chat webhook URLs (apprise schemes). They hold tokens: shown masked wherever settings are
#: dumped as JSON (``config show``), kept whole for the code that posts.
WebhookList = Annotated[
    list[str],
    BeforeValidator(_webhook_urls),
    PlainSerializer(lambda urls: [mask_webhook_url(u) for u in urls], when_used="json"),
]


class StoreSettings(_Group):
    chroma_url: str | None = Field(
        None,
        description="URL of a Chroma server (e.g. http://127.0.0.1:8000); unset = embedded store "
        "under home.",
    )
    hnsw_ef_search: int = Field(500, ge=10, description="HNSW ef_search, fixed at creation.")
    hnsw_ef_construction: int = Field(
        200, ge=10, description="HNSW ef_construction, fixed at creation."
    )
    ingest_batch: int = Field(
        500,
        ge=1,
        description="Papers a file ingest reads, embeds and stores per step: memory stays "
        "bounded whatever the file's size.",
    )


class EmbeddingSettings(_Group):
    provider: Literal["minilm", "openai"] = Field(
        "minilm",
        description="minilm = bundled all-MiniLM-L6-v2 (offline, ONNX); openai = any "
        "OpenAI-compatible /v1/embeddings endpoint.",
    )
    model: str = Field("text-embedding-3-small", description="Model name for provider = openai.")
    base_url: str | None = Field(
        None, description="Base URL for provider = openai (defaults to llm.base_url)."
    )
    api_key: SecretStr | None = Field(
        None, description="Key for the embeddings endpoint (defaults to llm.api_key)."
    )
    threads: int = Field(
        0, ge=0, description="CPU threads for minilm (batches run concurrently); 0 = all cores."
    )
    batch_size: int = Field(
        32, ge=1, description="Texts per embedding request or batch (minilm int8 runs each alone)."
    )
    kernels: Literal["auto", "fp32", "int8"] = Field(
        "auto",
        description="minilm only: int8 runs the packaged int8 weights on int8 kernels (2.3-3x "
        "the speed of fp32, each text alone so its vector never depends on its batch); fp32 "
        "dequantizes them first. auto = int8 for a new store, and the kernels an existing store "
        "was built with. Each has its own model id: `paperbrief reindex` to switch a store.",
    )


ANNOUNCE_TYPES = ("new", "cross", "replace", "replace-cross")


class ArxivSettings(_Group):
    categories: CommaList = Field(
        default_factory=lambda: ["cs.LG", "cs.CL", "cs.AI"],
        description="arXiv categories for arxiv-rss and arxiv.",
    )
    announce_types: CommaList = Field(
        default_factory=lambda: ["new", "cross"],
        description="Which RSS announcements to keep: new, cross, replace, replace-cross.",
    )
    query: str | None = Field(
        None, description="arXiv API search_query (e.g. 'all:diffusion'); ANDed with categories."
    )
    max_results: int = Field(
        500, ge=1, le=30000, description="Most papers one arxiv API ingest fetches."
    )
    page_size: int = Field(100, ge=1, le=2000, description="arXiv API page size.")
    rss_url: str = Field("https://rss.arxiv.org/rss", description="arXiv RSS base URL.")
    api_url: str = Field("https://export.arxiv.org/api/query", description="arXiv query API URL.")
    min_interval: float = Field(
        3.0, ge=0, description="Seconds between requests to any arXiv endpoint (arXiv's terms)."
    )

    @field_validator("announce_types")
    @classmethod
    def _known_announce_types(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if v not in ANNOUNCE_TYPES]
        if bad:
            raise ValueError(f"unknown announce type(s) {bad}; use {list(ANNOUNCE_TYPES)}")
        return value


class HFSettings(_Group):
    api_url: str = Field(
        "https://huggingface.co/api/daily_papers", description="Hugging Face daily papers API."
    )


class HTTPSettings(_Group):
    timeout: float = Field(
        30.0, gt=0, description="Seconds an HTTP request may wait for any one read."
    )
    deadline: float = Field(
        300.0,
        gt=0,
        description="Seconds one request to a source may take in all, however slowly its "
        "answer arrives.",
    )
    max_bytes: int = Field(
        50_000_000,
        ge=100_000,
        description="Largest answer read from a source, in bytes: reading stops past it and "
        "the source fails, named.",
    )
    retries: int = Field(4, ge=0, description="Retries on 429/5xx/connection resets.")
    backoff: float = Field(2.0, ge=0, description="First retry delay in seconds; doubles.")
    user_agent: str = Field(
        USER_AGENT,
        description="User-Agent sent to sources (the default carries the installed version).",
    )


class FulltextSettings(_Group):
    mode: Literal["shown", "all", "off"] = Field(
        "shown",
        description="Which papers get their full text read: shown = the digest's shown papers "
        "(and any paper on demand), all = every ingested paper, off = abstracts only.",
    )
    arxiv_html_url: str = Field(
        "https://arxiv.org/html",
        description="arXiv's HTML papers (LaTeXML); the id with its version is appended after "
        "a / (…/html/2401.01234v2).",
    )
    arxiv_pdf_url: str = Field(
        "https://arxiv.org/pdf",
        description="arXiv's PDFs, the fallback when a paper has no HTML; the versioned id is "
        "appended after a /.",
    )
    max_bytes: int = Field(
        25_000_000,
        ge=10_000,
        description="Largest HTML page or PDF read for one paper, in bytes; a bigger one is "
        "skipped (too_large) and the paper keeps its abstract.",
    )
    max_chars: int = Field(
        300_000,
        ge=1_000,
        description="Characters of body text kept per paper; the rest is dropped and the "
        "document marked truncated.",
    )
    max_pages: int = Field(
        80, ge=1, description="PDF pages read per paper (appendices past this are dropped)."
    )
    max_chunks: int = Field(
        80,
        ge=1,
        description="Body chunks embedded per paper (over the cap: the body spread over its "
        "sections, then captions, then appendices); bounds store size and embedding time.",
    )
    time_budget: float = Field(
        120.0,
        gt=0,
        description="Seconds one paper's full text may take over all its routes (HTML, then "
        "PDF); each request also has the [http] timeout.",
    )


class LLMSettings(_Group):
    base_url: str | None = Field(
        None,
        description="OpenAI-compatible endpoint (OpenAI, Ollama, vLLM, llama.cpp); env "
        "OPENAI_BASE_URL too. Unset with no key = no-model engine.",
    )
    model: str = Field("gpt-4o-mini", description="Chat model name at the endpoint.")
    api_key: SecretStr | None = Field(
        None,
        description="API key for the endpoint (env OPENAI_API_KEY or PAPERBRIEF_LLM__API_KEY).",
    )
    timeout: float = Field(
        60.0,
        gt=0,
        description="Seconds one LLM request may take in all (streamed or not, however slowly "
        "the server sends), plus one per prompt_tokens_per_second prompt tokens.",
    )
    prompt_tokens_per_second: float = Field(
        20.0,
        gt=0,
        description="Prompt tokens a slow server is assumed to read per second: each request's "
        "deadline grows by one second per this many (a fast GPU server: 1000).",
    )
    max_reply_chars: int = Field(
        100_000,
        ge=1_000,
        description="Longest reply read from the model (about 25,000 tokens): paperbrief stops "
        "reading a longer one and reports it.",
    )
    max_retries: int = Field(3, ge=0, description="Retries on 429 / timeouts / 5xx.")
    max_concurrency: int = Field(4, ge=1, description="LLM requests in flight at once.")
    max_tokens: int = Field(600, ge=16, description="Cap on generated tokens per request.")
    temperature: float = Field(0.2, ge=0, le=2, description="Sampling temperature.")
    prices: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: {
            "gpt-4o-mini": (0.15, 0.60),
            "gpt-4o": (2.50, 10.00),
            "gpt-4.1-mini": (0.40, 1.60),
            "gpt-4.1-nano": (0.10, 0.40),
        },
        description="USD per million tokens (input, output) by model; unknown models cost 0.",
    )


class DigestSettings(_Group):
    """What one reader wants in a digest; the top-level group is the default profile."""

    interests: TextList = Field(
        default_factory=list,
        description="Free-text research interests; close papers rank higher in the digest.",
    )
    keywords: CommaList = Field(
        default_factory=list,
        description="Words/phrases that lift a paper in the digest (title hits count double).",
    )
    seed_ids: CommaList = Field(
        default_factory=list, description="Ids of stored papers like the ones you want."
    )
    not_interested: CommaList = Field(
        default_factory=list, description="Terms that push a paper down in the digest."
    )
    categories: CommaList = Field(
        default_factory=list,
        description="Keep only papers in these arXiv categories (empty = every ingested paper).",
    )
    library: PathList = Field(
        default_factory=list,
        description="Library files (BibTeX, RIS, CSL-JSON, Zotero CSV, id list) that `run` "
        "re-imports when they change; `paperbrief library import FILE` does it by hand.",
    )
    min_score: float | None = Field(
        None, description="Drop papers scoring below this (about 0.3-0.5 with interests)."
    )
    max_papers: int = Field(
        30,
        ge=1,
        le=200,
        description="Papers shown in detail, best first, grouped in themes; the rest of the "
        "window is counted in the mail and listed in full in the saved digest.",
    )
    webhooks: WebhookList = Field(
        default_factory=list,
        description="Chat webhooks the digest's summary is posted to (apprise URLs: slack://, "
        "workflows:// for Teams, discord://, mmost://, matrix://, tgram://, json://); a profile "
        "without its own posts to the [digest] ones. They hold tokens: keep the file 0600.",
    )
    feed_path: Path | None = Field(
        None,
        description="Atom feed each saved digest updates; unset = home/digests/feed.xml "
        "(feed-NAME.xml beside it for profile NAME).",
    )
    feed_entries: int = Field(
        50, ge=0, le=1000, description="Newest digests the feed keeps; 0 = write no feed."
    )
    feed_url: str | None = Field(
        None,
        description="Public http(s) URL of the feed when its folder is served (self link; "
        "entry links under it); unset = file:// links.",
    )

    @field_validator("feed_path")
    @classmethod
    def _expand_feed_path(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("feed_url")
    @classmethod
    def _http_feed_url(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().startswith(("http://", "https://")):
            raise ValueError("feed_url must start with http:// or https://")
        return value

    @field_validator("library")
    @classmethod
    def _expand_library(cls, value: list[Path]) -> list[Path]:
        return [p.expanduser() for p in value]


class ProfileSettings(DigestSettings):
    """``[profiles.NAME]``: a reader of the team digest, with their own recipients."""

    to: AddressList = Field(
        default_factory=list,
        description="Recipients of this profile's digest (default: smtp.to).",
    )


class AskSettings(_Group):
    min_similarity: float = Field(
        0.42,
        ge=-1,
        le=1,
        description="Refuse to answer when the best chunk's cosine to the question is below "
        "this. 0.42 is calibrated for the bundled MiniLM (bench/eval_qa.py); another embedder's "
        "cosines live on another scale, so with embedding.provider = openai the gate is off "
        "unless you set a value here.",
    )
    min_term_coverage: float = Field(
        0.40,
        ge=0,
        le=1,
        description="A question under min_similarity is still answered when one retrieved "
        "paper holds this share of its BM25 term weight (calibrated by bench/eval_qa.py).",
    )
    check_answerable: bool = Field(
        True,
        description="With an LLM: before answering, ask it whether the best-matching paper "
        "reports what the question asks (one extra short call), and refuse near misses.",
    )
    min_answerable_log_odds: float = Field(
        -1.4,
        description="Refuse when the model's log-odds of YES over NO in that check are below "
        "this; -1.4 was fitted for Qwen2.5-Coder-1.5B by bench/eval_qa.py; 0 = take its word.",
    )
    k: int = Field(6, ge=1, le=50, description="Papers in an answer's context.")
    agentic: Literal["auto", "always", "never"] = Field(
        "auto", description="May the model search again with tools (auto: for comparisons etc.)."
    )


class SmtpSettings(_Group):
    host: str | None = Field(None, description="SMTP server host.")
    port: int | None = Field(None, description="SMTP port (default 587 starttls, 465 tls).")
    user: str | None = Field(None, description="SMTP login user.")
    password: SecretStr | None = Field(
        None, description="SMTP password (env PAPERBRIEF_SMTP__PASSWORD preferred)."
    )
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="starttls, tls (implicit) or none (only for localhost relays)."
    )
    from_addr: str | None = Field(None, description="From address of the digest.")
    ca_file: Path | None = Field(
        None, description="PEM CA file to trust for the SMTP server (self-signed relays)."
    )
    timeout: float = Field(
        30.0, gt=0, description="Seconds before an SMTP connection or command fails."
    )
    to: AddressList = Field(default_factory=list, description="Default digest recipients.")

    @field_validator("ca_file")
    @classmethod
    def _expand_user(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None
