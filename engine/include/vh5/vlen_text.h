// The file form of a variable-length string dataset: one element per line,
// in C order, each followed by '\n'; inside an element '\' is written "\\",
// newline "\n" and carriage return "\r".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vh5/status.h"

namespace vh5 {

// Appends `element` and its terminating newline to `out`.
void AppendLine(std::string_view element, std::string* out);
std::string EncodeLines(const std::vector<std::string>& elements);
// The elements of `text`; InvalidArgument on a bad escape or a missing final newline.
Result<std::vector<std::string>> DecodeLines(std::string_view text);

}  // namespace vh5
