"""The README stays true: its configs load, its error example is what users see, its CLI
reference is the real `--help`, and its config reference names every key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import BaseModel

from sentinel.cli.main import cli
from sentinel.config.loader import load
from sentinel.config.models import (
    Api,
    Backoff,
    Health,
    Limits,
    Logs,
    NotifyTarget,
    Process,
    Reload,
    Restart,
    Schedule,
    Stop,
)
from tests.support.files import write

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text()
YAML_BLOCKS = re.findall(r"```yaml\n(.*?)```", README, re.DOTALL)
QUICKSTART = ROOT / "examples" / "quickstart" / "sentinel.yaml"


def _anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("block", [b for b in YAML_BLOCKS if "processes:" in b], ids=lambda b: b.splitlines()[0])
def test_readme_configs_are_valid(tmp_path: Path, block: str) -> None:
    load(write(tmp_path, "sentinel.yaml", block), environ={})


def test_readme_quick_start_is_the_quickstart_example() -> None:
    quick_start = README.split("## Quick start", 1)[1]
    assert YAML_BLOCKS[0] in quick_start and YAML_BLOCKS[0] == QUICKSTART.read_text()


def test_readme_contents_link_to_its_sections() -> None:
    anchors = {_anchor(line.lstrip("#")) for line in README.splitlines() if line.startswith("## ")}
    links = re.findall(r"^- \[.*?\]\(#(.*?)\)", README, re.MULTILINE)
    assert links and [link for link in links if link not in anchors] == []


def test_readme_error_example_is_what_validate_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = QUICKSTART.read_text().replace("policy: on-failure", "policy: on-falure").replace("timeout: 30s",
                                                                                              "timout: 30s")
    write(tmp_path, "sentinel.yaml", broken)
    monkeypatch.chdir(tmp_path)
    shown = re.search(r"Mistakes are reported.*?```console\n\$ sentinel validate\n(.*?)```", README, re.DOTALL)
    assert shown is not None
    result = CliRunner().invoke(cli, ["validate"], env={})
    assert result.stderr == shown.group(1)


COMMANDS = [[], ["up"], ["apply"], ["diff"], ["status"], ["top"], ["logs"], ["events"], ["start"], ["stop"],
            ["restart"], ["reload"], ["signal"], ["run"], ["runs"], ["down"], ["validate"], ["import"], ["completion"],
            ["config"], ["schema"], ["api"], ["api", "token"], ["service"], ["service", "install"], ["export"],
            ["notify"], ["notify", "test"], ["sync"], ["history"], ["source"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_cli_reference_is_the_real_help(command: list[str]) -> None:
    help_text = CliRunner().invoke(cli, [*command, "--help"], terminal_width=80, prog_name="sentinel").output
    block = f"```text\n$ sentinel {' '.join([*command, '--help'])}\n{help_text}```"
    assert block in README, "update the README's CLI reference from `sentinel COMMAND --help` (80 columns)"


@pytest.mark.parametrize("model", [Process, Restart, Backoff, Health, Schedule, Stop, Reload, Limits, Logs, Api,
                                   NotifyTarget])
def test_config_reference_names_every_key(model: type[BaseModel]) -> None:
    reference = README.split("## Configuration reference", 1)[1].split("## CLI reference", 1)[0]
    missing = [name for name in model.model_fields if not re.search(f"`{name}[`:]", reference)]
    assert missing == []


def _citations() -> list[tuple[str, str, str]]:
    """Every `docs/NAME.md#anchor` cited in the code, the tests, the README and docs/ (file, doc, anchor)."""
    found = []
    sources = [*ROOT.glob("sentinel/**/*.py"), *ROOT.glob("tests/**/*.py"), ROOT / "README.md", ROOT / "pyproject.toml",
               *ROOT.glob("docs/*.md")]
    for source in sources:
        text = source.read_text(encoding="utf-8")
        prefix = r"(?:docs/|\]\()" if source.parent.name == "docs" else r"docs/"
        for doc, anchor in re.findall(prefix + r"([a-z]+\.md)#([\w-]+)", text):
            found.append((str(source.relative_to(ROOT)), doc, anchor))
    return found


def test_docs_citations_point_at_headings() -> None:
    citations = _citations()
    headings = {doc.name: {_anchor(line.lstrip("#")) for line in doc.read_text().splitlines() if line.startswith("#")}
                for doc in (ROOT / "docs").glob("*.md")}
    broken = [f"{source}: docs/{doc}#{anchor}" for source, doc, anchor in citations
              if anchor not in headings.get(doc, set())]
    assert citations and broken == []


# The reasoning the code relies on lives in docs/ (architecture, states, reliability, contract, conventions):
# no file of the repository cites a design, style or failures document that is not in it.
OUTSIDE = re.compile(r"\b(?:DESIGN|STYLE|FAILURES)(?:\.md| ?§| rule| F\d)")


def test_nothing_cites_documents_outside_the_repository() -> None:
    places = [ROOT / "README.md", *[ROOT / folder for folder in ("sentinel", "tests", "docs", "examples", "bench")]]
    files = [f for place in places for f in ([place] if place.is_file() else place.rglob("*"))
             if f.suffix in (".py", ".md", ".yaml") and f.is_file()]
    cited = [f"{f.relative_to(ROOT)}:{n}" for f in files
             for n, line in enumerate(f.read_text(errors="replace").splitlines(), 1)
             if OUTSIDE.search(line)]
    assert files and cited == []
