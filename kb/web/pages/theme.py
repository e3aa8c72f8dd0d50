"""The pages' theme: gradio's Default with whole system fonts and colours that keep text
readable (WCAG AA contrast, checked by axe-core in tests/test_accessibility.py)."""

import gradio as gr
from gradio.themes.utils import colors

# Gradio 6.31's Default theme loads its bundled Source Sans Pro (and IBM Plex Mono), but the
# wheel's SemiBold files, weight 600 of every heading and button, are 5 KB subsets holding
# " AB" and some Cyrillic: "Ask" drew its "A" in Source Sans and "sk" in the fallback face.
# System fonts have every glyph of each weight, so a word is drawn in one face.
FONT = [
    "system-ui",
    "-apple-system",
    "Segoe UI",
    "Roboto",
    "Helvetica Neue",
    "Arial",
    "Noto Sans",
    "DejaVu Sans",
    "sans-serif",
]
FONT_MONO = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "DejaVu Sans Mono", "monospace"]


def build_theme() -> gr.themes.Base:
    """Default, with white on orange-700 and red-700 buttons (orange-500 gave 2.8:1) and
    soft text in neutral-600 (neutral-400 gave 1.9:1)."""
    return gr.themes.Default(font=FONT, font_mono=FONT_MONO).set(
        button_primary_background_fill="*primary_700",
        button_primary_background_fill_dark="*primary_700",
        button_primary_background_fill_hover="*primary_800",
        button_primary_background_fill_hover_dark="*primary_800",
        button_cancel_background_fill=colors.red.c700,
        button_cancel_background_fill_hover=colors.red.c800,
        body_text_color_subdued="*neutral_600",
        input_placeholder_color="*neutral_500",
        # The selected tab's text and the slider's fill: orange-500 on white is 2.8:1.
        color_accent="*primary_700",
    )
