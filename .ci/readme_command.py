"""Print one of the README's two fresh-machine commands: ``quickstart`` or ``test``.

They are the first two ``bash`` blocks under "## Two commands on a fresh machine"; `.ci/run`
runs the test command exactly as written there, so the README cannot drift from CI.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

WHICH = {"quickstart": 0, "test": 1}


def commands(readme: str) -> list[str]:
    """The bash blocks of the README's "Two commands" section, in order."""
    section = readme.split("## Two commands on a fresh machine", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, re.S)]


def main() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    found = commands(readme)
    if len(found) != 2 or any("\n" in c for c in found):
        sys.exit("README.md: the 'Two commands' section must hold exactly two one-line commands")
    print(found[WHICH[sys.argv[1]]])


if __name__ == "__main__":
    main()
