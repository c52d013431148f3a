"""The command line's grammar: commands, their options and the checks on their values."""

from __future__ import annotations

import argparse
from pathlib import Path

from cuf_tui import __version__
from cuf_tui.core.preferences import PREFERENCES

COMMANDS = (
    "init",
    "import",
    "export",
    "stats",
    "summary",
    "generate",
    "judge",
    "bench",
    "bench-report",
    "agreement",
    "probe",
    "prompts",
    "jobs",
    "cancel",
    "worker",
    "demo-model",
)


def build_parser() -> argparse.ArgumentParser:
    workspace = argparse.ArgumentParser(add_help=False)
    workspace.add_argument(
        "-w",
        "--workspace",
        type=Path,
        metavar="DIR",
        # SUPPRESS: a subcommand's unset -w must not erase one given before the subcommand.
        default=argparse.SUPPRESS,
        help="the workspace folder (default: the current folder if it holds cuf.toml, "
        "else the per-user sample workspace)",
    )
    parser = argparse.ArgumentParser(
        prog="cuf-tui",
        usage="cuf-tui [-h] [-w DIR] [--version] [--reviewer NAME] [DIR | COMMAND ...]",
        description="A terminal workbench for building, reviewing and benchmarking "
        "LLM-as-a-Judge preference data for code (CodeUltraFeedback, CODAL-Bench).",
        epilog="Run `cuf-tui [DIR]` to open a workspace; `cuf-tui COMMAND --help` for a command.",
        parents=[workspace],
    )
    parser.add_argument("--version", action="version", version=f"cuf-tui {__version__}")
    parser.add_argument(
        "--reviewer",
        metavar="NAME",
        help="whose reviews the workbench writes and shows (default: $CUF_TUI_REVIEWER, else "
        "the login name); each reviewer keeps their own",
    )
    # prog: each command's usage starts "cuf-tui COMMAND", not with the top usage line.
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", prog="cuf-tui")

    init = commands.add_parser(
        "init",
        help="make a new workspace (cuf.toml + cuf.db)",
        description="Make a new workspace: a cuf.toml with commented examples and an empty store.",
    )
    init.add_argument("dir", type=Path, metavar="DIR", help="the folder to make it in")

    imp = commands.add_parser(
        "import",
        parents=[workspace],
        help="import instructions, a CodeUltraFeedback file or CODAL-Bench",
        description="Import a local .jsonl/.json/.csv/.parquet file, a datasets.save_to_disk "
        "folder or a Hugging Face dataset id. Every row is checked before anything is stored.",
    )
    imp.add_argument(
        "source",
        metavar="SOURCE",
        help="a .jsonl, .json, .csv or .parquet file, a datasets folder, or a Hugging Face id",
    )
    imp.add_argument(
        "--format",
        choices=("auto", "cuf", "codal", "instructions", "answers", "grades", "reviews"),
        default="auto",
        help="the layout (default: picked from the columns); answers: a model's answers to "
        "CODAL-Bench items (instruction + response rows), with --model; grades: a model's "
        "bench grades as the paper's scripts write them (a rating 1-10 or N/A per line, in "
        "the bench's order), with --model, --judge and --reference; reviews: human ratings "
        "made elsewhere (instruction or instruction_id, model, rating 1-5, reviewer, and "
        "optionally note and flagged per line), each stored under its reviewer",
    )
    imp.add_argument(
        "--model",
        metavar="NAME",
        help="with --format answers or grades: the model that wrote the answers",
    )
    imp.add_argument(
        "--reference",
        metavar="MODEL",
        help="with --format grades: whose reference answers the grades were made against",
    )
    imp.add_argument(
        "--partial",
        action="store_true",
        help="with --format grades: a file with fewer lines than the bench grades its first items",
    )
    imp.add_argument("--split", help="the split of a dataset with several")
    imp.add_argument("--limit", type=positive, metavar="N", help="import the first N rows only")
    imp.add_argument(
        "--preference",
        metavar="PREFERENCE|round-robin|COLUMN",
        help="each row's coding preference: one for every row ("
        + ", ".join(PREFERENCES)
        + "), round-robin (row i gets the i %% 5-th, in the paper's order), or the column "
        "that holds it",
    )
    imp.add_argument(
        "--judge",
        metavar="NAME",
        help="who wrote a CodeUltraFeedback file's annotations, when its rows don't say "
        "(default: imported); with --format grades: the grader",
    )

    exp = commands.add_parser(
        "export",
        parents=[workspace],
        help="export the CodeUltraFeedback layout, its binarized pairs, DPO pairs or instructions",
        description="Write .jsonl, .parquet, or a datasets folder (a path with no suffix, or "
        "one ending in /).",
    )
    exp.add_argument(
        "--format",
        choices=("cuf", "binarized", "dpo", "instructions", "hf"),
        required=True,
        help="hf: the binarized layout as a datasets folder (save_to_disk), whatever the path",
    )
    exp.add_argument(
        "--out",
        required=True,
        metavar="PATH",
        help="a .jsonl or .parquet file, or a datasets folder (no suffix, or ending in /)",
    )
    exp.add_argument(
        "--ties",
        choices=("keep", "drop"),
        help="binarized, dpo: an instruction whose rated responses all tie still gives a pair "
        "(keep) or none (drop); default: keep for binarized (as the paper), drop for dpo",
    )
    exp.add_argument(
        "--exclude-flagged",
        action="store_true",
        help="leave out every response a reviewer flagged (never chosen, rejected or listed)",
    )
    exp.add_argument(
        "--reviewed-only",
        action="store_true",
        help="keep only responses a reviewer rated or agreed with the judge on",
    )
    exp.add_argument(
        "--test-size",
        type=float,
        metavar="FRACTION",
        help="also split train/test, stratified by preference and seeded (the paper: 0.05): "
        "NAME-train and NAME-test files, or both splits in a datasets folder",
    )
    exp.add_argument(
        "--strategy",
        choices=("best-worst", "best-random", "all-pairs"),
        default="best-worst",
        help="how dpo pairs are chosen (default: best-worst, as in CodeUltraFeedback)",
    )
    exp.add_argument("--seed", type=int, help="seed for tie-breaking (default: the workspace seed)")
    exp.add_argument(
        "--judge",
        action="append",
        metavar="NAME",
        help="use this judge's ratings (default: each instruction's latest judgment); with "
        "--panel, a member of the panel (repeatable; default: every judge in the store)",
    )
    exp.add_argument(
        "--panel",
        choices=("mean", "median", "majority"),
        help="combine several judges' ratings of each response: their mean, their median, or "
        "the rating most of them gave (none where two tie); rows name the panel as their judge",
    )
    exp.add_argument(
        "--include-truncated",
        action="store_true",
        help="binarized, dpo: also pair responses cut off at max_tokens (left out by default)",
    )
    exp.add_argument("--force", action="store_true", help="replace PATH if it exists")

    stats = commands.add_parser(
        "stats",
        parents=[workspace],
        help="counts by preference, model, judge and state",
        description="Instructions by preference; responses by model and state (done, cut off "
        "at max_tokens, failed); judgments by judge and state; bench answers and grades.",
    )
    stats.add_argument("--json", action="store_true", help="print JSON instead of tables")
    commands.add_parser(
        "summary",
        parents=[workspace],
        help="what the workspace holds, in a few lines",
        description="The workspace's pool, judges and counts (instructions, responses, "
        "judgments, bench items and grades, jobs), in a few lines.",
    )

    batch = argparse.ArgumentParser(add_help=False, parents=[workspace])
    batch.add_argument(
        "--detach", action="store_true", help="run in a background worker and return at once"
    )
    batch.add_argument(
        "--wait",
        action="store_true",
        help='stay in the foreground until the end, even for an entry with mode = "batch" '
        "(whose Batch API jobs take hours, so it runs in a background worker by default)",
    )
    batch.add_argument(
        "--dry-run", action="store_true", help="show what would be requested and request nothing"
    )
    batch.add_argument(
        "--retry-failed",
        action="store_true",
        help="also ask again for units that failed in a way a retry cannot fix (a 400, an "
        "unknown model); failures that may pass (429, 5xx, timeouts) are always asked again",
    )
    gen = commands.add_parser(
        "generate",
        parents=[batch],
        help="generate the missing responses of the model pool",
        description="For every instruction, ask each of its assigned models (sampled from the "
        "pool when it has none) for the response it has not given yet.",
    )
    gen.add_argument(
        "--model", action="append", metavar="NAME", help="only this model (repeatable)"
    )
    gen.add_argument("--limit", type=positive, metavar="N", help="at most N instructions")
    judge = commands.add_parser(
        "judge",
        parents=[batch],
        help="judge every instruction whose responses are all there",
        description="Rate the responses of every instruction not yet judged by this judge "
        "with this template.",
    )
    judge.add_argument(
        "--judge",
        action="append",
        metavar="NAME",
        help="the judge (default: the first in cuf.toml); repeat it to judge with several, "
        "one batch each, their judgments kept side by side",
    )
    judge.add_argument(
        "--all-judges",
        action="store_true",
        help="judge with every [[judges]] entry, one batch each",
    )
    judge.add_argument("--limit", type=positive, metavar="N", help="at most N instructions")

    bench = commands.add_parser(
        "bench",
        parents=[batch],
        help="CODAL-Bench: a model answers the bench items, a judge grades each answer",
        description="The model under test answers every bench item it has not answered (by "
        "default under the paper's protocol: greedy, 1,024 tokens, the preference's first "
        "principle before the item; [bench] in cuf.toml changes it); the judge grades each "
        "answer alone against a reference answer, 1 to 10. Resumable like every batch.",
    )
    bench.add_argument(
        "--limit", type=positive, metavar="N", help="at most N bench items (of those needing work)"
    )
    bench.add_argument("--model", required=True, metavar="NAME", help="the model under test")
    bench.add_argument("--judge", metavar="NAME", help="the grader (default: the first judge)")
    bench.add_argument(
        "--reference",
        metavar="MODEL",
        help="whose reference answers to grade against (needed when the bench has several)",
    )
    report = commands.add_parser(
        "bench-report",
        parents=[workspace],
        help="the CODAL-Bench leaderboard: models x preferences, with 95%% intervals",
        description="The paper's score of every graded run: each preference's mean grade "
        "(unreadable or missing grades as 0) and their mean, with 95% bootstrap intervals, "
        "ranked per judge and reference; an incomplete run shows its coverage, unranked.",
    )
    report.add_argument("--judge", metavar="NAME", help="only this judge's grades")
    report.add_argument("--reference", metavar="MODEL", help="only grades against this reference")
    report.add_argument(
        "--format",
        choices=("table", "markdown", "csv", "json"),
        default="table",
        help="table (default), a Markdown table, or one CSV or JSON record per run and preference",
    )
    report.add_argument("--out", type=Path, metavar="PATH", help="write it to a file")
    report.add_argument("--force", action="store_true", help="replace PATH if it exists")
    report.add_argument(
        "--seed", type=int, help="the bootstrap's seed (default: the workspace seed)"
    )

    agreement = commands.add_parser(
        "agreement",
        parents=[workspace],
        help="how far the judges and reviewers agree: kappa, rho and alpha, with 95%% intervals",
        description="Every pair of raters (judges, each by its latest readable judgment of an "
        "instruction, and reviewers) over the responses both rated: exact and within-one "
        "agreement, quadratic-weighted Cohen's kappa and Spearman's rho with 95% bootstrap "
        "intervals; Krippendorff's alpha (ordinal) over all raters; overall and per "
        "preference. A pair sharing fewer than 10 responses gets no figures.",
    )
    agreement.add_argument(
        "--judge",
        action="append",
        metavar="NAME",
        help="compare only this judge (repeatable; default: every judge) with the reviewers",
    )
    agreement.add_argument("--json", action="store_true", help="print JSON instead of tables")
    agreement.add_argument(
        "--resamples",
        type=positive,
        default=200,
        metavar="N",
        help="bootstrap resamples per interval (default: 200)",
    )
    agreement.add_argument(
        "--seed", type=int, help="the bootstrap's seed (default: the workspace seed)"
    )

    prompts = commands.add_parser(
        "prompts",
        parents=[workspace],
        help="the prompt templates in use, and the paper's own wording",
        description="Without an action: every template in use, where it comes from (shipped, "
        "or the workspace's prompts/ folder) and its SHA-256.",
    )
    prompt_actions = prompts.add_subparsers(dest="prompts_action", metavar="ACTION")
    paper = prompt_actions.add_parser(
        "import-paper",
        parents=[workspace],
        help="the principles, rubrics and grading criteria of the paper's repository, as this "
        "workspace's prompt overrides",
        description="Read a checkout of the paper's repository (its src/templates/*.py files are "
        "parsed as data, never run) into prompts/principles, prompts/rubrics and "
        "prompts/grading of the workspace.",
    )
    paper.add_argument("dir", type=Path, metavar="DIR")
    paper.add_argument("--force", action="store_true", help="replace overrides already there")

    probe = commands.add_parser(
        "probe",
        parents=[workspace],
        help="measure a judge's biases: position, length, self-preference",
        description="Probes of how far a judge can be trusted. position re-judges a seeded "
        "sample with the responses in every other order (requests; stored apart, never "
        "exported); length and self read the ratings already stored (no requests).",
    )
    probes = probe.add_subparsers(dest="probe", metavar="PROBE", required=True)
    position = probes.add_parser(
        "position",
        parents=[batch],
        help="re-judge a seeded sample in rotated orders and report each position's effect",
        description="Judge N instructions the judge has judged again, the responses shown in "
        "every other cyclic rotation of the order it first saw (N x (responses - 1) requests), "
        "then report per position the mean rating change of the same response, the share of "
        "ratings and of best responses that changed, with 95% bootstrap intervals. Running it "
        "again requests only what is missing; a larger --sample adds to a smaller one.",
    )
    position.add_argument("--judge", metavar="NAME", help="the judge (default: the first)")
    position.add_argument(
        "--sample",
        type=positive,
        default=50,
        metavar="N",
        help="instructions to probe, drawn with the workspace seed (default: 50)",
    )
    position.add_argument(
        "--report",
        action="store_true",
        help="only report what the stored probe judgments show; request nothing",
    )
    length = probes.add_parser(
        "length",
        parents=[workspace],
        help="correlation of ratings with response length, judges beside reviewers",
        description="Spearman's rho between each rater's ratings and the responses' length "
        "(characters, and lines of code in fenced blocks), overall and per preference, with "
        "95% bootstrap intervals; judges and reviewers alike, so a judge that rewards length "
        "more than people do shows. No requests.",
    )
    length.add_argument(
        "--judge", action="append", metavar="NAME", help="only this judge (repeatable)"
    )
    self_probe = probes.add_parser(
        "self",
        parents=[workspace],
        help="does a judge favour answers of its own model family?",
        description="Compare the judge's ratings of its own family's answers with another "
        "rater's ratings of the same answers, beside the same comparison on every other "
        "answer. No requests.",
    )
    self_probe.add_argument("--judge", metavar="NAME", help="the judge (default: the first)")
    self_probe.add_argument(
        "--against",
        metavar="NAME|reviewers",
        help="the other rater: a judge, or reviewers (default: reviewers where they rated "
        "enough, else the judge that shares the most rated responses)",
    )
    for sub in (position, length, self_probe):
        sub.add_argument("--json", action="store_true", help="print JSON instead of tables")
        sub.add_argument(
            "--resamples",
            type=positive,
            default=500,
            metavar="N",
            help="bootstrap resamples for the intervals (default: 500)",
        )

    jobs = commands.add_parser(
        "jobs",
        parents=[workspace],
        help="list batches and their progress",
        description="Every batch: its kind, state (a dead worker's shows interrupted), progress, "
        "what needs attention, tokens, cost and last error.",
    )
    jobs.add_argument("--json", action="store_true", help="print JSON instead of a table")
    cancel = commands.add_parser(
        "cancel",
        parents=[workspace],
        help="stop a running batch",
        description="Stop a batch: its worker stops sending, keeps what finished and stops the "
        "servers it started; the same command as the batch's resumes it later.",
    )
    cancel.add_argument(
        "job", type=job_id_value, metavar="ID", help="the job's id, as `cuf-tui jobs` lists it"
    )
    demo = commands.add_parser(
        "demo-model",
        parents=[workspace],
        help="add a small real model that runs on the CPU (SmolLM2-135M on vLLM or "
        "llama.cpp) to the pool",
        description="Build, once per machine, a CPU engine (vLLM's CPU build, or llama.cpp with "
        "--engine llamacpp) and SmolLM2-135M-Instruct in "
        "the cache folder ($CUF_TUI_CACHE, else ~/.cache/cuf-tui), then add the model to the "
        "workspace's pool, and make it the judge when no configured judge can run. The "
        "workbench starts and stops its server for each batch.",
    )
    demo.add_argument(
        "--engine",
        choices=("vllm", "llamacpp"),
        default="vllm",
        help="vllm: vLLM's CPU build (3.5 GB, about 3 minutes); llamacpp: llama-cpp-python's "
        "server on the GGUF file (compiles llama.cpp, a few minutes)",
    )
    demo.add_argument(
        "--prepare-only",
        action="store_true",
        help="build the engine and the model in the cache folder; change no workspace",
    )
    worker = commands.add_parser(  # started by --detach and the workbench; not listed
        "worker",
        parents=[workspace],
        description="Run job ID to its end in this process (what a detached batch runs).",
    )
    worker.add_argument("job", type=job_id_value, metavar="ID", help="the job to run")
    return parser


def job_id_value(text: str) -> int:
    value = int(text)
    if not 1 <= value < 2**63:  # SQLite's integers
        raise argparse.ArgumentTypeError("a job id is a number from 1 (see `cuf-tui jobs`)")
    return value


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value
