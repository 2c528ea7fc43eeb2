"""Every ```python example in docs/*.md and README.md is executed (issue 5, acceptance 4).

Blocks run from the repository root, so examples can use ``tests/fixtures/tiny-luke``.
The blocks of one Markdown file share a namespace and run in order (a later block may use
an earlier block's names); each file starts from a fresh namespace. A block whose first
line starts with ``>>>`` is run as a doctest, so its shown output is checked too.
Blocks fenced as anything else (```text, ```bash, ```console, ```mermaid, ...) are not run.
"""

from __future__ import annotations

import doctest
import re
import textwrap
from dataclasses import dataclass

import pytest
from helpers import ROOT

RUN_LANGUAGES = {"python", "py", "python3"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


@dataclass
class Block:
    line: int  # 1-based line of the opening fence
    language: str
    code: str


def fenced_blocks(markdown: str) -> list[Block]:
    """All fenced code blocks of a Markdown text, with the first word of their info string."""
    blocks = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        start, fence, indent = i + 1, opening["fence"], len(opening["indent"])
        language = (opening["info"].strip().split() or [""])[0].strip("{}.").lower()
        body = []
        i += 1
        while i < len(lines):
            closing = FENCE.match(lines[i])
            if (
                closing
                and closing["fence"][0] == fence[0]
                and len(closing["fence"]) >= len(fence)
                and not closing["info"].strip()
            ):
                break
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        blocks.append(Block(start, language, textwrap.dedent("\n".join(body)) + "\n"))
        i += 1
    return blocks


def python_blocks(markdown: str) -> list[Block]:
    return [block for block in fenced_blocks(markdown) if block.language in RUN_LANGUAGES]


def run_blocks(blocks: list[Block], name: str) -> dict:
    """Run the blocks in order in one namespace; raise AssertionError naming the failing one."""
    namespace = {"__name__": "__main__"}
    for block in blocks:
        where = f"{name}, block at line {block.line}"
        if block.code.lstrip().startswith(">>>"):
            test = doctest.DocTestParser().get_doctest(
                block.code, namespace, where, name, block.line
            )
            runner = doctest.DocTestRunner(
                optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
            )
            output = []
            runner.run(test, out=output.append, clear_globs=False)
            assert runner.failures == 0, f"doctest failed in {where}:\n" + "".join(output)
            namespace.update(test.globs)  # doctest ran on a copy; later blocks see its names
            continue
        try:
            exec(compile(block.code, where, "exec"), namespace)
        except Exception as error:
            raise AssertionError(
                f"example failed in {where}: {type(error).__name__}: {error}\n{block.code}"
            ) from error
    return namespace


DOC_FILES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
FILES_WITH_EXAMPLES = [
    path for path in DOC_FILES if path.exists() and python_blocks(path.read_text("utf-8"))
]


@pytest.mark.parametrize(
    "path", FILES_WITH_EXAMPLES, ids=[str(p.relative_to(ROOT)) for p in FILES_WITH_EXAMPLES]
)
def test_python_examples_in_docs_run(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # examples must not need the network
    run_blocks(python_blocks(path.read_text("utf-8")), str(path.relative_to(ROOT)))


# The harness itself: what is run, what is not, and how failures are reported.

SAMPLE = """\
# Title

```python
x = 2
```

Some text.

```bash
exit 1
```

```text
this is not python
```

- a list item with an indented example:

  ```python
  y = x * 21
  ```

```python
>>> y + 0
42
```

````markdown
```python
raise SystemExit("a block quoted inside another fence is not run")
```
````
"""


def test_harness_finds_python_blocks_only():
    blocks = python_blocks(SAMPLE)
    assert [b.code for b in blocks] == ["x = 2\n", "y = x * 21\n", ">>> y + 0\n42\n"]
    assert [b.line for b in blocks] == [3, 19, 23]
    languages = [b.language for b in fenced_blocks(SAMPLE)]
    assert languages == ["python", "bash", "text", "python", "python", "markdown"]


def test_harness_shares_a_namespace_within_a_file():
    namespace = run_blocks(python_blocks(SAMPLE), "SAMPLE")
    assert namespace["y"] == 42


def test_harness_passes_doctest_names_to_later_blocks():
    markdown = "```python\n>>> z = 5\n```\n\n```python\nw = z + 1\n```\n"
    assert run_blocks(python_blocks(markdown), "doctest.md")["w"] == 6


def test_harness_reports_the_failing_block():
    bad = "```python\nok = 1\n```\n\n```python\nassert ok == 2, 'wrong'\n```\n"
    with pytest.raises(AssertionError, match="block at line 5"):
        run_blocks(python_blocks(bad), "bad.md")
    wrong_output = "```python\n>>> 1 + 1\n3\n```\n"
    with pytest.raises(AssertionError, match="doctest failed"):
        run_blocks(python_blocks(wrong_output), "bad.md")


# Links between the pages (and to figures) must point at files that exist.

LINKED_FILES = (
    DOC_FILES
    + [ROOT / "walkthrough" / "README.md"]
    + sorted((ROOT / "walkthrough").glob("[0-9][0-9]_*.py"))
)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def broken_links(path) -> list[str]:
    """Relative link targets of a Markdown (or chapter) file that do not exist."""
    broken = []
    for target in LINK.findall(path.read_text("utf-8")):
        target = target.split("#", 1)[0]
        if not target or "://" in target or target.startswith("mailto:"):
            continue
        if not (path.parent / target).exists():
            broken.append(target)
    return broken


@pytest.mark.parametrize("path", LINKED_FILES, ids=[str(p.relative_to(ROOT)) for p in LINKED_FILES])
def test_relative_links_point_at_files(path):
    assert not broken_links(path), f"{path.relative_to(ROOT)} links to missing files"


def test_link_check_finds_a_missing_file(tmp_path):
    (tmp_path / "there.md").write_text("x")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](there.md#part) [web](https://example.org/x) [gone](missing.md)\n"
        "![picture](figures/none.png)"
    )
    assert broken_links(page) == ["missing.md", "figures/none.png"]
