-- The schema of the postgres-store mailstore plugin (mailstore/postgres, mailwright-postgres-store.so).
-- Load it once into the database the plugin's conninfo names:   psql -d mail -f mailstore.sql
-- It may be loaded again: every object is created only when missing.
--
-- A message is stored once, however many mailboxes hold it: its octets in mailwright_chunks (as received,
-- CRLF line ends, pieces of at most 64 KiB in order of seq), its size in mailwright_contents, and one row of
-- mailwright_messages per mailbox that holds it. A content no mailbox holds any more is deleted with the
-- deletion that freed it (the POP3 UPDATE, mailstore/postgres/drop.cpp), its chunks with it.
--
-- UIDs: each mailbox counts its own (mailwright_mailboxes.last_uid, raised in the delivery's transaction, so
-- deliveries to one mailbox take turns only for the moment between that update and their COMMIT). A POP3
-- UIDL is "<mailbox id>.<uid>": never reused, the same on every node, and a mailbox dropped and made again
-- gets a new id, so a client never mistakes a new message for one it has seen.
--
-- The POP3 maildrop lock is a session-level advisory lock, pg_try_advisory_lock(19799, <mailbox id>)
-- (19799 is 0x4d57, "MW"): it lives with the connection of the node that holds it, so a node that dies
-- gives it up when PostgreSQL notices its connection is gone.

CREATE TABLE IF NOT EXISTS mailwright_mailboxes (
    id       integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name     text NOT NULL UNIQUE,           -- the user name the daemon gives the store
    last_uid bigint NOT NULL DEFAULT 0       -- the UID of the last message delivered here (0: none yet)
);

CREATE TABLE IF NOT EXISTS mailwright_contents (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    size     bigint NOT NULL DEFAULT 0,      -- octets as POP3 sends them: CRLF line ends, a last CRLF added
    stored   bigint NOT NULL DEFAULT 0,      -- octets in the chunks
    received timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS mailwright_chunks (
    content  bigint NOT NULL REFERENCES mailwright_contents (id) ON DELETE CASCADE,
    seq      integer NOT NULL,               -- 0, 1, 2, ... in the order of the message
    data     bytea NOT NULL,                 -- at most 64 KiB
    PRIMARY KEY (content, seq)
);
-- The chunks are already compressed or not worth it often enough (attachments), and are read in order:
-- keep them out of TOAST compression so a read costs no decompression.
ALTER TABLE mailwright_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TABLE IF NOT EXISTS mailwright_messages (
    mailbox  integer NOT NULL REFERENCES mailwright_mailboxes (id) ON DELETE CASCADE,
    uid      bigint NOT NULL,
    content  bigint NOT NULL REFERENCES mailwright_contents (id),
    PRIMARY KEY (mailbox, uid)
);
CREATE INDEX IF NOT EXISTS mailwright_messages_content ON mailwright_messages (content);
