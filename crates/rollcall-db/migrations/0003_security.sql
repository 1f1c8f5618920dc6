-- Who may call Rollcall, and who looked at which pupils.
--
-- api_keys holds only a SHA-256 of each key's secret (the secret is 256 random bits, so a plain
-- hash is as good as a slow one and lets every call be checked cheaply). vendor_schools says which
-- schools an MIS vendor may send feeds for. audit_events and audit_enrolments record every call
-- that returned pupil-level data; both are append-only.

create table api_keys (
    key_id        text primary key,
    secret_sha256 bytea not null check (length(secret_sha256) = 32),
    kind          text not null check (kind in (
                      'vendor', 'la', 'school', 'operations', 'exporter', 'admin')),
    -- The vendor's name, the LA code, the school URN, or '' for the national kinds.
    organisation  text not null,
    description   text not null default '',
    created_at    timestamptz not null default now(),
    expires_at    timestamptz not null,
    revoked_at    timestamptz
);

create table vendor_schools (
    vendor     text not null,
    school_urn int not null,
    primary key (vendor, school_urn)
);

create table audit_events (
    id             bigint generated always as identity primary key,
    at             timestamptz not null default now(),
    -- API key id, 'jwt:<subject>' or 'cert:<vendor>': never a secret.
    key_id         text not null,
    principal_kind text not null,
    organisation   text not null,
    rpc            text not null,
    purpose        text not null,
    -- What was asked for, e.g. 'la 937' or 'school 100001'.
    request_scope  text not null
);

-- One row per enrolment an audited call returned, with where it belongs so that an LA or a school
-- sees exactly the rows about its own pupils.
create table audit_enrolments (
    event_id      bigint not null references audit_events,
    enrolment_id  bigint not null,
    school_urn    int not null,
    la_code       smallint not null,
    primary key (event_id, enrolment_id)
);
create index audit_enrolments_school on audit_enrolments (school_urn, event_id);
create index audit_enrolments_la on audit_enrolments (la_code, event_id);

-- The audit trail is append-only: no update, delete or truncate, whoever asks.
create function audit_is_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'the audit trail is append-only';
end
$$;
create trigger audit_events_append_only before update or delete on audit_events
    for each row execute function audit_is_append_only();
create trigger audit_events_no_truncate before truncate on audit_events
    for each statement execute function audit_is_append_only();
create trigger audit_enrolments_append_only before update or delete on audit_enrolments
    for each row execute function audit_is_append_only();
create trigger audit_enrolments_no_truncate before truncate on audit_enrolments
    for each statement execute function audit_is_append_only();
