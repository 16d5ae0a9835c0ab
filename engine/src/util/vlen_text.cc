#include "vh5/vlen_text.h"

namespace vh5 {

void AppendLine(std::string_view element, std::string* out) {
  for (char c : element) {
    switch (c) {
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      default:
        out->push_back(c);
    }
  }
  out->push_back('\n');
}

std::string EncodeLines(const std::vector<std::string>& elements) {
  std::string out;
  for (const std::string& e : elements) AppendLine(e, &out);
  return out;
}

Result<std::vector<std::string>> DecodeLines(std::string_view text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  if (text.back() != '\n') return Status::InvalidArgument("the last line has no newline");
  std::string current;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') {
      out.push_back(std::move(current));
      current.clear();
    } else if (c == '\\') {
      if (i + 1 >= text.size()) return Status::InvalidArgument("a line ends in a lone backslash");
      char e = text[++i];
      if (e == '\\')
        current.push_back('\\');
      else if (e == 'n')
        current.push_back('\n');
      else if (e == 'r')
        current.push_back('\r');
      else
        return Status::InvalidArgument("unknown escape \\" + std::string(1, e) + " in line " +
                                       std::to_string(out.size() + 1));
    } else {
      current.push_back(c);
    }
  }
  return out;
}

}  // namespace vh5
