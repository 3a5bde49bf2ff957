// The client side of SCRAM-SHA-256 (RFC 5802 3 and 5, RFC 7677), without channel binding.
#include <charconv>

#include "client_protocol.hpp"
#include "mailwright/sasl/crypto.hpp"
#include "mailwright/sasl/saslprep.hpp"

namespace mailwright::smtp::client::detail {

namespace {

constexpr auto sha256 = sasl::digest::sha256;
constexpr std::string_view gs2_header = "n,,";  // no channel binding, no authorisation identity

// RFC 5802 5.1: "=" and "," in a name are written "=3D" and "=2C".
std::string sasl_name(std::string_view user) {
    std::string out;
    for (const char c : user) {
        out += c == '=' ? "=3D" : c == ',' ? "=2C" : std::string(1, c);
    }
    return out;
}

struct server_first {
    std::string_view nonce;
    std::string salt;
    unsigned iterations = 0;
};

// "r=<nonce>,s=<salt>,i=<count>[,extensions]"; a mandatory extension ("m=") is one we cannot know.
std::optional<server_first> parse_server_first(std::string_view text) {
    server_first out;
    std::optional<std::string> salt;
    for (int field = 0; field < 3; ++field) {
        const auto comma = text.find(',');
        const std::string_view part = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        if (part.size() < 2 || part[1] != '=' || part[0] != "rsi"[field]) {
            return std::nullopt;
        }
        const auto value = part.substr(2);
        if (field == 0) {
            out.nonce = value;
        } else if (field == 1) {
            salt = sasl::base64_decode(value);
        } else {
            const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out.iterations);
            if (ec != std::errc{} || end != value.data() + value.size()) {
                return std::nullopt;
            }
        }
    }
    if (!salt || salt->empty() || out.nonce.empty() || out.iterations == 0) {
        return std::nullopt;
    }
    out.salt = std::move(*salt);
    return out;
}

}  // namespace

scram_client::scram_client(std::string_view user, std::string password, std::string nonce)
    : nonce_(std::move(nonce)), password_(std::move(password)) {
    // Normalize() before Hi() (RFC 5802 2.2), as the server does with what it stores: a password that
    // SASLprep refuses goes as it is, and the server, which prepares too, turns it down.
    if (auto prepared = sasl::saslprep(password_, sasl::prep_kind::query); prepared.ok()) {
        sasl::wipe(password_);
        password_ = std::move(prepared.text);
    }
    if (nonce_.empty()) {
        // Printable and comma-free, as RFC 5802 5.1 asks: base64 of random octets has neither ',' nor space.
        nonce_ = sasl::base64_encode(sasl::random_bytes(24));
    }
    first_bare_ = "n=" + sasl_name(user) + ",r=" + nonce_;
}

scram_client::~scram_client() { sasl::wipe(password_); }

std::string scram_client::first_message() const { return std::string(gs2_header) + first_bare_; }

std::optional<unsigned> scram_client::iterations(std::string_view server_first) const {
    const auto parsed = parse_server_first(server_first);
    // The server's nonce must extend ours, or this is a replay or another conversation.
    if (!parsed || parsed->nonce.size() <= nonce_.size() || !parsed->nonce.starts_with(nonce_) ||
        parsed->iterations > max_iterations) {
        return std::nullopt;
    }
    return parsed->iterations;
}

std::string scram_client::salt_password(std::string_view server_first, unsigned iterations) const {
    const auto parsed = parse_server_first(server_first);
    return parsed ? sasl::pbkdf2(sha256, password_, parsed->salt, iterations) : std::string();
}

std::string scram_client::final_message(std::string_view server_first, std::string_view salted_password) {
    const auto parsed = parse_server_first(server_first);
    const std::string without_proof =
        "c=" + sasl::base64_encode(gs2_header) + ",r=" + std::string(parsed ? parsed->nonce : std::string_view{});
    const std::string auth_message = first_bare_ + "," + std::string(server_first) + "," + without_proof;
    std::string client_key = sasl::hmac(sha256, salted_password, "Client Key");
    const std::string stored_key = sasl::hash(sha256, client_key);
    const std::string signature = sasl::hmac(sha256, stored_key, auth_message);
    std::string proof = client_key;
    for (std::size_t i = 0; i < proof.size() && i < signature.size(); ++i) {
        proof[i] = static_cast<char>(proof[i] ^ signature[i]);
    }
    std::string server_key = sasl::hmac(sha256, salted_password, "Server Key");
    server_signature_ = sasl::hmac(sha256, server_key, auth_message);
    sasl::wipe(client_key);
    sasl::wipe(server_key);
    sasl::wipe(password_);
    return without_proof + ",p=" + sasl::base64_encode(proof);
}

bool scram_client::verify_server(std::string_view server_final) const {
    if (server_signature_.empty() || !server_final.starts_with("v=")) {
        return false;  // "e=..." is the server's refusal
    }
    const auto comma = server_final.find(',');
    const auto signature =
        sasl::base64_decode(server_final.substr(2, comma == std::string_view::npos ? comma : comma - 2));
    return signature && sasl::constant_time_equal(*signature, server_signature_);
}

}  // namespace mailwright::smtp::client::detail
