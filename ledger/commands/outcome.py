"""What a write did, as one JSON document (specs/web.md, `POST /api/v1/commands`; the
command line's `--json` on writes prints the same): the command's id, whether it was
applied now, and the events it recorded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.base import Recorded
from projections.history import event_type


def command_outcome(command_id: str, events: Sequence[Recorded] | None) -> dict[str, Any]:
    """events None: the id was applied before to the same command, and nothing was
    done again: `{"id", "applied": false}`. Else `{"id", "applied": true, "events":
    [{"type", "originator", "version"}]}`, each event's stored type name (such as
    Household.AgreementSigned), the id of the record it belongs to, and its version."""
    if events is None:
        return {"id": command_id, "applied": False}
    return {
        "id": command_id,
        "applied": True,
        "events": [
            {
                "type": event_type(event),
                "originator": str(event.originator_id),
                "version": event.originator_version,
            }
            for event in events
        ],
    }
