"""Who may do what (DOMAIN.md, roles), and the check that enforces it."""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import PermissionDenied

ROLES = ("admin", "clerk", "appraiser", "supervisor", "hotline", "finance")
BUILTIN_ADMIN = "admin"

# action -> (roles allowed, whether a clerk is limited to households of their group)
_ALLOWED: dict[str, frozenset[str]] = {
    "publish a policy": frozenset({"admin"}),
    "enroll staff": frozenset({"admin"}),
    "create a group": frozenset({"admin"}),
    "register a household": frozenset({"admin"}),
    "record a survey": frozenset({"clerk"}),
    "record a valuation": frozenset({"appraiser"}),
    "record an agreement": frozenset({"clerk"}),
    "approve a deviation": frozenset({"supervisor"}),
    "void an agreement": frozenset({"supervisor"}),
    "attach a document": frozenset({"clerk"}),
    "record vacating": frozenset({"clerk"}),
    "request a payout": frozenset({"clerk"}),
    "confirm a payout": frozenset({"finance"}),
    "file a complaint": frozenset({"hotline"}),
    "add to a complaint": frozenset({"hotline"}),
    "acknowledge a complaint": frozenset({"hotline", "supervisor"}),
    "resolve a complaint": frozenset({"supervisor"}),
    "reopen a complaint": frozenset({"hotline", "supervisor"}),
}
ACTIONS = tuple(_ALLOWED)


def roles_allowed(action: str) -> frozenset[str]:
    return _ALLOWED[action]


@dataclass(frozen=True)
class Actor:
    """A staff member as the rules see them when they act."""

    staff: str
    role: str
    group: str | None

    def check_may(self, action: str, household_group: str | None = None) -> None:
        allowed = _ALLOWED[action]
        if self.role not in allowed:
            who = " or ".join(sorted(allowed))
            raise PermissionDenied(
                f"{self.staff} is {self.role} staff and may not {action}; only {who} staff may."
            )
        if self.role == "clerk" and household_group is not None and self.group != household_group:
            raise PermissionDenied(
                f"{self.staff} is a clerk of {self.group} and may not {action} for a household "
                f"of {household_group}; a clerk of {household_group} must."
            )


BUILTIN_ADMIN_ACTOR = Actor(staff=BUILTIN_ADMIN, role="admin", group=None)
