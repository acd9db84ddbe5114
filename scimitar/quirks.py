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
    SCIMTYPE_UNKNOWN = "scimtype-unknown"
    BAD_JSON_500 = "bad-json-500"
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
    FILTER_IGNORES_CASE_EXACT = "filter-ignores-case-exact"
    FILTER_BOOLEAN_NE_AS_EQ = "filter-boolean-ne-as-eq"
    FILTER_GROUPS_NOT_COMPUTED = "filter-groups-not-computed"
    PROJECTION_DROPS_SCHEMAS = "projection-drops-schemas"
    COUNT_IGNORED = "count-ignored"
    ITEMS_PER_PAGE_COUNT = "items-per-page-count"
    PAGING_NOT_CLAMPED = "paging-not-clamped"
    SORT_ORDER_IGNORED = "sort-order-ignored"
    SORT_CASE_SENSITIVE = "sort-case-sensitive"
    SORT_FIRST_VALUE = "sort-first-value"
    EXCLUDED_DROPS_ALWAYS = "excluded-drops-always"
    ATTRIBUTES_WRITE_IGNORED = "attributes-write-ignored"
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
    PATCH_REPLACE_MULTI_MERGES = "patch-replace-multi-merges"
    PATCH_REMOVE_FILTERED_SUB_IGNORED = "patch-remove-filtered-sub-ignored"
    PATCH_IGNORED = "patch-ignored"
    PATCH_PATHLESS_REJECTED = "patch-pathless-rejected"
    PATCH_URN_PATH_REJECTED = "patch-urn-path-rejected"
    PATCH_COMPLEX_REPLACE_DROPS = "patch-complex-replace-drops"
    PATCH_PRIMARY_NOT_CLEARED = "patch-primary-not-cleared"
    PATCH_RESPONSE_STALE = "patch-response-stale"
    PATCH_REPLACE_NO_TARGET_ADDS = "patch-replace-no-target-adds"
    PATCH_UNKNOWN_PATH_IGNORED = "patch-unknown-path-ignored"
    PATCH_NOT_ATOMIC = "patch-not-atomic"
    PATCH_ECHOED_ID_REJECTED = "patch-echoed-id-rejected"
    PATCH_REMOVE_VALUE_IGNORED = "patch-remove-value-ignored"
    PATCH_NOOP_TOUCHES = "patch-noop-touches"
    # Groups (RFC 7643 §4.1.2, §4.2)
    USER_GROUPS_MISSING = "user-groups-missing"
    DELETE_KEEPS_MEMBERSHIP = "delete-keeps-membership"
    # ETags (RFC 7644 §3.14)
    NO_ETAG = "no-etag"
    IF_MATCH_IGNORED = "if-match-ignored"
    IF_NONE_MATCH_IGNORED = "if-none-match-ignored"
    IF_MATCH_STRONG_ONLY = "if-match-strong-only"
    IF_MATCH_STAR_REJECTED = "if-match-star-rejected"
    IF_NONE_MATCH_STAR_IGNORED = "if-none-match-star-ignored"
    # Bulk (RFC 7644 §3.7)
    BULK_ID_UNRESOLVED = "bulk-id-unresolved"
    BULK_LIMITS_IGNORED = "bulk-limits-ignored"
    BULK_NO_LOCATION = "bulk-no-location"
    BULK_FAIL_ON_ERRORS_IGNORED = "bulk-fail-on-errors-ignored"
    BULK_ERROR_NO_RESPONSE = "bulk-error-no-response"
    # Protocol (RFC 7644 §3.1, §3.8, §2)
    CONTENT_TYPE_JSON = "content-type-json"
    REJECT_SCIM_CONTENT_TYPE = "reject-scim-content-type"
    AUTH_NOT_ENFORCED = "auth-not-enforced"
    AUTH_ANY_TOKEN = "auth-any-token"
    NO_WWW_AUTHENTICATE = "no-www-authenticate"
    ACCEPT_JSON_406 = "accept-json-406"
    REJECT_JSON_CONTENT_TYPE = "reject-json-content-type"
    # Discovery (RFC 7643 §5-7)
    SCHEMAS_INCOMPLETE = "schemas-incomplete"
    SPC_NO_AUTH_SCHEMES = "spc-no-auth-schemes"
    SPC_NO_SCHEMAS = "spc-no-schemas"
    SPC_INCOMPLETE = "spc-incomplete"
    RESOURCETYPES_NOT_LIST = "resourcetypes-not-list"
    RESOURCETYPE_WRONG_ENDPOINT = "resourcetype-wrong-endpoint"
    DISCOVERY_FILTER_IGNORED = "discovery-filter-ignored"
    DISCOVERY_PAGINATED = "discovery-paginated"
    DISCOVERY_NO_SINGLE = "discovery-no-single"
    SCHEMA_ATTRS_INCOMPLETE = "schema-attrs-incomplete"
    # Resources, replace, uniqueness, groups, /Me (RFC 7643 §2-4, RFC 7644 §3.3-3.6, §3.11)
    META_LAST_MODIFIED_SKEW = "meta-last-modified-skew"
    LOCATION_NO_BASE_PATH = "location-no-base-path"
    DELETE_IDEMPOTENT_204 = "delete-idempotent-204"
    EXTENSION_DROPPED = "extension-dropped"
    DATETIME_NOT_XSD = "datetime-not-xsd"
    ACTIVE_AS_STRING = "active-as-string"
    REQUIRED_NOT_ENFORCED = "required-not-enforced"
    PRIMARY_DUPLICATES_KEPT = "primary-duplicates-kept"
    PUT_CREATES = "put-creates"
    PUT_204 = "put-204"
    PUT_REJECTS_READONLY = "put-rejects-readonly"
    UNIQUE_CHECK_INCLUDES_SELF = "unique-check-includes-self"
    REF_WRONG_ENDPOINT = "ref-wrong-endpoint"
    GROUP_MEMBERS_DROPPED = "group-members-dropped"
    ME_404 = "me-404"
    ME_STUB_200 = "me-stub-200"
    # Operational (Okta's operating rules)
    SLOW = "slow"
    THROTTLE_429 = "throttle-429"
    FLAKY_503 = "flaky-503"
    EVENTUAL_CONSISTENCY = "eventual-consistency"
    # ClickHouse profile
    EMAIL_CASE_KEPT = "email-case-kept"
    DEACTIVATE_KEEPS_MEMBER = "deactivate-keeps-member"
    ROLE_NOT_UPDATED = "role-not-updated"
    REVOKED_TOKEN_ACCEPTED = "revoked-token-accepted"
    # h4-cleanup: deletes that do not delete (RFC 7644 §3.6)
    SOFT_DELETE = "soft-delete"
    # h6-checks: checks the catalogue missed (issue 9.9)
    GROUP_META_MISSING = "group-meta-missing"
    HTML_404 = "html-404"
    CANONICAL_VALUES_ENFORCED = "canonical-values-enforced"
    # h10-shape-scen: Entra's manager update (issue 11)
    UNQUALIFIED_EXTENSION_REJECTED = "unqualified-extension-rejected"
    # h9-race: a write that checks, lets go of the lock for a moment (RACE_WINDOW_S), then writes
    RACE_CHECK_THEN_INSERT = "race-check-then-insert"
    RACE_UNIQUE_500 = "race-unique-500"
    RACE_LOST_MEMBERSHIP_UPDATE = "race-lost-membership-update"
    RACE_IF_MATCH_UNCHECKED = "race-if-match-unchecked"
    RACE_DELETE_ORPHANS_MEMBER = "race-delete-orphans-member"


