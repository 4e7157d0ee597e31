"""C2SP tlog-cosignature (cosignature/v1) in ledger.cosignature, checked against a second
implementation written here from the C2SP text alone (hashlib and cryptography's Ed25519,
nothing of the project's)."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.checkpoint import Checkpoint, CheckpointError, generate_key, parse_signer, sign_note
from ledger.cosignature import (
    CosignatureError,
    Cosigner,
    QuorumError,
    add_cosignatures,
    check_quorum,
    cosigned_message,
    generate_cosigner_key,
    parse_cosigner,
    parse_cosigner_verifier,
    quorum_time,
    verify_cosignatures,
)

EM_DASH = "\u2014"
# The checkpoint of the examples in C2SP tlog-cosignature and tlog-witness.
BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
TIME = 1679315147
# RFC 8032 section 7.1, TEST 1: a fixed Ed25519 seed.
SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
NAME = "witness.example.com/w1"

OFFICE = parse_signer(generate_key("example.com/behind-the-sofa")[0])
NOTE = sign_note(BODY, OFFICE)


# --- a second implementation, from the C2SP text alone ---------------------------------


def c2sp_key_id(name: str, public: bytes) -> bytes:
    """tlog-cosignature: SHA-256(<name> || "\\n" || 0x04 || 32-byte public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + b"\x04" + public).digest()[:4]


def c2sp_message(timestamp: int, text: str) -> bytes:
    """The signed message: `cosignature/v1`, `time <decimal>`, then the note body."""
    return b"cosignature/v1\n" + b"time " + str(timestamp).encode() + b"\n" + text.encode()


def c2sp_cosign(seed: bytes, name: str, timestamp: int, text: str) -> str:
    """A cosignature line: em dash, name, base64(key ID || u64 big-endian time || sig)."""
    private = Ed25519PrivateKey.from_private_bytes(seed)
    public = private.public_key().public_bytes_raw()
    signature = private.sign(c2sp_message(timestamp, text))
    blob = c2sp_key_id(name, public) + timestamp.to_bytes(8, "big") + signature
    return f"{EM_DASH} {name} {base64.b64encode(blob).decode()}\n"


def c2sp_vkey(seed: bytes, name: str) -> str:
    """signed-note vkey: name+hex(key ID)+base64(signature type || public key)."""
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    material = base64.b64encode(bytes([0x04]) + public).decode()
    return f"{name}+{c2sp_key_id(name, public).hex()}+{material}"


def c2sp_cosignature_times(note: str, vkey: str) -> list[int]:
    """The times of the valid cosignatures on a note by the witness of vkey; raises if a
    line that names this key (name and key ID) fails to verify."""
    name, key_id, encoded = vkey.strip().split("+", 2)
    raw = base64.b64decode(encoded)
    assert raw[0] == 0x04 and len(raw) == 33, "not a cosignature/v1 vkey"
    assert c2sp_key_id(name, raw[1:]).hex() == key_id, "the key ID does not match"
    public = Ed25519PublicKey.from_public_bytes(raw[1:])
    split = note.rindex("\n\n")
    text, lines = note[: split + 1], note[split + 2 :].splitlines()
    times = []
    for line in lines:
        signer, blob64 = line.removeprefix(f"{EM_DASH} ").split(" ")
        blob = base64.b64decode(blob64)
        if signer != name or blob[:4].hex() != key_id:
            continue
        timestamp = int.from_bytes(blob[4:12], "big")
        public.verify(blob[12:], c2sp_message(timestamp, text))
        times.append(timestamp)
    return times


# --- the format -------------------------------------------------------------------


