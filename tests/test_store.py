"""The index directory: round trip, atomic replacement, and detection of damage and staleness."""

import json
from dataclasses import replace

import numpy as np
import pytest

from embeddings import store, vectors
from embeddings.engine import Engine
from embeddings.store import (
    FORMAT_VERSION,
    CorruptIndexError,
    Document,
    IndexNotFoundError,
    IndexSettings,
    StaleIndexError,
    build_index,
    load_index,
    read_manifest,
    save_index,
    sha256_text,
    stale_reasons,
    update_index,
)


def test_round_trip_keeps_everything(fake_index, fake_embedder, tmp_path):
    save_index(fake_index, tmp_path / "index")
    loaded = load_index(tmp_path / "index")
    assert loaded.documents == fake_index.documents
    assert np.array_equal(loaded.sentences, fake_index.sentences)
    assert np.array_equal(loaded.passages, fake_index.passages)
    assert loaded.vectors.ntotal == len(loaded.sentences)
    query = fake_embedder.encode(["New START treaty"])
    assert np.array_equal(loaded.vectors.search(query, 3)[1], fake_index.vectors.search(query, 3)[1])
    assert np.array_equal(loaded.lexical.scores("treaty"), fake_index.lexical.scores("treaty"))
    assert loaded.settings == fake_index.settings


def test_manifest_records_model_chunking_and_sources(fake_index, tmp_path):
    save_index(fake_index, tmp_path / "index")
    manifest = read_manifest(tmp_path / "index")
    assert manifest["model"] == {"name": "fake", "backend": "fake", "dimension": 64}
    assert manifest["chunking"]["max_words"] == 80
    assert manifest["documents"][0]["sha256"] == sha256_text(fake_index.documents[0].text)
    assert "vectors.faiss" in manifest["files"]


def test_saving_over_an_index_replaces_it_and_leaves_no_temporary_files(fake_index, fake_embedder, tmp_path):
    save_index(fake_index, tmp_path / "index")
    other = build_index([Document("b.txt", sha256_text("Other text."), "Other text.")], fake_embedder, fake_index.settings)
    save_index(other, tmp_path / "index")
    assert [p.name for p in tmp_path.iterdir()] == ["index"]
    assert load_index(tmp_path / "index").documents[0].source == "b.txt"


def test_a_failed_save_leaves_the_previous_index_whole(fake_index, fake_embedder, tmp_path):
    save_index(fake_index, tmp_path / "index")
    broken = build_index(fake_index.documents, fake_embedder, fake_index.settings)
    broken.documents = [object()]  # cannot be written as JSON: the save fails midway
    with pytest.raises(AttributeError):
        save_index(broken, tmp_path / "index")
    assert load_index(tmp_path / "index").documents == fake_index.documents
    assert [p.name for p in tmp_path.iterdir()] == ["index"]


def test_missing_index_is_reported(tmp_path):
    with pytest.raises(IndexNotFoundError, match="no index at"):
        load_index(tmp_path / "nowhere")


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "vectors.faiss").write_bytes((d / "vectors.faiss").read_bytes()[:100]), "vectors.faiss is truncated"),
        (lambda d: (d / "passages.npy").unlink(), "passages.npy is missing"),
        (lambda d: (d / "documents.jsonl").write_text((d / "documents.jsonl").read_text().replace("Putin", "Putix")),
         "documents.jsonl is altered"),
        (lambda d: (d / "manifest.json").write_text("{not json"), "manifest.json cannot be read"),
        (lambda d: (d / "manifest.json").write_text(json.dumps({"format": FORMAT_VERSION})), "manifest.json is malformed"),
        (lambda d: (d / "manifest.json").write_text('{"format": 99}'), "format 99"),
    ],
)
def test_damage_is_detected_and_names_the_file(fake_index, tmp_path, damage, message):
    directory = tmp_path / "index"
    save_index(fake_index, directory)
    damage(directory)
    before = {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}
    with pytest.raises((CorruptIndexError, StaleIndexError), match=message) as raised:
        load_index(directory)
    assert "citebot index --index" in str(raised.value)
    assert {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()} == before


