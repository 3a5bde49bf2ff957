// [tls] and a listener's [listener.tls_options]: the same keys, the second on top of the first.
#include <fmt/format.h>

#include "readers.hpp"

namespace mailwright::config {

using namespace std::chrono_literals;

namespace {

// The keys shared by [tls] and [listener.tls_options]: only the keys present change `out`.
void read_tls_keys(table_reader& r, tls::settings& out) {
    r.path("certificate", out.certificate);
    r.path("key", out.key);
    r.choice("min_version", out.min_version, {{"1.2", tls::version::tls1_2}, {"1.3", tls::version::tls1_3}});
    r.string("ciphers", out.ciphers);
    r.boolean("session_tickets", out.session_tickets);
    r.choice("client_certificates", out.client_certs,
             {{"none", tls::client_certificates::none},
              {"optional", tls::client_certificates::optional},
              {"required", tls::client_certificates::required}});
    r.path("client_ca", out.client_ca);
    r.duration("handshake_timeout", out.handshake_timeout, 1s, 10min);
}

// [[tls.sni]] or [[listener.tls_options.sni]]: a certificate per server name.
void read_sni(const toml::node* node, std::string_view where, std::vector<tls::sni_certificate>& out, context& ctx) {
    const auto* array = node != nullptr ? node->as_array() : nullptr;
    if (node == nullptr) {
        return;
    }
    if (array == nullptr || !array->is_array_of_tables()) {
        ctx.add(node->source(), fmt::format("'sni' in {} must be an array of tables, each written [[{}.sni]]", where,
                                            where == "[tls]" ? "tls" : "listener.tls_options"));
        return;
    }
    for (const auto& element : *array) {
        tls::sni_certificate sni;
        table_reader r(*element.as_table(), "an sni entry", ctx);
        r.strings("names", sni.names);
        r.path("certificate", sni.certificate);
        r.path("key", sni.key);
        r.finish();
        if (sni.names.empty() || sni.certificate.empty() || sni.key.empty()) {
            ctx.add(element.source(), "an sni entry needs 'names', 'certificate' and 'key'");
        }
        out.push_back(std::move(sni));
    }
}

}  // namespace

void read_tls(const toml::table& table, tls_config& out, context& ctx) {
    table_reader r(table, "[tls]", ctx);
    read_tls_keys(r, out.defaults);
    r.boolean("generate_self_signed", out.generate_self_signed);
    r.strings("self_signed_names", out.self_signed_names);
    read_sni(r.node_of("sni"), "[tls]", out.defaults.sni, ctx);
    r.known("sni");
    r.finish();
}

void read_tls_options(const toml::node& node, tls::settings& out, context& ctx) {
    const auto* options = node.as_table();
    if (options == nullptr) {
        ctx.add(node.source(), "'tls_options' must be a table, written [listener.tls_options]");
        return;
    }
    table_reader o(*options, "[listener.tls_options]", ctx);
    read_tls_keys(o, out);
    if (o.node_of("sni") != nullptr) {
        out.sni.clear();  // a listener's own SNI list replaces the global one
    }
    read_sni(o.node_of("sni"), "[listener.tls_options]", out.sni, ctx);
    o.known("sni");
    o.finish();
}

}  // namespace mailwright::config
