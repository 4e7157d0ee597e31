"""Which pages each role's home page links to. A view module declares its pages as
Links (path, label key in web/i18n.py, the roles whose home lists it); the home page
of a role lists every link of that role, in the order the modules are listed in
web/views/__init__.py."""

from __future__ import annotations

from dataclasses import dataclass

from domain.roles import ROLES

# Every role with a login, including the appraiser, whose home lists what all staff see.
STAFF = ROLES


@dataclass(frozen=True)
class Link:
    path: str
    label: str
    roles: tuple[str, ...]

    def __post_init__(self) -> None:
        unknown = set(self.roles) - set(ROLES)
        assert not unknown, f"{self.path}: unknown roles {unknown}"


def for_role(links: list[Link], role: str) -> list[Link]:
    return [link for link in links if role in link.roles]
