"""``python -m labkit COMMAND``: labkit's command line.

    python -m labkit doctor [--data-root DIR]    is this machine ready for the labs?

The course tools keep their own entry points too: ``python -m labkit.grade``,
``python -m labkit.instructor``, ``python -m labkit.evaluate``, ``python -m labkit.bench``.
"""
import importlib
import sys

#: Command -> the module whose ``main(argv)`` runs it.
COMMANDS = {"doctor": "labkit.doctor"}


def main(argv=None):
    """Dispatch to a command; returns its exit status (2 for a usage error)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__.strip())
        return 0
    if not argv or argv[0] not in COMMANDS:
        given = f"unknown command {argv[0]!r}" if argv else "no command given"
        print(f"error: {given}; choose one of: {', '.join(COMMANDS)} "
              "(e.g. python -m labkit doctor).", file=sys.stderr)
        return 2
    return importlib.import_module(COMMANDS[argv[0]]).main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
