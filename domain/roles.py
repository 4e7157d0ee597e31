"""Who may do what (DOMAIN.md, roles), and the check that enforces it."""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import PermissionDenied

ROLES = ("admin", "clerk", "appraiser", "supervisor", "hotline", "finance")
# What people call each role, in Chinese and in English (the pages, the sentences).
ROLE_NAMES: dict[str, tuple[str, str]] = {
    "admin": ("管理员", "administrator"),
    "clerk": ("工作组经办人", "group clerk"),
    "appraiser": ("评估师", "appraiser"),
    "supervisor": ("纪检监督", "supervisor"),
    "hotline": ("监督热线", "hotline officer"),
    "finance": ("财务", "finance officer"),
}
BUILTIN_ADMIN = "admin"
# Who sees a complaint's caller (name and telephone) in full; everyone else, masked.
SEES_CALLERS = ("admin", "hotline", "supervisor")


@dataclass(frozen=True)
class Permission:
    """An action as a refusal names it ("record a survey"), the roles that may take
    it, and whether a clerk may take it only for the households of their own group.
    Each command declares the one it needs (ledger/commands/); the rules of the
    check are here."""

    action: str
    roles: tuple[str, ...]
    own_group: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.roles) - set(ROLES)
        if not self.roles or unknown:
            raise ValueError(f"{self.action}: roles must be some of {', '.join(ROLES)}")
        if self.own_group and "clerk" not in self.roles:
            raise ValueError(f"{self.action}: only a clerk is bound to their own group")


# The domain's own: the supervisor named as approving a deviation must be one
# (Household.sign_agreement), as must whoever records the approval.
APPROVE_DEVIATION = Permission("approve a deviation", ("supervisor",))


@dataclass(frozen=True)
class Actor:
    """A staff member as the rules see them when they act."""

    staff: str
    role: str
    group: str | None

    def check_may(self, permission: Permission, household_group: str | None = None) -> None:
        """household_group: the group of the household acted for, where there is one."""
        if self.role not in permission.roles:
            who = " or ".join(sorted(permission.roles))
            raise PermissionDenied(
                f"{self.staff} is {self.role} staff and may not {permission.action}; "
                f"only {who} staff may."
            )
        if permission.own_group and self.role == "clerk" and self.group != household_group:
            assert household_group is not None, f"{permission.action} names a household"
            raise PermissionDenied(
                f"{self.staff} is a clerk of {self.group} and may not {permission.action} "
                f"for a household of {household_group}; a clerk of {household_group} must."
            )


BUILTIN_ADMIN_ACTOR = Actor(staff=BUILTIN_ADMIN, role="admin", group=None)
