// The administrator's requests to the workers (server::sessions(), kick(), kick_user()): each is asked on a
// worker's own thread, where its sessions live and need no lock, and answered within a bounded wait, so a
// worker stuck in a plugin call cannot hang mailwrightctl. Private to the framework.
#pragma once

#include <asio/io_context.hpp>
#include <cstddef>
#include <functional>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "mailwright/server/server.hpp"
#include "mailwright/server/session.hpp"

namespace mailwright::server::detail {

// What a request needs of one worker: its event loop, and its session registry (touched only on that loop).
struct worker_sessions {
    asio::io_context* context = nullptr;
    const std::unordered_set<session*>* sessions = nullptr;
};

// `alive` is held by the caller (the server) so that no worker is destroyed while the requests are posted;
// it is released before the wait. A worker whose loop has stopped is not asked; one that does not answer
// within 2 s is left out.
std::vector<session_summary> list_sessions(std::unique_lock<std::mutex> alive,
                                           const std::vector<worker_sessions>& workers);

// Asks every session that `match` to stop (its next read reports "stopping"; the protocol says goodbye) and
// closes the ones still open 5 s later. How many matched.
std::size_t kick_sessions(std::unique_lock<std::mutex> alive, const std::vector<worker_sessions>& workers,
                          std::function<bool(const session&)> match);

}  // namespace mailwright::server::detail
