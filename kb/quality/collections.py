"""The collections search quality is measured on, by name: where each one's documents and
questions live, and the labels this project added to them.

- ``sample``: the shipped documents and ``eval/questions.jsonl`` (written for them).
- ``medspa``, ``dermatology``: real clinic web pages and real patients' questions in
  ``../shared/clinic-collections/`` (read from there, never copied: the text belongs to the
  clinics). ``eval/collections/<name>.jsonl`` adds this project's own work on them: labels
  found by pooled judging of the shared questions' misses, and questions of its own (dev
  split only) written from the collection's topics by someone who had not read it.
- ``scifact``, ``nfcorpus``: BEIR benchmarks in ``../shared/`` (``kb.quality.beir``).

An added label names its phrase by position, never by its words: ``span`` is the
character range in the document's text as ``kb.reading`` reads it (``evaluation.normalize``d),
and ``sha1`` the first 12 hex digits of that phrase's SHA-1, so a reader change that moves
the text is caught rather than silently mislabelling.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from kb.golden_questions import Expected, Question, load_questions
from kb.quality.evaluation import normalize

ROOT = Path(__file__).resolve().parent.parent.parent
SHARED = ROOT.parent / "shared"
#: Clinic collections, in the order tables list them.
CLINIC = ("sample", "medspa", "dermatology")
BEIR = ("scifact", "nfcorpus")


@dataclass(frozen=True)
class Collection:
    name: str
    documents: Path
    questions: Path
    #: This project's labels and questions for the collection (None for the sample set,
    #: whose file is the project's own).
    additions: Path | None = None

    @property
    def available(self) -> bool:
        return self.documents.is_dir() and self.questions.is_file()


def clinic_collection(name: str, shared: Path = SHARED) -> Collection:
    """A clinic collection by name (``CLINIC``).

    Raises:
        ValueError: an unknown name.
    """
    if name == "sample":
        return Collection("sample", ROOT / "documents", ROOT / "eval" / "questions.jsonl")
    if name in CLINIC:
        folder = shared / "clinic-collections" / name
        return Collection(
            name, folder / "docs", folder / "questions.jsonl", ROOT / "eval" / "collections" / f"{name}.jsonl"
        )
    raise ValueError(f"unknown collection {name!r}; choose from {', '.join(CLINIC + BEIR)}")


def beir_folder(name: str, shared: Path = SHARED) -> Path:
    return shared / f"beir-{name}"


def load_collection(collection: Collection) -> list[Question]:
    """The collection's questions with this project's labels and questions added.

    Raises:
        ValueError: a record is malformed, or an added label no longer points at its phrase
            (the message names it and says what to do).
    """
    questions = load_questions(collection.questions)
    if collection.additions is None or not collection.additions.is_file():
        return questions
    texts: dict[str, str] = {}
    added: dict[str, list[Expected]] = {}
    own: list[Question] = []
    for number, line in enumerate(collection.additions.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        record = json.loads(line)
        where = f"{collection.additions}, line {number}"
        answers = [_resolve(collection, a, texts, where) for a in record.get("answers", [])]
        if "question" in record:  # a question of this project's
            own.append(
                Question(
                    record["id"],
                    record["question"],
                    record["split"],
                    record["kind"],
                    tuple(answers),
                    record.get("style", ""),
                )
            )
        else:  # labels added to a question of the collection's file
            added.setdefault(record["id"], []).extend(answers)
    known = {q.id for q in questions}
    stray = sorted(set(added) - known)
    if stray:
        raise ValueError(
            f"{collection.additions}: labels for questions the collection does not have: {stray[:5]}"
        )
    questions = [dataclasses.replace(q, answers=q.answers + tuple(added.get(q.id, ()))) for q in questions]
    return questions + own


def _resolve(collection: Collection, answer: dict, texts: dict[str, str], where: str) -> Expected:
    from kb.reading.documents import read_document

    source = answer["source"]
    if source not in texts:
        texts[source] = normalize(read_document(collection.documents / source, collection.documents).text)
    start, end = answer["span"]
    phrase = texts[source][start:end]
    if phrase_sha1(phrase) != answer["sha1"]:
        raise ValueError(
            f"{where}: the label's phrase in {source} has moved (the reader reads it differently "
            "now); judge the passage again and record its new span."
        )
    return Expected(source, phrase, answer.get("page"))


def phrase_sha1(phrase: str) -> str:
    return hashlib.sha1(phrase.encode("utf-8")).hexdigest()[:12]


def label_for(collection: Collection, source: str, phrase: str, page: int | None = None) -> dict:
    """An added label's record for ``phrase`` (as it appears in the passage) in ``source``.

    Raises:
        ValueError: the phrase is not in the document's text.
    """
    from kb.reading.documents import read_document

    text = normalize(read_document(collection.documents / source, collection.documents).text)
    wanted = normalize(phrase)
    start = text.find(wanted)
    if start < 0:
        raise ValueError(f"{phrase!r} is not in {source} as read")
    return {"source": source, "page": page, "span": [start, start + len(wanted)], "sha1": phrase_sha1(wanted)}
