-- The tables auth/postgres (mailwright-postgres-auth.so) reads with its default queries
-- (docs/configuration.md, [plugin.postgres-auth]). Load it into the database once:
--     psql -d mail -f auth.sql
-- The plugin only reads: give its role SELECT and nothing more (the GRANTs at the end, for a role named
-- mailwright; change the name, or leave them out when the role owns the tables).

-- Users and their stored passwords, in the form `mailwrightd passwd` and Dovecot's `doveadm pw` print:
-- "{SCHEME}data" ({CRYPT}$y$..., {SHA512-CRYPT}$6$..., {SCRAM-SHA-256}4096,..., {PLAIN}text, ...); a hash without
-- {SCHEME} is read as default_scheme. NULL: no password login (a certificate may still log the user in).
-- A disabled user cannot log in and receives no mail (the default user_query asks for enabled rows only).
CREATE TABLE IF NOT EXISTS users (
    name     text PRIMARY KEY CHECK (name <> '' AND name !~ '[/\r\n]'),
    password text,
    enabled  boolean NOT NULL DEFAULT true
);

-- Client certificates (SASL EXTERNAL): the SHA-256 fingerprint of a certificate TLS verified, in lowercase hex,
-- and the user it logs in.
CREATE TABLE IF NOT EXISTS certificates (
    fingerprint text PRIMARY KEY CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
    user_name   text NOT NULL REFERENCES users (name) ON UPDATE CASCADE ON DELETE CASCADE
);

-- Addresses a user may send as at submission (RFC 6409 6.1), besides its own name in the local domains, and
-- identities it may act as (a SASL authzid). Written in lowercase (the default sender_query lowercases the
-- address asked about).
CREATE TABLE IF NOT EXISTS senders (
    user_name text NOT NULL REFERENCES users (name) ON UPDATE CASCADE ON DELETE CASCADE,
    address   text NOT NULL CHECK (address = lower(address)),
    PRIMARY KEY (user_name, address)
);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mailwright') THEN
        GRANT SELECT ON users, certificates, senders TO mailwright;
    END IF;
END
$$;
