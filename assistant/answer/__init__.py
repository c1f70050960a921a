"""Answering: the extractive answerer and the conversation (commune, intent, follow-ups)."""
