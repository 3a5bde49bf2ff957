// See statements.hpp.
#include "statements.hpp"

namespace mailwright::pgstore::sql {

pgclient::statement_set all() {
    pgclient::statement_set set;
    for (const statement& s : {lock_mailbox, create_mailbox, list_messages, read_chunk, lock_contents, delete_messages,
                               delete_unheld, new_content, add_chunk, finish_content, add_message}) {
        set.push_back({s.name, s.text, s.params});
    }
    return set;
}

}  // namespace mailwright::pgstore::sql
