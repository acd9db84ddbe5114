"""Realistic seed data for the reference server: `--seed-users N --seed-groups N --seed S`.

Generated with faker, deterministically from the seed, straight into the store (not through HTTP),
so a 100,000-user store for benchmarks takes seconds, not minutes.
"""

from __future__ import annotations

import gc
import random
import unicodedata
import uuid
from typing import Any

from faker import Faker

from scimitar.server.service import ScimService, now_iso


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum()) or "user"


def seed_store(service: ScimService, users: int, groups: int, seed: int = 0) -> None:
    fake = Faker(["en_US", "de_DE", "fr_FR", "es_ES"])
    fake.seed_instance(seed)
    rnd = random.Random(seed)
    ids: list[str] = []
    ts = now_iso()
    lowercase = service.config.clickhouse
    for n in range(users):
        first, last = fake.first_name(), fake.last_name()
        user_name = f"{_ascii(first)}.{_ascii(last)}.{n}@example.com"
        if not lowercase and n % 3 == 0:
            user_name = user_name.capitalize()
        rid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        service.store.put(
            "User",
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": rid,
                "externalId": f"ext-{n:07d}",
                "userName": user_name,
                "name": {"givenName": first, "familyName": last, "formatted": f"{first} {last}"},
                "displayName": f"{first} {last}",
                "emails": [{"value": user_name.lower(), "type": "work", "primary": True}],
                "active": rnd.random() > 0.05,
                "meta": {
                    "resourceType": "User",
                    "created": ts,
                    "lastModified": ts,
                    "version": service.store.next_version(),
                },
            },
        )
        ids.append(rid)
    for g in range(groups):
        name = f"{fake.job().split(',')[0][:40]} {g}"
        gid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        members = rnd.sample(ids, min(len(ids), rnd.randint(0, 20))) if ids else []
        group: dict[str, Any] = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": gid,
            "displayName": name,
            "meta": {
                "resourceType": "Group",
                "created": ts,
                "lastModified": ts,
                "version": service.store.next_version(),
            },
        }
        if members:
            group["members"] = [{"value": m, "type": "User"} for m in members]
        service.store.put("Group", group)
        if service.config.clickhouse:
            service.org.link_group(gid, name)
    if users + groups >= 10_000:
        # A large seeded store is long-lived: moving it out of the collector's view keeps full
        # collections (triggered by new resources) from walking 100k dicts on every POST.
        gc.collect()
        gc.freeze()
