"""The README documents every command as its --help shows it (options, values, --batch line formats),
the help reads like a well-kept CLI's, and the README's two set-up commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from fashrec.cli.commands import app

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def command_names() -> list[str]:
    click_app = typer.main.get_command(app)
    names = []
    for name, cmd in click_app.commands.items():
        sub = getattr(cmd, "commands", None)
        if sub:
            names += [f"{name} {s}" for s in sub]
        else:
            names.append(name)
    return names


def test_every_command_is_documented():
    missing = [n for n in command_names() if f"fashrec {n}" not in README]
    assert not missing, f"README.md does not document: {missing}"


def test_ci_runs_the_readme_test_command():
    assert "make test" in README and "make demo" in README
    assert re.search(r"^make test$", (REPO / ".ci" / "run").read_text(), re.M)


def test_exit_codes_table_matches_errors():
    from fashrec import errors

    for cls in vars(errors).values():
        if isinstance(cls, type) and issubclass(cls, errors.FashrecError) and cls is not errors.FashrecError:
            assert f"| {cls.exit_code} |" in README, f"exit code {cls.exit_code} ({cls.__name__}) undocumented"


# --- the command table and the batch formats match the help ---------------------------------------

# Commands whose README row must name every option (train and eval rows name the main ones only).
PARTIAL_ROWS = ("train", "eval ")


def leaf_commands() -> dict[str, object]:
    """Every runnable command by its full name ("session show"), as click sees it."""
    out: dict[str, object] = {}

    def walk(group, prefix: str) -> None:
        for name, cmd in group.commands.items():
            if getattr(cmd, "commands", None):
                walk(cmd, f"{prefix}{name} ")
            else:
                out[f"{prefix}{name}"] = cmd

    walk(typer.main.get_command(app), "")
    return out


def readme_usages(name: str) -> list[list[str]]:
    """The tokens of each README code span that shows `fashrec NAME ...` (brackets and … removed)."""
    spans = re.findall(r"`fashrec ([^`]*)`", README.split("## Commands", 1)[1].split("### Exit codes", 1)[0])
    usages = []
    for span in spans:
        span = span.replace("\\|", "|")
        if span == name or span.startswith(name + " "):
            usages.append(re.sub(r"[\[\]…]", " ", span[len(name):]).split())
    return usages


def test_readme_command_rows_match_the_help():
    problems = []
    for name, cmd in leaf_commands().items():
        usages = readme_usages(name)
        if not usages:
            problems.append(f"{name}: no README row")
            continue
        options = {o: p for p in cmd.params if p.param_type_name == "option" for o in p.opts + p.secondary_opts}
        for tokens in usages:
            problems += _option_problems(name, tokens, options)
        named = {t for tokens in usages for t in tokens}
        for param in cmd.params:
            if param.param_type_name == "argument":
                if not any(t.strip('"').startswith(param.metavar) for t in named):
                    problems.append(f"{name}: README row lacks the argument {param.metavar}")
            elif not name.startswith(PARTIAL_ROWS) and param.opts[0] != "--json":
                if not named.intersection(param.opts):
                    problems.append(f"{name}: README row lacks {max(param.opts, key=len)}")
    assert not problems, "\n".join(problems)


def _option_problems(name: str, tokens: list[str], options: dict) -> list[str]:
    """Each option a README usage names exists, with the value placeholder its help shows."""
    problems = []
    for i, token in enumerate(tokens):
        if not token.startswith("-") or token == "-":
            continue
        param = options.get(token)
        if param is None:
            problems.append(f"{name}: README names {token}, which the command does not take")
            continue
        value = tokens[i + 1] if i + 1 < len(tokens) and not tokens[i + 1].startswith("-") \
            and tokens[i + 1] != "|" else None
        if getattr(param, "is_flag", False):
            if value is not None and value.isupper():
                problems.append(f"{name}: {token} is a flag, README gives it a value {value}")
        elif value != param.metavar:
            problems.append(f"{name}: README shows {token} {value}, the help {token} {param.metavar}")
    return problems


def test_help_reads_like_a_well_kept_cli():
    """Flags without a type, values named, no typer placeholders, an example per command."""
    from typer.testing import CliRunner

    runner = CliRunner()
    for name in leaf_commands():
        result = runner.invoke(app, name.split() + ["--help"], env={"COLUMNS": "200", "NO_COLOR": "1"},
                               prog_name="fashrec")
        assert result.exit_code == 0, (name, result.output)
        text = result.output
        for placeholder in ("<bool>", "<list", "{" + name.split()[-1]):
            assert placeholder not in text, f"fashrec {name} --help shows {placeholder}"
        assert "Examples:" in text and f"fashrec {name}" in text.split("Examples:", 1)[1], \
            f"fashrec {name} --help has no example"
        assert f"Usage: fashrec {name}" in text
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.output.strip() == f"fashrec {fashrec_version()}"


def fashrec_version() -> str:
    import fashrec

    return fashrec.__version__


def test_batch_formats_are_documented_as_the_help_shows_them():
    from fashrec.cli.batch import FORMATS, batch_help

    for command, line_format in FORMATS.items():
        documented = f"| `{command}` | `{line_format.describe().replace('|', chr(92) + '|')}` |"
        assert documented in README, f"README's --batch table lacks: {documented}"
        batch = next(p for p in leaf_commands()[command].params if "--batch" in p.opts)
        assert batch.help == batch_help(command) and line_format.describe() in batch.help


def test_batch_formats_name_exactly_the_fields_the_request_models_read():
    """The documented line keys are the service's request fields (search's "image" is the command line's
    own photo), so the README never names a key a line would have refused, nor leaves one out."""
    from fashrec.cli.batch import FORMATS, KEYS
    from fashrec.service.schema import PlanRequest, RefineRequest, SearchRequest, SimilarRequest

    models = {"search": SearchRequest, "similar": SimilarRequest, "refine": RefineRequest, "plan": PlanRequest}
    for command, model in models.items():
        documented = set(FORMATS[command].keys()) - ({"image"} if command == "search" else set())
        assert documented == set(model.model_fields), command
        assert all(key in KEYS for key in documented)


def test_every_error_kind_the_server_answers_is_documented():
    """Each kind of error document `fashrec serve` answers (a fashrec error's, or a refusal the server makes
    before its routes: guards.STATUS, and the 500's "internal") is named with its status in the
    ErrorDocument's description (the OpenAPI document) and in the README's serve section."""
    from fashrec.serve.guards import STATUS
    from fashrec.service.schema import ErrorDocument

    described = ErrorDocument.model_fields["error"].description
    serve_section = README.split("## The web page and the HTTP API", 1)[1].split("\n## ", 1)[0]
    kinds = {**STATUS, "internal": 500}
    missing = [kind for kind in kinds if not re.search(rf"(^|[\s,(]){re.escape(kind)}([\s,(]|$)", described)]
    assert not missing, f"ErrorDocument's description lacks {missing}"
    missing = [f"{status} `{kind}`" for kind, status in kinds.items() if f"`{kind}`" not in serve_section
               or not re.search(rf"^- {status} [^\n]*(\n  [^\n]*)*`{re.escape(kind)}`", serve_section, re.M)]
    assert not missing, f"README's serve section lacks {missing}"
