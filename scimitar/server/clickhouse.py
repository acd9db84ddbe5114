"""The `clickhouse` profile: groups map to roles, members follow `active`, emails are lowercase.

Modelled on ClickHouse Cloud's SCIM guide (https://clickhouse.com/docs/cloud/security/scim-setup):
- "SCIM groups bind to ClickHouse Cloud roles by name": a group whose displayName equals a custom
  role's SCIM-group field, or else a custom role's name, links to that role.
- "You can't map a SCIM group to a predefined system role."
- "Unmapped groups create new roles" — or, with strict mapping, the push fails with
  "displayName not recognised" (the guide's troubleshooting section).
- Users in no mapped group get the Default role.
- Deactivation (`active: false`) or DELETE removes the member from the organisation; the SCIM
  User resource survives deactivation (GET shows `active: false`, so Okta can reactivate it), and
  sign-in is refused while the user is not a member.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from scimitar.server.errors import ScimError
from scimitar.server.store import Store

SYSTEM_ROLES = ("Organization Admin", "Member")


@dataclass
class Role:
    name: str
    system: bool = False
    scim_group: str | None = None

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "system": self.system, "scimGroup": self.scim_group}


class Organization:
    """Roles, the group-to-role links, and the members view the admin API exposes."""

    def __init__(
        self,
        store: Store,
        *,
        default_role: str = "Member",
        strict: bool = False,
        role_fixed_at_creation: bool = False,
        inactive_are_members: bool = False,
    ) -> None:
        self.store = store
        self.default_role = default_role
        self.strict = strict
        self.role_fixed_at_creation = role_fixed_at_creation
        self.inactive_are_members = inactive_are_members
        self._lock = threading.Lock()
        self.roles: dict[str, Role] = {n: Role(n, system=True) for n in SYSTEM_ROLES}
        for role in (
            Role("Admin", scim_group="ClickHouse-Admins"),
            Role("Read-only", scim_group="ClickHouse-Read-only"),
            Role("Developer"),
        ):
            self.roles[role.name] = role
        self.group_role: dict[str, str] = {}  # group id -> role name
        self._created_for: dict[str, str] = {}  # role name -> the group whose push created it
        self._fixed: dict[str, list[str]] = {}  # user id -> roles (quirk: role fixed at creation)

    def add_role(self, name: str, scim_group: str | None = None) -> Role:
        with self._lock:
            if name in self.roles and self.roles[name].system:
                raise ValueError(f"{name!r} is a system role")
            role = Role(name, scim_group=scim_group)
            self.roles[name] = role
            return role

    def role_for_group_name(self, display_name: str) -> Role | None:
        for role in self.roles.values():
            if not role.system and role.scim_group == display_name:
                return role
        named = self.roles.get(display_name)
        if named is not None and not named.system:
            return named
        return None

    def link_group(self, group_id: str, display_name: str) -> None:
        """Link a pushed group to its role, creating one or refusing as the settings say."""
        with self._lock:
            role = self.role_for_group_name(display_name)
            if role is None:
                if display_name in self.roles:  # a system role's name
                    raise ScimError(
                        400,
                        f"displayName {display_name!r} names a system role; SCIM groups can only "
                        "map to custom roles",
                        "invalidValue",
                    )
                if self.strict:
                    raise ScimError(
                        400,
                        f"displayName {display_name!r} not recognised: no role is mapped to this "
                        "SCIM group (add a mapping under Users and roles)",
                        "invalidValue",
                    )
                role = Role(display_name, scim_group=display_name)
                self.roles[display_name] = role
                self._created_for[role.name] = group_id
            self.group_role[group_id] = role.name

    def check_group_name(self, display_name: str) -> None:
        """Raise the error `link_group` would, without linking (validation before storing)."""
        if self.role_for_group_name(display_name) is not None:
            return
        if display_name in self.roles:
            raise ScimError(
                400,
                f"displayName {display_name!r} names a system role; SCIM groups can only map to custom roles",
                "invalidValue",
            )
        if self.strict:
            raise ScimError(
                400,
                f"displayName {display_name!r} not recognised: no role is mapped to "
                "this SCIM group (add a mapping under Users and roles)",
                "invalidValue",
            )

    def unlink_group(self, group_id: str) -> None:
        self.group_role.pop(group_id, None)

    def undo_group(self, group_id: str) -> None:
        """Take back everything pushing `group_id` did, for a create that is rolled back (a Bulk
        cycle that could not be completed): its link, and the roles its push created that no
        other group links to. A failed request leaves no role behind."""
        with self._lock:
            self.group_role.pop(group_id, None)
            linked = set(self.group_role.values())
            for name, creator in list(self._created_for.items()):
                if creator == group_id:
                    del self._created_for[name]
                    if name not in linked:
                        self.roles.pop(name, None)

    def undo_user(self, user_id: str) -> None:
        """Take back what creating `user_id` recorded (the role-fixed-at-creation quirk's roles)."""
        self._fixed.pop(user_id, None)

    def roles_of(self, user_id: str) -> list[str]:
        if self.role_fixed_at_creation and user_id in self._fixed:
            return self._fixed[user_id]
        names = sorted(
            {self.group_role[g] for g in self.store.groups_of.get(user_id, ()) if g in self.group_role}
        )
        return names or [self.default_role]

    def user_created(self, user_id: str) -> None:
        if self.role_fixed_at_creation:
            self._fixed[user_id] = self.roles_of(user_id)

    def is_member(self, user: dict[str, Any]) -> bool:
        return bool(user.get("active", True)) or self.inactive_are_members

    def members(self) -> list[dict[str, Any]]:
        out = []
        for user in self.store.all("User"):
            if not self.is_member(user):
                continue
            emails = user.get("emails") or []
            primary = next((e for e in emails if e.get("primary")), emails[0] if emails else {})
            out.append(
                {
                    "id": user["id"],
                    "userName": user.get("userName"),
                    "email": primary.get("value"),
                    "name": user.get("name", {}),
                    "displayName": user.get("displayName"),
                    "roles": self.roles_of(user["id"]),
                }
            )
        return out

    def can_sign_in(self, user_name: str) -> bool:
        for user in self.store.lookup("User", "userName", user_name) or []:
            if user.get("userName", "").casefold() == user_name.casefold():
                return self.is_member(user)
        return False
