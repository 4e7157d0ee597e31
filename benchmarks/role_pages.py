"""How long the supervisor's, hotline's and clerk's pages and the printables take on a
whole programme, one request at a time, in-process (no network, no concurrency: the
load under many clients is web_load.py's).

    oneruler demo --dir d                    # 1,431 households, its key, passwords
    ONERULER_KEY=d/xingcheng-2018.key python benchmarks/role_pages.py d/xingcheng.db

Prints, for each page, the median and the slowest of N requests (default 30) and the
page's size. The staff are the demo's: a clerk of the household's group, a supervisor,
a hotline officer.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import timedelta
from pathlib import Path

from starlette.testclient import TestClient

from domain.ids import staff_id
from web.app import create_app
from web.office import Settings
from web.sessions import SESSION_COOKIE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", help="a demo ledger, such as d/xingcheng.db")
    parser.add_argument("--household", default="XC-0002")
    parser.add_argument("--passwords", default=None, help="[default: beside the ledger]")
    parser.add_argument("-n", type=int, default=30)
    args = parser.parse_args()
    passwords = args.passwords or args.db.rsplit("/", 1)[0] + "/passwords.txt"
    app = create_app(f"sqlite:///{args.db}", Settings())
    with TestClient(app, base_url="http://testserver") as client:
        office = app.state.office
        reads = office.reads
        group = reads.household(args.household, reads.now())["group"]
        people: dict[tuple[str, str | None], str] = {}
        for line in Path(passwords).read_text(encoding="utf-8").splitlines():
            fields = line.split()
            if not fields or fields[0].startswith("#") or fields[0] == "admin":
                continue
            current = office.ledger.load(staff_id(fields[0])).current
            people.setdefault((current.role, current.group), fields[0])
            people.setdefault((current.role, None), fields[0])
        clerk, supervisor = people[("clerk", group)], people[("supervisor", None)]
        hotline = people[("hotline", None)]
        complaint = reads.complaints(reads.now())[-1]["complaint"]
        hh = args.household
        pages = [
            (supervisor, f"/dispute?household={hh}"),
            (supervisor, "/consistency"),
            (hotline, "/complaints?show=all"),
            (hotline, f"/complaints/{complaint}"),
            (clerk, "/clerk"),
            (clerk, f"/households/{hh}/file"),
            (supervisor, f"/households/{hh}/print/agreement"),
            (supervisor, f"/households/{hh}/print/receipt"),
        ]
        for who, path in pages:
            token, _ = office.identity.issue_token(who, idle=timedelta(minutes=30))
            client.cookies.set(SESSION_COOKIE, token)
            times = []
            for _ in range(args.n):
                start = time.perf_counter()
                answer = client.get(path)
                times.append((time.perf_counter() - start) * 1000)
                assert answer.status_code == 200, (path, answer.status_code)
            print(
                f"{path:45s} median {statistics.median(times):7.1f} ms  "
                f"slowest {max(times):7.1f} ms  {len(answer.content) // 1024:4d} KiB"
            )


if __name__ == "__main__":
    main()
