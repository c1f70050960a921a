"""Web app parts: app.py mounts Gradio in FastAPI; the other modules import no Gradio."""
