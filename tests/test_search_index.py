"""The full-text index behind `/`: it stays in step with every write (responses arriving,
judgments stored and replaced, instructions deleted), answers exactly what reading every text
would, folds case beyond ASCII, and comes to a store made before it existed."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from cuf_tui.store import schema as schema_module
from cuf_tui.store.browse import QueueFilter, bring_index_up_to_date, first_matches, queue_ids
from cuf_tui.store.db import SCHEMA_VERSION, Store, open_store
from cuf_tui.workspace import Workspace, ensure_sample_workspace

WORDS = ["Quicksort", "häufig", "ÉCOLE", "zebra_case", "50%", 'say "hi"', "ab", "ß"]


def read_everything(store: Store, needle: str) -> list[int]:
    """What a search must find, read the slow way: every text, lowered letter by letter
    in Python (as the index folds: ß stays ß)."""
    folded = needle.lower()
    texts: dict[int, list[str]] = {}
    for instruction_id, text in store.db.execute("SELECT id, text FROM instructions"):
        texts.setdefault(instruction_id, []).append(text)
    for instruction_id, text in store.db.execute(
        "SELECT instruction_id, text FROM responses WHERE text IS NOT NULL"
    ):
        texts[instruction_id].append(text)
    for instruction_id, rationale in store.db.execute(
        "SELECT j.instruction_id, jr.rationale FROM judgments j "
        "JOIN judgment_ratings jr ON jr.judgment_id = j.id"
    ):
        texts[instruction_id].append(rationale)
    return sorted(i for i, parts in texts.items() if any(folded in t.lower() for t in parts))


@pytest.fixture
def sample(private_home: Path) -> Workspace:
    return ensure_sample_workspace(private_home / "sample-workspace")


def test_the_index_follows_every_kind_of_write(sample: Workspace) -> None:
    chance = random.Random(7)
    with sample.open_store() as store:
        for step in range(60):
            word = chance.choice(WORDS)
            existing = [row[0] for row in store.db.execute("SELECT id FROM instructions")]
            target = chance.choice(existing)
            kind = step % 6
            if kind == 0:  # a response arrives (or is written again)
                store.write(
                    "UPDATE responses SET text = text || ? WHERE id = (SELECT min(id) FROM "
                    "responses WHERE instruction_id = ?)",
                    (f" {word}", target),
                )
            elif kind == 1:  # a judge's rationale is stored
                store.write(
                    "UPDATE judgment_ratings SET rationale = ? WHERE judgment_id IN "
                    "(SELECT id FROM judgments WHERE instruction_id = ?)",
                    (f"rated {word}", target),
                )
            elif kind == 2:  # a response moves to another instruction (a repair by hand)
                store.write(
                    "UPDATE OR REPLACE responses SET instruction_id = ? "
                    "WHERE id = (SELECT max(id) FROM responses WHERE instruction_id = ?)",
                    (chance.choice(existing), target),
                )
            elif kind == 3:  # a judgment is dropped (judged again later)
                store.write("DELETE FROM judgments WHERE instruction_id = ?", (target,))
            elif kind == 4:  # a response is deleted, or the instruction text changes
                store.write(
                    "DELETE FROM responses WHERE id = (SELECT min(id) FROM responses "
                    "WHERE instruction_id = ?)",
                    (target,),
                )
                store.write("UPDATE instructions SET text = text || ? WHERE id = ?", (word, target))
            else:
                store.write("DELETE FROM instructions WHERE id = ?", (target,))
            for needle in WORDS + [w.upper() for w in WORDS]:
                assert queue_ids(store, QueueFilter(search=needle)) == read_everything(
                    store, needle
                ), (step, needle)
        count = store.scalar("SELECT count(*) FROM instruction_search")
        assert count == store.scalar("SELECT count(*) FROM instructions")
        store.write(
            "INSERT INTO instruction_search (instruction_search) VALUES ('integrity-check')"
        )


def test_a_search_of_three_characters_or_more_reads_the_index(sample: Workspace) -> None:
    with sample.open_store() as store:
        needle = "Quicksort"
        sql, _ = capture_sql(store, needle)
        assert "instruction_search MATCH" in sql
        short_sql, _ = capture_sql(store, "ab")
        assert "MATCH" not in short_sql


def capture_sql(store: Store, needle: str) -> tuple[str, list[int]]:
    seen: list[str] = []
    store.db.conn.set_trace_callback(seen.append)
    try:
        found = queue_ids(store, QueueFilter(search=needle))
    finally:
        store.db.conn.set_trace_callback(None)
    return next(s for s in seen if s.startswith("SELECT i.id")), found


def test_the_first_matches_come_in_queue_order_before_the_rest(sample: Workspace) -> None:
    with sample.open_store() as store:
        every = queue_ids(store, QueueFilter(search="def"))
        assert len(every) > 5
        assert queue_ids(store, QueueFilter(search="def"), limit=5) == every[:5]
        style = QueueFilter(preference="style", search="the")
        assert queue_ids(store, style, limit=2) == queue_ids(store, style)[:2]


def test_a_store_from_before_the_index_gets_it_filled(tmp_path: Path) -> None:
    path = tmp_path / "cuf.db"
    conn = sqlite3.connect(path)
    before = 7  # the search index is migration 8
    conn.executescript(
        "BEGIN;\n"
        + "\n".join(schema_module.MIGRATIONS[:before])
        + f"\nPRAGMA user_version = {before};\n"
        "INSERT INTO instructions (id, text, preference, text_sha256, models, source) VALUES "
        "(1, 'Sort a list', 'style', 'a', '[\"m\"]', 'f'), "
        "(2, 'Parse JSON', 'style', 'b', '[\"m\"]', 'f');\n"
        "INSERT INTO responses (instruction_id, model, text, state, source) VALUES "
        "(2, 'm', 'Use a Straßenbahn-free parser', 'done', 'f');\nCOMMIT;"
    )
    conn.close()
    with open_store(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert queue_ids(store, QueueFilter(search="STRASSENBAHN")) == []  # no ß -> ss
        assert queue_ids(store, QueueFilter(search="STRAßENBAHN")) == [2]
        assert queue_ids(store, QueueFilter(search="sort a")) == [1]


def test_a_write_by_another_program_is_indexed_before_the_next_search(
    sample: Workspace,
) -> None:
    """The sqlite3 shell, a script: the triggers note what it touched, and the workbench's
    search makes those documents again before it reads the index."""
    with sqlite3.connect(sample.db_path) as conn:
        conn.execute("UPDATE responses SET text = text || ' zanzibar' WHERE instruction_id = 4")
    with sample.open_store() as store:
        assert first_matches(store, QueueFilter(search="zanzibar"), 10, 1.0) is None  # stale
        bring_index_up_to_date(store)
        assert queue_ids(store, QueueFilter(search="ZANZIBAR")) == [4]
        assert first_matches(store, QueueFilter(search="zanzibar"), 10, 1.0) == [4]
        assert store.scalar("SELECT count(*) FROM search_stale") == 0


def test_a_bulk_write_makes_each_document_once(sample: Workspace) -> None:
    with sample.open_store() as store:
        store.write("CREATE TEMP TABLE made (n INTEGER)")
        store.write(
            "CREATE TEMP TRIGGER count_made AFTER DELETE ON search_stale "
            "BEGIN INSERT INTO made VALUES (1); END"
        )
        with store.transaction():
            for instruction_id in range(1, 11):
                for n in range(3):
                    store.db.execute(
                        "UPDATE responses SET text = text || ? WHERE instruction_id = ?",
                        (f" more{n}", instruction_id),
                    )
        assert store.scalar("SELECT count(*) FROM made") == 10
        assert queue_ids(store, QueueFilter(search="more2")) == list(range(1, 11))


def test_the_first_matches_are_read_in_the_index_order_without_sorting_them_all(
    sample: Workspace,
) -> None:
    with sample.open_store() as store:
        sql, _ = capture_sql(store, "def")
        plan = store.db.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
        assert not any("TEMP B-TREE" in row[-1] for row in plan), plan


def test_replacing_and_renumbering_rows_from_another_program_keeps_the_index_true(
    sample: Workspace,
) -> None:
    """INSERT OR REPLACE removes the row it replaces without its delete trigger; an id that
    changes moves a row's text elsewhere. Both must leave no stale or missing match."""
    with sample.open_store() as store:
        store.write("UPDATE responses SET text = 'zebrafish' WHERE instruction_id = 1")
        store.write(
            "UPDATE judgment_ratings SET rationale = 'platypus' WHERE judgment_id IN "
            "(SELECT id FROM judgments WHERE instruction_id = 1)"
        )
        store.write("UPDATE instructions SET text = text || ' wombat' WHERE id = 2")
        response = store.scalar("SELECT min(id) FROM responses WHERE instruction_id = 1")
        judgment = store.scalar("SELECT id FROM judgments WHERE instruction_id = 1")
    with sqlite3.connect(sample.db_path) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(  # response 1 replaced by a response of instruction 3
            "INSERT OR REPLACE INTO responses (id, instruction_id, model, text, state, source) "
            "VALUES (?, 3, 'someone-else', 'new', 'done', 'shell')",
            (response,),
        )
        conn.execute(  # judged again: the judgment and its ratings replaced
            "INSERT OR REPLACE INTO judgments (id, instruction_id, judge, template_sha256, "
            "order_shown, state, source) VALUES (?, 1, 'j', 't', '[]', 'failed', 'shell')",
            (judgment,),
        )
    with sqlite3.connect(sample.db_path) as conn:  # foreign keys off, as the shell has them
        conn.execute("UPDATE instructions SET id = 999 WHERE id = 2")
        conn.execute("UPDATE responses SET instruction_id = 999 WHERE instruction_id = 2")
        conn.execute("UPDATE judgments SET instruction_id = 999 WHERE instruction_id = 2")
    with sample.open_store() as store:
        bring_index_up_to_date(store)
        for needle in ("zebrafish", "platypus", "wombat"):
            assert queue_ids(store, QueueFilter(search=needle)) == read_everything(store, needle), (
                needle
            )
        assert queue_ids(store, QueueFilter(search="wombat")) == [999]


