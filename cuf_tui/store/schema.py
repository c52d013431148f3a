"""The store's schema as forward migrations; migration N takes a store from version N-1 to N.

Tables are named for what they hold so that `sqlite3 cuf.db` or Datasette reads plainly.
Each unit of work has a natural unique key, so the same work can never be stored twice.
A row is written only when its work is complete; an error is a row whose state says so.
"""

from __future__ import annotations

from typing import Final

# An instruction's search document: its text, its responses and the judges' rationales.
# ``searchable`` (a function of the store's connection) blanks NULs, where SQLite's string
# functions would stop reading.
SEARCH_DOCUMENT: Final = (
    "SELECT i.id, searchable(i.text) || char(10) || coalesce((SELECT group_concat("
    "searchable(r.text), char(10)) FROM responses r WHERE r.instruction_id = i.id AND r.text "
    "IS NOT NULL), '') || char(10) || coalesce((SELECT group_concat(searchable(jr.rationale), "
    "char(10)) FROM judgments j JOIN judgment_ratings jr ON jr.judgment_id = j.id "
    "WHERE j.instruction_id = i.id), '') FROM instructions i"
)


def _mark(instruction: str, source: str = "") -> str:
    """A trigger statement noting ``instruction`` (an expression, or a column of ``source``)
    as touched. No conflict clause: the statement that fires a trigger imposes its own (an
    upsert's, an OR REPLACE), so a repeat is skipped by NOT EXISTS instead."""
    return (
        f"INSERT INTO search_stale (instruction_id) SELECT {instruction} {source} "
        f"{'AND' if 'WHERE' in source else 'WHERE'} {instruction} IS NOT NULL AND NOT EXISTS "
        f"(SELECT 1 FROM search_stale WHERE instruction_id = {instruction});"
    )


