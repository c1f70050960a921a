"""The index: Chroma vectors, the SQLite catalog, the French lexical index, the embedding cache."""