def test_swapped_files_are_detected(fake_index, tmp_path):
    directory = tmp_path / "index"
    save_index(fake_index, directory)
    sentences, passages = directory / "sentences.npy", directory / "passages.npy"
    a, b = sentences.read_bytes(), passages.read_bytes()
    sentences.write_bytes(b)
    passages.write_bytes(a)
    with pytest.raises(CorruptIndexError, match=r"(sentences|passages)\.npy"):
        load_index(directory)


def test_stale_reasons_name_what_changed(fake_index, tmp_path):
    save_index(fake_index, tmp_path / "index")
    manifest = read_manifest(tmp_path / "index")
    source = fake_index.documents[0].source
    assert stale_reasons(manifest, fake_index.settings, {source: fake_index.documents[0].sha256}) == []
    reasons = stale_reasons(manifest, IndexSettings("other-model", 50), {source: "0" * 64, "new.txt": "1" * 64})
    assert any("other-model" in r for r in reasons)
    assert any("embedded with the fake backend, the setting is onnx" in r for r in reasons)
    assert "its passages are of at most 80 words, the setting is 50" in reasons
    assert any(r == f"{source} has changed since it was indexed" for r in reasons)
    assert any(r == "new.txt is not indexed yet" for r in reasons)
    assert stale_reasons(manifest, fake_index.settings, {})[0] == f"{source} was indexed and is no longer one of the files to index"


def test_no_pickle_anywhere_in_the_index(fake_index, tmp_path):
    save_index(fake_index, tmp_path / "index")
    for path in (tmp_path / "index").rglob("*.npy"):
        np.load(path, allow_pickle=False)
    assert json.loads((tmp_path / "index" / "manifest.json").read_text())["faiss"]["type"] == "flat"


def test_a_folder_update_embeds_only_what_changed(tmp_path, fake_embedder):
    folder = tmp_path / "docs"
    folder.mkdir()
    for n in range(20):
        (folder / f"doc{n:02}.txt").write_text(f"Document {n} talks about topic{n}. It has a second sentence.\n")
    engine = Engine(tmp_path / "index", IndexSettings("fake", 80, "fake"), embedder=fake_embedder)
    first = engine.build([folder])
    assert (first.embedded, first.documents) == (20, 20) and len(fake_embedder.encoded) == 40
    (folder / "doc03.txt").write_text("Document 3 now explains the zebra migration. Zebras walk far.\n")
    (folder / "doc07.txt").unlink()
    fake_embedder.encoded.clear()
    update = Engine(tmp_path / "index", IndexSettings("fake", 80, "fake"), embedder=fake_embedder).build([folder])
    assert (update.embedded, update.removed, update.documents) == (1, 1, 19)
    assert fake_embedder.encoded == ["Document 3 now explains the zebra migration.", "Zebras walk far."]
    reopened = Engine(tmp_path / "index", IndexSettings("fake", 80, "fake"), embedder=fake_embedder)
    answer = reopened.ask("Where do zebras walk during the zebra migration?", k=1)
    assert answer.passages[0].source == str((folder / "doc03.txt").resolve())
    assert reopened.ask("What does document 12 talk about, topic12?", k=1).passages[0].source.endswith("doc12.txt")
    sources = {d.source for d in load_index(tmp_path / "index").documents}
    assert not any(s.endswith("doc07.txt") for s in sources) and len(sources) == 19
    # Kept vectors are the ones first computed: the same question scores the same.
    fresh = Engine(tmp_path / "fresh", IndexSettings("fake", 80, "fake"), embedder=fake_embedder)
    fresh.build([folder])
    assert fresh.ask("topic12", k=1) == reopened.ask("topic12", k=1)


