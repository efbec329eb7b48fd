"""The deploy guide (deploy/README.md) read as a person types it: its
sections, its shell blocks, and its commands with their continuation lines
joined."""

from __future__ import annotations

import re

from ebspec import DEPLOY

GUIDE = DEPLOY / "README.md"


def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def section(heading: str, text: str | None = None) -> str:
    """The text under the `## heading` (its own subsections included), up to
    the next heading of level 2."""
    text = guide() if text is None else text
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def shell_blocks(text: str) -> list[str]:
    """The ```sh blocks of `text`, without their fences and indentation."""
    blocks = []
    for match in re.finditer(r"^( *)```sh\n(.*?)^\1```", text, flags=re.S | re.M):
        indent = len(match.group(1))
        blocks.append("\n".join(line[indent:] for line in match.group(2).splitlines()) + "\n")
    return blocks


def block_with(needle: str, text: str) -> str:
    """The one shell block of `text` that contains `needle`."""
    found = [block for block in shell_blocks(text) if needle in block]
    assert len(found) == 1, f"{len(found)} shell blocks hold {needle!r}, not one"
    return found[0]


def commands(text: str) -> list[str]:
    """Every command line of the shell blocks of `text`, continuation lines
    joined, comments dropped."""
    lines = []
    for block in shell_blocks(text):
        joined = re.sub(r"\\\n\s*", " ", block)
        lines += [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]
    return lines


def fill_function(text: str | None = None) -> str:
    """The guide's `fill` shell function, which fills a policy's placeholders."""
    text = guide() if text is None else text
    (match,) = re.finditer(r"^fill\(\) \{\n.*?^\}\n", text, flags=re.S | re.M)
    return match.group(0)