def _public(seed: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()


KEY_ID = c2sp_key_id(NAME, _public(SEED)).hex()


def test_a_cosignature_is_what_the_c2sp_text_describes_byte_for_byte() -> None:
    # Ed25519 is deterministic: both implementations must produce the very same line.
    cosigner = parse_cosigner(
        f"PRIVATE+KEY+{NAME}+{KEY_ID}+" + base64.b64encode(b"\x04" + SEED).decode()
    )
    cosignature = cosigner.cosign(BODY, TIME)
    assert cosignature.line == c2sp_cosign(SEED, NAME, TIME, BODY)
    assert cosigner.verifier().text == c2sp_vkey(SEED, NAME)
    assert cosignature.line == GOLDEN_LINE
    assert cosigned_message(BODY, TIME) == (
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )


# The line above, kept: a stored cosignature must verify the same forever.
GOLDEN_LINE = (
    f"{EM_DASH} witness.example.com/w1 "
    "fm9KqgAAAABkGFDL+TPmh4BYuAjsYRoqMJCWb/gWJaeRF/kmm5tlCr9sJ57DLErur7K0yDXc2ArN+TIuotuB/HbuL3AJ"
    "sp3bv/aNCQ==\n"
)


def test_cosignatures_made_here_verify_with_the_second_implementation() -> None:
    signer_text, vkey = generate_cosigner_key("audit.xingcheng.example")
    cosigner = parse_cosigner(signer_text)
    note = add_cosignatures(NOTE, [cosigner.cosign(BODY, TIME).line])
    assert c2sp_cosignature_times(note, vkey) == [TIME]
    # and the log's own signature, of another type, is not taken for one
    assert c2sp_cosignature_times(NOTE, vkey) == []
    tampered = note.replace("20852163", "20852164")
    with pytest.raises(InvalidSignature):
        c2sp_cosignature_times(tampered, vkey)


def test_cosignatures_made_by_the_second_implementation_verify_here() -> None:
    line = c2sp_cosign(SEED, NAME, TIME, BODY)
    witness = parse_cosigner_verifier(c2sp_vkey(SEED, NAME))
    found = verify_cosignatures(NOTE + line, [witness])
    assert [(c.witness, c.timestamp, c.line) for c in found] == [(witness, TIME, line)]


def test_the_witness_key_texts() -> None:
    signer_text, vkey = generate_cosigner_key("audit.xingcheng.example")
    name, key_id, material = vkey.split("+", 2)
    raw = base64.b64decode(material)
    assert (name, raw[0], len(raw)) == ("audit.xingcheng.example", 0x04, 33)
    assert key_id == c2sp_key_id(name, raw[1:]).hex()
    assert signer_text.startswith(f"PRIVATE+KEY+audit.xingcheng.example+{key_id}+")
    assert base64.b64decode(signer_text.split("+", 4)[4])[0] == 0x04
    cosigner = parse_cosigner(signer_text)
    assert cosigner.text == signer_text
    assert cosigner.verifier() == parse_cosigner_verifier(vkey)
    assert parse_cosigner_verifier(vkey).text == vkey


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "PRIVATE+KEY+office+00000000+" + base64.b64encode(b"\x01" + SEED).decode(),
            "is a log's signing key (type 0x01), not a witness key (type 0x04)",
        ),
        (
            "office+00000000+" + base64.b64encode(b"\x02" + SEED).decode(),
            "is not a cosignature/v1 key (its type byte is 0x02, not 0x04)",
        ),
        ("office+0000+AA==", "ID '0000' is not 8 hexadecimal digits"),
        ("office", "does not have the form name+keyid+key"),
        ("office+00000000+BAAA", "holds 2 key bytes instead of 32"),
        ("office+00000000+!!", "key material is not valid standard base64"),
        ("off ice+00000000+BAAA", "has an invalid name 'off ice'"),
        (
            f"{NAME}+00000000+" + base64.b64encode(b"\x04" + _public(SEED)).decode(),
            f"ID 00000000 does not match its name and key ({KEY_ID})",
        ),
    ],
)
def test_a_bad_witness_key_is_refused_with_a_sentence(text: str, message: str) -> None:
    parse = parse_cosigner if text.startswith("PRIVATE") else parse_cosigner_verifier
    with pytest.raises(CosignatureError, match=re.escape(message)):
        parse(text)


def test_a_signer_key_is_not_taken_for_a_public_one() -> None:
    vkey = generate_cosigner_key("w")[1]
    with pytest.raises(CosignatureError, match="does not start with PRIVATE"):
        parse_cosigner(vkey)


def test_a_witness_refuses_to_cosign_what_is_not_a_checkpoint_or_at_time_zero() -> None:
    cosigner = parse_cosigner(generate_cosigner_key("w")[0])
    with pytest.raises(CheckpointError, match="fewer than three lines"):
        cosigner.cosign("just a note\n", TIME)
    with pytest.raises(CosignatureError, match="must not be zero"):
        cosigner.cosign(BODY, 0)
    with pytest.raises(CosignatureError, match="from 0 to 2\\*\\*63 - 1"):
        cosigner.cosign(BODY, 2**63)


# --- verifying -----------------------------------------------------------------------


def _witnesses(count: int) -> list[Cosigner]:
    return [parse_cosigner(generate_cosigner_key(f"w{i}.example")[0]) for i in range(count)]


