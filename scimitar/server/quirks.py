"""Named deviations the reference server can switch on, each reproducing one well-known server bug.

Support turns one on to reproduce a customer's endpoint locally; the honesty tests turn each on to
prove that the conformance check that guards against it really fails. Every quirk names the RFC
section it breaks. Code tests for a quirk with `Quirk.X in config.quirks`, so each deviation is a
one-line, greppable branch next to the correct behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Quirk(StrEnum):
    # Errors (RFC 7644 §3.12)
    ERROR_STATUS_NUMBER = "error-status-number"
    ERROR_NO_SCHEMAS = "error-no-schemas"
    ERROR_NO_SCIMTYPE = "error-no-scimtype"
    # Resources and create (RFC 7643 §3, RFC 7644 §3.3)
    RESOURCE_NO_SCHEMAS = "resource-no-schemas"
    CREATE_200 = "create-200"
    CREATE_NO_LOCATION = "create-no-location"
    META_MISSING = "meta-missing"
    VERSION_UNCHANGED = "version-unchanged"
    CREATE_EMPTY_BODY = "create-empty-body"
    # Reads and deletes (RFC 7644 §3.4.1, §3.6)
    DELETE_200 = "delete-200"
    DELETED_STILL_READABLE = "deleted-still-readable"
    NOT_FOUND_200 = "not-found-200"
    # Listing (RFC 7644 §3.4.2)
    STARTINDEX_IGNORED = "startindex-ignored"
    TOTAL_RESULTS_PAGE_LENGTH = "total-results-page-length"
    COUNT_ZERO_IGNORED = "count-zero-ignored"
    FILTER_EMPTY_404 = "filter-empty-404"
    FILTER_IGNORED = "filter-ignored"
    FILTER_CASE_SENSITIVE = "filter-case-sensitive"
    FILTER_NO_COMPLEX = "filter-no-complex"
    FILTER_STRING_DATES = "filter-string-dates"
    UNKNOWN_FILTER_ATTR_500 = "unknown-filter-attr-500"
    SORT_IGNORED = "sort-ignored"
    ATTRIBUTES_IGNORED = "attributes-ignored"
    EXCLUDED_ATTRIBUTES_IGNORED = "excluded-attributes-ignored"
    PASSWORD_RETURNED = "password-returned"
    SEARCH_POST_UNSUPPORTED = "search-post-unsupported"
    # Uniqueness (RFC 7643 §4.1.1, RFC 7644 §3.3)
    USERNAME_CASE_SENSITIVE = "username-case-sensitive"
    DUPLICATE_USERNAME = "duplicate-username"
    # Replace (RFC 7644 §3.5.1)
    PUT_MERGES = "put-merges"
    READONLY_WRITABLE = "readonly-writable"
    IMMUTABLE_WRITABLE = "immutable-writable"
    # Patch (RFC 7644 §3.5.2)
    PATCH_OPS_LOWERCASE_ONLY = "patch-ops-lowercase-only"
    PATCH_REMOVE_IGNORED = "patch-remove-ignored"
    PATCH_ACTIVE_IGNORED = "patch-active-ignored"
    PATCH_NO_VALUE_FILTER = "patch-no-value-filter"
    PATCH_STRING_BOOL_REJECTED = "patch-string-bool-rejected"
    PATCH_NO_TARGET_IGNORED = "patch-no-target-ignored"
    PATCH_ADD_REPLACES_MEMBERS = "patch-add-replaces-members"
    # Groups (RFC 7643 §4.1.2, §4.2)
    USER_GROUPS_MISSING = "user-groups-missing"
    DELETE_KEEPS_MEMBERSHIP = "delete-keeps-membership"
    # ETags (RFC 7644 §3.14)
    NO_ETAG = "no-etag"
    IF_MATCH_IGNORED = "if-match-ignored"
    IF_NONE_MATCH_IGNORED = "if-none-match-ignored"
    # Bulk (RFC 7644 §3.7)
    BULK_ID_UNRESOLVED = "bulk-id-unresolved"
    BULK_LIMITS_IGNORED = "bulk-limits-ignored"
    # Protocol (RFC 7644 §3.1, §3.8, §2)
    CONTENT_TYPE_JSON = "content-type-json"
    REJECT_SCIM_CONTENT_TYPE = "reject-scim-content-type"
    AUTH_NOT_ENFORCED = "auth-not-enforced"
    AUTH_ANY_TOKEN = "auth-any-token"
    NO_WWW_AUTHENTICATE = "no-www-authenticate"
    # Discovery (RFC 7643 §5-7)
    SCHEMAS_INCOMPLETE = "schemas-incomplete"
    SPC_NO_AUTH_SCHEMES = "spc-no-auth-schemes"
    # Operational (Okta's operating rules)
    SLOW = "slow"
    THROTTLE_429 = "throttle-429"
    FLAKY_503 = "flaky-503"
    # ClickHouse profile
    EMAIL_CASE_KEPT = "email-case-kept"
    DEACTIVATE_KEEPS_MEMBER = "deactivate-keeps-member"
    ROLE_NOT_UPDATED = "role-not-updated"
    REVOKED_TOKEN_ACCEPTED = "revoked-token-accepted"


@dataclass(frozen=True)
class QuirkInfo:
    section: str
    description: str


QUIRKS: dict[Quirk, QuirkInfo] = {
    Quirk.ERROR_STATUS_NUMBER: QuirkInfo("RFC 7644 §3.12", "Error `status` is a JSON number, not a string."),
    Quirk.ERROR_NO_SCHEMAS: QuirkInfo("RFC 7644 §3.12", "Error bodies lack the Error `schemas` URI."),
    Quirk.ERROR_NO_SCIMTYPE: QuirkInfo("RFC 7644 §3.12", "400 errors carry no `scimType`."),
    Quirk.RESOURCE_NO_SCHEMAS: QuirkInfo("RFC 7643 §3", "Resources are returned without `schemas`."),
    Quirk.CREATE_200: QuirkInfo("RFC 7644 §3.3", "Create answers 200 instead of 201."),
    Quirk.CREATE_NO_LOCATION: QuirkInfo("RFC 7644 §3.3", "Create answers without a `Location` header."),
    Quirk.META_MISSING: QuirkInfo("RFC 7643 §3.1", "Resources are returned without `meta`."),
    Quirk.VERSION_UNCHANGED: QuirkInfo(
        "RFC 7644 §3.14", "`meta.version` and `lastModified` do not change on update."
    ),
    Quirk.CREATE_EMPTY_BODY: QuirkInfo("RFC 7644 §3.3", "Create answers 201 with an empty body."),
    Quirk.DELETE_200: QuirkInfo("RFC 7644 §3.6", "DELETE answers 200 with a body instead of 204."),
    Quirk.DELETED_STILL_READABLE: QuirkInfo("RFC 7644 §3.6", "A deleted resource can still be read."),
    Quirk.NOT_FOUND_200: QuirkInfo("RFC 7644 §3.12", "An unknown id answers 200 with an empty object."),
    Quirk.STARTINDEX_IGNORED: QuirkInfo(
        "RFC 7644 §3.4.2.4", "`startIndex` is ignored: every page is page 1."
    ),
    Quirk.TOTAL_RESULTS_PAGE_LENGTH: QuirkInfo(
        "RFC 7644 §3.4.2.4", "`totalResults` is the page length, not the number of matches."
    ),
    Quirk.COUNT_ZERO_IGNORED: QuirkInfo("RFC 7644 §3.4.2.4", "`count=0` returns resources."),
    Quirk.FILTER_EMPTY_404: QuirkInfo("RFC 7644 §3.4.2", "A filter matching nothing answers 404."),
    Quirk.FILTER_IGNORED: QuirkInfo("RFC 7644 §3.4.2.2", "`filter` is ignored: every resource is returned."),
    Quirk.FILTER_CASE_SENSITIVE: QuirkInfo(
        "RFC 7644 §3.4.2.2", "Filters compare every string case-sensitively, ignoring `caseExact`."
    ),
    Quirk.FILTER_NO_COMPLEX: QuirkInfo(
        "RFC 7644 §3.4.2.2", 'Complex attribute filters (`emails[type eq "work"]`) are rejected.'
    ),
    Quirk.FILTER_STRING_DATES: QuirkInfo(
        "RFC 7644 §3.4.2.2", "dateTime attributes compare as strings, not as instants."
    ),
    Quirk.UNKNOWN_FILTER_ATTR_500: QuirkInfo(
        "RFC 7644 §3.4.2.2", "Invalid filters answer 500 instead of 400 `invalidFilter`."
    ),
    Quirk.SORT_IGNORED: QuirkInfo("RFC 7644 §3.4.2.3", "`sortBy`/`sortOrder` are ignored."),
    Quirk.ATTRIBUTES_IGNORED: QuirkInfo("RFC 7644 §3.4.2.5", "`attributes` is ignored."),
    Quirk.EXCLUDED_ATTRIBUTES_IGNORED: QuirkInfo("RFC 7644 §3.4.2.5", "`excludedAttributes` is ignored."),
    Quirk.PASSWORD_RETURNED: QuirkInfo("RFC 7643 §4.1.1", "`password` (returned: never) is returned."),
    Quirk.SEARCH_POST_UNSUPPORTED: QuirkInfo("RFC 7644 §3.4.3", "POST `/.search` answers 404."),
    Quirk.USERNAME_CASE_SENSITIVE: QuirkInfo(
        "RFC 7643 §4.1.1", "`userName` is matched and kept unique case-sensitively."
    ),
    Quirk.DUPLICATE_USERNAME: QuirkInfo("RFC 7644 §3.3", "A duplicate `userName` is accepted."),
    Quirk.PUT_MERGES: QuirkInfo("RFC 7644 §3.5.1", "PUT merges into the resource instead of replacing it."),
    Quirk.READONLY_WRITABLE: QuirkInfo(
        "RFC 7644 §3.5.1", "readOnly attributes (`id`, `meta`) sent by the client are stored."
    ),
    Quirk.IMMUTABLE_WRITABLE: QuirkInfo("RFC 7644 §3.5.1", "An immutable attribute can be changed."),
    Quirk.PATCH_OPS_LOWERCASE_ONLY: QuirkInfo(
        "RFC 7644 §3.5.2", "PATCH `op` values are matched case-sensitively (Entra's `Replace` fails)."
    ),
    Quirk.PATCH_REMOVE_IGNORED: QuirkInfo(
        "RFC 7644 §3.5.2.2", "PATCH `remove` answers success and does nothing."
    ),
    Quirk.PATCH_ACTIVE_IGNORED: QuirkInfo(
        "RFC 7644 §3.5.2.3", "A pathless PATCH replace of `active` (Okta's deactivate) is ignored."
    ),
    Quirk.PATCH_NO_VALUE_FILTER: QuirkInfo(
        "RFC 7644 §3.5.2", "PATCH paths with a value filter (`members[value eq ...]`) answer 400."
    ),
    Quirk.PATCH_STRING_BOOL_REJECTED: QuirkInfo(
        "RFC 7644 §3.5.2", 'String booleans (`"False"`, as Entra sends them) answer 400.'
    ),
    Quirk.PATCH_NO_TARGET_IGNORED: QuirkInfo(
        "RFC 7644 §3.5.2.2", "A remove whose filter matches nothing answers success instead of `noTarget`."
    ),
    Quirk.PATCH_ADD_REPLACES_MEMBERS: QuirkInfo(
        "RFC 7644 §3.5.2.1", "PATCH `add` on `members` replaces the list instead of adding to it."
    ),
    Quirk.USER_GROUPS_MISSING: QuirkInfo("RFC 7643 §4.1.2", "`User.groups` is never populated."),
    Quirk.DELETE_KEEPS_MEMBERSHIP: QuirkInfo(
        "RFC 7643 §4.2", "Deleting a user leaves it in its groups' `members`."
    ),
    Quirk.NO_ETAG: QuirkInfo("RFC 7644 §3.14", "No `ETag` header though etag is advertised."),
    Quirk.IF_MATCH_IGNORED: QuirkInfo("RFC 7644 §3.14", "A stale `If-Match` is ignored instead of 412."),
    Quirk.IF_NONE_MATCH_IGNORED: QuirkInfo(
        "RFC 7644 §3.14", "A matching `If-None-Match` answers 200 instead of 304."
    ),
    Quirk.BULK_ID_UNRESOLVED: QuirkInfo("RFC 7644 §3.7.2", "`bulkId:` references are stored verbatim."),
    Quirk.BULK_LIMITS_IGNORED: QuirkInfo("RFC 7644 §3.7.4", "Bulk `maxOperations` is not enforced."),
    Quirk.CONTENT_TYPE_JSON: QuirkInfo("RFC 7644 §3.1", "Responses are `application/json`, not SCIM's type."),
    Quirk.REJECT_SCIM_CONTENT_TYPE: QuirkInfo(
        "RFC 7644 §3.1", "Requests with `application/scim+json` are refused with 415."
    ),
    Quirk.AUTH_NOT_ENFORCED: QuirkInfo("RFC 7644 §2", "Requests without credentials are served."),
    Quirk.AUTH_ANY_TOKEN: QuirkInfo("RFC 7644 §2", "Any bearer token is accepted."),
    Quirk.NO_WWW_AUTHENTICATE: QuirkInfo("RFC 7235 §3.1", "401 answers carry no `WWW-Authenticate`."),
    Quirk.SCHEMAS_INCOMPLETE: QuirkInfo("RFC 7643 §7", "`/Schemas` omits the enterprise extension."),
    Quirk.SPC_NO_AUTH_SCHEMES: QuirkInfo(
        "RFC 7643 §5", "`/ServiceProviderConfig` lacks `authenticationSchemes`."
    ),
    Quirk.SLOW: QuirkInfo("Okta: 60 s timeout", "Every response is delayed (`latency_ms`, default 200)."),
    Quirk.THROTTLE_429: QuirkInfo("RFC 6585 §4", "Every 5th request answers 429 with `Retry-After: 1`."),
    Quirk.FLAKY_503: QuirkInfo("RFC 7231 §6.6.4", "Every 7th request answers 503."),
    Quirk.EMAIL_CASE_KEPT: QuirkInfo("ClickHouse profile", "Emails keep their case instead of lowercase."),
    Quirk.DEACTIVATE_KEEPS_MEMBER: QuirkInfo(
        "ClickHouse profile", "`active: false` leaves the user a member of the organisation."
    ),
    Quirk.ROLE_NOT_UPDATED: QuirkInfo(
        "ClickHouse profile", "A member's role is fixed at creation and ignores group moves."
    ),
    Quirk.REVOKED_TOKEN_ACCEPTED: QuirkInfo("ClickHouse profile", "A revoked credential still works."),
}


def parse_quirks(names: list[str] | tuple[str, ...]) -> frozenset[Quirk]:
    """Turn `--quirk` values into quirks, with a clear error naming the unknown one."""
    out = set()
    for name in names:
        try:
            out.add(Quirk(name))
        except ValueError:
            known = ", ".join(q.value for q in Quirk)
            raise ValueError(f"unknown quirk {name!r}; known quirks: {known}") from None
    return frozenset(out)
