// The SQL of the postgres-store, against contrib/postgres/mailstore.sql. Each statement is prepared once per
// connection under its name. Parameters are text except the chunk data, which goes and comes back as binary
// bytea (no hex doubling of a message on the wire, nothing to unescape).
#pragma once

#include <mailwright/pgclient/connection.hpp>

namespace mailwright::pgstore::sql {

struct statement {
    const char* name;
    const char* text;
    int params;
};

// --- POP3: open, read, UPDATE ---

// The mailbox's id and whether this connection now holds its lock; no row: the mailbox does not exist yet.
// The lock's first key is 19799 (0x4d57, "MW"), the second the mailbox id: two keys, so that it never meets
// another application's single-key advisory locks in the same database.
inline constexpr statement lock_mailbox{
    "mw_store_lock", "SELECT id, pg_try_advisory_lock(19799, id) FROM mailwright_mailboxes WHERE name = $1", 1};
// A user who never received a message still has a maildrop: its row is made on first use.
inline constexpr statement create_mailbox{
    "mw_store_create", "INSERT INTO mailwright_mailboxes (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", 1};
// The maildrop's messages in the order they arrived: uid, size as POP3 counts, content id, octets stored.
inline constexpr statement list_messages{"mw_store_list",
                                         "SELECT m.uid, c.size, m.content, c.stored FROM mailwright_messages m JOIN "
                                         "mailwright_contents c ON c.id = m.content "
                                         "WHERE m.mailbox = $1 ORDER BY m.uid",
                                         1};
// One chunk of a message (binary result).
inline constexpr statement read_chunk{"mw_store_chunk",
                                      "SELECT data FROM mailwright_chunks WHERE content = $1 AND seq = $2", 2};
// UPDATE, in one transaction. The contents are locked first so that two maildrops deleting the last two
// mailbox rows of one content take turns, and the second sees the first's deletion: a content nobody holds
// is then deleted exactly once, never left behind.
inline constexpr statement lock_contents{
    "mw_store_lock_contents", "SELECT id FROM mailwright_contents WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
    1};
inline constexpr statement delete_messages{
    "mw_store_delete", "DELETE FROM mailwright_messages WHERE mailbox = $1 AND uid = ANY($2::bigint[])", 2};
inline constexpr statement delete_unheld{"mw_store_delete_unheld",
                                         "DELETE FROM mailwright_contents c WHERE c.id = ANY($1::bigint[]) "
                                         "AND NOT EXISTS (SELECT 1 FROM mailwright_messages m WHERE m.content = c.id)",
                                         1};

// --- delivery, in one transaction ---

inline constexpr statement new_content{"mw_store_new_content",
                                       "INSERT INTO mailwright_contents DEFAULT VALUES RETURNING id", 0};
// $3 is binary bytea.
inline constexpr statement add_chunk{"mw_store_add_chunk",
                                     "INSERT INTO mailwright_chunks (content, seq, data) VALUES ($1, $2, $3)", 3};
inline constexpr statement finish_content{"mw_store_finish_content",
                                          "UPDATE mailwright_contents SET size = $2, stored = $3 WHERE id = $1", 3};
// The message into one mailbox under its next UID; the mailbox is made when it is the first message. The
// mailbox row stays locked until COMMIT, so its UIDs are given in the order of the commits (recipients are
// taken in name order, so two deliveries never wait for each other in a cycle).
inline constexpr statement add_message{
    "mw_store_add_message",
    "WITH box AS (INSERT INTO mailwright_mailboxes AS b (name, last_uid) VALUES ($1, 1) "
    "ON CONFLICT (name) DO UPDATE SET last_uid = b.last_uid + 1 RETURNING b.id, b.last_uid) "
    "INSERT INTO mailwright_messages (mailbox, uid, content) SELECT id, last_uid, $2::bigint FROM box",
    2};

// Every statement above, for the connections of the store (prepared on each the first time it is used there).
pgclient::statement_set all();

}  // namespace mailwright::pgstore::sql