def test_lines_by_other_keys_are_ignored_and_a_bad_line_by_a_known_key_refuses_the_note() -> None:
    one, two = _witnesses(2)
    stranger = parse_cosigner(generate_cosigner_key(one.name)[0])  # same name, other key
    note = add_cosignatures(NOTE, [stranger.cosign(BODY, TIME).line, one.cosign(BODY, TIME).line])
    assert [c.witness for c in verify_cosignatures(note, [one.verifier(), two.verifier()])] == [
        one.verifier()
    ]
    # The time is signed: a line whose time was changed no longer verifies.
    line = one.cosign(BODY, TIME).line
    blob = bytearray(base64.b64decode(line.split(" ")[2]))
    blob[11] ^= 1
    altered = f"{EM_DASH} {one.name} {base64.b64encode(bytes(blob)).decode()}\n"
    with pytest.raises(CosignatureError, match=f"cosignature by witness {one.name}\\+"):
        verify_cosignatures(NOTE + altered, [one.verifier()])
    # A cosignature of another checkpoint does not verify on this one.
    other = one.cosign(Checkpoint("example.com/behind-the-sofa", 1, bytes(32)).body(), TIME)
    with pytest.raises(CosignatureError, match="does not match the checkpoint"):
        verify_cosignatures(NOTE + other.line, [one.verifier()])


def test_a_quorum_counts_distinct_witnesses_that_cosigned() -> None:
    a, b, c = _witnesses(3)
    keys = [a.verifier(), b.verifier(), c.verifier()]
    note = add_cosignatures(
        NOTE,
        [a.cosign(BODY, TIME).line, a.cosign(BODY, TIME + 5).line, b.cosign(BODY, TIME + 9).line],
    )
    found = check_quorum(note, keys, 2)
    assert sorted((x.witness.name, x.timestamp) for x in found) == [
        ("w0.example", TIME),
        ("w0.example", TIME + 5),
        ("w1.example", TIME + 9),
    ]
    with pytest.raises(QuorumError) as refused:
        check_quorum(note, keys, 3)
    assert str(refused.value) == (
        f"The checkpoint is cosigned by 2 of the 3 witnesses given ({a.verifier().label}, "
        f"{b.verifier().label}), and 3 are required: it has not been witnessed enough to "
        "rule out a forked log."
    )
    # One key given twice is one witness, and two cosignatures by it are still one.
    with pytest.raises(CosignatureError, match="A quorum of 2 cannot be met by 1 distinct"):
        check_quorum(note, [a.verifier(), a.verifier()], 2)
    with pytest.raises(
        QuorumError, match="cosigned by 0 of the 1 witness given \\(none\\), and 1 is required"
    ):
        check_quorum(NOTE, [c.verifier()], 1)
    with pytest.raises(CosignatureError, match="1 or more witnesses, not 0"):
        check_quorum(note, keys, 0)


def test_the_quorum_time_is_the_quorum_th_earliest_witness() -> None:
    a, b, c = _witnesses(3)
    note = add_cosignatures(
        NOTE,
        [
            a.cosign(BODY, 300).line,
            a.cosign(BODY, 100).line,
            b.cosign(BODY, 200).line,
            c.cosign(BODY, 900).line,
        ],
    )
    found = check_quorum(note, [a.verifier(), b.verifier(), c.verifier()], 2)
    assert [quorum_time(found, t) for t in (1, 2, 3)] == [100, 200, 900]
    with pytest.raises(
        QuorumError, match="3 distinct witnesses cosigned, fewer than the quorum of 4"
    ):
        quorum_time(found, 4)


def test_adding_cosignatures_keeps_each_line_once_and_refuses_what_is_not_a_line() -> None:
    (a,) = _witnesses(1)
    line = a.cosign(BODY, TIME).line
    once = add_cosignatures(NOTE, [line, line])
    assert once == NOTE + line
    assert add_cosignatures(once, [line]) == once
    with pytest.raises(CosignatureError, match="is not one note signature line"):
        add_cosignatures(NOTE, ["— a b\n— c d\n"])


def test_the_cosigned_checkpoint_in_the_documentation_verifies() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "integrity.md").read_text("utf-8")
    section = page.split("## Witnesses", 1)[1]
    start = section.index("    ledger.example-county.gov.cn/xingcheng-2018\n    41\n")
    introduced = section[:start].rsplit("public keys are", 1)[1].replace("\n", " ")
    vkeys = re.findall(r"`([^`+]+\+[0-9a-f]{8}\+B[^`]+)`", introduced)
    assert len(vkeys) == 3
    block = section[start:].split("\n\n", 2)
    note = "\n\n".join(block[:2]).replace("\n    ", "\n").removeprefix("    ") + "\n"
    assert note.count(EM_DASH) == 4
    times = [c2sp_cosignature_times(note, vkey) for vkey in vkeys]
    assert times == [[1796503482], [1796503482], [1796503483]]
    # The same note is what `checkpoint --witness` printed, further on.
    assert note in section.split("### The office's side and the auditor's", 1)[1]
