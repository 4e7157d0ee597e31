"""Tests for C2SP signed notes, checkpoints and note keys in ledger.checkpoint."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    Signer,
    Verifier,
    generate_key,
    key_id,
    open_note,
    parse_checkpoint_body,
    parse_checkpoint_unverified,
    parse_signer,
    parse_verifier,
    sign_note,
    signer_key_text,
    verifier_key_text,
    verify_checkpoint,
)

EM_DASH = "\u2014"

# RFC 8032 section 7.1, TEST 1: a fixed Ed25519 key and its signature of the empty message.
RFC8032_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC8032_EMPTY_SIGNATURE = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)

# The worked example in the documentation of Go's golang.org/x/mod/sumdb/note.
GO_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIGNATURE_LINE = (
    f"{EM_DASH} PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
GO_OTHER_SIGNATURE_LINE = (
    f"{EM_DASH} EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)

ORIGIN = "oneruler/xingcheng-2018"
ROOT = hashlib.sha256(b"a tree head").digest()


def hand_key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + b"\x01" + public).digest()[:4]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# Base64 of the algorithm byte 0x01 followed by the raw seed or public key, built here
# rather than inside f-strings because Python 3.11 forbids backslashes there.
SEED_B64 = b64(bytes([1]) + RFC8032_SEED)
PUBLIC_B64 = b64(bytes([1]) + RFC8032_PUBLIC)


def fixed_signer_text(name: str = "example.org/log") -> str:
    return f"PRIVATE+KEY+{name}+{hand_key_id(name, RFC8032_PUBLIC).hex()}+{SEED_B64}"


def new_pair(name: str = ORIGIN) -> tuple[Signer, Verifier]:
    signer_text, verifier_text = generate_key(name)
    return parse_signer(signer_text), parse_verifier(verifier_text)


def signed_checkpoint(signer: Signer, size: int = 5, root: bytes = ROOT) -> str:
    return sign_note(Checkpoint(ORIGIN, size, root).body(), signer)


# --- Keys ---


def test_generate_key_round_trip() -> None:
    signer_text, verifier_text = generate_key("example.org/log")
    assert re.fullmatch(
        r"PRIVATE\+KEY\+example\.org/log\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}", signer_text
    )
    assert re.fullmatch(r"example\.org/log\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}", verifier_text)
    signer = parse_signer(signer_text)
    verifier = parse_verifier(verifier_text)
    assert signer.name == verifier.name == "example.org/log"
    assert signer.key_id == verifier.key_id
    assert signer.verifier() == verifier
    assert signer.text == signer_text
    assert verifier.text == verifier_text
    assert signer_text.split("+")[3] == verifier_text.split("+")[1] == verifier.key_id.hex()
    assert verify_checkpoint(signed_checkpoint(signer), verifier) == Checkpoint(ORIGIN, 5, ROOT)


def test_generated_keys_differ() -> None:
    first = generate_key("example.org/log")
    second = generate_key("example.org/log")
    assert first[0] != second[0]
    assert first[1] != second[1]


def test_key_text_tolerates_a_trailing_newline_from_a_file() -> None:
    signer_text, verifier_text = generate_key("example.org/log")
    assert parse_signer(signer_text + "\n").text == signer_text
    assert parse_verifier(verifier_text + "\n").text == verifier_text


def test_key_id_matches_a_hand_computation() -> None:
    name = "example.org/log"
    material = b"example.org/log" + bytes([0x0A, 0x01]) + RFC8032_PUBLIC
    expected = hashlib.sha256(material).digest()[:4]
    assert key_id(name, RFC8032_PUBLIC) == expected
    assert parse_signer(fixed_signer_text(name)).key_id == expected
    # The name is hashed as UTF-8.
    assert key_id("日志/log", RFC8032_PUBLIC) == hand_key_id("日志/log", RFC8032_PUBLIC)


def test_fixed_seed_gives_a_stable_verifier_text() -> None:
    name = "example.org/log"
    derived_public = Ed25519PrivateKey.from_private_bytes(RFC8032_SEED).public_key()
    assert derived_public.public_bytes_raw() == RFC8032_PUBLIC
    expected = f"{name}+{hand_key_id(name, RFC8032_PUBLIC).hex()}+{PUBLIC_B64}"
    # Written out once so that any change to the encoding shows up as a diff.
    assert expected == "example.org/log+1c66b9ea+AddamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea"
    signer = parse_signer(fixed_signer_text(name))
    assert signer.verifier().text == expected
    assert signer.text == fixed_signer_text(name)
    assert parse_verifier(expected) == signer.verifier()
    assert verifier_key_text(name, derived_public) == expected
    assert signer_key_text(name, signer.private_key) == fixed_signer_text(name)


def test_fixed_seed_signs_as_rfc8032_says() -> None:
    signer = parse_signer(fixed_signer_text())
    assert signer.sign(b"") == RFC8032_EMPTY_SIGNATURE
    body = Checkpoint(ORIGIN, 17, ROOT).body()
    signature = Ed25519PrivateKey.from_private_bytes(RFC8032_SEED).sign(body.encode())
    expected = (
        f"{body}\n{EM_DASH} example.org/log "
        f"{b64(hand_key_id('example.org/log', RFC8032_PUBLIC) + signature)}\n"
    )
    assert sign_note(body, signer) == expected


def test_go_sumdb_note_example_interoperates() -> None:
    signer = parse_signer(GO_SIGNER)
    verifier = parse_verifier(GO_VERIFIER)
    assert signer.verifier() == verifier
    assert signer.verifier().text == GO_VERIFIER
    assert signer.text == GO_SIGNER
    note = GO_TEXT + "\n" + GO_SIGNATURE_LINE
    assert sign_note(GO_TEXT, signer) == note
    assert open_note(note, verifier) == GO_TEXT
    # Go's doubly signed example: the second signature is by a key we do not know.
    assert open_note(note + GO_OTHER_SIGNATURE_LINE, verifier) == GO_TEXT
    assert open_note(GO_TEXT + "\n" + GO_OTHER_SIGNATURE_LINE + GO_SIGNATURE_LINE, verifier)


@pytest.mark.parametrize(
    "name",
    ["", "a+b", "a b", "a\tb", "a\nb", "a\u00a0b", "a\u2003b", "a\u3000b", "a\u2028b", "\x01"],
)
def test_generate_key_rejects_bad_names(name: str) -> None:
    with pytest.raises(ValueError, match="key name"):
        generate_key(name)


def test_generate_key_accepts_unicode_names() -> None:
    signer_text, verifier_text = generate_key("许昌/2018—log")
    assert parse_signer(signer_text).verifier() == parse_verifier(verifier_text)


def _verifier_variants() -> list[tuple[str, str]]:
    name = "example.org/log"
    good_id = hand_key_id(name, RFC8032_PUBLIC).hex()
    good_key = PUBLIC_B64
    bad_id = f"{int(good_id, 16) ^ 1:08x}"
    return [
        ("empty", ""),
        ("name only", name),
        ("no key", f"{name}+{good_id}"),
        ("empty key", f"{name}+{good_id}+"),
        ("empty name", f"+{good_id}+{good_key}"),
        ("name with space", f"example org+{good_id}+{good_key}"),
        ("short id", f"{name}+{good_id[:7]}+{good_key}"),
        ("long id", f"{name}+0{good_id}+{good_key}"),
        ("id not hex", f"{name}+{good_id[:7]}g+{good_key}"),
        ("id mismatch", f"{name}+{bad_id}+{good_key}"),
        ("wrong name for id", f"example.org/other+{good_id}+{good_key}"),
        ("bad base64", f"{name}+{good_id}+not*base64"),
        ("truncated base64", f"{name}+{good_id}+{good_key[:-1]}"),
        ("url-safe base64", f"{name}+{good_id}+{good_key.replace('+', '-').replace('/', '_')}"),
        ("wrong algorithm", f"{name}+{good_id}+{b64(bytes([2]) + RFC8032_PUBLIC)}"),
        ("no algorithm", f"{name}+{good_id}+{b64(RFC8032_PUBLIC)}"),
        ("short key", f"{name}+{good_id}+{b64(bytes([1]) + RFC8032_PUBLIC[:31])}"),
        ("long key", f"{name}+{good_id}+{b64(bytes([1]) + RFC8032_PUBLIC + bytes(1))}"),
        ("signer text", fixed_signer_text(name)),
    ]


@pytest.mark.parametrize(
    "text",
    [text for _, text in _verifier_variants()],
    ids=[label for label, _ in _verifier_variants()],
)
def test_parse_verifier_rejects_malformed_text(text: str) -> None:
    with pytest.raises(CheckpointError):
        parse_verifier(text)


def test_parse_verifier_accepts_the_good_variant() -> None:
    name = "example.org/log"
    text = f"{name}+{hand_key_id(name, RFC8032_PUBLIC).hex()}+{PUBLIC_B64}"
    assert parse_verifier(text).name == name


def _signer_variants() -> list[tuple[str, str]]:
    name = "example.org/log"
    good_id = hand_key_id(name, RFC8032_PUBLIC).hex()
    good_key = SEED_B64
    bad_id = f"{int(good_id, 16) ^ 1:08x}"
    return [
        ("empty", ""),
        ("verifier text", f"{name}+{good_id}+{PUBLIC_B64}"),
        ("lowercase prefix", f"private+key+{name}+{good_id}+{good_key}"),
        ("missing KEY", f"PRIVATE+{name}+{good_id}+{good_key}"),
        ("id mismatch", f"PRIVATE+KEY+{name}+{bad_id}+{good_key}"),
        ("id of the wrong name", f"PRIVATE+KEY+example.org/other+{good_id}+{good_key}"),
        ("id not hex", f"PRIVATE+KEY+{name}+zzzzzzzz+{good_key}"),
        ("bad base64", f"PRIVATE+KEY+{name}+{good_id}+%%%%"),
        ("wrong algorithm", f"PRIVATE+KEY+{name}+{good_id}+{b64(bytes([2]) + RFC8032_SEED)}"),
        ("short seed", f"PRIVATE+KEY+{name}+{good_id}+{b64(bytes([1]) + RFC8032_SEED[:31])}"),
        ("expanded key", f"PRIVATE+KEY+{name}+{good_id}+{b64(bytes([1]) + RFC8032_SEED * 2)}"),
        ("name with space", f"PRIVATE+KEY+a b+{good_id}+{good_key}"),
    ]


@pytest.mark.parametrize(
    "text", [text for _, text in _signer_variants()], ids=[label for label, _ in _signer_variants()]
)
def test_parse_signer_rejects_malformed_text(text: str) -> None:
    with pytest.raises(CheckpointError):
        parse_signer(text)


# --- Checkpoints and notes ---


def test_checkpoint_body_format() -> None:
    checkpoint = Checkpoint(ORIGIN, 20852163, ROOT)
    assert checkpoint.body() == f"{ORIGIN}\n20852163\n{b64(ROOT)}\n"
    assert Checkpoint(ORIGIN, 0, ROOT).body().split("\n")[1] == "0"
    extended = Checkpoint(ORIGIN, 3, ROOT, ("ext one", "ext two"))
    assert extended.body() == f"{ORIGIN}\n3\n{b64(ROOT)}\next one\next two\n"
    assert parse_checkpoint_body(extended.body()) == extended


def test_sign_and_verify_round_trip() -> None:
    signer, verifier = new_pair()
    checkpoint = Checkpoint(ORIGIN, 123456, ROOT, ("note: extension",))
    note = sign_note(checkpoint.body(), signer)
    assert note.startswith(checkpoint.body() + "\n" + EM_DASH + " " + ORIGIN + " ")
    assert note.endswith("\n")
    assert note.count("\n") == checkpoint.body().count("\n") + 2
    raw = base64.b64decode(note.rstrip("\n").rsplit(" ", 1)[1])
    assert len(raw) == 4 + 64
    assert raw[:4] == signer.key_id
    assert verify_checkpoint(note, verifier) == checkpoint
    assert open_note(note, verifier) == checkpoint.body()
    assert parse_checkpoint_unverified(note) == checkpoint


def test_note_signed_by_two_keys_verifies_with_either() -> None:
    first_signer, first_verifier = new_pair("example.org/first")
    second_signer, second_verifier = new_pair("example.org/second")
    _, stranger = new_pair("example.org/stranger")
    body = Checkpoint(ORIGIN, 9, ROOT).body()
    note = sign_note(body, first_signer, second_signer)
    assert note.count(f"\n{EM_DASH} ") == 2
    assert verify_checkpoint(note, first_verifier).size == 9
    assert verify_checkpoint(note, second_verifier).size == 9
    with pytest.raises(
        CheckpointError, match=re.escape("no signature by key example.org/stranger")
    ):
        verify_checkpoint(note, stranger)


def test_signatures_by_unknown_keys_are_ignored() -> None:
    signer, verifier = new_pair()
    same_name_signer, _ = new_pair(ORIGIN)
    other_signer, _ = new_pair("example.org/witness")
    body = Checkpoint(ORIGIN, 9, ROOT).body()
    # Another key with the verifier's name but a different key ID is a different key.
    note = sign_note(body, same_name_signer, other_signer, signer)
    assert verify_checkpoint(note, verifier).size == 9


def test_duplicate_signers_sign_once() -> None:
    signer, verifier = new_pair()
    note = sign_note(Checkpoint(ORIGIN, 1, ROOT).body(), signer, signer)
    assert note.count(EM_DASH) == 1
    assert verify_checkpoint(note, verifier).size == 1


def test_tampered_body_fails() -> None:
    signer, verifier = new_pair()
    note = signed_checkpoint(signer, size=5)
    tampered = note.replace(f"{ORIGIN}\n5\n", f"{ORIGIN}\n6\n", 1)
    assert tampered != note
    with pytest.raises(CheckpointError, match="does not match the note"):
        verify_checkpoint(tampered, verifier)
    other_root = signed_checkpoint(signer, root=hashlib.sha256(b"other").digest())
    spliced = other_root.split("\n\n")[0] + "\n\n" + note.split("\n\n")[1]
    with pytest.raises(CheckpointError, match="does not match the note"):
        verify_checkpoint(spliced, verifier)


def test_tampered_signature_fails() -> None:
    signer, verifier = new_pair()
    note = signed_checkpoint(signer)
    prefix, encoded = note.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    for position in (4, 40, 67):
        changed = bytearray(raw)
        changed[position] ^= 0x01
        tampered = f"{prefix} {b64(bytes(changed))}\n"
        with pytest.raises(CheckpointError, match="does not match the note"):
            verify_checkpoint(tampered, verifier)
    truncated = f"{prefix} {b64(bytes(raw[:-1]))}\n"
    with pytest.raises(CheckpointError, match="does not match the note"):
        verify_checkpoint(truncated, verifier)


def test_changed_key_id_makes_the_signature_unknown() -> None:
    signer, verifier = new_pair()
    note = signed_checkpoint(signer)
    prefix, encoded = note.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    raw[0] ^= 0x01
    with pytest.raises(CheckpointError, match="no signature by key"):
        verify_checkpoint(f"{prefix} {b64(bytes(raw))}\n", verifier)


def test_other_key_fails() -> None:
    signer, _ = new_pair()
    _, other = new_pair()
    note = signed_checkpoint(signer)
    with pytest.raises(CheckpointError, match="no signature by key"):
        verify_checkpoint(note, other)


def test_a_key_impersonating_name_and_id_fails() -> None:
    # C2SP: a signature whose key name and ID match the known key must verify.
    signer, verifier = new_pair()
    _, other = new_pair()
    impostor = Verifier(verifier.name, verifier.key_id, other.public_key)
    note = signed_checkpoint(signer)
    with pytest.raises(CheckpointError, match="does not match the note"):
        verify_checkpoint(note, impostor)


def test_a_bad_signature_by_the_key_fails_even_beside_a_good_one() -> None:
    signer, verifier = new_pair()
    note = signed_checkpoint(signer)
    good_line = note.split("\n\n")[1]
    prefix, encoded = good_line.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    raw[10] ^= 0x80
    bad_line = f"{prefix} {b64(bytes(raw))}\n"
    with pytest.raises(CheckpointError, match="does not match the note"):
        verify_checkpoint(note + bad_line, verifier)


BODY = f"{ORIGIN}\n5\n{b64(ROOT)}\n"
URL_SAFE_ROOT = base64.urlsafe_b64encode(bytes([0xFF]) * 32).decode()

MALFORMED_BODIES = {
    "two lines": f"{ORIGIN}\n5\n",
    "empty origin": f"\n5\n{b64(ROOT)}\n",
    "leading zero": f"{ORIGIN}\n05\n{b64(ROOT)}\n",
    "double zero": f"{ORIGIN}\n00\n{b64(ROOT)}\n",
    "negative size": f"{ORIGIN}\n-5\n{b64(ROOT)}\n",
    "plus sign": f"{ORIGIN}\n+5\n{b64(ROOT)}\n",
    "space in size": f"{ORIGIN}\n 5\n{b64(ROOT)}\n",
    "hex size": f"{ORIGIN}\n0x5\n{b64(ROOT)}\n",
    "underscore size": f"{ORIGIN}\n1_000\n{b64(ROOT)}\n",
    "full-width digit": f"{ORIGIN}\n\uff15\n{b64(ROOT)}\n",
    "empty size": f"{ORIGIN}\n\n{b64(ROOT)}\n",
    "size too large": f"{ORIGIN}\n{2**64}\n{b64(ROOT)}\n",
    "very long size": f"{ORIGIN}\n{'9' * 5000}\n{b64(ROOT)}\n",
    "short root": f"{ORIGIN}\n5\n{b64(ROOT[:31])}\n",
    "long root": f"{ORIGIN}\n5\n{b64(ROOT + bytes(1))}\n",
    "hex root": f"{ORIGIN}\n5\n{ROOT.hex()}\n",
    "unpadded root": f"{ORIGIN}\n5\n{b64(ROOT).rstrip('=')}\n",
    "url-safe root": f"{ORIGIN}\n5\n{URL_SAFE_ROOT}\n",
    "root with space": f"{ORIGIN}\n5\n {b64(ROOT)}\n",
    "empty extension": f"{ORIGIN}\n5\n{b64(ROOT)}\n\next\n",
    "trailing blank line": f"{ORIGIN}\n5\n{b64(ROOT)}\n\n",
}


@pytest.mark.parametrize("body", list(MALFORMED_BODIES.values()), ids=list(MALFORMED_BODIES))
def test_malformed_checkpoint_bodies_fail_even_when_signed(body: str) -> None:
    signer, verifier = new_pair()
    note = sign_note(body, signer)
    with pytest.raises(CheckpointError):
        verify_checkpoint(note, verifier)
    with pytest.raises(CheckpointError):
        parse_checkpoint_unverified(note)
    with pytest.raises(CheckpointError):
        parse_checkpoint_body(body)


def test_non_canonical_root_base64_fails() -> None:
    encoded = b64(ROOT)
    # The last character before '=' carries two unused bits; setting one keeps the
    # decoded bytes but makes the text non-canonical.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(encoded[-2])
    odd = encoded[:-2] + alphabet[last ^ 1] + "="
    assert base64.b64decode(odd) == ROOT
    with pytest.raises(CheckpointError, match="root"):
        parse_checkpoint_body(f"{ORIGIN}\n5\n{odd}\n")


def test_size_zero_and_maximum_parse() -> None:
    assert parse_checkpoint_body(f"{ORIGIN}\n0\n{b64(ROOT)}\n").size == 0
    assert parse_checkpoint_body(f"{ORIGIN}\n{2**64 - 1}\n{b64(ROOT)}\n").size == 2**64 - 1


def _malformed_notes() -> dict[str, str]:
    signer = parse_signer(fixed_signer_text(ORIGIN))
    note = sign_note(BODY, signer)
    signature_line = note[len(BODY) + 1 :]
    name_and_sig = signature_line[2:]
    encoded = signature_line.rstrip("\n").rsplit(" ", 1)[1]
    return {
        "no blank line": BODY + signature_line,
        "no signatures": BODY + "\n",
        "body only": BODY,
        "no final newline": note.rstrip("\n"),
        "hyphen instead of em dash": BODY + "\n- " + name_and_sig,
        "en dash": BODY + "\n\u2013 " + name_and_sig,
        "em dash without space": BODY + "\n" + EM_DASH + name_and_sig,
        "two spaces": BODY + "\n" + EM_DASH + "  " + name_and_sig,
        "missing signature": BODY + f"\n{EM_DASH} {ORIGIN}\n",
        "missing signature after space": BODY + f"\n{EM_DASH} {ORIGIN} \n",
        "bad signature base64": BODY + f"\n{EM_DASH} {ORIGIN} ***\n",
        "signature too short": BODY + f"\n{EM_DASH} {ORIGIN} {b64(b'abcd')}\n",
        "trailing space": note.rstrip("\n") + " \n",
        "carriage returns": note.replace("\n", "\r\n"),
        "tab in body": note.replace(ORIGIN, ORIGIN + "\t", 1),
        "blank line after signatures": note + "\n",
        "text after signatures": note + "trailing words\n",
        "too many signatures": BODY
        + "\n"
        + f"{EM_DASH} example.org/other {encoded}\n" * 101
        + signature_line,
        "lone surrogate": note.replace(ORIGIN, ORIGIN + "\udc80", 1),
    }


MALFORMED_NOTES = _malformed_notes()


@pytest.mark.parametrize("note", list(MALFORMED_NOTES.values()), ids=list(MALFORMED_NOTES))
def test_malformed_notes_fail(note: str) -> None:
    verifier = parse_signer(fixed_signer_text(ORIGIN)).verifier()
    with pytest.raises(CheckpointError):
        verify_checkpoint(note, verifier)
    with pytest.raises(CheckpointError):
        parse_checkpoint_unverified(note)


def test_sign_note_rejects_bad_text() -> None:
    signer, _ = new_pair()
    for body in ("", "no newline", "tab\there\n", "cr\r\n"):
        with pytest.raises(CheckpointError):
            sign_note(body, signer)


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions"),
    [
        ("", 1, ROOT, ()),
        ("two\nlines", 1, ROOT, ()),
        ("tab\there", 1, ROOT, ()),
        (ORIGIN, -1, ROOT, ()),
        (ORIGIN, 2**64, ROOT, ()),
        (ORIGIN, True, ROOT, ()),
        (ORIGIN, 1, ROOT[:31], ()),
        (ORIGIN, 1, ROOT.hex(), ()),
        (ORIGIN, 1, ROOT, ("",)),
        (ORIGIN, 1, ROOT, ("two\nlines",)),
    ],
)
def test_checkpoint_rejects_bad_fields(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint(origin, size, root, extensions)


def test_errors_are_value_errors_with_a_sentence() -> None:
    assert issubclass(CheckpointError, ValueError)
    _, verifier = new_pair()
    with pytest.raises(CheckpointError) as caught:
        verify_checkpoint(BODY + "\n", verifier)
    message = str(caught.value)
    assert message[0].isupper()
    assert message.endswith(".")
