// field_edits: see the header.
#include "field_edits.hpp"

#include <algorithm>
#include <string_view>

#include "mailwright/imf/header.hpp"
#include "mailwright/pipeline/message_pipeline.hpp"

namespace mailwright::pipeline {

namespace {

// RFC 5322 2.2: printable ASCII but the colon.
bool valid_name(std::string_view name) {
    return !name.empty() &&
           std::all_of(name.begin(), name.end(), [](char c) { return c > 0x20 && c < 0x7f && c != ':'; });
}

// "Name: value" with CRLF line ends: a line end followed by white space is a fold and kept as one; any other
// line end or control character becomes a space, so no value can end the block or start a field of its own.
// Empty when a line would be longer than RFC 5322 2.1.1 allows.
std::string make_field(std::string_view name, std::string_view value) {
    std::string field(name);
    field += ':';
    if (!value.empty() && value.front() != ' ' && value.front() != '\t') {
        field += ' ';
    }
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        std::size_t skip = c == '\r' && i + 1 < value.size() && value[i + 1] == '\n' ? 1 : 0;
        const bool line_end = c == '\n' || skip == 1;
        if (line_end && i + skip + 1 < value.size() && (value[i + skip + 1] == ' ' || value[i + skip + 1] == '\t')) {
            if (field.size() - line_start > max_added_field) {
                return {};
            }
            field += "\r\n";
            line_start = field.size();
            i += skip;
            continue;
        }
        const auto u = static_cast<unsigned char>(c);
        field += (u < 0x20 && c != '\t') || u == 0x7f ? ' ' : c;
        i += line_end ? skip : 0;
    }
    if (field.size() - line_start > max_added_field) {
        return {};
    }
    return field + "\r\n";
}

// The position of the index-th field called `name` (1-based) among the client's, or the end.
std::vector<held_field>::iterator occurrence(std::vector<held_field>& list, std::string_view name, std::size_t index) {
    std::size_t seen = 0;
    return std::find_if(list.begin(), list.end(), [&](const held_field& f) {
        return f.client && imf::parse_field(f.raw).is(name) && ++seen == index;
    });
}

}  // namespace

std::vector<held_field> split_fields(std::string_view block, bool client) {
    std::vector<held_field> out;
    for (std::size_t at = 0; at < block.size();) {
        const std::size_t next = imf::field_end(block, at);
        out.push_back({std::string(block.substr(at, next - at)), client});
        at = next;
    }
    if (!out.empty() && out.back().raw.back() != '\n') {
        out.back().raw += "\r\n";  // a block that ended in its last field, without a line end: it ends here now
    }
    return out;
}

std::string join_fields(const std::vector<held_field>& fields) {
    std::string out;
    for (const auto& f : fields) {
        out += f.raw;
    }
    return out;
}

bool apply_edits(std::vector<held_field>& list, const std::vector<plugin::field_edit>& edits, std::string* error) {
    using kind = plugin::field_edit::kind;
    for (const auto& e : edits) {
        if (!valid_name(e.name)) {
            *error = "a field name that is not one (\"" + e.name + "\")";
            return false;
        }
        if (e.what == kind::remove) {
            if (const auto at = occurrence(list, e.name, e.index); at != list.end()) {
                list.erase(at);
            }
            continue;
        }
        std::string field = make_field(e.name, e.value);
        if (field.empty()) {
            *error = "a header line of more than 998 octets in " + e.name;
            return false;
        }
        const auto at = e.what == kind::change ? occurrence(list, e.name, e.index) : list.end();
        if (e.what == kind::insert) {
            const auto before = static_cast<std::ptrdiff_t>(std::min(e.index, list.size()));
            list.insert(list.begin() + before, {std::move(field), false});
        } else if (at == list.end()) {
            list.push_back({std::move(field), false});  // appended, or changed where there was none
        } else {
            const std::string_view old_name = imf::parse_field(at->raw).name;
            at->raw = make_field(old_name.empty() ? std::string_view(e.name) : old_name, e.value);
        }
    }
    return true;
}

}  // namespace mailwright::pipeline
