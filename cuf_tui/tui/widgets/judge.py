"""The Judge tab: how far the judges can be trusted. Agreement between every pair of raters
(judges and reviewers), the position probe of the judge on show as a bar chart, its mean
rating by response length beside the reviewers', warnings in words, and the largest
disagreements, where Enter opens the instruction in the queue. Read in a thread; the plots'
library is imported the first time the tab is shown."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static
from textual.worker import Worker, get_current_worker

from cuf_tui.tui.failures import report_worker_failure
from cuf_tui.tui.service import Workbench

if TYPE_CHECKING:
    from cuf_tui.analysis.agreement import Agreement, Estimate
    from cuf_tui.analysis.trust import JudgeTrust

FOLLOW_EVERY_S = 30.0
WIDE_TABLE = 120  # columns from which every figure shows its interval
NO_RATINGS = (
    "Nothing to measure yet: judge some instructions (J), rate responses in the queue (1-5), "
    "or import ratings made elsewhere (`cuf-tui import FILE --format reviews`)."
)


class OpenInstruction(Message):
    """Show this instruction in the queue, with this response selected."""

    def __init__(self, instruction_id: int, model: str | None = None) -> None:
        super().__init__()
        self.instruction_id = instruction_id
        self.model = model  # the response to select


def estimate_text(estimate: Estimate | None, percent: bool = False, interval: bool = True) -> str:
    if estimate is None:
        return "-"
    form = "{:.0%}" if percent else "{:.2f}"
    value = form.format(estimate.value)
    if not interval or estimate.low is None or estimate.high is None:
        return value
    return f"{value} [{form.format(estimate.low)}, {form.format(estimate.high)}]"


class JudgePane(VerticalScroll):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "move_cursor(1)", "Down", show=False),
        Binding("k", "move_cursor(-1)", "Up", show=False),
    ]

    DEFAULT_CSS = """
    JudgePane { height: 1fr; }
    JudgePane > #judge-heading { height: auto; }
    JudgePane > #judge-warnings { height: auto; color: $warning; }
    JudgePane > #agreement { height: auto; max-height: 9; }
    JudgePane > #judge-plots { height: 12; }
    JudgePane > #judge-plots > .plot { width: 1fr; height: 12; }
    JudgePane > #disagreements { height: auto; max-height: 14; }
    """

    def __init__(self, workbench: Workbench, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.workbench = workbench
        self.trust: JudgeTrust | None = None
        self.measured_at = float("-inf")
        self.generation = 0  # of the reading whose findings may be shown
        self.agreements: dict[tuple[int, int], Agreement] = {}  # by ratings_version

    def compose(self) -> ComposeResult:
        yield Static("Reading the ratings…", id="judge-heading")
        yield Static(id="judge-warnings")
        agreement: DataTable[Any] = DataTable(id="agreement", cursor_type="row")
        # n: responses both rated; ±1: the share at most a point apart.
        for column in ("raters", "n", "kappa [95%]", "exact", "±1", "rho"):
            agreement.add_column(column, key=column)
        yield agreement
        yield Horizontal(id="judge-plots")
        listed: DataTable[Any] = DataTable(id="disagreements", cursor_type="row")
        for column in ("#", "model", "ratings", "preference"):
            listed.add_column(column)
        yield listed

    def follow(self) -> None:
        """What workers wrote: measured again at most once every FOLLOW_EVERY_S (a reading
        takes seconds on a large workspace; workers write many times a second)."""
        if time.monotonic() - self.measured_at >= FOLLOW_EVERY_S:
            self.refresh_trust()

    def refresh_trust(self) -> None:
        """Measure again, for the judge on show now. A reading started before (for another
        judge, or older ratings) is let go: what it finds is not shown."""
        self.generation += 1
        self.measured_at = time.monotonic()
        version = self.workbench.ratings_version()
        cached = self.agreements.get(version)
        self._measure(self.generation, self.workbench.primary_judge, version, cached)

    @work(
        thread=True,
        exclusive=True,
        group="judge",
        exit_on_error=False,
        description="measuring the judges",
    )
    def _measure(
        self,
        generation: int,
        judge: str | None,
        version: tuple[int, int],
        agreement: Agreement | None,
    ) -> None:
        """In a thread: the figures first, then their intervals (the bootstrap takes seconds
        on a large workspace). The agreement of the same ratings is measured once, whichever
        judge is on show."""
        worker = get_current_worker()
        if agreement is None:
            quick = self.workbench.judge_trust(judge, intervals=False)
            if worker.is_cancelled:
                return
            self.app.call_from_thread(self.show, quick, generation, False)
        trust = self.workbench.judge_trust(judge, intervals=True, agreement=agreement)
        if worker.is_cancelled:
            return
        self.app.call_from_thread(self.show, trust, generation, True, version)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self, event)

    def show(
        self,
        trust: JudgeTrust,
        generation: int | None = None,
        complete: bool = True,
        version: tuple[int, int] | None = None,
    ) -> None:
        """Show what a reading found, unless a newer reading has started since."""
        if generation is not None and generation != self.generation:
            return
        if version is not None and trust.agreement is not None:
            self.agreements = {version: trust.agreement}  # the latest ratings' only
        self.trust = trust
        heading = Text(justify="left")
        heading.append(f"Judge on show: {trust.judge or 'none'}", style="bold")
        heading.append("  (v in the queue shows the next)", style="dim")
        if not complete:
            heading.append("  · intervals: measuring…", style="dim")
        if trust.agreement is None:
            heading.append("\n" + NO_RATINGS)
        else:
            overall = trust.agreement.overall
            raters = ", ".join(r.label for r in trust.agreement.raters)
            heading.append(f"\nRaters: {raters}. ")
            if overall.alpha is not None:
                heading.append(f"Krippendorff's alpha (ordinal) {overall.alpha:.2f}", style="bold")
                heading.append(f" over {overall.pairable} responses rated twice or more.")
            else:
                why = "too few responses rated twice" if overall.too_few else "undefined"
                heading.append(f"Alpha: {why}.")
        self.query_one("#judge-heading", Static).update(heading)
        self.query_one("#judge-warnings", Static).update(
            Text("\n".join(f"⚠ {w}" for w in trust.warnings))  # names are never markup
        )
        self._show_agreement(trust)
        self._show_plots(trust)
        self._show_disagreements(trust)

    def _show_agreement(self, trust: JudgeTrust) -> None:
        table = self.query_one("#agreement", DataTable)
        row = table.cursor_row
        table.clear()
        if trust.agreement is None:
            return
        # Narrow: intervals for kappa only, so that every column fits in 80.
        wide = self.size.width >= WIDE_TABLE
        for pair in trust.agreement.overall.pairs:
            raters = f"{pair.first.label} · {pair.second.label}"
            if pair.too_few:
                few = Text("too few shared", style="dim")
                table.add_row(Text(raters), str(pair.shared), few, "", "", "")
                continue
            table.add_row(
                Text(raters),  # names as given, never read as markup
                str(pair.shared),
                estimate_text(pair.kappa) if not pair.constant else Text("one rating", style="dim"),
                estimate_text(pair.exact, percent=True, interval=wide),
                estimate_text(pair.within_one, percent=True, interval=wide),
                estimate_text(pair.rho, interval=wide),
            )
        table.move_cursor(row=min(row, max(0, table.row_count - 1)))

    def _show_plots(self, trust: JudgeTrust) -> None:
        from textual_plotext import PlotextPlot

        plots = self.query_one("#judge-plots", Horizontal)
        if not plots.children:
            plots.mount(PlotextPlot(id="position-plot", classes="plot"))
            plots.mount(PlotextPlot(id="length-plot", classes="plot"))
        position = self.query_one("#position-plot", PlotextPlot)
        plt = position.plt
        plt.clear_data()
        plt.clear_figure()
        if trust.position is not None and trust.position.effects:
            effects = trust.position.effects
            plt.bar(
                [f"#{e.position}" for e in effects],
                [e.mean_change for e in effects],
                minimum=0,
                width=0.5,
            )
            plt.hline(0)
            plt.title("Rating change by position shown")
        else:
            plt.title("No position probe yet (cuf-tui probe)")
        position.refresh()
        length = self.query_one("#length-plot", PlotextPlot)
        plt = length.plt
        plt.clear_data()
        plt.clear_figure()
        if trust.length is not None:
            series = trust.length.series
            plt.multiple_bar(  # type: ignore[call-arg]  # the stub says label; plotext reads labels
                trust.length.bins,
                [[m if m is not None else 0.0 for m in means] for means in series.values()],
                labels=list(series),
                minimum=0,
            )
            plt.ylim(0, 5)
            plt.title("Mean rating by length (chars)")
        else:
            plt.title("Too few ratings to plot by length")
        length.refresh()

    def _show_disagreements(self, trust: JudgeTrust) -> None:
        table = self.query_one("#disagreements", DataTable)
        row = table.cursor_row
        table.clear()
        for n, d in enumerate(trust.disagreements):
            table.add_row(
                str(d.instruction_id),
                Text(d.model),
                Text(f"{d.first.label} {d.first_rating} · {d.second.label} {d.second_rating}"),
                d.preference,
                key=str(n),
            )
        table.move_cursor(row=min(row, max(0, table.row_count - 1)))

    @on(DataTable.RowSelected, "#disagreements")
    def open_disagreement(self, event: DataTable.RowSelected) -> None:
        if self.trust is None or event.row_key.value is None:
            return
        chosen = self.trust.disagreements[int(event.row_key.value)]
        self.post_message(OpenInstruction(chosen.instruction_id, chosen.model))

    def action_move_cursor(self, step: int) -> None:
        focused = self.screen.focused
        if isinstance(focused, DataTable):
            focused.move_cursor(row=focused.cursor_row + step)
