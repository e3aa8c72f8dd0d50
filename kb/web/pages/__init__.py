"""The pages, one module each: the public page at "/" (``public``) with its ask tab
(``ask``) and documents tab (``documents``), the staff page at "/staff/" (``staff``), and
the passage in its document at "/view/..." (``viewer``: plain FastAPI routes, no gradio).
Their look is in ``style.css`` and ``theme.py`` (the viewer's in ``viewer.css``)."""

from pathlib import Path

CSS = (Path(__file__).parent / "style.css").read_text(encoding="utf-8")
