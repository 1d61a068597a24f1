// Python's string and number spellings, which jinja2 output inherits: str.isspace, strip,
// upper/lower, code point indexing, repr of str and float.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace llmkit::jinja::py {

bool isspace(uint32_t cp);
// Bytes of Python whitespace at the start / end of s.
size_t leading_space(std::string_view s);
size_t trailing_space(std::string_view s);
// str.strip/lstrip/rstrip: whitespace when chars is null, else any code point of *chars.
std::string strip(std::string_view s, const std::string* chars, bool left, bool right);
std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string capitalize(std::string_view s);
std::string title(std::string_view s);
size_t length(std::string_view s);  // code points
std::vector<std::string> chars(std::string_view s);  // one string per code point
// Byte offset of each code point, and s.size() last: code point k is [off[k], off[k + 1]).
std::vector<size_t> offsets(std::string_view s);
// str.split(sep, maxsplit) and str.rsplit; sep null: runs of whitespace.
std::vector<std::string> split(std::string_view s, const std::string* sep, int64_t maxsplit, bool from_right);
std::string replace(std::string_view s, std::string_view old, std::string_view with, int64_t count);

std::string repr(std::string_view s);   // 'text' with Python's quoting and escapes
std::string float_repr(double d);       // 1.0, 0.1, 1e-05, 1e+16, inf, nan
// json.dumps(s, ensure_ascii=False): Python's spelling (DEL kept, lowercase hex), which is not the
// tools' JSON writer's.
std::string json_quote(std::string_view s);
std::string escape_html(std::string_view s);  // markupsafe.escape: & < > " '

}  // namespace llmkit::jinja::py
