"""Every place a config's docstring sends the reader exists: a README or guide section by its heading,
a guide (docs/*.md), a results file (experiments/results/...) or a script (experiments/*.py)."""

import ast
import pathlib
import re

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / "experiments" / "configs").glob("*.py"))
SECTION = re.compile(r'(README|docs/[\w-]+\.md)\s*\(?\s*section\s+"([^"]+)"', re.IGNORECASE)
PATH = re.compile(r"\b((?:docs|experiments)/[\w./-]*\w)")


def headings(markdown: pathlib.Path) -> set[str]:
    return {line.lstrip("#").strip() for line in markdown.read_text().splitlines() if re.match(r"#{1,6} ", line)}


def docstring(path: pathlib.Path) -> str:
    return ast.get_docstring(ast.parse(path.read_text())) or ""


def broken_references(text: str) -> list[str]:
    """What in ``text`` points nowhere: a section that is not a heading of its file, a path that does
    not exist, or a README mention that names no section."""
    broken = []
    joined = re.sub(r"\s+", " ", text)
    for where, section in SECTION.findall(joined):
        page = REPO / ("README.md" if where.upper() == "README" else where)
        if not page.is_file() or section not in headings(page):
            broken.append(f'{where} section "{section}"')
    for path in PATH.findall(joined):
        if not (REPO / path).exists():
            broken.append(path)
    for m in re.finditer(r"README", joined):
        if not SECTION.match(joined, m.start()):
            broken.append(f"README without a section: ...{joined[max(0, m.start() - 30):m.end() + 30]}...")
    return broken


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_reference_in_a_config_docstring_exists(path):
    assert broken_references(docstring(path)) == []


def test_the_check_catches_a_missing_section_path_and_a_vague_readme():
    text = ('Measured: README section "Inspection"; docs/inspection.md section "Experiments";\n'
            "          see experiments/results/nowhere.md; measured value in the README.")
    broken = broken_references(text)
    assert broken[:2] == ['README section "Inspection"', "experiments/results/nowhere.md"]
    assert len(broken) == 3 and broken[2].startswith("README without a section") and "value in the README" in broken[2]
