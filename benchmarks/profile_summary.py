"""Sum a py-spy raw profile (`py-spy record -f raw`) by function: the share of samples
in which each frame was on the stack (inclusive) and on top of it (self).

    python benchmarks/profile_summary.py PROFILE.txt [HOW_MANY]
"""

from __future__ import annotations

import re
import sys
from collections import Counter

# Paths shortened to what tells the frames apart.
_PREFIX = re.compile(r" \((?:[^()]*/site-packages/|[^()]*/python3\.\d+/|[^()]*/(?=\w+/\w+\.py))")


def summarise(path: str) -> tuple[int, Counter[str], Counter[str]]:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack:
                continue
            samples = int(count)
            total += samples
            frames = [_PREFIX.sub(" (", frame) for frame in stack.split(";")]
            for frame in set(frames):
                inclusive[frame] += samples
            own[frames[-1]] += samples
    return total, inclusive, own


def main(argv: list[str]) -> None:
    total, inclusive, own = summarise(argv[0])
    top = int(argv[1]) if len(argv) > 1 else 40
    print(f"{total} samples")
    for title, counter in (("on the stack", inclusive), ("on top", own)):
        print(f"--- {title}")
        for frame, samples in counter.most_common(top):
            print(f"{100 * samples / total:5.1f}%  {frame}")


if __name__ == "__main__":
    main(sys.argv[1:])
