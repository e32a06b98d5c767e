"""Check a whole PSSL root before training: every label decodes and fits its image."""
import contextlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# stdout holds the problem lines alone: the package's import-time log goes to stderr.
with contextlib.redirect_stdout(sys.stderr):
    from paddleseg_pssl.cli.check_pssl import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
