// [listener.pop3]: the keys of a POP3 listener's own table, their checks, and nothing else. The defaults are
// options{}'s: a key the file omits keeps it.
#include <fmt/format.h>

#include "mailwright/pop3/service.hpp"

namespace mailwright::pop3 {

namespace {

// RFC 2449 6.7: EXPIRE's argument is "NEVER" or a number of days; "" leaves EXPIRE out of CAPA.
bool valid_expire(const std::string& expire) {
    return expire.empty() || expire == "NEVER" ||
           (expire.size() <= 5 && expire.find_first_not_of("0123456789") == std::string::npos);
}

}  // namespace

options read_settings(config::section_reader& section) {
    using namespace std::chrono_literals;
    options o;
    section.boolean("apop", o.apop);
    section.duration("login_delay", o.login_delay, 0ms, 24h);
    section.string("expire", o.expire);
    section.string("implementation", o.implementation);
    if (!valid_expire(o.expire)) {
        section.invalid("expire", fmt::format("must be \"NEVER\", a number of days such as \"30\", or \"\" to say "
                                              "nothing, not \"{}\"",
                                              o.expire));
    }
    if (o.implementation.find_first_of("\r\n") != std::string::npos) {
        section.invalid("implementation", "must be one line");
    }
    return o;
}

}  // namespace mailwright::pop3
