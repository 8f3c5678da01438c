"""Top costs from a py-spy raw (collapsed) profile: the share of busy samples under each frame.

    py-spy record --pid PID --duration 60 --rate 100 --format raw --nonblocking -o prof.txt
    python bench/pyspy_top.py prof.txt --top 30 [--match server/ --match sqlalchemy]

"Inclusive" counts a sample for every distinct frame on its stack (the frame and what it
calls); "self" only for the innermost frame. Idle samples (the gevent hub waiting) are
reported apart and left out of the shares, so the shares are of the server's busy time.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

IDLE = re.compile(r"^Hub\.run \(gevent/hub\.py:\d+\)$")


def frame_name(frame: str) -> str:
    # "func (path/file.py:123)" -> "func (path/file.py)": one entry per function, not per line.
    return re.sub(r":\d+\)$", ")", frame.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--match", action="append", default=[],
                        help="only list frames whose text contains one of these")
    args = parser.parse_args()

    inclusive: Counter = Counter()
    own: Counter = Counter()
    busy = idle = 0
    for line in Path(args.profile).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [frame_name(f) for f in stack.split(";")]
        # py-spy prefixes the thread ("process 1:..." / "thread (0x...)"); drop such roots.
        frames = [f for f in frames if "(" in f and not f.startswith(("process ", "thread "))]
        if not frames or IDLE.match(frames[-1]):
            idle += n
            continue
        busy += n
        for f in set(frames):
            inclusive[f] += n
        own[frames[-1]] += n

    total = busy + idle
    print(f"samples: {total}, busy {busy} ({100 * busy / max(total, 1):.0f} %), idle {idle}")
    print(f"\n{'incl %':>7} {'self %':>7}  frame")
    shown = 0
    for frame, n in inclusive.most_common():
        if args.match and not any(m in frame for m in args.match):
            continue
        print(f"{100 * n / busy:7.1f} {100 * own[frame] / busy:7.1f}  {frame}")
        shown += 1
        if shown >= args.top:
            break


if __name__ == "__main__":
    main()
