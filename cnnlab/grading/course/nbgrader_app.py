"""nbgrader's command line and gradebooks without two slow starts they never need:

- a new gradebook's alembic revision: nbgrader asks a fresh `alembic heads` process for it each time it creates a
  gradebook (a new interpreter importing alembic and nbgrader, for the same answer each time). `alembic_head` reads
  it from nbgrader's migration scripts in this process; `read_alembic_head_here` makes this process's new
  gradebooks take it from there;
- rfc3987_syntax's grammars (`cnnlab.startup.skip_unused_imports`).

`python -m cnnlab.grading.course.nbgrader_app ARGS` is `nbgrader ARGS` started so; the batch's
`generate_assignment` (`cnnlab.grading.course.nbgrader.prepare`) and `make labs` run it.
"""

import functools
import sys

from cnnlab import startup


@functools.cache
def alembic_head():
    """The alembic revision nbgrader writes into a new gradebook: the one head of its migration scripts."""
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    heads = ScriptDirectory(ALEMBIC_DIR).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"nbgrader's migration scripts ({ALEMBIC_DIR}) have {len(heads)} heads, {heads}: expected 1")
    return heads[0]


def read_alembic_head_here():
    """New gradebooks made in this process take their alembic revision from `alembic_head`."""
    import nbgrader.api

    nbgrader.api.get_alembic_version = alembic_head


def main(argv=None):
    startup.skip_unused_imports()
    read_alembic_head_here()
    from nbgrader.apps.nbgraderapp import main as nbgrader

    sys.argv = ["nbgrader", *(sys.argv[1:] if argv is None else argv)]
    nbgrader()


if __name__ == "__main__":
    main()
