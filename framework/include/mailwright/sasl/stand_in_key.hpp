// The key SCRAM derives a made-up salt from for a user who does not exist, so that the dialogue looks the
// same as for a known user until the proof fails (RFC 5802 9 leaves this to the server, and says why).
//
// The key must outlive a restart: a real user's salt stays the same across restarts, so a made-up salt that
// changed with the process would tell a client that watches one restart which names exist. mailwrightd keeps
// it in its state directory; an embedder that never sets one gets a random key of the process.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace mailwright::sasl {

inline constexpr std::size_t stand_in_key_size = 32;

// Replaces the key, for every session from now on. Call it at start, before serving; `key` must have
// stand_in_key_size octets (std::invalid_argument otherwise).
void set_stand_in_key(std::string_view key);

// The current key (a copy): the one set, or the random one of this process.
std::string stand_in_key();

// The key kept in `path`. The first call makes it: stand_in_key_size random octets, written to a new file
// (O_CREAT|O_EXCL, mode 0600) that is synced and then linked into place, so a crash or a second process
// starting at the same time never leaves a short key behind. Later calls read it. A file that is not a
// regular file of that size, or that group or others may read, is an error (std::runtime_error) naming it.
std::string load_or_create_stand_in_key(const std::filesystem::path& path);

}  // namespace mailwright::sasl
