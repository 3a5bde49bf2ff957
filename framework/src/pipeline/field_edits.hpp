// The header changes filters make at the end of a message (plugin::field_edit: a milter's addheader, insheader
// and chgheader), applied to the fields of a header block. Sans I/O.
#pragma once

#include <string>
#include <vector>

#include "mailwright/plugin/filter.hpp"

namespace mailwright::pipeline {

// Applies `edits` in order to `fields` (the header block's fields, each with its line ends, no blank line).
// False, with why in *error, when an edit cannot be made safely: a name that is not a field name, a line over
// 998 octets. An index past the fields appends (insert) or changes nothing (change, remove), as milters expect.
bool apply_edits(std::string& fields, const std::vector<plugin::field_edit>& edits, std::string* error);

}  // namespace mailwright::pipeline
