"""The pages, one module each: the public page at "/" (``public``) with its ask tab
(``ask``) and documents tab (``documents``), and the staff page at "/staff/" (``staff``).
Their look is in ``style.css``."""

from pathlib import Path

CSS = (Path(__file__).parent / "style.css").read_text(encoding="utf-8")
