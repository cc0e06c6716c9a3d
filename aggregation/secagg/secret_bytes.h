#pragma once

// SecretBytes: an owned buffer of key material (keys, seeds, shared secrets, Shamir shares in
// transit). The buffer is wiped with OPENSSL_cleanse when the object is destroyed or overwritten,
// so a secret does not linger in freed heap memory; a moved-from SecretBytes is left empty. It is
// move-only: copying a secret must be spelled Clone(), so every copy shows up in review. It has no
// operator<< and no conversion to std::string, so it cannot reach a log line by accident. Reading
// from several threads is safe; mutation is not synchronised.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <new>
#include <span>

namespace cartable::aggregation::secagg {

// Overwrites `size` bytes at `data` in a way the compiler may not elide (OPENSSL_cleanse).
void WipeBytes(void* data, size_t size);

class SecretBytes {
 public:
  SecretBytes() = default;
  // `size` zero bytes, to be filled through mutable_span().
  explicit SecretBytes(size_t size);
  ~SecretBytes();

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  // `size` bytes from the operating system's CSPRNG (RAND_bytes). Aborts if the CSPRNG fails: there
  // is no safe way to continue without randomness, and a caller that ignored an error would use
  // weak keys.
  static SecretBytes Random(size_t size);
  // Copies bytes that are already secret (e.g. a key read from a test vector or a decrypted share).
  static SecretBytes CopyFrom(std::span<const uint8_t> bytes);

  SecretBytes Clone() const;

  std::span<const uint8_t> span() const { return {data_, size_}; }
  std::span<uint8_t> mutable_span() { return {data_, size_}; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  void Release();

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Constant-time comparison of two byte strings of the same length (CRYPTO_memcmp); strings of
// different lengths compare unequal at once, since lengths are not secret here.
bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b);

// A std::allocator that wipes memory before returning it, for containers of secret values whose
// element type is not bytes (Shamir share values). Reallocation on growth wipes the old block too.
template <typename T>
class WipingAllocator {
 public:
  using value_type = T;

  WipingAllocator() = default;
  template <typename U>
  WipingAllocator(const WipingAllocator<U>&) noexcept {}  // NOLINT: rebinding must be implicit

  T* allocate(size_t count) {
    if (count > std::numeric_limits<size_t>::max() / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(::operator new(count * sizeof(T), std::align_val_t(alignof(T))));
  }
  void deallocate(T* pointer, size_t count) noexcept {
    WipeBytes(pointer, count * sizeof(T));
    ::operator delete(pointer, std::align_val_t(alignof(T)));
  }

  template <typename U>
  bool operator==(const WipingAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace cartable::aggregation::secagg
