#include "aggregation/secagg/secret_bytes.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <limits>

#include "core/check.h"

namespace cartable::aggregation::secagg {

void WipeBytes(void* data, size_t size) {
  if (data != nullptr && size > 0) OPENSSL_cleanse(data, size);
}

SecretBytes::SecretBytes(size_t size)
    : data_(size > 0 ? new uint8_t[size]() : nullptr), size_(size) {}

SecretBytes::~SecretBytes() { Release(); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

void SecretBytes::Release() {
  WipeBytes(data_, size_);
  delete[] data_;
  data_ = nullptr;
  size_ = 0;
}

SecretBytes SecretBytes::Random(size_t size) {
  SecretBytes result(size);
  // RAND_bytes takes an int; draw in slices so any size_t works.
  constexpr size_t kMaxSlice = std::numeric_limits<int>::max();
  for (size_t offset = 0; offset < size; offset += kMaxSlice) {
    const size_t slice = std::min(kMaxSlice, size - offset);
    CARTABLE_CHECK(RAND_bytes(result.data_ + offset, static_cast<int>(slice)) == 1)
        << "the OpenSSL CSPRNG failed; refusing to continue without randomness";
  }
  return result;
}

SecretBytes SecretBytes::CopyFrom(std::span<const uint8_t> bytes) {
  SecretBytes result(bytes.size());
  std::copy(bytes.begin(), bytes.end(), result.data_);
  return result;
}

SecretBytes SecretBytes::Clone() const { return CopyFrom(span()); }

bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace cartable::aggregation::secagg
