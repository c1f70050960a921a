"""Web app building blocks: rendering, tab logic, background ingest (no Gradio imports here)."""
