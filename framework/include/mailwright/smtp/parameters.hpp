// What the ESMTP parameters of MAIL and RCPT say, and BDAT's chunk size (RFC 1870 SIZE, RFC 6152 and
// RFC 3030 BODY, RFC 6531 SMTPUTF8, RFC 3461 RET, ENVID, NOTIFY and ORCPT, RFC 4954 AUTH, RFC 3030 BDAT).
// command.hpp splits a line into a path and keyword=value pairs; this file decides what each pair means and
// whether it is well formed. No I/O; the session decides only what depends on the listener (the size limit,
// whether a store keeps binary bodies).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "mailwright/smtp/command.hpp"

namespace mailwright::smtp {

enum class parameter_error {
    none,
    bad_size,     // SIZE= without a decimal number (501 5.5.4)
    unsupported,  // an unknown keyword, or a known one with a value it cannot have (555 5.5.4)
};

struct mail_parameters {
    std::optional<std::uint64_t> size;  // SIZE=, the client's estimate
    std::string body;                   // "7BIT", "8BITMIME", "BINARYMIME"; empty when not given
    bool smtputf8 = false;
    std::string ret;    // "FULL" or "HDRS"; empty when not given
    std::string envid;  // xtext, at most 100 octets
    parameter_error error = parameter_error::none;
};

// `binarymime`: whether BODY=BINARYMIME may be accepted (it is announced only where the store keeps every
// octet); otherwise it is unsupported like any unknown value.
mail_parameters read_mail_parameters(std::span<const parameter> parameters, bool binarymime);

struct rcpt_parameters {
    std::string notify;  // "NEVER", or SUCCESS, FAILURE and DELAY in a list; empty when not given
    std::string orcpt;   // "addr-type;xtext"; empty when not given
    parameter_error error = parameter_error::none;
};

rcpt_parameters read_rcpt_parameters(std::span<const parameter> parameters);

// RFC 3461 4.1: NOTIFY=NEVER, or a comma list of SUCCESS, FAILURE and DELAY, each at most once.
bool valid_notify(std::string_view value) noexcept;

// BDAT's argument: "<size>" or "<size> LAST" (RFC 3030 2). Empty when it is anything else: then the chunk's
// length is unknown and its octets cannot be skipped.
struct bdat_chunk {
    std::uint64_t size = 0;
    bool last = false;
};
std::optional<bdat_chunk> parse_bdat(std::string_view argument) noexcept;

}  // namespace mailwright::smtp
