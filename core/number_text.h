#pragma once

// Numbers as text and back, the same everywhere (error messages, configuration, policies).

#include <optional>
#include <string>
#include <string_view>

namespace cartable {

// `value` in its shortest exact decimal form ("0.9", "1e-09", "nan", "inf").
std::string NumberText(double value);

// `value` to `figures` significant figures, for people to read ("4.44"); never parsed back.
std::string NumberText(double value, int figures);

// The finite number `text` spells in full (std::from_chars: "8", "0.5", "1e-5"); nothing else.
std::optional<double> ParseNumber(std::string_view text);

}  // namespace cartable
