"""The README and the guides: the front page stays short, every relative link resolves, every shell
block in a guide names an existing test that runs it, and the repository speaks only of the project."""

import re
import subprocess
import urllib.parse

import pytest

from tests.docs.guides import DOCS, FRONT, REPO, shell_blocks, names_a_test

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def test_readme_is_a_front_page():
    lines = (REPO / "README.md").read_text().splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines (at most 250)"
    assert lines[0] == "# lectarch"


def relative_links(path):
    for target in LINK.findall(path.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        yield urllib.parse.unquote(target.split("#")[0])


@pytest.mark.parametrize("page", FRONT + DOCS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_resolves(page):
    missing = []
    for target in relative_links(page):
        resolved = (page.parent / target).resolve()
        name = resolved.relative_to(REPO).as_posix() if resolved.is_relative_to(REPO) else str(resolved)
        if not resolved.exists():
            missing.append(target)
    assert not missing, f"{page.name} links to files that do not exist: {missing}"


def test_the_link_check_catches_a_missing_file(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("[a](here.md) ![b](pictures/b.png) [c](https://example.org/x.md) [d](#anchor)\n")
    (tmp_path / "here.md").write_text("")
    assert list(relative_links(page)) == ["here.md", "pictures/b.png"]
    assert [t for t in relative_links(page) if not (tmp_path / t).exists()] == ["pictures/b.png"]


@pytest.mark.parametrize("page", FRONT + DOCS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_shell_block_names_an_existing_test_that_runs_it(page):
    for block in shell_blocks(page):
        where = f"{page.name}:{block['line']}"
        assert block["tested_by"], f"{where}: shell block without a 'Tested by: tests/FILE.py::NAME' line"
        assert names_a_test(*block["tested_by"]), f"{where}: no test {'::'.join(block['tested_by'])}"


def test_shell_blocks_are_parsed_with_their_tested_by_line(tmp_path):
    page = tmp_path / "g.md"
    page.write_text("```sh\nlectarch a \\\n  --b  # note\n# comment\nlectarch c\n```\n\n"
                    "Tested by: tests/docs/test_docs.py::test_readme_is_a_front_page\n\n"
                    "```text\nnot a shell block\n```\n```bash\nx\n```\nno line here\n")
    first, second = shell_blocks(page)
    assert first["commands"] == ["lectarch a --b", "lectarch c"]
    assert names_a_test(*first["tested_by"]) and second["tested_by"] is None
    assert not names_a_test("tests/docs/test_docs.py", "test_that_does_not_exist")


# Technical uses of the words that are not about how the project was made.
_S = "sess" "ion"  # in pieces, as _PHRASES below
ALLOWED = re.compile(rf"""scope\s*=\s*["']{_S}["']|pytest_{_S}\w*|{_S}maker|requests\.{_S.title()}|orm\.{_S.title()}""")
# Phrases about how the project was made rather than about the project; written in pieces so that a
# search of the repository for them finds real occurrences only, not this check.
_PHRASES = (r"\bsess" r"ion", r"\bthis " r"task\b", r"\blent " r"to\b", r"\bwas " r"lent\b", r"ANCH" r"ORS\.md")
FORBIDDEN = re.compile("|".join(_PHRASES), re.IGNORECASE)


def test_only_the_project_speaks():
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split()
    found = []
    for name in files:
        path = REPO / name
        if name == "tests/docs/test_docs.py" or not path.is_file() or path.suffix in {".png", ".db", ".json", ".csv"}:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if FORBIDDEN.search(ALLOWED.sub("", line)):
                found.append(f"{name}:{number}: {line.strip()[:120]}")
    assert not found, "text about how the project was made:\n" + "\n".join(found)
