// The fault barrier around the mailstore plugin: every call the framework makes into it, and into the
// maildrops and readers it hands out, is wrapped. An exception that escapes becomes a temporary failure of
// that one call (the client hears "try again later"), the log names the plugin, and every other session goes
// on. A maildrop whose bookkeeping failed (mark_deleted or undelete_all threw, or a mark did not take) never
// commits: deleting a different set of messages than the client asked for would be worse than deleting none.
// A delivery whose begin(), write() or commit() throws has failed as a whole: every recipient hears tempfail,
// so a store that had already stored the message for some of them will get it again on the client's retry.
// A store should report each recipient's outcome in delivery_result instead of throwing.
#pragma once

#include <memory>
#include <string>

#include "mailwright/plugin/mailstore.hpp"

namespace mailwright::plugin {

std::shared_ptr<mailstore> guard_store(std::string name, std::shared_ptr<mailstore> store);

}  // namespace mailwright::plugin
