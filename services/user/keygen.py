"""Writes a new signing key into a key directory: `python -m services.user.keygen DIR`.

For clusters, where JWT_KEY_DIR is a read-only Secret: generate the key here, add the file to
the Secret (the file name is the key id), and the replicas pick it up within
JWT_KEY_RELOAD_SECONDS. Keep the previous key in the Secret until tokens it signed expired.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mesh.clock import utc_now

from .adapters.signing_keys import write_new_key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.user.keygen")
    parser.add_argument("directory", type=Path, help="where to write <kid>.pem")
    args = parser.parse_args(argv)
    kid = write_new_key(args.directory, utc_now())
    sys.stdout.write(f"{args.directory / (kid + '.pem')}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
