"""Evaluation of the assistant on question sets, and the naive baseline pipeline."""
