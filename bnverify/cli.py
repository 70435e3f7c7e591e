"""The command line: parse arguments, call the library, print, and set the exit status.

Everything here is reachable from Python (bnverify.check, bnverify.engine.closed_form); this module
only turns results into output and exit codes. Exit status: 0 when every verdict is as
expected, 1 when one is not, 2 when something could not be checked. No traceback reaches
the user unless --debug is given.
"""

from __future__ import annotations

import io
import os
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from functools import wraps
from typing import Any

import click
from rich.console import Console
from rich.progress import Progress as RichProgress

from bnverify import __version__
from bnverify.check import Progress, check_files, check_formula, report_of
from bnverify.engine import closed_form
from bnverify.files.access import derivation_files
from bnverify.judge.records import FileResult, exit_status
from bnverify.model.graph import Model, builtin_models, load_model
from bnverify.problem import Problem
from bnverify.report import github as github_report
from bnverify.report import json as json_report
from bnverify.report import junit as junit_report
from bnverify.report import text as text_report
from bnverify.report.output import STDOUT, OutputError, append, emit
from bnverify.report.printable import write as report_files
from bnverify.report.schema import report_schema
from bnverify.settings import LIMIT_NAMES, Limits, Settings, flag

DEFAULT_PATH = "derivations"
# The formats printed as whole documents for programs (the text report is printed by rich).
RENDERERS = {
    "json": json_report.render,
    "junit": junit_report.render,
    "github": github_report.render,
}


INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C


def _cpus() -> int:
    # The CPUs this process may run on (a container or taskset may allow fewer than exist).
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def jobs_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add --jobs: how many worker processes check candidates at once."""
    return click.option(
        "-j",
        "--jobs",
        type=click.IntRange(1, 1024),
        default=_cpus,
        show_default="the number of CPUs",
        help="Check this many candidates at once, each in a worker process.",
    )(command)


def _shows_progress(quiet: bool) -> bool:
    # A bar is for a person at a terminal: not in a pipe or a CI log, nor with NO_COLOR.
    return (
        not quiet
        and sys.stderr.isatty()
        and "CI" not in os.environ
        and "NO_COLOR" not in os.environ
    )


@contextmanager
def _progress(shown: bool) -> Iterator[Progress | None]:
    """A progress bar on standard error, or nothing; it is gone when the check ends."""
    if not shown:
        yield None
        return
    # Refreshed by hand, not by rich's thread: workers are forked, and a fork copies no
    # thread but may copy a lock one holds.
    bar = RichProgress(console=Console(stderr=True), transient=True, auto_refresh=False)
    task = bar.add_task("checking", total=None)

    def advance(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total, refresh=True)

    with bar:
        yield advance


def _guarded(fn: Callable[..., int]) -> Callable[..., None]:
    # Unexpected failures become one line and exit 2; --debug shows the traceback.
    # Ctrl-C exits 130 with one line (output files are written atomically, so none is
    # left half-written).
    @wraps(fn)
    def run(*args: Any, debug: bool = False, **kwargs: Any) -> None:
        try:
            status = fn(*args, **kwargs)
        except KeyboardInterrupt:
            if debug:
                raise
            click.echo("bnverify: interrupted", err=True)
            status = INTERRUPTED
        except OutputError as err:
            if debug:
                raise
            click.echo(f"bnverify: {err}", err=True)
            status = 2
        except Exception as err:
            if debug:
                raise
            click.echo(
                f"bnverify: internal error: {err!r} (run with --debug for details)", err=True
            )
            status = 2
        sys.exit(status)

    return click.option("--debug", is_flag=True, help="Show Python tracebacks.")(run)


def limit_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add --seed, --max-symbolic-batch and one flag per limit; the command gets `settings`."""

    @wraps(command)
    def run(*args: Any, seed: int, max_symbolic_batch: int, **kwargs: Any) -> Any:
        limits = Limits(**{name: kwargs.pop(name) for name in LIMIT_NAMES})
        debug = kwargs.get("debug", False)  # --debug, when _guarded is applied below
        settings = Settings(
            seed=seed, max_symbolic_batch=max_symbolic_batch, limits=limits, debug=debug
        )
        return command(*args, settings=settings, **kwargs)

    for item in reversed(fields(Limits)):
        kind = (
            click.FloatRange(0, min_open=True)
            if item.type in (float, "float")
            else click.IntRange(1, item.metadata["most"])
        )
        run = click.option(
            flag(item.name),
            item.name,
            type=kind,
            default=item.default,
            show_default=True,
            help=item.metadata["help"],
        )(run)
    run = click.option(
        "--max-symbolic-batch",
        type=click.IntRange(0, 12),
        default=Settings.max_symbolic_batch,
        show_default=True,
        help="Look up to this N, element by element, for where the truth is defined.",
    )(run)
    return click.option(
        "--seed", type=int, default=Settings.seed, show_default=True, help="Seed for random points."
    )(run)


