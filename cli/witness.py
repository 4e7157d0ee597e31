"""The witness commands: a witness's key, and the witness itself, an HTTP service that
cosigns a log's checkpoints once it has checked the log only grew (docs/integrity.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cli.options import BadInput, Refused, translate_errors
from ledger.checkpoint import CheckpointError, Verifier, parse_verifier
from ledger.cosignature import Cosigner, generate_cosigner_key, parse_cosigner

DEFAULT_PORT = 8100


def _sentence(error: Exception) -> str:
    text = str(error)
    return text[:1].lower() + text[1:]


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{path} does not exist; give the file that holds {what}.") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path} is not UTF-8 text, so it cannot be {what}.") from None
    except OSError as e:
        raise BadInput(f"{path} cannot be read ({e.strerror}); check the path.") from None


@click.group("witness")
def witness() -> None:
    """A witness (C2SP tlog-witness): cosigns a log's checkpoints after checking that
    the log only grew, so that a forked or rolled-back log is caught."""


@witness.group("key")
def key() -> None:
    """A witness's Ed25519 key, of the cosignature/v1 type (not a log's signing key)."""


@key.command("generate")
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="Where to write NAME.key and NAME.pub.",
)
@translate_errors
def generate(name: str, directory: Path) -> None:
    """Make a witness key pair: NAME.key, the private key (mode 0600), for the witness
    alone, and NAME.pub, the public key (cosignature/v1 vkey) that auditors check its
    cosignatures with."""
    from cli.integrity import write_key_pair

    if "/" in name or "\\" in name or name.startswith("."):
        raise BadInput(
            f"the key name {name!r} is also a file name, so it cannot contain '/' or '\\' "
            "or start with '.'; choose a name such as audit-bureau.example.gov.cn."
        )
    try:
        signer_text, verifier_text = generate_cosigner_key(name)
    except CheckpointError as e:
        raise BadInput(_sentence(e)) from None
    private, public = write_key_pair(directory, name, signer_text, verifier_text)
    click.echo(
        f"wrote {private} (the witness's private key: keep it secret) and {public} "
        "(its public key, for auditors):"
    )
    click.echo(verifier_text)


def _cosigner(path: Path) -> Cosigner:
    try:
        return parse_cosigner(_read_text(path, "a witness's private key"))
    except CheckpointError as e:
        raise BadInput(f"{path}: {_sentence(e)}") from None


def _logs(options: tuple[str, ...]) -> dict[str, list[Verifier]]:
    logs: dict[str, list[Verifier]] = {}
    for option in options:
        origin, equals, file = option.partition("=")
        if not equals or not origin or not file:
            raise BadInput(
                f"--log {option!r} is not ORIGIN=VKEYFILE; give the log's origin (the first "
                "line of its checkpoints) and its public key file, such as "
                "--log oneruler/xingcheng=xingcheng-office.pub."
            )
        try:
            verifier = parse_verifier(_read_text(Path(file), "a log's public key"))
        except CheckpointError as e:
            raise BadInput(f"{file}: {_sentence(e)}") from None
        keys = logs.setdefault(origin, [])
        if verifier not in keys:
            keys.append(verifier)
    return logs


@witness.command("serve")
@click.option(
    "--state",
    "state_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder where the witness keeps the last checkpoint it cosigned of each log "
    "(it must exist; keep it, and back it up).",
)
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The witness's private key, NAME.key from 'oneruler witness key generate'.",
)
@click.option(
    "--log",
    "log_options",
    required=True,
    multiple=True,
    metavar="ORIGIN=VKEYFILE",
    help="A log to witness: its origin and its public key file. Repeat for more logs, "
    "or for more keys of one log.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="The port to listen on (0: any free port, printed at start).",
)
@translate_errors
def serve(
    state_dir: Path, key_file: Path, log_options: tuple[str, ...], host: str, port: int
) -> None:
    """Serve C2SP tlog-witness: POST /add-checkpoint cosigns a checkpoint of a known log
    that extends the last one cosigned, and GET /<origin hash>/checkpoint shows that."""
    from witness.protocol import Witness
    from witness.server import bind
    from witness.server import serve as serve_http
    from witness.state import StateError, WitnessState

    cosigner = _cosigner(key_file)
    logs = _logs(log_options)
    try:
        state = WitnessState(state_dir)
    except StateError as e:
        raise BadInput(str(e)) from None
    try:
        sock = bind(host, port)
    except OSError as e:
        raise Refused(
            f"cannot listen on {host}:{port} ({e.strerror or e}); give another --host or "
            "--port, or stop what holds it."
        ) from None
    address, bound = sock.getsockname()[:2]
    shown = f"[{address}]" if ":" in address else address
    click.echo(
        f"witness {cosigner.verifier().label} listening on http://{shown}:{bound} "
        f"for {', '.join(sorted(logs))}"
    )
    sys.stdout.flush()
    serve_http(Witness(cosigner, logs, state), sock)
