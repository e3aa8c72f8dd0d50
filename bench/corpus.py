"""A generated corpus for the ingest benchmark: many documents in mixed formats.

    generate_corpus(Path("/tmp/corpus"), documents=2000, seed=0)

The prose comes from the shipped documents, recombined: a word-level Markov chain (two
words of context) trained on their sentences writes new sentences in the clinic's words,
and every sentence written is new (none repeats one already written, nor a shipped one).
That matters for a speed test: the ingest takes the vector of a text it has embedded
before from its cache, so a corpus of copied sentences would make it look faster than it is.

Formats come in the shipped documents' proportions (PDF, .docx, .html, .md, .txt); each
document has 1 to 6 pages (two on average: the corpus is about the size of a clinic's
2,000-document shelf of handouts), a page one section (two, one time in five), a section a
heading (a question one time in four, as in the FAQ), a paragraph of two to four sentences
(two paragraphs one time in five) and sometimes a bulleted list. PDFs are set with
reportlab (one page per page, headings larger and bold), .docx files with python-docx
(real heading and list styles). The same seed always writes the same files.
"""

from __future__ import annotations

import html
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from kb.reading.chunking import split_sentences
from kb.reading.documents import DOCUMENT_TYPES, find_documents, read_document

#: The shipped documents: the source of the words and of the format proportions.
DOCUMENTS = Path(__file__).resolve().parent.parent / "documents"

#: How many pages a document has, and how often (most clinic handouts are short).
PAGE_WEIGHTS = {1: 45, 2: 25, 3: 12, 4: 8, 5: 5, 6: 5}

_END = "\0"


@dataclass(frozen=True)
class Section:
    heading: str
    paragraphs: tuple[str, ...]  # prose paragraphs
    items: tuple[str, ...] = ()  # a bulleted list after the paragraphs


@dataclass(frozen=True)
class Page:
    sections: tuple[Section, ...]


class Prose:
    """New sentences and headings in the words of the source documents."""

    def __init__(self, source: Path, rng: random.Random) -> None:
        sentences, headings = _source_text(source)
        if len(sentences) < 20:
            raise ValueError(f"{source} holds {len(sentences)} sentences; the generator needs 20 or more.")
        self._rng = rng
        self._chain = _chain([s for s in sentences if not s.endswith("?")], order=2)
        # Questions are few (the FAQ's headings): one word of context gives them variety.
        self._questions = _chain([t for t in sentences + headings if t.endswith("?")], order=1)
        self._topics = sorted({h for h in headings if not h.endswith("?") and len(h.split()) <= 6})
        self._seen = set(sentences) | set(headings)

    def sentence(self, question: bool = False) -> str | None:
        """A sentence of 5 to 35 words never returned before (nor in the source); None
        when no new question turns up in 50 tries."""
        chain, order = (self._questions, 1) if question else (self._chain, 2)
        for _ in range(50 if question else 10_000):
            words: list[str] = []
            state = ("",) * order
            while len(words) < 35 and state in chain:
                word = self._rng.choice(chain[state])
                if word == _END:
                    break
                words.append(word)
                state = (*state[1:], word)
            text = " ".join(words)
            if len(words) >= 5 and text[-1:] in ".?!" and text not in self._seen:
                self._seen.add(text)
                return text
        if question:
            return None
        raise RuntimeError("The source documents are too small to write new sentences from.")

    def heading(self) -> str:
        """A section heading: a question one time in four, else a topic from the source."""
        if self._rng.random() < 0.25 and (question := self.sentence(question=True)):
            return question
        return self._rng.choice(self._topics)

    def title(self, number: int) -> str:
        a, b = self._rng.sample(self._topics, 2)
        return f"{a} and {b.lower()} (handout {number})"


def _chain(sentences: list[str], order: int) -> dict[tuple[str, ...], list[str]]:
    """Context of ``order`` words -> every word seen after it (``_END`` closes a sentence)."""
    chain: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for sentence in sentences:
        padded = [*("",) * order, *sentence.split(), _END]
        for i in range(order, len(padded)):
            chain[tuple(padded[i - order : i])].append(padded[i])
    return chain


def _source_text(source: Path) -> tuple[list[str], list[str]]:
    """The sentences of the source documents' paragraphs, and their headings."""
    sentences: list[str] = []
    headings: list[str] = []
    for path in find_documents(source):
        document = read_document(path, source)
        for block in document.blocks:
            if block.kind == "heading":
                headings.append(" ".join(block.text.split()))
                continue
            for start, end in split_sentences(block.text):
                text = " ".join(block.text[start:end].split())
                if len(text.split()) >= 4 and text[-1:] in ".?!":
                    sentences.append(text)
    return list(dict.fromkeys(sentences)), list(dict.fromkeys(headings))


