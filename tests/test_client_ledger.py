"""Every resource a POST creates reaches the run's ledger, even when the check expected a refusal."""

from __future__ import annotations

from scimitar.exchange import Recorder
from scimitar.run import Ledger
from scimitar.target import Target, TargetOptions


def test_posts_that_create_are_recorded_and_others_are_not() -> None:
    target = Target(TargetOptions())
    client = target.client(target.masker(), Recorder())
    ledger = Ledger()
    client.ledger = ledger
    user = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ledger-a@example.com"}
    created = client.post("/Users", json=user)
    refused = client.post("/Users", json=user)  # duplicate: 409, nothing created
    group = client.with_recorder(Recorder()).post(
        "/Groups", json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "ledger-g"}
    )
    search = client.post(
        "/Users/.search", json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}
    )
    assert (created.status, refused.status, group.status, search.status) == (201, 409, 201, 200)
    assert ledger.paths == [f"/Users/{created.json()['id']}", f"/Groups/{group.json()['id']}"]
    target.close()
