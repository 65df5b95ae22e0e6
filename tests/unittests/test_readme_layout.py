"""The README's package layout table names exactly the package's modules."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
PACKAGE = os.path.join(ROOT, "speechbrain_style")
SECTION = "### Package layout"


def _table_modules(readme):
    """The first-column paths of the layout table under ``SECTION``."""
    text = readme.split(SECTION, 1)[1]
    text = re.split(r"\n#{2,3} ", text, maxsplit=1)[0]
    return [
        match.group(1)
        for match in re.finditer(r"^\| `([^`]+)` \|", text, re.MULTILINE)
    ]


def _tree_modules():
    """Every module file of the package (``__init__``/``__main__`` aside),
    relative to the package folder."""
    found = set()
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py") and name not in (
                "__init__.py",
                "__main__.py",
            ):
                path = os.path.join(folder, name)
                found.add(os.path.relpath(path, PACKAGE).replace(os.sep, "/"))
    return found


def test_table_parser_reads_the_first_column():
    readme = (
        "intro\n### Package layout\n\n| module | what |\n| --- | --- |\n"
        "| `a.py` | x |\n| `b/c.py` | `d.py` inside |\n\n## Next\n"
        "| `e.py` | after the section |\n"
    )
    assert _table_modules(readme) == ["a.py", "b/c.py"]


def test_readme_layout_table_matches_the_tree():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        listed = _table_modules(f.read())
    assert len(listed) == len(set(listed)), "a module is listed twice"
    tree = _tree_modules()
    assert not set(listed) - tree, (
        f"README lists modules that do not exist: {sorted(set(listed) - tree)}"
    )
    assert not tree - set(listed), (
        "modules missing from the README layout table: "
        f"{sorted(tree - set(listed))}"
    )
