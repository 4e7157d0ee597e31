"""C2SP tlog-witness add-checkpoint, apart from HTTP: the request's parsing, every check
the protocol requires in its order, and the answer (status, content type, body)."""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ledger import merkle
from ledger.checkpoint import (
    SIGNATURE_PREFIX,
    Checkpoint,
    CheckpointError,
    Verifier,
    parse_checkpoint_body,
)
from ledger.checkpoint import _split_note as split_note
from ledger.cosignature import Cosigner
from witness.state import Cosigned, WitnessState, origin_hash

# tlog-witness: a client MUST NOT send more than 63 consistency proof lines.
MAX_PROOF_LINES = 63
# A checkpoint with the signed-note maximum of signatures and a full proof stays well
# under this; transparency-dev's witness reads at most 16 KiB.
MAX_REQUEST_BYTES = 64 * 1024
SIZE_CONTENT_TYPE = "text/x.tlog.size"
TEXT = "text/plain; charset=utf-8"

_OLD_LINE = re.compile(r"old (0|[1-9][0-9]*)")
_HASH = re.compile(r"[A-Za-z0-9+/]{43}=")
_HEX_HASH = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Answer:
    """What the witness answers: an HTTP status, a content type and a body."""

    status: int
    body: str
    content_type: str = TEXT
    # For the witness's log: what happened, in a line.
    summary: str = ""


@dataclass(frozen=True)
class Request:
    """An add-checkpoint request: the size the client believes the witness holds, the
    consistency proof from it, and the signed checkpoint."""

    old_size: int
    proof: tuple[bytes, ...]
    note: str


class Malformed(ValueError):
    """The request is not an add-checkpoint request (400)."""


def _refusal(status: int, sentence: str) -> Answer:
    return Answer(status, sentence + "\n")


def parse_request(body: bytes) -> Request:
    """Parse an add-checkpoint body: `old N`, proof lines in base64, an empty line, the
    signed checkpoint. Every line ends in a newline."""
    if len(body) > MAX_REQUEST_BYTES:
        raise Malformed(f"The request is larger than {MAX_REQUEST_BYTES} bytes.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("The request is not UTF-8 text.") from None
    head, blank, note = text.partition("\n\n")
    if not blank:
        raise Malformed("The request has no empty line between the proof and the checkpoint.")
    first, *hashes = head.split("\n")
    matched = _OLD_LINE.fullmatch(first)
    if matched is None or len(matched.group(1)) > 20:
        raise Malformed(
            "The request's first line is not 'old ' and a size in decimal without leading zeros."
        )
    if len(hashes) > MAX_PROOF_LINES:
        raise Malformed(f"The request has more than {MAX_PROOF_LINES} consistency proof lines.")
    proof: list[bytes] = []
    for line in hashes:
        if not _HASH.fullmatch(line):
            raise Malformed("A consistency proof line is not the base64 of a 32-byte hash.")
        try:
            proof.append(base64.b64decode(line, validate=True))
        except (binascii.Error, ValueError):
            raise Malformed("A consistency proof line is not valid base64.") from None
    return Request(int(matched.group(1)), tuple(proof), note)


def _signature_line(name: str, key_id: bytes, signature: bytes) -> str:
    return f"{SIGNATURE_PREFIX}{name} {base64.b64encode(key_id + signature).decode('ascii')}\n"


class Witness:
    """A witness of some logs, each known by its origin and its signing key(s)."""

    def __init__(
        self,
        cosigner: Cosigner,
        logs: Mapping[str, Sequence[Verifier]],
        state: WitnessState,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cosigner = cosigner
        self.logs = {origin: tuple(keys) for origin, keys in logs.items()}
        self.state = state
        self.clock = clock
        self._by_hash = {origin_hash(origin): origin for origin in self.logs}

    def add_checkpoint(self, body: bytes) -> Answer:
        """Answer a POST /add-checkpoint (C2SP tlog-witness)."""
        try:
            request = parse_request(body)
            text, lines = split_note(request.note)
            checkpoint = parse_checkpoint_body(text)
        except (Malformed, CheckpointError) as e:
            return _refusal(400, f"Malformed request: {e}")
        keys = self.logs.get(checkpoint.origin)
        if keys is None:
            return _refusal(404, f"This witness does not witness the log {checkpoint.origin!r}.")
        verified: list[str] = []
        for line in lines:
            for key in keys:
                if (line.name, line.key_id) != (key.name, key.key_id):
                    continue
                if not key.verify(text.encode("utf-8"), line.signature):
                    return _refusal(
                        403, f"The signature by the log's key {key.name} does not verify."
                    )
                verified.append(_signature_line(line.name, line.key_id, line.signature))
        if not verified:
            return _refusal(403, "The checkpoint carries no signature by a key of its log.")
        if request.old_size > checkpoint.size:
            return _refusal(
                400,
                f"The old size {request.old_size} is larger than the checkpoint's "
                f"size {checkpoint.size}.",
            )
        with self.state.locked(checkpoint.origin):
            return self._against_state(request, checkpoint, text, list(dict.fromkeys(verified)))

    def _against_state(
        self, request: Request, checkpoint: Checkpoint, text: str, verified: list[str]
    ) -> Answer:
        """The checks against what the witness last cosigned, then the cosignature;
        the caller holds the log's lock, so nothing changes in between."""
        held = self.state.read(checkpoint.origin)
        held_size = held.checkpoint.size if held is not None else 0
        if request.old_size != held_size:
            return Answer(409, f"{held_size}\n", SIZE_CONTENT_TYPE)
        if checkpoint.size == 0 and checkpoint.root != merkle.EMPTY_ROOT:
            return _refusal(422, "A checkpoint of size 0 must have the empty tree's root.")
        if held_size == 0 and request.proof:
            return _refusal(422, "From size 0 the consistency proof must be empty.")
        if held is not None:
            if checkpoint.size == held_size:
                if checkpoint.root != held.checkpoint.root:
                    self.state.keep_evidence(held, request.note, "same size, another root")
                    return _refusal(
                        422,
                        f"The root differs from the one this witness cosigned at size "
                        f"{held_size}: the log has forked.",
                    )
            elif held_size > 0 and not merkle.verify_consistency(
                held_size,
                checkpoint.size,
                held.checkpoint.root,
                checkpoint.root,
                request.proof,
            ):
                self.state.keep_evidence(held, request.note, "consistency proof fails")
                return _refusal(
                    422,
                    f"The consistency proof from size {held_size} to size {checkpoint.size} "
                    "does not verify.",
                )
        # Never earlier than the last cosignature for this log, even if the clock went
        # back: a cosignature says "as of this time, this is the largest tree I saw".
        timestamp = max(int(self.clock()), held.timestamp if held is not None else 0, 1)
        cosignature = self.cosigner.cosign(text, timestamp)
        note = text + "\n" + "".join(verified) + cosignature.line
        # Persisted before the answer: a cosignature is never out unless the witness
        # will remember it after a crash.
        self.state.write(Cosigned(checkpoint, timestamp, note))
        return Answer(
            200,
            cosignature.line,
            summary=f"cosigned {checkpoint.origin} at size {checkpoint.size}, time {timestamp}",
        )

    def latest(self, hashed: str) -> Answer:
        """Answer GET /<origin hash>/checkpoint: the last cosigned checkpoint of a log."""
        origin = self._by_hash.get(hashed) if _HEX_HASH.fullmatch(hashed) else None
        held = self.state.read(origin) if origin is not None else None
        if held is None:
            return _refusal(404, "This witness has cosigned no checkpoint of that log.")
        return Answer(200, held.note)
