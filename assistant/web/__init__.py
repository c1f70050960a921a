"""Web app building blocks: rendering, tab logic, background ingest (app.py mounts
Gradio in FastAPI; the rest has no Gradio imports)."""
