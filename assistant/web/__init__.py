"""Web app: FastAPI routes (app.py mounts the Gradio UI), rendering, tabs, background ingest."""
