"""The web app's parts (``app.py`` at the top is the entry point):

- ``app``: the handlers around one loaded knowledge base; ``api``: the JSON they return;
- ``pages/``: one module per page (ask, documents, staff, the document viewer);
- ``render``: escaped HTML for them; ``document_files``: the served documents and the
  staff's file actions; ``alignment`` (where a passage is in its document's text) and
  ``pdf_pages`` (PDF pages drawn and their character boxes) for the viewer;
- ``server``: the FastAPI app that mounts the pages and the plain routes;
- ``auth`` (staff sign-in), ``webqueue`` (the queue), ``watcher`` (the switch to new
  generations), ``startup`` (loading the index and the model).
"""