def _search_index() -> str:
    """Migration 8: ``instruction_search``, a full-text index (SQLite FTS5, trigram tokens)
    with one document per instruction (SEARCH_DOCUMENT). A search for three characters or
    more reads the index instead of every response; the trigram tokenizer matches any
    substring and folds case beyond ASCII.

    Triggers note each instruction a write touches in ``search_stale``, whichever program
    writes; its document is made again once per transaction (search.refresh_search_index,
    run before every commit of the store, and before a search reads the index), so a bulk
    import indexes each instruction once, not once per response."""
    of_rating = "(SELECT j.instruction_id FROM judgments j WHERE j.id = {}.judgment_id)"
    watched = {
        "instructions": ("id, text", "{}.id"),
        "responses": ("id, text, instruction_id", "{}.instruction_id"),
        "judgment_ratings": ("rationale, judgment_id", of_rating),
        "judgments": ("id, instruction_id", "{}.instruction_id"),  # its ratings' rationales
    }
    triggers = []
    for table, (columns, instruction) in watched.items():
        for event, rows in (
            ("INSERT", ("NEW",)),
            (f"UPDATE OF {columns}", ("OLD", "NEW")),  # a row may move to another instruction
            ("DELETE", ("OLD",)),
        ):
            marks = " ".join(_mark(instruction.format(row)) for row in rows)
            name = f"{table}_search_{event.split()[0].lower()}"
            triggers.append(f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {marks} END;")
    # INSERT OR REPLACE deletes the row it replaces without firing its delete trigger: when
    # that row belonged to another instruction, that one is noted before. (A replaced
    # instruction needs nothing: the search joins the instructions there are.)
    for table in ("responses", "judgments"):
        source = (
            f"FROM {table} x WHERE x.id = NEW.id AND x.instruction_id IS NOT NEW.instruction_id"
        )
        triggers.append(
            f"CREATE TRIGGER {table}_search_replace BEFORE INSERT ON {table} BEGIN "
            f"{_mark('x.instruction_id', source)} END;"
        )
    # The queue reads an instruction's models with SQLite's JSON functions, which fail the
    # whole read on one malformed value: a write that would store one is refused instead.
    for event in ("INSERT", "UPDATE OF models"):
        triggers.append(
            f"CREATE TRIGGER instructions_models_{event.split()[0].lower()} BEFORE {event} "
            "ON instructions WHEN NOT json_valid(NEW.models) OR json_type(NEW.models) != 'array' "
            "OR EXISTS (SELECT 1 FROM json_each(NEW.models) WHERE type != 'text') "
            "BEGIN SELECT RAISE(ABORT, 'instructions.models must be a JSON list of model "
            "names'); END;"
        )
    return (
        "CREATE TABLE search_stale (instruction_id INTEGER NOT NULL);\n"
        "    CREATE INDEX search_stale_by_instruction ON search_stale (instruction_id);\n"
        "    CREATE VIRTUAL TABLE instruction_search USING fts5 (body, tokenize = 'trigram');\n"
        f"    INSERT INTO instruction_search (rowid, body) {SEARCH_DOCUMENT};\n    "
        + "\n    ".join(triggers)
    )


MIGRATIONS: Final[tuple[str, ...]] = (
    # 1: the first schema.
    """
    CREATE TABLE instructions (
        id INTEGER PRIMARY KEY,
        text TEXT NOT NULL,
        preference TEXT NOT NULL CHECK (preference IN
            ('instruction-following', 'explanation', 'complexity', 'readability', 'style')),
        text_sha256 TEXT NOT NULL,
        source TEXT NOT NULL,
        models TEXT NOT NULL DEFAULT '[]',  -- JSON list of the model names assigned to answer
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        UNIQUE (text_sha256, preference)
    );
    CREATE INDEX instructions_by_preference ON instructions (preference, id);

    CREATE TABLE responses (
        id INTEGER PRIMARY KEY,
        instruction_id INTEGER NOT NULL REFERENCES instructions (id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        principle TEXT,                      -- the system-prompt principle it answered under
        text TEXT,                           -- NULL unless state = 'done'
        state TEXT NOT NULL CHECK (state IN ('done', 'failed')),
        error TEXT,                          -- why it failed; NULL unless state = 'failed'
        source TEXT NOT NULL,                -- 'generated' or where it was imported from
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        cost_usd REAL,
        latency_ms REAL,
        started_at TEXT,
        finished_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        UNIQUE (instruction_id, model),
        CHECK ((state = 'done' AND text IS NOT NULL) OR (state = 'failed' AND error IS NOT NULL))
    );
    CREATE INDEX responses_by_model ON responses (model, state);

    CREATE TABLE judgments (
        id INTEGER PRIMARY KEY,
        instruction_id INTEGER NOT NULL REFERENCES instructions (id) ON DELETE CASCADE,
        judge TEXT NOT NULL,
        template_sha256 TEXT NOT NULL,        -- hash of the rubric template, or 'imported'
        order_shown TEXT NOT NULL,            -- JSON list of model names in the order shown
        raw_output TEXT,                      -- what the judge wrote, verbatim
        state TEXT NOT NULL CHECK (state IN ('done', 'unparsed', 'failed')),
        error TEXT,
        source TEXT NOT NULL,
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        cost_usd REAL,
        latency_ms REAL,
        finished_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        UNIQUE (instruction_id, judge, template_sha256)
    );
    CREATE INDEX judgments_by_judge ON judgments (judge, state);

    CREATE TABLE judgment_ratings (
        judgment_id INTEGER NOT NULL REFERENCES judgments (id) ON DELETE CASCADE,
        model TEXT NOT NULL,                  -- whose response is rated
        position_shown INTEGER,               -- 1-based place in the judge's prompt
        rating INTEGER CHECK (rating BETWEEN 1 AND 5),  -- NULL: the judge gave no rating (N/A)
        rationale TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (judgment_id, model)
    );

    CREATE TABLE reviews (
        id INTEGER PRIMARY KEY,
        instruction_id INTEGER NOT NULL REFERENCES instructions (id) ON DELETE CASCADE,
        model TEXT NOT NULL,                  -- whose response is reviewed
        judgment_id INTEGER REFERENCES judgments (id) ON DELETE SET NULL,
        rating INTEGER CHECK (rating BETWEEN 1 AND 5),  -- the human's rating; NULL: none given
        agrees_with_judge INTEGER NOT NULL DEFAULT 0 CHECK (agrees_with_judge IN (0, 1)),
        flagged INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1)),
        note TEXT,
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        UNIQUE (instruction_id, model)
    );

    CREATE TABLE bench_items (
        id INTEGER PRIMARY KEY,
        text TEXT NOT NULL,
        preference TEXT NOT NULL CHECK (preference IN
            ('instruction-following', 'explanation', 'complexity', 'readability', 'style')),
        text_sha256 TEXT NOT NULL,
        source TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        UNIQUE (text_sha256, preference)
    );

    CREATE TABLE bench_references (
        bench_item_id INTEGER NOT NULL REFERENCES bench_items (id) ON DELETE CASCADE,
        model TEXT NOT NULL,                  -- the reference model, e.g. 'gpt-4-turbo'
        text TEXT NOT NULL,
        PRIMARY KEY (bench_item_id, model)
    );

    CREATE TABLE bench_answers (
        id INTEGER PRIMARY KEY,
        bench_item_id INTEGER NOT NULL REFERENCES bench_items (id) ON DELETE CASCADE,
        model TEXT NOT NULL,                  -- the model under test
        principle TEXT,
        text TEXT,
        state TEXT NOT NULL CHECK (state IN ('done', 'failed')),
        error TEXT,
        source TEXT NOT NULL,
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        cost_usd REAL,
        latency_ms REAL,
        finished_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        UNIQUE (bench_item_id, model),
        CHECK ((state = 'done' AND text IS NOT NULL) OR (state = 'failed' AND error IS NOT NULL))
    );

    CREATE TABLE bench_grades (
        id INTEGER PRIMARY KEY,
        bench_answer_id INTEGER NOT NULL REFERENCES bench_answers (id) ON DELETE CASCADE,
        judge TEXT NOT NULL,
        reference_model TEXT NOT NULL,        -- whose reference answer the grade was made against
        template_sha256 TEXT NOT NULL,
        rating INTEGER CHECK (rating BETWEEN 1 AND 10),  -- NULL: no rating could be read
        rationale TEXT,
        raw_output TEXT,
        state TEXT NOT NULL CHECK (state IN ('done', 'unparsed', 'failed')),
        error TEXT,
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        cost_usd REAL,
        latency_ms REAL,
        finished_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        UNIQUE (bench_answer_id, judge, reference_model, template_sha256)
    );

    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('generate', 'judge', 'bench')),
        params TEXT NOT NULL DEFAULT '{}',    -- JSON: models, judge, limit, ...
        state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN
            ('queued', 'running', 'done', 'failed', 'cancelled', 'interrupted')),
        total INTEGER NOT NULL DEFAULT 0,
        done INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL NOT NULL DEFAULT 0,
        error TEXT,
        pid INTEGER,
        heartbeat_at TEXT,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        started_at TEXT,
        finished_at TEXT
    );

    CREATE TABLE imports (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        layout TEXT NOT NULL,
        rows_read INTEGER NOT NULL,
        added INTEGER NOT NULL,
        already_present INTEGER NOT NULL,
        imported_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    """,
    # 2: what the batch engine records beyond the first schema.
    """
    ALTER TABLE jobs ADD COLUMN lease_token TEXT;       -- which worker holds the job
    ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN in_flight INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN log_path TEXT;
    ALTER TABLE responses ADD COLUMN sampling TEXT;     -- JSON: temperature, top_p, max_tokens
    ALTER TABLE judgments ADD COLUMN repaired INTEGER NOT NULL DEFAULT 0;  -- read after a repair
    CREATE INDEX jobs_by_state ON jobs (state, kind);
    """,
    # 3: failures that asking again cannot fix (a 400, a 401, an unknown model) are marked,
    # so a re-run skips them unless asked to retry them.
    """
    ALTER TABLE responses ADD COLUMN permanent_failure INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE judgments ADD COLUMN permanent_failure INTEGER NOT NULL DEFAULT 0;
    """,
    # 4: the model servers a job runs itself (vLLM, llama.cpp): where they listen, their
    # process group and log, so they can be shown, and stopped if their worker died.
    """
    CREATE TABLE servers (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        model TEXT NOT NULL,                  -- the [[models]] or [[judges]] name
        engine TEXT NOT NULL,
        replica INTEGER NOT NULL,             -- 1-based
        pid INTEGER,                          -- also its process group
        port INTEGER NOT NULL,
        log_path TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('starting', 'ready', 'stopped', 'failed', 'crashed')),
        detail TEXT,
        started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        ready_at TEXT,
        stopped_at TEXT
    );
    CREATE INDEX servers_by_job ON servers (job_id, id);
    """,
    # 5: CODAL-Bench runs record what judging records: failures a retry cannot fix, grades
    # read only after a repair request, and the sampling settings of an answer.
    """
    ALTER TABLE bench_answers ADD COLUMN permanent_failure INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE bench_answers ADD COLUMN sampling TEXT;
    ALTER TABLE bench_grades ADD COLUMN permanent_failure INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE bench_grades ADD COLUMN repaired INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX bench_grades_by_judge ON bench_grades (judge, reference_model, state);
    """,
    # 6: truthful batches. A job ends 'done', 'done with failures' or 'failed' and counts
    # what needs attention (unparsed judgments, cut-off answers), retries and 429 waits; its
    # worker is recorded with its host and process start time, so a dead worker is seen at
    # once. Answers keep the reason the engine stopped (finish_reason 'length': cut off) and
    # how many invalid code points were replaced. A unit in flight is claimed, so two
    # batches over the same units never send one twice. (SQLite cannot change a CHECK, so
    # the jobs table is rebuilt; foreign keys are off while migrations run.)
    """
    CREATE TABLE jobs_v6 (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('generate', 'judge', 'bench')),
        params TEXT NOT NULL DEFAULT '{}',    -- JSON: models, judge, limit, ...
        state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done',
            'done with failures', 'failed', 'cancelled', 'interrupted')),
        total INTEGER NOT NULL DEFAULT 0,
        done INTEGER NOT NULL DEFAULT 0,      -- units stored whole (read, for a judgment)
        failed INTEGER NOT NULL DEFAULT 0,
        unparsed INTEGER NOT NULL DEFAULT 0,  -- judge answers that could not be read
        truncated INTEGER NOT NULL DEFAULT 0, -- answers cut off at max_tokens (also in done)
        retries INTEGER NOT NULL DEFAULT 0,   -- attempts sent again (429, 5xx, drops, timeouts)
        rate_limited INTEGER NOT NULL DEFAULT 0,  -- of which after a 429
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL NOT NULL DEFAULT 0,
        error TEXT,
        pid INTEGER,
        host TEXT,                            -- where the worker runs
        pid_started TEXT,                     -- its process start time (tells a reused pid)
        heartbeat_at TEXT,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        started_at TEXT,
        finished_at TEXT,
        lease_token TEXT,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        in_flight INTEGER NOT NULL DEFAULT 0,
        log_path TEXT
    );
    INSERT INTO jobs_v6 (id, kind, params, state, total, done, failed, prompt_tokens,
        completion_tokens, cost_usd, error, pid, heartbeat_at, created_at, started_at,
        finished_at, lease_token, cancel_requested, in_flight, log_path)
    SELECT id, kind, params,
        CASE WHEN state = 'done' AND failed > 0 AND done = 0 THEN 'failed'
             WHEN state = 'done' AND failed > 0 THEN 'done with failures' ELSE state END,
        total, done, failed, prompt_tokens, completion_tokens, cost_usd, error, pid,
        heartbeat_at, created_at, started_at, finished_at, lease_token, cancel_requested,
        in_flight, log_path
    FROM jobs;
    DROP TABLE jobs;
    ALTER TABLE jobs_v6 RENAME TO jobs;
    CREATE INDEX jobs_by_state ON jobs (state, kind);

    ALTER TABLE responses ADD COLUMN finish_reason TEXT;   -- 'stop', 'length' (cut off), ...
    ALTER TABLE responses ADD COLUMN replaced_chars INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE judgments ADD COLUMN finish_reason TEXT;
    ALTER TABLE judgments ADD COLUMN replaced_chars INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE bench_answers ADD COLUMN finish_reason TEXT;
    ALTER TABLE bench_answers ADD COLUMN replaced_chars INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE bench_grades ADD COLUMN finish_reason TEXT;
    ALTER TABLE bench_grades ADD COLUMN replaced_chars INTEGER NOT NULL DEFAULT 0;

    CREATE TABLE claims (
        unit TEXT PRIMARY KEY,                -- JSON: ["response", instruction id, model], ...
        job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        lease_token TEXT NOT NULL,            -- the run of the job that holds it
        claimed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    ) WITHOUT ROWID;
    CREATE INDEX claims_by_job ON claims (lease_token);
    """,
    # 7: a bench answer records the protocol it was made under (the paper's: greedy, 1,024
    # tokens, the preference's first principle before the instruction; or the settings used
    # instead), and a grade the grading recipe it was made with (the hash of every grading
    # template, whatever its preference), so that a leaderboard never mixes either silently.
    # A review records its reviewer, which exports carry; a response, the hash of the
    # template it was asked with (its transcript is rebuilt from it when it is unchanged).
    """
    ALTER TABLE bench_answers ADD COLUMN protocol TEXT;
    ALTER TABLE bench_grades ADD COLUMN grading TEXT;
    ALTER TABLE reviews ADD COLUMN reviewer TEXT;   -- who wrote it (the login, or CUF_TUI_REVIEWER)
    ALTER TABLE responses ADD COLUMN prompt_sha256 TEXT;  -- its generation template
    """,
    # 8: a full-text index of each instruction with its responses and rationales, for `/`.
    _search_index(),
    # 9: judge trust. A review is one reviewer's, so several people review the same response
    # (a review of no named reviewer becomes "unknown"), and says where it came from (the
    # workbench, or the file of an imported review). Probe judgments (the same instruction
    # re-judged with its responses in another order) are kept apart from the dataset's
    # judgments, so no export ever reads them; a probe is a kind of job.
    """
    CREATE TABLE reviews_v9 (
        id INTEGER PRIMARY KEY,
        instruction_id INTEGER NOT NULL REFERENCES instructions (id) ON DELETE CASCADE,
        model TEXT NOT NULL,                  -- whose response is reviewed
        reviewer TEXT NOT NULL,               -- who (the login, CUF_TUI_REVIEWER, --reviewer)
        judgment_id INTEGER REFERENCES judgments (id) ON DELETE SET NULL,
        rating INTEGER CHECK (rating BETWEEN 1 AND 5),  -- the human's rating; NULL: none given
        agrees_with_judge INTEGER NOT NULL DEFAULT 0 CHECK (agrees_with_judge IN (0, 1)),
        flagged INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1)),
        note TEXT,
        source TEXT NOT NULL DEFAULT 'workbench',  -- or the file it was imported from
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        UNIQUE (instruction_id, model, reviewer)
    );
    INSERT INTO reviews_v9 (id, instruction_id, model, reviewer, judgment_id, rating,
        agrees_with_judge, flagged, note, updated_at)
    SELECT id, instruction_id, model, coalesce(nullif(trim(reviewer), ''), 'unknown'),
        judgment_id, rating, agrees_with_judge, flagged, note, updated_at
    FROM reviews;
    DROP TABLE reviews;
    ALTER TABLE reviews_v9 RENAME TO reviews;
    CREATE INDEX reviews_by_reviewer ON reviews (reviewer, instruction_id);

    CREATE TABLE jobs_v9 (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('generate', 'judge', 'bench', 'probe')),
        params TEXT NOT NULL DEFAULT '{}',
        state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done',
            'done with failures', 'failed', 'cancelled', 'interrupted')),
        total INTEGER NOT NULL DEFAULT 0,
        done INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        unparsed INTEGER NOT NULL DEFAULT 0,
        truncated INTEGER NOT NULL DEFAULT 0,
        retries INTEGER NOT NULL DEFAULT 0,
        rate_limited INTEGER NOT NULL DEFAULT 0,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL NOT NULL DEFAULT 0,
        error TEXT,
        pid INTEGER,
        host TEXT,
        pid_started TEXT,
        heartbeat_at TEXT,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        started_at TEXT,
        finished_at TEXT,
        lease_token TEXT,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        in_flight INTEGER NOT NULL DEFAULT 0,
        log_path TEXT
    );
    INSERT INTO jobs_v9 SELECT id, kind, params, state, total, done, failed, unparsed,
        truncated, retries, rate_limited, prompt_tokens, completion_tokens, cost_usd, error,
        pid, host, pid_started, heartbeat_at, created_at, started_at, finished_at,
        lease_token, cancel_requested, in_flight, log_path
    FROM jobs;
    DROP TABLE jobs;
    ALTER TABLE jobs_v9 RENAME TO jobs;
    CREATE INDEX jobs_by_state ON jobs (state, kind);

    CREATE TABLE probe_judgments (
        id INTEGER PRIMARY KEY,
        instruction_id INTEGER NOT NULL REFERENCES instructions (id) ON DELETE CASCADE,
        judge TEXT NOT NULL,
        template_sha256 TEXT NOT NULL,
        probe TEXT NOT NULL CHECK (probe IN ('position')),
        rotation INTEGER NOT NULL,            -- how far the judged order was rotated
        order_shown TEXT NOT NULL,            -- JSON list of model names in the order shown
        raw_output TEXT,
        state TEXT NOT NULL CHECK (state IN ('done', 'unparsed', 'failed')),
        error TEXT,
        source TEXT NOT NULL DEFAULT 'generated',
        repaired INTEGER NOT NULL DEFAULT 0,
        permanent_failure INTEGER NOT NULL DEFAULT 0,
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        cost_usd REAL,
        latency_ms REAL,
        finish_reason TEXT,
        replaced_chars INTEGER NOT NULL DEFAULT 0,
        finished_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        UNIQUE (instruction_id, judge, template_sha256, probe, rotation)
    );
    CREATE INDEX probe_judgments_by_judge ON probe_judgments (judge, probe, state);

    CREATE TABLE probe_ratings (
        probe_judgment_id INTEGER NOT NULL REFERENCES probe_judgments (id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        position_shown INTEGER NOT NULL,
        rating INTEGER CHECK (rating BETWEEN 1 AND 5),
        rationale TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (probe_judgment_id, model)
    );
    """,
    # 10: Batch API work. A remote batch is recorded, with the units it carries, before its
    # input file is uploaded, and again once the file and then the batch exist; each unit's
    # answer line is kept as soon as it is downloaded, so that a worker killed at any point
    # requests nothing twice.
    """
    CREATE TABLE remote_batches (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        model TEXT NOT NULL,                  -- the [[models]] or [[judges]] name
        endpoint TEXT NOT NULL,               -- the provider's base URL
        file_name TEXT NOT NULL,              -- the input file's name, unique to the row
        input_file_id TEXT,                   -- NULL: its upload has not finished
        batch_id TEXT,                        -- NULL: the batch not yet created
        status TEXT NOT NULL,                 -- 'uploading', 'uploaded', the provider's
        purpose TEXT NOT NULL DEFAULT 'units' CHECK (purpose IN ('units', 'resubmitted',
            'repairs')),
        requests INTEGER NOT NULL,
        completed INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        output_file_id TEXT,
        error_file_id TEXT,
        error TEXT,
        collected INTEGER NOT NULL DEFAULT 0,  -- its answers are in remote_batch_units
        remote_created_at INTEGER,            -- the provider's clock, seconds since 1970
        expires_at INTEGER,
        submitted_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        checked_at TEXT
    );
    CREATE INDEX remote_batches_by_job ON remote_batches (job_id, model);

    CREATE TABLE remote_batch_units (
        remote_batch_id INTEGER NOT NULL REFERENCES remote_batches (id) ON DELETE CASCADE,
        custom_id TEXT NOT NULL,
        answer TEXT,                          -- its line of the output or error file
        PRIMARY KEY (remote_batch_id, custom_id)
    );
    CREATE INDEX remote_batch_units_by_custom_id ON remote_batch_units (custom_id);
    """,
)
