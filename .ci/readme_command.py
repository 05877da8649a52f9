"""Print one of the README's two fresh-machine commands (``quickstart`` or ``test``), or with
``--check WHICH COMMAND`` fail unless COMMAND is exactly that README command.

They are the first two ``bash`` blocks under "## Two commands on a fresh machine". `.ci/run`
writes the test command out literally and checks it against the README here before running
it, so the README and CI cannot drift apart.
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
    if sys.argv[1] == "--check":
        which, given = sys.argv[2], sys.argv[3]
        if given != found[WHICH[which]]:
            sys.exit(
                f"README.md's {which} command is\n  {found[WHICH[which]]}\n"
                f"but .ci/run runs\n  {given}\nmake them the same"
            )
        return
    print(found[WHICH[sys.argv[1]]])


if __name__ == "__main__":
    main()