def test_text_after_a_nul_is_found(sample: Workspace) -> None:
    with sample.open_store() as store:
        store.write(
            "UPDATE responses SET text = ? WHERE instruction_id = 6", ("before\x00after needle",)
        )
        assert queue_ids(store, QueueFilter(search="needle")) == [6]
        assert queue_ids(store, QueueFilter(search="after")) == read_everything(store, "after")


def test_a_model_list_that_names_no_models_is_refused(sample: Workspace) -> None:
    with sample.open_store() as store:
        for bad in ("[1, null]", '[["x"]]', '[{"a": 1}]', "{}", '"a"', "null", "[,"):
            with pytest.raises(sqlite3.IntegrityError, match="JSON list of model names"):
                store.write("UPDATE instructions SET models = ? WHERE id = 1", (bad,))
        store.write("UPDATE instructions SET models = ? WHERE id = 1", ('["a", "b"]',))


def test_stored_text_that_is_not_utf8_reads_with_its_bad_bytes_replaced(
    sample: Workspace,
) -> None:
    from cuf_tui.store.browse import instruction_view

    with sqlite3.connect(sample.db_path) as conn:  # a value cut in the middle of a letter
        conn.execute("UPDATE judgments SET order_shown = CAST(x'5b22c3' AS TEXT)")
        conn.execute("UPDATE responses SET text = CAST(x'6f6bc3' AS TEXT) WHERE id = 1")
    with sample.open_store() as store:
        view = instruction_view(store, 1)
        assert view is not None and view.judgment is not None
        assert view.judgment.order_shown is None  # said to be unreadable, the rest shows
        assert any(r.text == "ok\ufffd" for r in view.responses)
