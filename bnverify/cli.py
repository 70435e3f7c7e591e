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
from dataclasses import dataclass, fields
from functools import wraps
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import Progress as RichProgress

from bnverify import __version__
from bnverify.check import Progress, check_files, check_formula, report_of
from bnverify.engine import closed_form, second_form
from bnverify.files.claim_tables import inline_claim
from bnverify.files.derivation import COMMAND_LINE, load_derivation
from bnverify.files.discovery import discover
from bnverify.judge import oracle as torch_oracle
from bnverify.judge.records import FileResult, exit_status
from bnverify.model.graph import Model, builtin_names, load_model
from bnverify.models import command_line_model, load_usable, model_of
from bnverify.problem import Problem
from bnverify.report import csv as csv_report
from bnverify.report import github as github_report
from bnverify.report import json as json_report
from bnverify.report import junit as junit_report
from bnverify.report import merge as merge_report
from bnverify.report import model_listing, rows
from bnverify.report import oracle as oracle_report
from bnverify.report import summary as summary_report
from bnverify.report import text as text_report
from bnverify.report.inert import visible
from bnverify.report.output import STDOUT, OutputError, append, emit
from bnverify.report.printable import handouts
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

# The formats printed from a run's rows (report.rows), which `bnverify merge` also prints.
ROW_RENDERERS: dict[str, Callable[[rows.Run], str]] = {
    "csv": csv_report.render,
    "junit": junit_report.render_run,
    "summary": summary_report.render,
}

EXIT_CODES = (
    "Exit status: 0 when every verdict is its expect; 1 when one is not; 2 when a "
    "candidate could not be checked or the input is bad (a located message says where)."
)
CHECK_EPILOG = f"""\b
Examples:
  bnverify check derivations/forum-post.toml
  bnverify check submissions/ --model batchnorm --summary
  bnverify check submissions/ --format csv -o grades.csv
  bnverify check submissions/ --shard 2/4 --format json -o shard-2.json
  bnverify check --wrt z --latex '\\frac{{\\gamma}}{{\\sqrt{{\\sigma^2+\\epsilon}}}} g_y'
  bnverify check --wrt x --notation x=z --expr 'gamma*g_y'

{EXIT_CODES}"""

MERGE_EPILOG = f"""\b
Examples (a CI matrix or a job array runs one shard per job):
  bnverify check submissions/ --shard 1/2 --format json -o shard-1.json
  bnverify check submissions/ --shard 2/2 --format json -o shard-2.json
  bnverify merge shard-*.json                       # the class summary
  bnverify merge shard-*.json --format csv -o grades.csv
  bnverify merge shard-*.json --format junit -o bnverify.xml

The output has the bytes a single run without --shard prints. {EXIT_CODES}"""

MAIN_EPILOG = f"""\b
Examples:
  bnverify check derivations/
  bnverify check submissions/ --model batchnorm --summary
  bnverify check --wrt z --expr 'gamma/sqrt(var+eps)*g_y'
  bnverify derive --wrt z --latex

Run `bnverify COMMAND --help` for a command's options. {EXIT_CODES}"""
REPORT_EPILOG = f"""\b
Examples:
  bnverify report derivations/forum-post.toml -o post.html --pdf
  bnverify report submissions/ -o handouts/ --model batchnorm   # and handouts/index.html
  bnverify report derivations/forum-post.toml -o post.tex && pdflatex post.tex
  bnverify report derivations/forum-post.toml            # Markdown on standard output

{EXIT_CODES}"""
DERIVE_EPILOG = """\b
Examples:
  bnverify derive --wrt z
  bnverify derive --wrt z --latex
  bnverify derive --wrt zhat --batch-size 2
  bnverify derive --wrt z --order 2 --freeze mu,var   # u^T (grad^2_z L) u, H_y given

Exit status: 0 when printed; 2 when the model, the name or a frozen node is unknown."""
MODELS_EPILOG = """\b
Examples:
  bnverify models
  bnverify models layernorm
  bnverify models models/my-layer.toml

Exit status: 0; 2 when a model cannot be used (its problems are printed, located)."""
ORACLE_EPILOG = """\b
Examples:
  bnverify oracle                         # every built-in model
  bnverify oracle layernorm my-layer.toml
  bnverify check derivations/ --oracle torch

Needs PyTorch 2.4 or newer, the CPU build being enough: bnverify's torch extra, or pip
install torch --index-url https://download.pytorch.org/whl/cpu. Exit status: 0 when every
value agrees with PyTorch; 1 when one disagrees (a bug in bnverify, never in a candidate);
2 when PyTorch is not installed or a model cannot be read."""
SCHEMA_EPILOG = """\b
Example:
  bnverify schema > report.schema.json

Exit status: 0; 2 when the schema cannot be printed."""

INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C
BROKEN_PIPE = 141  # 128 + SIGPIPE, as shells report a reader that closed the pipe


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
        except click.ClickException:
            raise  # a usage error: click prints it with the usage line and exits 2
        except KeyboardInterrupt:
            if debug:
                raise
            click.echo("bnverify: interrupted", err=True)
            status = INTERRUPTED
        except BrokenPipeError:
            # The reader went away (`bnverify derive ... | head -1`): nothing is left to
            # say to it, and Python must not complain when it flushes stdout at exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            status = BROKEN_PIPE
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


def _notation_pairs(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, equals, name = value.partition("=")
        if not equals or not key.strip() or not name.strip():
            raise click.BadParameter(f"{value!r}: write NAME=MODEL_NAME, e.g. --notation x=z")
        pairs[key.strip()] = name.strip()
    return pairs


def _shard(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> tuple[int, int] | None:
    if value is None:
        return None
    k, slash, n = value.partition("/")
    if not (slash and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise click.BadParameter(f"{value!r}: write K/N with 1 <= K <= N, e.g. --shard 2/4")
    return int(k), int(n)


def class_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--notation, --summary and --shard: the options for a class of files (and notation)."""
    command = click.option(
        "--shard",
        metavar="K/N",
        callback=_shard,
        help="Check only shard K of N (every N-th file, from the K-th); merge the shards' "
        "--format json reports with `bnverify merge`.",
    )(command)
    command = click.option(
        "--summary",
        is_flag=True,
        help="Print one line per file (title or source, score k/n, failed candidates) "
        "and a class total.",
    )(command)
    return click.option(
        "--notation",
        multiple=True,
        metavar="NAME=MODEL_NAME",
        callback=_notation_pairs,
        help="With --expr/--latex: read NAME as the model's MODEL_NAME (repeatable), "
        "e.g. --notation x=z.",
    )(command)


@click.group(epilog=MAIN_EPILOG)
@click.version_option(__version__, prog_name="bnverify")
def main() -> None:
    """Exact, tolerance-free verdicts on hand-derived gradients."""


@main.command(short_help="Check derivation files, or one formula.", epilog=CHECK_EPILOG)
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--model",
    "model_name",
    help="Model of an inline candidate, and of files that name none (e.g. batchnorm).",
)
@click.option("--wrt", help="What the inline candidate is the gradient of (e.g. z).")
@click.option("--expr", help="An inline candidate in ASCII.")
@click.option("--latex", help="An inline candidate in LaTeX.")
@click.option(
    "--claim",
    help="An inline claim in LaTeX, an equation or inequality to decide "
    "(e.g. '\\nabla_z L = \\frac{1}{\\sigma} \\nabla_{\\hat z} L').",
)
@click.option(
    "--freeze",
    multiple=True,
    help="With --claim: hold this node constant (repeatable), e.g. --freeze mu --freeze var.",
)
@click.option(
    "--assume",
    multiple=True,
    help="With --claim: assume a name positive (repeatable), e.g. --assume '\\alpha > 0'.",
)
@class_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "junit", "github", "csv"]),
    default="text",
    show_default=True,
    help="json and junit (JUnit XML) for programs and CI; github for GitHub annotations; "
    "csv for a spreadsheet (one row per candidate).",
)
@click.option(
    "-o",
    "--output",
    default=STDOUT,
    show_default=True,
    help="Write the report here (written whole or not at all); - is standard output.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "-v", "--verbose", is_flag=True, help="Every layer of evidence, for matches too (text)."
)
@click.option(
    "--oracle",
    type=click.Choice(["torch"]),
    help="After the verdicts, cross-check the engine's gradients of the models used with "
    "PyTorch (bnverify's torch extra); never changes a verdict, exits 1 if it disagrees.",
)
@jobs_option
@limit_options
@_guarded
def check(
    paths: tuple[str, ...],
    model_name: str | None,
    wrt: str | None,
    expr: str | None,
    latex: str | None,
    claim: str | None,
    freeze: tuple[str, ...],
    assume: tuple[str, ...],
    notation: dict[str, str],
    summary: bool,
    shard: tuple[int, int] | None,
    fmt: str,
    output: str,
    quiet: bool,
    verbose: bool,
    oracle: str | None,
    jobs: int,
    settings: Settings,
) -> int:
    """Check the candidates of derivation files (default: derivations/), or one formula."""
    asked = _Asked(paths, expr, latex, notation, summary, shard, fmt, claim, freeze + assume)
    inline = _refuse_mixed_inputs(asked)
    if oracle and torch_oracle.unavailable():  # said before the check, not after it
        return _oracle([], settings.seed)
    positions = None
    if inline:
        formula = _Formula(expr, latex, claim, freeze, assume)
        results, problems = [_inline(model_name, wrt, formula, notation, settings)], []
    else:
        with _progress(_shows_progress(quiet)) as progress:
            results, problems, positions = _check_files(
                paths, model_name, shard, settings, jobs, progress, verbose
            )
    if summary or fmt in ROW_RENDERERS:
        run = rows.run_of(results, problems, positions)
        emit(output, ROW_RENDERERS["summary" if summary else fmt](run))
    elif fmt == "json":
        emit(output, json_report.render(results, problems, positions))
    elif fmt in RENDERERS:
        emit(output, RENDERERS[fmt](results, problems))
    else:
        _print_text(output, results, problems, verbose)
    if fmt != "text" or summary:
        for problem in problems + [p for r in results for p in r.problems]:
            click.echo(text_report.located(problem), err=True)
    summary_path = github_report.step_summary_path(os.environ)
    if summary_path:  # in GitHub Actions, whatever the format
        append(summary_path, github_report.step_summary(results, problems))
    status = exit_status(results, len(problems))
    if oracle:  # on standard error unless the text report is on standard output
        models = _models_checked(results, model_name, inline, settings)
        text_out = fmt == "text" and not summary and output == STDOUT
        status = max(status, _oracle(models, settings.seed, err=not text_out))
    return status


def _print_text(
    output: str, results: list[FileResult], problems: list[Problem], verbose: bool
) -> None:
    if output == STDOUT:
        console = Console(highlight=False, soft_wrap=True)
        text_report.render(console, results, problems, terminal_width(console), verbose)
        return
    buffer = io.StringIO()
    console = Console(file=buffer, highlight=False, soft_wrap=True)
    text_report.render(console, results, problems, verbose=verbose)
    emit(output, buffer.getvalue())


def terminal_width(console: Console) -> int | None:
    """The width text wraps to: the terminal's, or COLUMNS when set; None in a pipe or file.

    A log or a file keeps whole lines, which a reader's own window wraps.
    """
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) >= 20:
        return int(columns)
    return console.width if console.is_terminal else None


def _check_files(
    paths: tuple[str, ...],
    model_name: str | None,
    shard: tuple[int, int] | None,
    settings: Settings,
    jobs: int,
    progress: Progress | None,
    verbose: bool = False,
) -> tuple[list[FileResult], list[Problem], list[int]]:
    """Each file's result, the problems with the paths, and each file's place in the run.

    The files' candidates are checked in `jobs` worker processes, in the files' order.
    Model files among them are not derivations: each is noted on standard error when it
    was named, or with -v.
    """
    paths = paths or (DEFAULT_PATH,)
    found = discover(paths, settings.limits.max_file_bytes)
    _note_model_files(found.models, paths, verbose)
    files, problems = found.derivations, found.problems
    fallback = command_line_model(model_name, settings) if model_name else None
    if isinstance(fallback, tuple):  # --model names a model that cannot be used
        return [], problems + list(fallback), []
    positions = list(range(len(files)))
    if shard is not None:
        positions, problems = in_shard(positions, shard), problems if shard[0] == 1 else []
    chosen = [files[at] for at in positions]
    searched = [path for path in paths if Path(path).is_dir()]
    return check_files(chosen, settings, jobs, progress, fallback, searched), problems, positions


def _note_model_files(models: list[Path], named: tuple[str, ...], verbose: bool) -> None:
    """Say that a model file is not checked: always when it was named, else with -v."""
    given = {Path(path) for path in named}
    for path in models:
        if verbose or path in given:
            shown = visible(str(path))
            click.echo(
                f"bnverify: {shown} is a model file, not a derivation: not checked "
                f"(`bnverify models {shown}` shows it)",
                err=True,
            )


def in_shard(positions: list[int], shard: tuple[int, int]) -> list[int]:
    """The files of shard K of N: every N-th file of the run, from the K-th.

    The run's files are in a fixed order (paths as given, directories walked in sorted
    order), so every shard run with the same arguments splits them the same way.
    """
    k, n = shard
    return [at for at in positions if at % n == k - 1]


@dataclass(frozen=True)
class _Asked:
    """What `check` was asked for, for the rules on which flags go together."""

    paths: tuple[str, ...]
    expr: str | None
    latex: str | None
    notation: dict[str, str]
    summary: bool
    shard: tuple[int, int] | None
    fmt: str
    claim: str | None = None
    claim_options: tuple[str, ...] = ()  # --freeze and --assume, which need --claim


def _refuse_mixed_inputs(asked: _Asked) -> bool:
    """Whether the check is of one inline formula; a usage error when flags disagree."""
    paths, notation = asked.paths, asked.notation
    summary, shard, fmt = asked.summary, asked.shard, asked.fmt
    given = [flag for flag, value in INLINE_FLAGS.items() if getattr(asked, value) is not None]
    inline = bool(given)
    if inline and paths:
        shown = " ".join(paths)
        raise click.UsageError(
            f"{given[0]} checks one formula, but paths were also given ({shown}); "
            f"check the formula alone, or the files without {given[0]}"
        )
    if len(given) > 1:
        raise click.UsageError(
            f"give one of --expr, --latex and --claim, not {' and '.join(given)}"
        )
    if asked.claim_options and asked.claim is None:
        raise click.UsageError("--freeze and --assume are for an inline claim (--claim)")
    if notation and not inline:
        raise click.UsageError(
            "--notation is for an inline formula (--expr, --latex, --claim); a derivation file "
            "maps its names in its own [notation] table"
        )
    if inline and (summary or shard):
        raise click.UsageError("--summary and --shard are for files, not an inline formula")
    if summary and fmt != "text":
        raise click.UsageError(f"--summary is its own format; drop --format {fmt}")
    return inline


@dataclass(frozen=True)
class _Formula:
    """The inline formula `check` was given: a candidate (--expr, --latex) or a claim."""

    expr: str | None
    latex: str | None
    claim: str | None
    freeze: tuple[str, ...]
    assume: tuple[str, ...]


# Each flag that checks one inline formula, by the _Asked field that holds it.
INLINE_FLAGS = {"--expr": "expr", "--latex": "latex", "--claim": "claim"}


def _inline(
    model_name: str | None,
    wrt: str | None,
    formula: _Formula,
    notation: dict[str, str],
    settings: Settings,
) -> FileResult:
    ref = model_name or "batchnorm"
    model = command_line_model(ref, settings)
    if isinstance(model, tuple):  # the model file's problems, each where it is written
        return FileResult(COMMAND_LINE, "", model, ())
    if formula.claim is not None:
        text, syntax = formula.claim, "latex"
    elif formula.expr is not None:
        text, syntax = formula.expr, "ascii"
    else:
        text, syntax = formula.latex, "latex"
    claim = inline_claim(formula.freeze, formula.assume) if formula.claim is not None else None
    # In a worker process, as every candidate the command line checks: see check_files.
    verdict = check_formula(
        text,
        wrt,
        model=model,
        syntax=syntax,
        settings=settings,
        jobs=1,
        notation=notation,
        claim=claim,
    )
    return FileResult(verdict.candidate.path, "", (), (verdict,))


@main.command(name="report", short_help="Write a printable report.", epilog=REPORT_EPILOG)
@click.argument("path", type=click.Path())
@click.option(
    "-o",
    "--output",
    default=STDOUT,
    show_default=True,
    help="The report file (.html, .md or .tex); figures go beside it. - is standard output. "
    "For a folder of derivation files: the folder for their reports and index page.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(report_files.FORMATS),
    help="Override the format the extension of -o names (md on standard output; html for "
    "a folder).",
)
@click.option(
    "--model",
    "model_name",
    help="The model of files that name none (e.g. batchnorm).",
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
    model_name: str | None,
    settings: Settings,
    to_pdf: bool,
    paper: str,
    jobs: int,
) -> int:
    """Write a printable report of a derivation file, or one per file of a folder."""
    fallback = command_line_model(model_name, settings) if model_name else None
    if isinstance(fallback, tuple):
        for problem in fallback:
            click.echo(text_report.located(problem), err=True)
        return 2
    if Path(path).is_dir():
        folder = Path(path)
        return _report_folder(
            folder, output, fmt or "html", fallback, settings, paper, to_pdf, jobs
        )
    chosen = report_files.request(path, output, fmt, to_pdf)
    if isinstance(chosen, Problem):
        click.echo(text_report.located(chosen), err=True)
        return 2
    result = _report_file(path, output, chosen, fallback, settings, jobs)
    if result is None:  # its derivation steps ran out of their budget
        return 2
    if to_pdf and not _printed(output, paper):
        return 2
    return exit_status([result])


def _report_file(
    path: str,
    output: str,
    fmt: str,
    fallback: Model | None,
    settings: Settings,
    jobs: int,
    searched: tuple[Path, ...] = (),
) -> FileResult | None:
    """Write one file's report; its problems go to standard error. None: none written."""
    command = ["bnverify", "report", path, "-o", output, "--format", fmt]
    reproducing = shlex.join(command + _reproducing(settings))
    document, result = report_of(path, settings, reproducing, jobs, fallback, searched)
    for problem in [*result.problems, *(v.problem for v in result.verdicts if v.problem)]:
        click.echo(text_report.located(problem), err=True)
    if isinstance(document, Problem):
        click.echo(text_report.located(document), err=True)
        return None
    report_files.write_report(document, output, fmt)
    return result


def _printed(output: str, paper: str) -> bool:
    printed, failed = report_files.print_pdf(output, paper)
    if failed is not None:
        click.echo(text_report.located(failed), err=True)
        return False
    click.echo(f"printed {printed}", err=True)
    return True


def _report_folder(
    folder: Path,
    output: str,
    fmt: str,
    fallback: Model | None,
    settings: Settings,
    paper: str,
    to_pdf: bool,
    jobs: int,
) -> int:
    """One report per derivation file of a folder, and an index page with the class table."""
    if output == STDOUT or (to_pdf and fmt != "html"):
        raise click.UsageError(
            "a folder's reports are files: give a folder, -o handouts/ (--pdf prints HTML)"
        )
    found = discover([folder], settings.limits.max_file_bytes)  # model files are no reports
    files, problems = found.derivations, found.problems
    for problem in problems:
        click.echo(text_report.located(problem), err=True)
    names = handouts.report_names(files, folder, fmt)
    target = Path(output)
    written = [
        _report_file(str(path), str(target / name), fmt, fallback, settings, jobs, (folder,))
        for path, name in zip(files, names, strict=True)
    ]
    results = [r for r in written if r is not None]
    run = rows.run_of(results, problems)
    kept = [name for r, name in zip(written, names, strict=True) if r is not None]
    pages = [handouts.Handout(row, name) for row, name in zip(run.files, kept, strict=True)]
    index = target / handouts.index_name(fmt)
    emit(str(index), handouts.render_index(pages, run, fmt))
    click.echo(f"wrote {len(results)} reports and {index}", err=True)
    printed = [_printed(str(target / name), paper) for name in kept] if to_pdf else []
    failed = len(written) - len(results)
    return 2 if failed or not all(printed) else exit_status(results, len(problems))


def _reproducing(settings: Settings) -> list[str]:
    # The footer's command gives the seed and every setting that changes the evidence;
    # limits appear only when raised from their defaults.
    argv = ["--seed", str(settings.seed), "--max-symbolic-batch", str(settings.max_symbolic_batch)]
    for name in LIMIT_NAMES:
        value = getattr(settings.limits, name)
        if value != getattr(Limits(), name):
            argv += [flag(name), str(value)]
    return argv


@main.command(
    name="schema", short_help="Print the JSON Schema of check --format json.", epilog=SCHEMA_EPILOG
)
@_guarded
def schema_command() -> int:
    """Print the JSON Schema of `check --format json`."""
    click.echo(report_schema(), nl=False)
    return 0


@main.command(name="derive", short_help="Print the true gradient.", epilog=DERIVE_EPILOG)
@click.option(
    "--model",
    "model_name",
    default="batchnorm",
    show_default=True,
    help="A built-in model (see `bnverify models`) or a model file's path.",
)
@click.option("--wrt", required=True, help="The name whose gradient to print (e.g. z).")
@click.option("--latex", "as_latex", is_flag=True, help="Print LaTeX instead of ASCII.")
@click.option("--batch-size", type=click.IntRange(1, 8), help="Also print it for this N.")
@click.option(
    "--order",
    type=click.IntRange(1, 2),
    default=1,
    show_default=True,
    help="2: the second derivative u^T (grad^2 L) u, the downstream Hessian being H_y.",
)
@click.option(
    "--freeze",
    "freeze",
    multiple=True,
    help="With --order 2: a node held constant (mu,var or repeated), as in eval mode.",
)
@_guarded
def derive_command(
    model_name: str,
    wrt: str,
    as_latex: bool,
    batch_size: int | None,
    order: int,
    freeze: tuple[str, ...],
) -> int:
    """Print the true gradient of the model's loss with respect to a name."""
    model = command_line_model(model_name, Settings())
    if isinstance(model, tuple):
        for problem in model:
            click.echo(text_report.located(problem), err=True)
        return 2
    held = tuple(node.strip() for spec in freeze for node in spec.split(",") if node.strip())
    if order == 2:
        return _derive_second(model, wrt, held, as_latex, batch_size)
    if held:
        click.echo("error: --freeze applies to --order 2", err=True)
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


def _derive_second(
    model: Model, wrt: str, freeze: tuple[str, ...], as_latex: bool, batch_size: int | None
) -> int:
    """derive --order 2: the form, then what it means and what was checked of it."""
    if batch_size is not None:
        click.echo("error: --batch-size applies to --order 1", err=True)
        return 2
    request = second_form.second_request(model, wrt, freeze)
    if isinstance(request, Problem):
        click.echo(f"error: {request.message}", err=True)
        return 2
    click.echo(second_form.derive_second(request, as_latex))
    statement = second_form.second_statement(request, second_form.check(request))
    click.echo(statement, err=as_latex)
    return 0


@main.command(
    name="oracle", short_help="Cross-check the engine with PyTorch.", epilog=ORACLE_EPILOG
)
@click.argument("models", nargs=-1)
@click.option(
    "--seed", type=int, default=Settings.seed, show_default=True, help="Seed for random points."
)
@_guarded
def oracle_command(models: tuple[str, ...], seed: int) -> int:
    """Compare the engine's gradients of models (default: every built-in) with PyTorch's."""
    loaded = [load_model(ref) for ref in models or builtin_names()]
    problems = [problem for model in loaded if isinstance(model, tuple) for problem in model]
    for problem in problems:
        click.echo(text_report.located(problem), err=True)
    return 2 if problems else _oracle([m for m in loaded if isinstance(m, Model)], seed)


def _oracle(models: list[Model], seed: int, err: bool = False) -> int:
    """Run the oracle and print its section: 0 when PyTorch agrees, 1 when not, 2 without it."""
    missing = torch_oracle.unavailable()
    if missing:
        click.echo(f"bnverify: {missing}", err=True)
        return 2
    report = torch_oracle.run(models, seed)
    click.echo(oracle_report.render(report), nl=False, err=err)
    return 0 if report.agrees else 1


def _models_checked(
    results: list[FileResult], model_name: str | None, inline: bool, settings: Settings
) -> list[Model]:
    """The models the results were judged by, each once: a file's own, else --model."""
    ref = model_name or ("batchnorm" if inline else None)  # as _inline and _check_files
    fallback = load_model(ref) if ref else None
    found: dict[str, Model] = {}
    for result in results:
        derivation = load_derivation(result.path, settings.limits)
        model = fallback if inline else model_of(derivation, settings)
        model = model or fallback
        if isinstance(model, Model):
            found.setdefault(model.path, model)
    return list(found.values())


@main.command(name="models", short_help="List the models.", epilog=MODELS_EPILOG)
@click.argument("refs", nargs=-1, metavar="[MODEL ...]")
@_guarded
def models_command(refs: tuple[str, ...]) -> int:
    """List the built-in models, or show the models named (a name or a model file's path):
    axes, inputs, constants, nodes and output. A model that cannot be used shows its
    problems, located in its file."""
    status = 0
    for at, ref in enumerate(refs or builtin_names()):
        model = load_usable(ref, Settings())
        if isinstance(model, tuple):
            for problem in model:
                click.echo(text_report.located(problem), err=True)
            status = 2
            continue
        click.echo(("\n" if at else "") + model_listing.listing(model), nl=False)
    return status


@main.command(name="merge", short_help="Combine --shard runs' JSON reports.", epilog=MERGE_EPILOG)
@click.argument("reports", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice([*ROW_RENDERERS, "json"]),
    default="summary",
    show_default=True,
    help="What to print of the whole run.",
)
@click.option(
    "-o",
    "--output",
    default=STDOUT,
    show_default=True,
    help="Write it here (written whole or not at all); - is standard output.",
)
@_guarded
def merge_command(reports: tuple[str, ...], fmt: str, output: str) -> int:
    """Combine the JSON reports of `check --shard K/N` runs into one run's report."""
    texts = []
    for path in reports:
        try:
            texts.append((path, Path(path).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as err:
            click.echo(f"error: cannot read {path}: {err}", err=True)
            return 2
    merged = merge_report.merge(texts)
    if isinstance(merged, Problem):
        click.echo(text_report.located(merged), err=True)
        return 2
    run = merged.run()
    emit(output, merged.json() if fmt == "json" else ROW_RENDERERS[fmt](run))
    return run.status