def test_another_passage_length_keeps_the_vectors_and_another_model_embeds_again(tmp_path, fake_embedder):
    text = tmp_path / "notes.txt"
    text.write_text(" ".join(f"Sentence {n} names the item{n} of the list." for n in range(12)) + "\n")
    Engine(tmp_path / "index", IndexSettings("fake", 80, "fake"), embedder=fake_embedder).build([text])
    before = load_index(tmp_path / "index").passages
    fake_embedder.encoded.clear()
    # Upgrading to citebot's longer passages re-cuts them from the sentences already embedded.
    longer = Engine(tmp_path / "index", IndexSettings("fake", 90, "fake"), embedder=fake_embedder).build([text])
    assert longer.built and longer.embedded == 0 and fake_embedder.encoded == []
    fresh = Engine(tmp_path / "fresh", IndexSettings("fake", 90, "fake"), embedder=fake_embedder)
    fresh.build([text])
    rebuilt, built_fresh = load_index(tmp_path / "index"), load_index(tmp_path / "fresh")
    assert np.array_equal(rebuilt.passages, built_fresh.passages) and not np.array_equal(rebuilt.passages, before)
    assert np.array_equal(rebuilt.vectors.reconstruct_n(0, rebuilt.vectors.ntotal),
                          built_fresh.vectors.reconstruct_n(0, built_fresh.vectors.ntotal))
    # Another model's vectors serve nothing: the file is embedded again, and the report says so.
    other = Engine(tmp_path / "index", IndexSettings("fake-2", 90, "fake"), embedder=fake_embedder).build([text])
    assert other.embedded == 1


def test_vectors_are_kept_across_passage_lengths_only_for_the_sentences_cut_now(fake_embedder):
    text = " ".join(f"Sentence {n} names the item{n} of the list." for n in range(12))
    document = Document("notes.txt", sha256_text(text), text)
    old = build_index([document], fake_embedder, IndexSettings("fake", 80, "fake"))
    # As if the chunker had changed without a new version: it once cut the first two sentences as one.
    first, second = old.sentences[0], old.sentences[1]
    merged = np.vstack([[0, first[1], second[2], first[3]], old.sentences[2:]])
    longer = IndexSettings("fake", 90, "fake")
    index, embedded = update_index([document], fake_embedder, longer, replace(old, sentences=merged))
    assert embedded == 1 and np.array_equal(index.sentences, build_index([document], fake_embedder, longer).sentences)
    assert update_index([document], fake_embedder, longer, old)[1] == 0


def test_hnsw_is_chosen_above_the_flat_limit_and_keeps_its_parameters(tmp_path, fake_embedder, monkeypatch):
    text = " ".join(f"Sentence {n} is about item{n}." for n in range(300))
    document = Document("many.txt", sha256_text(text), text)
    monkeypatch.setattr(vectors, "FLAT_LIMIT", 100)  # the real limit wants 50,000 sentences
    index = build_index([document], fake_embedder, IndexSettings("fake", 80, "fake"))
    assert index.settings.vector_index == "hnsw"
    save_index(index, tmp_path / "index")
    faiss_record = read_manifest(tmp_path / "index")["faiss"]
    assert faiss_record == {"type": "hnsw", "metric": "inner product", "M": store.HNSW_M,
                            "ef_construction": store.HNSW_EF_CONSTRUCTION, "ef_search": store.HNSW_EF_SEARCH}
    loaded = load_index(tmp_path / "index")
    assert loaded.vectors.hnsw.efSearch == store.HNSW_EF_SEARCH
    flat = build_index([document], fake_embedder, IndexSettings("fake", 80, "fake", "flat"))
    assert flat.settings.vector_index == "flat"
    query = fake_embedder.encode(["item42"])
    assert loaded.vectors.search(query, 1)[1][0][0] == flat.vectors.search(query, 1)[1][0][0]


def test_a_document_without_text_builds_and_answers_nothing(fake_embedder):
    # Found by `make fuzz`: BM25 failed when no passage had any text.
    index = build_index([Document("blank.txt", sha256_text("  \n"), "  \n")], fake_embedder, IndexSettings("fake", 80, "fake"))
    assert len(index.passages) == 0 and index.lexical.size == 0
