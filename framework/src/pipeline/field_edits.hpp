// The header changes filters make at the end of a message (plugin::field_edit: a milter's addheader, insheader
// and chgheader), applied to the fields of a header block. Sans I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mailwright/plugin/filter.hpp"

namespace mailwright::pipeline {

// One field of a held header block, and whether the client wrote it (a filter's field is not).
struct held_field {
    std::string raw;  // with its line ends
    bool client = true;
};

// The fields of `block` (no blank line in it), each ending in a line end.
std::vector<held_field> split_fields(std::string_view block, bool client);
std::string join_fields(const std::vector<held_field>& fields);

// Applies `edits` in order to `fields`. The index of a change or a removal counts the fields of that name the
// client wrote, as the filter saw them (a milter is shown the client's fields, not those filters add); an
// insertion's index counts every field. False, with why in *error, when an edit cannot be made safely: a name
// that is not a field name, a line over 998 octets. An insertion past the end appends; a change of a field
// that is not there adds it (libmilter's smfi_chgheader); a removal of one changes nothing.
bool apply_edits(std::vector<held_field>& fields, const std::vector<plugin::field_edit>& edits, std::string* error);

}  // namespace mailwright::pipeline