@click.group()
@click.version_option(__version__, prog_name="bnverify")
def main() -> None:
    """Exact, tolerance-free verdicts on hand-derived gradients."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--model", "model_name", help="Model for an inline candidate (e.g. batchnorm).")
@click.option("--wrt", help="What the inline candidate is the gradient of (e.g. z).")
@click.option("--expr", help="An inline candidate in ASCII.")
@click.option("--latex", help="An inline candidate in LaTeX.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", *RENDERERS]),
    default="text",
    show_default=True,
    help="json and junit (JUnit XML) for programs and CI; github for GitHub annotations.",
)
@click.option(
    "-o",
    "--output",
    default=STDOUT,
    show_default=True,
    help="Write the report here (written whole or not at all); - is standard output.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@jobs_option
@limit_options
@_guarded
def check(
    paths: tuple[str, ...],
    model_name: str | None,
    wrt: str | None,
    expr: str | None,
    latex: str | None,
    fmt: str,
    output: str,
    quiet: bool,
    jobs: int,
    settings: Settings,
) -> int:
    """Check the candidates of derivation files (default: derivations/)."""
    if expr is not None or latex is not None:
        results, problems = [_inline(model_name, wrt, expr, latex, settings)], []
    else:
        files, problems = derivation_files(paths or (DEFAULT_PATH,))
        with _progress(_shows_progress(quiet)) as progress:
            results = check_files(files, settings, jobs, progress)
    if fmt in RENDERERS:
        emit(output, RENDERERS[fmt](results, problems))
        for problem in problems + [p for r in results for p in r.problems]:
            click.echo(text_report.located(problem), err=True)
    elif output == STDOUT:
        text_report.render(Console(highlight=False, soft_wrap=True), results, problems)
    else:
        buffer = io.StringIO()
        text_report.render(Console(file=buffer, highlight=False, soft_wrap=True), results, problems)
        emit(output, buffer.getvalue())
    summary_path = github_report.step_summary_path(os.environ)
    if summary_path:  # in GitHub Actions, whatever the format
        append(summary_path, github_report.step_summary(results, problems))
    return exit_status(results, len(problems))


def _inline(
    model_name: str | None,
    wrt: str | None,
    expr: str | None,
    latex: str | None,
    settings: Settings,
) -> FileResult:
    if expr is not None and latex is not None:
        raise click.UsageError("give --expr or --latex, not both")
    ref = model_name or "batchnorm"
    model = load_model(ref)
    if isinstance(model, tuple):  # the model file's problems, each where it is written
        return FileResult(ref, "", model, ())
    text, syntax = (expr, "ascii") if expr is not None else (latex, "latex")
    # In a worker process, as every candidate the command line checks: see check_files.
    verdict = check_formula(text, wrt, model=model, syntax=syntax, settings=settings, jobs=1)
    return FileResult(verdict.candidate.path, "", (), (verdict,))


@main.command(name="report")
@click.argument("path", type=click.Path())
@click.option(
    "-o",
    "--output",
    default=STDOUT,
    show_default=True,
    help="The report file (.html, .md or .tex); figures go beside it. - is standard output.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(report_files.FORMATS),
    help="Override the format the extension of -o names (md on standard output).",
)
@jobs_option
@limit_options
@click.option("--pdf", "to_pdf", is_flag=True, help="HTML only: also print it to PDF beside it.")
@click.option(
    "--paper",
    type=click.Choice(["a4", "letter"]),
    default="a4",
    show_default=True,
    help="Paper size of --pdf.",
)
@_guarded
def report_command(
    path: str,
    output: str,
    fmt: str | None,
    settings: Settings,
    to_pdf: bool,
    paper: str,
    jobs: int,
) -> int:
    """Write a printable report of one derivation file: the derivation, step by step."""
    chosen = report_files.request(path, output, fmt, to_pdf)
    if isinstance(chosen, Problem):
        click.echo(text_report.located(chosen), err=True)
        return 2
    command = ["bnverify", "report", path, "-o", output, "--format", chosen]
    reproducing = shlex.join(command + _reproducing(settings))
    document, result = report_of(path, settings, reproducing, jobs)
    for problem in [*result.problems, *(v.problem for v in result.verdicts if v.problem)]:
        click.echo(text_report.located(problem), err=True)
    if isinstance(document, Problem):  # its derivation steps ran out of their budget
        click.echo(text_report.located(document), err=True)
        return 2
    report_files.write_report(document, output, chosen)
    if to_pdf:
        printed, failed = report_files.print_pdf(output, paper)
        if failed is not None:
            click.echo(text_report.located(failed), err=True)
            return 2
        click.echo(f"printed {printed}", err=True)
    return exit_status([result])


def _reproducing(settings: Settings) -> list[str]:
    # The footer's command gives the seed and every setting that changes the evidence;
    # limits appear only when raised from their defaults.
    argv = ["--seed", str(settings.seed), "--max-symbolic-batch", str(settings.max_symbolic_batch)]
    for name in LIMIT_NAMES:
        value = getattr(settings.limits, name)
        if value != getattr(Limits(), name):
            argv += [flag(name), str(value)]
    return argv


@main.command(name="schema")
@_guarded
def schema_command() -> int:
    """Print the JSON Schema of `check --format json`."""
    click.echo(report_schema(), nl=False)
    return 0


@main.command(name="derive")
@click.option("--model", "model_name", default="batchnorm", show_default=True)
@click.option("--wrt", required=True, help="The name whose gradient to print (e.g. z).")
@click.option("--latex", "as_latex", is_flag=True, help="Print LaTeX instead of ASCII.")
@click.option("--batch-size", type=click.IntRange(1, 8), help="Also print it for this N.")
@_guarded
def derive_command(model_name: str, wrt: str, as_latex: bool, batch_size: int | None) -> int:
    """Print the true gradient of the model's loss with respect to a name."""
    model = load_model(model_name)
    if isinstance(model, tuple):
        for problem in model:
            click.echo(text_report.located(problem), err=True)
        return 2
    result = closed_form.derive(model, wrt, as_latex, batch_size)
    if isinstance(result, Problem):
        click.echo(f"error: {result.message}", err=True)
        return 2
    click.echo(result)
    # What is proved of it; beside LaTeX, on standard error, so the formula alone can be
    # piped back into `check --latex`.
    click.echo(closed_form.proof_statement(model, wrt), err=as_latex)
    return 0


@main.command(name="models")
@_guarded
def models_command() -> int:
    """List the built-in models."""
    for name, title in builtin_models().items():
        model = load_model(name)
        assert isinstance(model, Model), model
        inputs = ", ".join(f"{n} ({s})" for n, s in model.inputs)
        nodes = ", ".join(n for n, _ in model.nodes)
        click.echo(
            f"{name}: {title}\n  inputs: {inputs}\n  constants: "
            f"{', '.join(n for n, _ in model.constants)}\n  nodes: {nodes}\n"
            f"  upstream gradient: {model.upstream}"
        )
    return 0
