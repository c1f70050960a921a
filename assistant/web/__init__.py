"""The web edge: auth, users, chat, tabs, rendering, discovery, feedback, background ingest.

app.py mounts Gradio in FastAPI; the other modules have no Gradio imports.
"""
