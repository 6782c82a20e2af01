"""``python -m peerline.crisis``: one message per stdin line → one JSON object per line.

Each output line is ``{"crisis": bool, "category": str|null, "lang": "en"|"es",
"matches": [{"text", "start", "end", "category"}]}``; offsets are characters of the
input line (without its line ending). Options: ``--lang en|es`` (hint for ambiguous
texts) and ``--thread`` (treat consecutive lines as one person's consecutive texts, so a
phrase split over two lines is caught).
"""

from __future__ import annotations

import argparse
import json
import sys

from .detector import detect
from .verdict import LexiconError


def main(argv: list[str] | None = None) -> int:
    """Run the stdin → stdout filter; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m peerline.crisis",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=("en", "es"), default=None,
                        help="language hint for texts that are ambiguous")
    parser.add_argument("--thread", action="store_true",
                        help="pass each line's previous line as `previous`")
    args = parser.parse_args(argv)
    stdin = open(sys.stdin.fileno(), encoding="utf-8", errors="replace", newline="",
                 closefd=False)
    out = sys.stdout
    previous: str | None = None
    try:
        for raw in stdin:
            line = raw.rstrip("\r\n")
            result = detect(line, lang_hint=args.lang,
                            previous=previous if args.thread else None)
            out.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
            out.flush()
            previous = line
    except LexiconError as exc:
        print(f"lexicon error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # pragma: no cover - e.g. piped into `head`
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
