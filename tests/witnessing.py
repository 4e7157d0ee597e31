"""Logs and processes for the witness tests: a real ledger's growing log, checkpointed
after every line of the sample and signed by the office's key, forgeries of it by the
same key (what an office that shows two histories would make), and `oneruler witness
serve` in a process of its own."""

from __future__ import annotations

import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ledger import merkle
from ledger.checkpoint import (
    Checkpoint,
    generate_key,
    parse_signer,
    parse_verifier,
    sign_note,
)
from ledger.cosignature import Cosigner, CosignerVerifier, generate_cosigner_key, parse_cosigner
from ledger.ingest import ingest
from ledger.store import open_ledger
from tests.credentials import ADMIN

ROOT = Path(__file__).resolve().parents[1]
ORIGIN = "ledger.xingcheng.example/2018"
# The office's key is named as its log's origin (docs/integrity.md).
_OFFICE_KEY, OFFICE_PUB = generate_key(ORIGIN)
OFFICE = parse_signer(_OFFICE_KEY)
OFFICE_VERIFIER = parse_verifier(OFFICE_PUB)


def new_witness(name: str) -> tuple[Cosigner, CosignerVerifier, str, str]:
    """A witness key pair: the cosigner, its verifier, and both texts."""
    signer_text, verifier_text = generate_cosigner_key(name)
    cosigner = parse_cosigner(signer_text)
    return cosigner, cosigner.verifier(), signer_text, verifier_text


@dataclass(frozen=True)
class Signed:
    """A checkpoint as the office published it."""

    note: str
    size: int
    root: bytes


@dataclass
class Log:
    """A log's leaves, and the checkpoints the office signed of it."""

    leaves: list[bytes]
    checkpoints: list[Signed]
    reader: merkle.DictNodeReader = field(init=False)

    def __post_init__(self) -> None:
        self.reader = merkle.DictNodeReader.from_leaf_hashes(self.leaves)

    def proof(self, old: int, new: int) -> list[bytes]:
        return merkle.consistency_proof(self.reader, old, new)

    def root(self, size: int) -> bytes:
        return merkle.root(self.reader, size)

    def at(self, size: int) -> Signed:
        return next(c for c in self.checkpoints if c.size == size)

    def forge(self, old: int, new: int, seed: int) -> Log:
        """Another log, signed by the office's key too, that has this one's first old
        leaves and other leaves up to size new: its one checkpoint is a fork of this log."""
        rng = random.Random(seed)
        leaves = self.leaves[:old] + [rng.randbytes(32) for _ in range(new - old)]
        root = merkle.root(merkle.DictNodeReader.from_leaf_hashes(leaves), new)
        assert new > len(self.leaves) or root != self.root(new)
        note = sign_note(Checkpoint(ORIGIN, new, root).body(), OFFICE)
        return Log(leaves, [Signed(note, new, root)])

    @property
    def head(self) -> Signed:
        return self.checkpoints[-1]


def growing_log(folder: Path, lines: list[str]) -> Log:
    """The sample programme ingested a line at a time, with a checkpoint after each."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "ledger.db"
    ledger = open_ledger(str(db))
    checkpoints: dict[int, Signed] = {}
    try:
        for line in lines:
            ingest(ledger, [line], ADMIN, second_process=False)
            stored = ledger.sign_checkpoint([OFFICE], origin=ORIGIN)
            checkpoints.setdefault(stored.size, Signed(stored.note, stored.size, stored.root))
    finally:
        ledger.close()
    with sqlite3.connect(db) as c:
        leaves = [bytes(row[0]) for row in c.execute("SELECT hash FROM merkle_leaves ORDER BY idx")]
    log = Log(leaves, sorted(checkpoints.values(), key=lambda c: c.size))
    for signed in log.checkpoints:  # the ledger's roots are the tree's over its leaves
        assert log.root(signed.size) == signed.root
    return log


def write_keys(folder: Path, witness_text: str) -> tuple[Path, Path]:
    """The witness's private key and the office's public key, as files for the CLI."""
    key, office = folder / "witness.key", folder / "office.pub"
    descriptor = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(witness_text + "\n")
    office.write_text(OFFICE_PUB + "\n", encoding="utf-8")
    return key, office


class WitnessProcess:
    """`oneruler witness serve` in a process of its own, on a free loopback port (or the
    port given), witnessing the logs given as ORIGIN=VKEYFILE; its log in serve.log
    beside the state folder."""

    def __init__(self, state: Path, key: Path, logs: Sequence[str], port: int = 0) -> None:
        self.log_file = (state.parent / "serve.log").open("ab")
        arguments = ["witness", "serve", "--state", str(state), "--key", str(key)]
        for log in logs:
            arguments += ["--log", log]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli", *arguments, "--port", str(port)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self.log_file,
            text=True,
        )
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], 60)
        line = self.process.stdout.readline() if ready else ""
        if not line.startswith("witness "):
            self.stop()
            raise AssertionError(f"the witness did not start: {line!r}, see {self.log_file.name}")
        self.url = line.split(" listening on ", 1)[1].split(" ", 1)[0]
        self.port = int(self.url.rsplit(":", 1)[1])

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.log_file.close()