@dataclass(frozen=True)
class QuirkInfo:
    section: str
    description: str


QUIRKS: dict[Quirk, QuirkInfo] = {
    Quirk.ERROR_STATUS_NUMBER: QuirkInfo("RFC 7644 §3.12", "Error `status` is a JSON number, not a string."),
    Quirk.ERROR_NO_SCHEMAS: QuirkInfo("RFC 7644 §3.12", "Error bodies lack the Error `schemas` URI."),
    Quirk.ERROR_NO_SCIMTYPE: QuirkInfo("RFC 7644 §3.12", "400 errors carry no `scimType`."),
    Quirk.SCIMTYPE_UNKNOWN: QuirkInfo(
        "RFC 7644 §3.12", "400 errors carry a `scimType` outside Table 9 (`badRequest`)."
    ),
    Quirk.BAD_JSON_500: QuirkInfo("RFC 7644 §3.12", "A request body that is not valid JSON answers 500."),
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
    Quirk.FILTER_IGNORES_CASE_EXACT: QuirkInfo(
        "RFC 7644 §3.4.2.2", "Filters compare every string case-insensitively, even `caseExact` ones (`id`, `externalId`)."
    ),
    Quirk.FILTER_BOOLEAN_NE_AS_EQ: QuirkInfo(
        "RFC 7644 §3.4.2.2", "`ne` on a boolean attribute behaves like `eq` (`active ne true` finds active users)."
    ),
    Quirk.FILTER_GROUPS_NOT_COMPUTED: QuirkInfo(
        "RFC 7644 §3.4.2.2", "Filters on `User.groups` see no groups (it is computed only for responses): no match."
    ),
    Quirk.PROJECTION_DROPS_SCHEMAS: QuirkInfo(
        "RFC 7643 §3", "With `attributes=...` the returned resources lack `schemas`."
    ),
    Quirk.COUNT_IGNORED: QuirkInfo("RFC 7644 §3.4.2.4", "`count` is ignored: pages hold up to `maxResults`."),
    Quirk.ITEMS_PER_PAGE_COUNT: QuirkInfo(
        "RFC 7644 §3.4.2.4", "`itemsPerPage` echoes the requested `count`, not the number of resources returned."
    ),
    Quirk.PAGING_NOT_CLAMPED: QuirkInfo(
        "RFC 7644 §3.4.2.4", "`startIndex` < 1 and negative `count` answer 400 instead of being read as 1 and 0."
    ),
    Quirk.SORT_ORDER_IGNORED: QuirkInfo("RFC 7644 §3.4.2.3", "`sortOrder=descending` is ignored: always ascending."),
    Quirk.SORT_CASE_SENSITIVE: QuirkInfo(
        "RFC 7644 §3.4.2.3", "`sortBy` orders case-insensitive (`caseExact: false`) strings case-sensitively."
    ),
    Quirk.SORT_FIRST_VALUE: QuirkInfo(
        "RFC 7644 §3.4.2.3", "`sortBy` on a multi-valued attribute uses the first value, not the primary one."
    ),
    Quirk.EXCLUDED_DROPS_ALWAYS: QuirkInfo(
        "RFC 7644 §3.4.2.5", "`excludedAttributes=id` removes `id`, whose `returned` is `always`."
    ),
    Quirk.ATTRIBUTES_WRITE_IGNORED: QuirkInfo(
        "RFC 7644 §3.9", "`attributes`/`excludedAttributes` are ignored on POST, PUT and PATCH responses."
    ),
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
    Quirk.PATCH_REPLACE_MULTI_MERGES: QuirkInfo(
        "RFC 7644 §3.5.2.3", "A replace of a multi-valued attribute without filter adds to the values instead of replacing them."
    ),
    Quirk.PATCH_REMOVE_FILTERED_SUB_IGNORED: QuirkInfo(
        "RFC 7644 §3.5.2.2", 'A remove of `emails[type eq "work"].display` answers success and keeps the sub-attribute.'
    ),
    Quirk.PATCH_ADD_REPLACES_MEMBERS: QuirkInfo(
        "RFC 7644 §3.5.2.1", "PATCH `add` on `members` replaces the list instead of adding to it."
    ),
    Quirk.PATCH_IGNORED: QuirkInfo("RFC 7644 §3.5.2", "PATCH answers success and changes nothing."),
    Quirk.PATCH_PATHLESS_REJECTED: QuirkInfo(
        "RFC 7644 §3.5.2.1", "PATCH `add`/`replace` without `path` answers 400 `invalidPath`."
    ),
    Quirk.PATCH_URN_PATH_REJECTED: QuirkInfo(
        "RFC 7644 §3.10", "PATCH paths with a schema URN prefix (`urn:...:User:department`) answer 400."
    ),
    Quirk.PATCH_COMPLEX_REPLACE_DROPS: QuirkInfo(
        "RFC 7644 §3.5.2.3", "PATCH `replace` of a complex attribute drops the sub-attributes not sent."
    ),
    Quirk.PATCH_PRIMARY_NOT_CLEARED: QuirkInfo(
        "RFC 7644 §3.5.2", "Setting `primary: true` by PATCH leaves other values primary too."
    ),
    Quirk.PATCH_RESPONSE_STALE: QuirkInfo(
        "RFC 7644 §3.5.2", "PATCH answers 200 with the resource as it was before the change."
    ),
    Quirk.PATCH_REPLACE_NO_TARGET_ADDS: QuirkInfo(
        "RFC 7644 §3.5.2.3", "A `replace` whose value filter matches nothing adds a value instead of `noTarget`."
    ),
    Quirk.PATCH_UNKNOWN_PATH_IGNORED: QuirkInfo(
        "RFC 7644 §3.12", "A PATCH path naming an undefined attribute answers success and does nothing."
    ),
    Quirk.PATCH_NOT_ATOMIC: QuirkInfo(
        "RFC 7644 §3.5.2", "A PATCH that fails midway keeps the operations applied before the error."
    ),
    Quirk.PATCH_ECHOED_ID_REJECTED: QuirkInfo(
        "RFC 7644 §3.5.2", "A pathless PATCH value carrying the resource's own `id` (Okta) answers 400."
    ),
    Quirk.PATCH_REMOVE_VALUE_IGNORED: QuirkInfo(
        "RFC 7644 §3.5.2.2", "`remove` of `members` with a `value` list (Entra) removes every member."
    ),
    Quirk.PATCH_NOOP_TOUCHES: QuirkInfo(
        "RFC 7644 §3.5.2.1", "A PATCH that changes nothing still bumps `meta.version` and `lastModified`."
    ),
    Quirk.USER_GROUPS_MISSING: QuirkInfo("RFC 7643 §4.1.2", "`User.groups` is never populated."),
    Quirk.DELETE_KEEPS_MEMBERSHIP: QuirkInfo(
        "RFC 7643 §4.2", "Deleting a user leaves it in its groups' `members`."
    ),
    Quirk.NO_ETAG: QuirkInfo("RFC 7644 §3.14", "No `ETag` header though etag is advertised."),
    Quirk.IF_MATCH_IGNORED: QuirkInfo("RFC 7644 §3.14", "A stale `If-Match` is ignored instead of 412."),
    Quirk.IF_MATCH_STRONG_ONLY: QuirkInfo(
        "RFC 7644 §3.14", "`If-Match` compares strongly, so a weak ETag never matches: always 412."
    ),
    Quirk.IF_MATCH_STAR_REJECTED: QuirkInfo(
        "RFC 7644 §3.14", "`If-Match: *` on an existing resource answers 412 instead of performing the request."
    ),
    Quirk.IF_NONE_MATCH_STAR_IGNORED: QuirkInfo(
        "RFC 7644 §3.14", "`If-None-Match: *` on an existing resource answers 200 instead of 304."
    ),
    Quirk.IF_NONE_MATCH_IGNORED: QuirkInfo(
        "RFC 7644 §3.14", "A matching `If-None-Match` answers 200 instead of 304."
    ),
    Quirk.BULK_ID_UNRESOLVED: QuirkInfo("RFC 7644 §3.7.2", "`bulkId:` references are stored verbatim."),
    Quirk.BULK_LIMITS_IGNORED: QuirkInfo("RFC 7644 §3.7.4", "Bulk `maxOperations` and `maxPayloadSize` are not enforced."),
    Quirk.BULK_NO_LOCATION: QuirkInfo("RFC 7644 §3.7", "BulkResponse operations carry no `location`."),
    Quirk.BULK_FAIL_ON_ERRORS_IGNORED: QuirkInfo(
        "RFC 7644 §3.7.3", "`failOnErrors` is ignored: every operation runs."
    ),
    Quirk.BULK_ERROR_NO_RESPONSE: QuirkInfo(
        "RFC 7644 §3.7", "A failed bulk operation carries no `response` error body."
    ),
    Quirk.CONTENT_TYPE_JSON: QuirkInfo("RFC 7644 §3.1", "Responses are `application/json`, not SCIM's type."),
    Quirk.REJECT_SCIM_CONTENT_TYPE: QuirkInfo(
        "RFC 7644 §3.1", "Requests with `application/scim+json` are refused with 415."
    ),
    Quirk.AUTH_NOT_ENFORCED: QuirkInfo("RFC 7644 §2", "Requests without credentials are served."),
    Quirk.AUTH_ANY_TOKEN: QuirkInfo("RFC 7644 §2", "Any bearer token is accepted."),
    Quirk.NO_WWW_AUTHENTICATE: QuirkInfo("RFC 7235 §3.1", "401 answers carry no `WWW-Authenticate`."),
    Quirk.ACCEPT_JSON_406: QuirkInfo("RFC 7644 §3.8", "`Accept: application/json` answers 406."),
    Quirk.REJECT_JSON_CONTENT_TYPE: QuirkInfo(
        "RFC 7644 §3.8", "Requests with `Content-Type: application/json` are refused with 415."
    ),
    Quirk.SCHEMAS_INCOMPLETE: QuirkInfo("RFC 7643 §7", "`/Schemas` omits the enterprise extension."),
    Quirk.SPC_NO_AUTH_SCHEMES: QuirkInfo(
        "RFC 7643 §5", "`/ServiceProviderConfig` lacks `authenticationSchemes`."
    ),
    Quirk.SPC_NO_SCHEMAS: QuirkInfo("RFC 7644 §4", "`/ServiceProviderConfig` has no `schemas` attribute."),
    Quirk.SPC_INCOMPLETE: QuirkInfo(
        "RFC 7643 §5",
        "`/ServiceProviderConfig` omits REQUIRED members: `sort`, `changePassword`, "
        "`bulk.maxPayloadSize`, `filter.maxResults`.",
    ),
    Quirk.RESOURCETYPES_NOT_LIST: QuirkInfo(
        "RFC 7644 §4", "`/ResourceTypes` answers a bare JSON array, not a ListResponse."
    ),
    Quirk.RESOURCETYPE_WRONG_ENDPOINT: QuirkInfo(
        "RFC 7643 §6", "The Group resource type names endpoint `/Group`, which is not served."
    ),
    Quirk.DISCOVERY_FILTER_IGNORED: QuirkInfo(
        "RFC 7644 §4", "A `filter` on a discovery endpoint is ignored instead of answering 403."
    ),
    Quirk.DISCOVERY_PAGINATED: QuirkInfo(
        "RFC 7644 §4", "`/Schemas` and `/ResourceTypes` apply `startIndex`/`count` instead of ignoring them."
    ),
    Quirk.DISCOVERY_NO_SINGLE: QuirkInfo(
        "RFC 7644 §4", "`/Schemas/{id}` and `/ResourceTypes/{name}` answer 404."
    ),
    Quirk.SCHEMA_ATTRS_INCOMPLETE: QuirkInfo(
        "RFC 7643 §7", "`/Schemas` sub-attributes lack `type` and `multiValued`."
    ),
    Quirk.META_LAST_MODIFIED_SKEW: QuirkInfo(
        "RFC 7643 §3.1", "A new resource's `meta.lastModified` differs from its `meta.created`."
    ),
    Quirk.LOCATION_NO_BASE_PATH: QuirkInfo(
        "RFC 7644 §3.3", "`Location` and `meta.location` lack the base path, so they do not resolve."
    ),
    Quirk.DELETE_IDEMPOTENT_204: QuirkInfo(
        "RFC 7644 §3.6", "DELETE of an unknown or already deleted id answers 204 instead of 404."
    ),
    Quirk.EXTENSION_DROPPED: QuirkInfo(
        "RFC 7643 §3.3", "Enterprise extension attributes sent on create are silently dropped."
    ),
    Quirk.DATETIME_NOT_XSD: QuirkInfo(
        "RFC 7643 §2.3.5", "`meta.created`/`lastModified` use a space instead of `T` (not xsd:dateTime)."
    ),
    Quirk.ACTIVE_AS_STRING: QuirkInfo("RFC 7643 §2.3.2", '`active` is returned as a string (`"true"`).'),
    Quirk.REQUIRED_NOT_ENFORCED: QuirkInfo(
        "RFC 7643 §2.2", "A missing required attribute (`userName`) is filled in instead of answering 400."
    ),
    Quirk.PRIMARY_DUPLICATES_KEPT: QuirkInfo(
        "RFC 7643 §2.4", "A create or replace with two `primary: true` values stores (and returns) both."
    ),
    Quirk.PUT_CREATES: QuirkInfo("RFC 7644 §3.5.1", "PUT to an unknown id creates the resource (upsert)."),
    Quirk.PUT_204: QuirkInfo(
        "RFC 7644 §3.5.1", "PUT answers 204 with no body instead of 200 and the resource."
    ),
    Quirk.PUT_REJECTS_READONLY: QuirkInfo(
        "RFC 7644 §3.5.1", "A PUT body carrying `id` or `meta` (as Okta sends it) answers 400 `mutability`."
    ),
    Quirk.UNIQUE_CHECK_INCLUDES_SELF: QuirkInfo(
        "RFC 7644 §3.5.1", "PUT/PATCH keeping a user's own `userName` answers 409: it conflicts with itself."
    ),
    Quirk.REF_WRONG_ENDPOINT: QuirkInfo(
        "RFC 7643 §4.1.2", "`$ref` of group members and of `User.groups` point at the wrong endpoint."
    ),
    Quirk.GROUP_MEMBERS_DROPPED: QuirkInfo("RFC 7643 §4.2", "`members` sent on Group create are dropped."),
    Quirk.ME_404: QuirkInfo(
        "RFC 7644 §3.11",
        "`/Me` is not routed: a plain-text 404 (no SCIM Error) instead of 501 (or serving the alias).",
    ),
    Quirk.ME_STUB_200: QuirkInfo(
        "RFC 7644 §3.11", "`/Me` answers 200 with an empty object and no `Location`."
    ),
    Quirk.SLOW: QuirkInfo("Okta: 60 s timeout", "Every response is delayed (`latency_ms`, default 200)."),
    Quirk.THROTTLE_429: QuirkInfo("RFC 6585 §4", "Every 5th request answers 429 with `Retry-After: 1`."),
    Quirk.FLAKY_503: QuirkInfo("RFC 7231 §6.6.4", "Every 7th request answers 503."),
    Quirk.EVENTUAL_CONSISTENCY: QuirkInfo(
        "RFC 7644 §3.4.1", "Reads see writes only ~300 ms later (a lagging replica; `scimitar/server/eventual.py`)."
    ),
    Quirk.EMAIL_CASE_KEPT: QuirkInfo("ClickHouse profile", "Emails keep their case instead of lowercase."),
    Quirk.DEACTIVATE_KEEPS_MEMBER: QuirkInfo(
        "ClickHouse profile", "`active: false` leaves the user a member of the organisation."
    ),
    Quirk.ROLE_NOT_UPDATED: QuirkInfo(
        "ClickHouse profile", "A member's role is fixed at creation and ignores group moves."
    ),
    Quirk.REVOKED_TOKEN_ACCEPTED: QuirkInfo("ClickHouse profile", "A revoked credential still works."),
    # h4-cleanup: deletes that do not delete (RFC 7644 §3.6)
    Quirk.SOFT_DELETE: QuirkInfo(
        "RFC 7644 §3.6",
        "DELETE of a User only deactivates it: 204, but it stays readable, listed and writable with "
        "`active: false`.",
    ),
    # h6-checks: checks the catalogue missed (issue 9.9)
    Quirk.GROUP_META_MISSING: QuirkInfo("RFC 7643 §3.1", "Groups carry no `meta` (Users still do)."),
    Quirk.HTML_404: QuirkInfo(
        "RFC 7644 §3.12",
        "404s for /Schemas/{id}, /ResourceTypes/{name}, unrouted paths, a root POST /.search (not "
        "served) and non-UUID resource ids are a text/html page, not a SCIM Error.",
    ),
    Quirk.CANONICAL_VALUES_ENFORCED: QuirkInfo(
        "RFC 7643 §2.3.1",
        "A multi-valued `type` outside the schema's canonicalValues (emails, phoneNumbers, ...) is "
        "refused with 400 invalidValue.",
    ),
    # h10-shape-scen: Entra's manager update (issue 11)
    Quirk.UNQUALIFIED_EXTENSION_REJECTED: QuirkInfo(
        "RFC 7644 §3.10",
        "A PATCH path naming an extension attribute without its URN (Entra's `manager`) answers "
        "400 although exactly one extension defines it, and a one-item array for a single-valued complex "
        "attribute (Entra's `[{\"$ref\":...,\"value\":...}]`) is refused.",
    ),
    # h9-race: race windows; only concurrent requests (`scimitar test --scim-tag race`) see them
    Quirk.RACE_CHECK_THEN_INSERT: QuirkInfo(
        "RFC 7643 §4.1.1",
        "User create checks userName, then inserts after a short window: concurrent creates of one "
        "userName all answer 201 (duplicate users).",
    ),
    Quirk.RACE_UNIQUE_500: QuirkInfo(
        "RFC 7644 §3.3",
        "User create checks userName, then inserts after a short window; the losers of a concurrent "
        "create hit the store's unique constraint and answer 500 instead of 409.",
    ),
    Quirk.RACE_LOST_MEMBERSHIP_UPDATE: QuirkInfo(
        "RFC 7644 §3.5.2.1",
        "Group PATCH reads the group, waits a moment, then writes its copy back: concurrent member "
        "adds overwrite each other (lost updates).",
    ),
    Quirk.RACE_IF_MATCH_UNCHECKED: QuirkInfo(
        "RFC 7644 §3.14",
        "PUT/PATCH compare If-Match, then write after a short window: concurrent writers holding the "
        "same ETag all succeed instead of one (the rest 412).",
    ),
    Quirk.RACE_DELETE_ORPHANS_MEMBER: QuirkInfo(
        "RFC 7644 §3.6",
        "User DELETE notes the user's groups, waits a moment, then deletes: a member add racing it "
        "leaves the group pointing at the deleted user.",
    ),
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