def generate_corpus(
    folder: Path, documents: int = 2000, seed: int = 0, *, source: Path = DOCUMENTS
) -> list[Path]:
    """Write ``documents`` generated documents into ``folder`` (created if missing).

    Returns:
        The paths written, in the order written.
    """
    if documents < 1:
        raise ValueError(f"documents must be 1 or more; got {documents}.")
    rng = random.Random(seed)
    prose = Prose(Path(source), rng)
    kinds = Counter(p.suffix.lower() for p in find_documents(source) if p.suffix.lower() in DOCUMENT_TYPES)
    suffixes, weights = sorted(kinds), [kinds[s] for s in sorted(kinds)]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for number in range(1, documents + 1):
        suffix = rng.choices(suffixes, weights)[0]
        pages = rng.choices(list(PAGE_WEIGHTS), list(PAGE_WEIGHTS.values()))[0]
        title = prose.title(number)
        content = [Page(tuple(_section(prose, rng) for _ in range(_one_or_two(rng)))) for _ in range(pages)]
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60]
        path = folder / f"{number:05d}-{slug}{suffix}"
        WRITERS[suffix](path, title, content)
        written.append(path)
    return written


def _one_or_two(rng: random.Random) -> int:
    return 2 if rng.random() < 0.2 else 1


def _section(prose: Prose, rng: random.Random) -> Section:
    paragraphs = tuple(
        " ".join(prose.sentence() for _ in range(rng.randint(2, 4))) for _ in range(_one_or_two(rng))
    )
    items = tuple(prose.sentence() for _ in range(rng.randint(3, 4))) if rng.random() < 0.15 else ()
    return Section(prose.heading(), paragraphs, items)


# --- one writer per format: (path, title, pages) -> the file ---------------------------


def _write_pdf(path: Path, title: str, pages: list[Page]) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import ListFlowable, ListItem, PageBreak, Paragraph, SimpleDocTemplate

    styles = getSampleStyleSheet()
    story = [Paragraph(html.escape(title), styles["Title"])]
    for n, page in enumerate(pages):
        if n:
            story.append(PageBreak())
        for section in page.sections:
            story.append(Paragraph(html.escape(section.heading), styles["Heading2"]))
            story += [Paragraph(html.escape(p), styles["BodyText"]) for p in section.paragraphs]
            if section.items:
                bullets = [ListItem(Paragraph(html.escape(i), styles["BodyText"])) for i in section.items]
                story.append(ListFlowable(bullets, bulletType="bullet"))
    SimpleDocTemplate(str(path), pagesize=A4, title=title).build(story)


def _write_docx(path: Path, title: str, pages: list[Page]) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.add_heading(title, level=1)
    for page in pages:
        for section in page.sections:
            document.add_heading(section.heading, level=2)
            for paragraph in section.paragraphs:
                document.add_paragraph(paragraph)
            for item in section.items:
                document.add_paragraph(item, style="List Bullet")
    document.save(str(path))


def _write_html(path: Path, title: str, pages: list[Page]) -> None:
    e = html.escape
    body = [f"<h1>{e(title)}</h1>"]
    for page in pages:
        for section in page.sections:
            body.append(f"<h2>{e(section.heading)}</h2>")
            body += [f"<p>{e(p)}</p>" for p in section.paragraphs]
            if section.items:
                body.append("<ul>" + "".join(f"<li>{e(i)}</li>" for i in section.items) + "</ul>")
    path.write_text(
        '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8">'
        f"<title>{e(title)} | Harbour Lane Laser &amp; Skin Clinic</title></head>\n<body>\n"
        '<nav><a href="/">Home</a> <a href="/prices">Prices</a> <a href="/contact">Contact</a></nav>\n'
        "<main>\n" + "\n".join(body) + "\n</main>\n"
        "<footer>Harbour Lane Laser &amp; Skin Clinic, 12 Harbour Lane, Port Ellis</footer>\n</body></html>\n",
        encoding="utf-8",
    )


def _write_markdown(path: Path, title: str, pages: list[Page]) -> None:
    lines = [f"# {title}", ""]
    for page in pages:
        for section in page.sections:
            lines += [f"## {section.heading}", ""]
            for paragraph in section.paragraphs:
                lines += [paragraph, ""]
            if section.items:
                lines += [f"- {i}" for i in section.items] + [""]
    path.write_text("\n".join(lines), encoding="utf-8")


def _write_text(path: Path, title: str, pages: list[Page]) -> None:
    lines = [title.upper(), ""]
    for page in pages:
        for section in page.sections:
            lines += ["", section.heading, "-" * len(section.heading)]
            for paragraph in section.paragraphs:
                lines += [paragraph, ""]
            if section.items:
                lines += [f"- {i}" for i in section.items] + [""]
    path.write_text("\n".join(lines), encoding="utf-8")


WRITERS = {
    ".pdf": _write_pdf,
    ".docx": _write_docx,
    ".html": _write_html,
    ".htm": _write_html,
    ".md": _write_markdown,
    ".markdown": _write_markdown,
    ".txt": _write_text,
}
