#pragma once

namespace cartable {

inline constexpr const char* kVersion = "0.1.0";

}  // namespace cartable
