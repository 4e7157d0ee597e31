"""The log's side of C2SP tlog-witness: asking witnesses to cosign a checkpoint, with the
consistency proof from whatever size each of them last cosigned."""

from __future__ import annotations

import base64
import http.client
import urllib.error
import urllib.parse
import urllib.request
import urllib.response
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from ledger.checkpoint import CheckpointError, parse_checkpoint_unverified
from ledger.cosignature import (
    Cosignature,
    CosignerVerifier,
    add_cosignatures,
    verify_cosignatures,
)
from witness.protocol import SIZE_CONTENT_TYPE

# The consistency proof from an old size to the checkpoint's size, as the log computes it.
ProofFrom = Callable[[int], Sequence[bytes]]

DEFAULT_TIMEOUT = 10.0
# A 409 tells the client the witness's size; a second answer of 409 means another
# client moved the witness meanwhile. Past this many rounds, give up.
ROUNDS = 3


class WitnessError(Exception):
    """A witness could not be reached, refused the checkpoint, or answered wrongly."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        # The HTTP status of a refusal; None if there was no answer to read one from.
        self.status = status


@dataclass(frozen=True)
class WitnessEndpoint:
    """A witness as a log knows it: its submission URL and its public key."""

    url: str
    key: CosignerVerifier

    def __post_init__(self) -> None:
        parsed = urllib.parse.urlsplit(self.url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise WitnessError(
                f"the witness URL {self.url!r} is not an http:// or https:// address; "
                "give its submission prefix, such as https://witness.example.org."
            )


def request_body(old_size: int, proof: Sequence[bytes], note: str) -> bytes:
    """An add-checkpoint request body: `old N`, the proof in base64, an empty line, the note."""
    lines = [f"old {old_size}\n"]
    lines += [base64.b64encode(hashed).decode("ascii") + "\n" for hashed in proof]
    return ("".join(lines) + "\n" + note).encode("utf-8")


def _post(url: str, body: bytes, timeout: float) -> tuple[int, str, str]:
    """POST body to url; (status, content type, body text), whatever the status."""
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "text/plain; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers.get("Content-Type", ""), _text(response)
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.headers.get("Content-Type", ""), _text(e)
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise WitnessError(f"the witness at {url} cannot be reached ({reason}).") from None
    except (http.client.HTTPException, ValueError) as e:
        # What answered is not an HTTP server (or the URL is not one urllib can use).
        raise WitnessError(
            f"the witness at {url} did not answer in HTTP ({type(e).__name__} "
            f"{str(e).strip()[:60]!r})."
        ) from None


def _text(response: http.client.HTTPResponse | urllib.response.addinfourl) -> str:
    # A witness's answer is a line or two; more than this is not one.
    return response.read(64 * 1024).decode("utf-8", errors="replace")


def cosign(
    endpoint: WitnessEndpoint,
    note: str,
    proof_from: ProofFrom,
    *,
    old_size: int = 0,
    timeout: float = DEFAULT_TIMEOUT,
) -> Cosignature:
    """Ask one witness to cosign a signed checkpoint; return its verified cosignature.

    old_size is the size the log believes the witness last cosigned (0 if unknown): if
    the witness holds another, it says which (409) and the request is made again with
    the proof from there.
    """
    checkpoint = parse_checkpoint_unverified(note)
    url = endpoint.url.rstrip("/") + "/add-checkpoint"
    for _ in range(ROUNDS):
        proof = proof_from(old_size) if 0 < old_size < checkpoint.size else ()
        status, content_type, text = _post(url, request_body(old_size, proof, note), timeout)
        if status == 200:
            return _cosignature(endpoint, note, text)
        if status == 409 and content_type.split(";")[0].strip() == SIZE_CONTENT_TYPE:
            held = text.strip()
            if not held.isdigit():
                raise WitnessError(f"the witness at {url} answered 409 without a size.", 409)
            if int(held) > checkpoint.size:
                raise WitnessError(
                    f"the witness at {url} has already cosigned size {held} of "
                    f"{checkpoint.origin}, larger than this checkpoint's {checkpoint.size}: "
                    "the log has lost events since, or another log has the same origin.",
                    409,
                )
            old_size = int(held)
            continue
        reason = text.strip().splitlines()[0] if text.strip() else "no reason given"
        raise WitnessError(
            f"the witness at {url} refused the checkpoint ({status}: {reason})", status
        )
    raise WitnessError(
        f"the witness at {url} kept answering with another size; other clients are "
        "submitting checkpoints of this log to it at the same time.",
        409,
    )


def _cosignature(endpoint: WitnessEndpoint, note: str, lines: str) -> Cosignature:
    """The witness's verified cosignature among the signature lines it answered."""
    answered = lines.splitlines(keepends=True)
    try:
        combined = add_cosignatures(note, answered)
        found = [c for c in verify_cosignatures(combined, [endpoint.key]) if c.line in answered]
    except CheckpointError as e:
        raise WitnessError(
            f"the witness at {endpoint.url} answered a bad cosignature: {e}"
        ) from None
    if not found or found[0].timestamp == 0:
        raise WitnessError(
            f"the witness at {endpoint.url} answered with no timestamped cosignature by its "
            f"key {endpoint.key.label}; check that the key given is this witness's."
        )
    return found[0]


@dataclass
class Collected:
    """What a round of witnessing gave: the note with every cosignature, and why each
    witness that did not cosign did not."""

    note: str
    cosignatures: list[Cosignature] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def collect(
    endpoints: Iterable[WitnessEndpoint],
    note: str,
    proof_from: ProofFrom,
    *,
    old_sizes: Callable[[WitnessEndpoint], int] = lambda endpoint: 0,
    timeout: float = DEFAULT_TIMEOUT,
) -> Collected:
    """Ask each witness in turn; one that fails does not stop the others."""
    result = Collected(note)
    for endpoint in endpoints:
        try:
            cosignature = cosign(
                endpoint, note, proof_from, old_size=old_sizes(endpoint), timeout=timeout
            )
        except WitnessError as e:
            result.failures.append(str(e))
            continue
        result.cosignatures.append(cosignature)
    result.note = add_cosignatures(note, [c.line for c in result.cosignatures])
    return result
