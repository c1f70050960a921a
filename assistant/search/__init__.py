"""Retrieval: hybrid dense + lexical search, filters and access roles."""
