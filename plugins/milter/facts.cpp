// The macros a milter is told, by stage.
#include "facts.hpp"

#include <algorithm>

namespace mailwright::milter {

message_facts facts_of(const plugin::event_context& context) {
    message_facts f;
    f.session = context.session;
    f.peer_address = context.peer_address;
    f.helo = context.helo;
    f.server_name = context.server_name;
    f.service = context.service;
    if (context.tls != nullptr) {
        f.tls_version = context.tls->version;
        f.tls_cipher = context.tls->cipher;
        if (context.tls->peer.present) {
            f.cert_subject = context.tls->peer.subject;
        }
    }
    f.authenticated_user = context.user;
    if (const auto* e = context.envelope) {
        f.id = e->id;
        f.sender = e->sender;
        for (const auto& r : e->recipients) {
            f.recipients.push_back(r.address);
        }
        if (f.authenticated_user.empty()) {
            f.authenticated_user = e->authenticated_user;
        }
    }
    return f;
}

std::string client_name(const message_facts& facts) {
    const auto& a = facts.peer_address;
    if (a == "::1" || a.starts_with("127.") || a.starts_with("::ffff:127.")) {
        return "localhost";
    }
    return a.empty() ? "localhost" : "[" + a + "]";
}

namespace {

// Every macro we know at a stage (what Sendmail and Postfix define there).
std::vector<macro> known_at(stage which, const message_facts& f, std::size_t recipient) {
    std::vector<macro> m;
    switch (which) {
        case stage::connect:
            m = {{"j", f.server_name},
                 {"{daemon_name}", f.service},
                 {"v", "Mailwright"},
                 {"{client_addr}", f.peer_address},
                 {"{client_name}", client_name(f)},
                 {"_", client_name(f) + " [" + f.peer_address + "]"}};
            break;
        case stage::helo:
            if (!f.tls_version.empty()) {
                m = {{"{tls_version}", f.tls_version}, {"{cipher}", f.tls_cipher}};
            }
            if (!f.cert_subject.empty()) {
                m.push_back({"{cert_subject}", f.cert_subject});
            }
            break;
        case stage::mail:
            m = {{"i", f.id}, {"{mail_addr}", f.sender}};
            if (!f.authenticated_user.empty()) {
                // The SASL mechanism is not known to a hook; milters (OpenDKIM) test {auth_type} for being
                // set at all, to tell an authenticated submission.
                m.push_back({"{auth_authen}", f.authenticated_user});
                m.push_back({"{auth_type}", "unknown"});
            }
            break;
        case stage::rcpt:
            m = {{"{rcpt_addr}", recipient < f.recipients.size() ? f.recipients[recipient] : std::string()}};
            break;
        case stage::data:
        case stage::eoh:
        case stage::end_of_message:
            m = {{"i", f.id}};
            break;
    }
    return m;
}

}  // namespace

std::vector<macro> macros_for(stage which, const message_facts& facts, std::size_t recipient, const agreement& agreed) {
    auto all = known_at(which, facts, recipient);
    const auto& wanted = agreed.macros[static_cast<std::size_t>(which)];
    if (!wanted) {
        return all;
    }
    // The names as asked, "{name}" or "name" alike (Sendmail accepts both for long names).
    const auto asked = [&](const std::string& name) {
        const std::string bare = name.size() > 2 && name.front() == '{' ? name.substr(1, name.size() - 2) : name;
        return std::any_of(wanted->begin(), wanted->end(),
                           [&](const std::string& w) { return w == name || w == bare; });
    };
    std::erase_if(all, [&](const macro& m) { return !asked(m.name); });
    return all;
}

}  // namespace mailwright::milter
