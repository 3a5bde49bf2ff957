// A milter's replacement body (SMFIR_REPLBODY), kept in an io::spool as its pieces arrive and read back by the
// pipeline as the message's new body (plugin::filter_verdict::new_body). Line ends become CRLF, as a
// message_reader gives them. The file goes when the last reader is destroyed.
#pragma once

#include <asio/awaitable.hpp>
#include <mailwright/io/spool.hpp>
#include <mailwright/plugin/mailstore.hpp>
#include <memory>
#include <string_view>

namespace mailwright::milter {

class body_spool {
  public:
    body_spool() = default;
    body_spool(const body_spool&) = delete;
    body_spool& operator=(const body_spool&) = delete;

    // Appends a piece (on the blocking pool); false when the file cannot be made or written.
    asio::awaitable<bool> append(std::string_view piece);
    // The spooled body from its start; null when nothing could be spooled. Ends the writing.
    asio::awaitable<std::shared_ptr<plugin::message_reader>> reader();

  private:
    std::shared_ptr<io::spool> spool_ = std::make_shared<io::spool>();
    bool failed_ = false;
    bool last_cr_ = false;  // the last piece ended in CR: an LF that starts the next is its pair
};

}  // namespace mailwright::milter
