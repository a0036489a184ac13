"""What labkit's command lines share: a usage error is one line on stderr and exit code 2.

``python -m labkit.evaluate`` and ``python -m labkit.grade`` run their work through
:func:`run`: a bad argument, file, model name, store or scheduler address prints
``error: <one sentence>`` on stderr and returns 2, never a traceback; ``--debug`` prints
the traceback too. Anything else (a bug) prints one line asking for ``--debug`` and
returns 1; Ctrl-C returns 130.
"""
import argparse
import json
import sys
import traceback

#: What counts as the user's input being wrong rather than labkit being broken: labkit's
#: own errors (ParameterError, the grader's SubmissionError) are ValueErrors, files and
#: connections fail with OSError, unknown names with LookupError, JSON nested beyond
#: Python's stack with RecursionError.
USAGE_ERRORS = (ValueError, TypeError, OSError, LookupError, RecursionError, MemoryError)


class UsageError(ValueError):
    """A command-line argument is wrong; the message says which and how to fix it."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are a :class:`UsageError` (one line), not argparse's
    usage block, and which takes ``--debug``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_argument("--debug", action="store_true",
                          help="on an error, print the Python traceback too")

    def error(self, message):
        raise UsageError(f"{message} (see {self.prog} --help)")


def positive_int(text):
    """An argparse type: an integer >= 1 (``--limit 0`` or ``--workers -1`` mean nothing)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {value}")
    return value


def read_json(raw, what):
    """Parse JSON text or bytes as a user saved it: a UTF-8 byte-order mark (Windows Notepad
    writes one) is accepted; invalid or absurdly nested JSON is a UsageError naming ``what``."""
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw.removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise UsageError(f"{what} is not a UTF-8 text file; save it as JSON text.") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(f"{what} is not valid JSON: {err.msg} at line {err.lineno}, column "
                         f"{err.colno}.") from None
    except RecursionError:
        raise UsageError(f"{what} nests brackets deeper than Python can read; a labkit "
                         "file needs two levels at most.") from None


def run(body, argv):
    """``body(argv)`` -> exit status, with every failure reported as the module says."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    try:
        return body(argv)
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130
    except Exception as err:
        if debug:
            traceback.print_exc()
        usage = isinstance(err, USAGE_ERRORS)
        message = " ".join(str(err).split()) or type(err).__name__
        if not usage:
            message = (f"{type(err).__name__}: {message} (a labkit bug: rerun with --debug "
                       "for the traceback and report it)")
        print(f"error: {message}", file=sys.stderr)
        return 2 if usage else 1
