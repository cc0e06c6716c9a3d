#include "aggregation/secagg/mask_expander.h"

#include <openssl/evp.h>

#include <algorithm>
#include <bit>
#include <memory>
#include <string>

#include "aggregation/secagg/internal/openssl_status.h"
#include "aggregation/secagg/secret_bytes.h"
#include "core/check.h"

namespace cartable::aggregation::secagg {
namespace {

struct CipherContextDeleter {
  void operator()(EVP_CIPHER_CTX* context) const { EVP_CIPHER_CTX_free(context); }
};

// Bytes handed to OpenSSL per call; a multiple of the AES block, so chunking never splits a word.
constexpr size_t kChunkBytes = size_t{64} * 1024;

Status CheckRequest(std::span<const uint8_t> seed, size_t count) {
  if (seed.size() != kMaskSeedSize) {
    return InvalidArgumentError("a mask seed is 32 bytes, got " + std::to_string(seed.size()));
  }
  if (count > kMaxMaskWords) {
    return InvalidArgumentError("mask of " + std::to_string(count) + " words is over the 2^32 cap");
  }
  return Status::Ok();
}

// Overwrites `buffer` (zero-filled by the caller) with the keystream, in place, chunk by chunk:
// encrypting zeros in CTR mode yields the keystream itself.
Status FillWithKeystream(std::span<const uint8_t> seed, std::span<uint8_t> buffer) {
  std::unique_ptr<EVP_CIPHER_CTX, CipherContextDeleter> context(EVP_CIPHER_CTX_new());
  static constexpr uint8_t kZeroIv[16] = {};
  if (context == nullptr ||
      EVP_EncryptInit_ex2(context.get(), EVP_aes_256_ctr(), seed.data(), kZeroIv, nullptr) != 1) {
    return internal::OpenSslError(StatusCode::kInternal, "setting up AES-256-CTR");
  }
  for (size_t offset = 0; offset < buffer.size(); offset += kChunkBytes) {
    const int chunk = static_cast<int>(std::min(kChunkBytes, buffer.size() - offset));
    int written = 0;
    uint8_t* data = buffer.data() + offset;
    if (EVP_EncryptUpdate(context.get(), data, &written, data, chunk) != 1 || written != chunk) {
      return internal::OpenSslError(StatusCode::kInternal, "AES-256-CTR keystream failed");
    }
  }
  return Status::Ok();
}

// The keystream is defined as little-endian words; only a big-endian host has anything to do.
template <typename Word>
void FromLittleEndian(std::vector<Word>& words) {
  if constexpr (std::endian::native == std::endian::big) {
    for (Word& word : words) {
      if constexpr (sizeof(Word) == 4) word = __builtin_bswap32(word);
      if constexpr (sizeof(Word) == 8) word = __builtin_bswap64(word);
    }
  }
}

template <typename Word>
std::span<uint8_t> AsBytes(std::vector<Word>& words) {
  return {reinterpret_cast<uint8_t*>(words.data()), words.size() * sizeof(Word)};
}

}  // namespace

struct MaskExpander::Context {
  std::unique_ptr<EVP_CIPHER_CTX, CipherContextDeleter> cipher;
};

StatusOr<MaskExpander> MaskExpander::Create(std::span<const uint8_t> seed, int bits) {
  if (bits < 1 || bits > 64) {
    return InvalidArgumentError("mask word width must be in [1, 64] bits, got " +
                                std::to_string(bits));
  }
  CARTABLE_RETURN_IF_ERROR(CheckRequest(seed, 0));
  auto context = std::make_unique<Context>();
  context->cipher.reset(EVP_CIPHER_CTX_new());
  static constexpr uint8_t kZeroIv[16] = {};
  if (context->cipher == nullptr || EVP_EncryptInit_ex2(context->cipher.get(), EVP_aes_256_ctr(),
                                                        seed.data(), kZeroIv, nullptr) != 1) {
    return internal::OpenSslError(StatusCode::kInternal, "setting up AES-256-CTR");
  }
  return MaskExpander(std::move(context), bits);
}

MaskExpander::MaskExpander(std::unique_ptr<Context> context, int bits)
    : context_(std::move(context)),
      bits_(bits),
      keep_(bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1) {}
MaskExpander::MaskExpander(MaskExpander&&) noexcept = default;
MaskExpander& MaskExpander::operator=(MaskExpander&&) noexcept = default;
MaskExpander::~MaskExpander() = default;

// Overwrites `bytes` with the next keystream bytes, which hold `words` words of the stream.
Status MaskExpander::Keystream(std::span<uint8_t> bytes, size_t words) {
  if (words > kMaxMaskWords - words_done_) {
    return OutOfRangeError("a mask expansion is capped at 2^32 words");
  }
  // Encrypting zeros in CTR mode yields the keystream; reading them from a constant block saves
  // zero-filling the destination first.
  alignas(64) static constexpr uint8_t kZeros[kChunkBytes] = {};
  for (size_t offset = 0; offset < bytes.size(); offset += kChunkBytes) {
    const int chunk = static_cast<int>(std::min(kChunkBytes, bytes.size() - offset));
    int written = 0;
    if (EVP_EncryptUpdate(context_->cipher.get(), bytes.data() + offset, &written, kZeros, chunk) !=
            1 ||
        written != chunk) {
      return internal::OpenSslError(StatusCode::kInternal, "AES-256-CTR keystream failed");
    }
  }
  words_done_ += words;
  return Status::Ok();
}

Status MaskExpander::Next(std::span<uint32_t> words) {
  CARTABLE_CHECK(bits_ <= 32) << "a " << bits_ << "-bit mask expander cannot fill 32-bit words";
  CARTABLE_RETURN_IF_ERROR(Keystream(
      {reinterpret_cast<uint8_t*>(words.data()), words.size() * sizeof(uint32_t)}, words.size()));
  const auto keep = static_cast<uint32_t>(keep_);
  if (std::endian::native == std::endian::big || bits_ < 32) {
    for (uint32_t& word : words) {
      if constexpr (std::endian::native == std::endian::big) word = __builtin_bswap32(word);
      word &= keep;
    }
  }
  return Status::Ok();
}

Status MaskExpander::Next(std::span<uint64_t> words) {
  if (bits_ > 32) {
    CARTABLE_RETURN_IF_ERROR(Keystream(
        {reinterpret_cast<uint8_t*>(words.data()), words.size() * sizeof(uint64_t)}, words.size()));
    // A full-width stream on a little-endian host is already in its final form: skip the pass.
    if (std::endian::native == std::endian::big || keep_ != ~uint64_t{0}) {
      for (uint64_t& word : words) {
        if constexpr (std::endian::native == std::endian::big) word = __builtin_bswap64(word);
        word &= keep_;
      }
    }
    return Status::Ok();
  }
  // Narrow words: expand a block at a time into 32-bit words, then widen.
  constexpr size_t kBlockWords = 2048;
  alignas(64) uint32_t block[kBlockWords];
  Status status = Status::Ok();
  for (size_t at = 0; at < words.size() && status.ok(); at += kBlockWords) {
    const size_t count = std::min(kBlockWords, words.size() - at);
    status = Next(std::span<uint32_t>(block, count));
    for (size_t i = 0; status.ok() && i < count; ++i) words[at + i] = block[i];
  }
  WipeBytes(block, sizeof(block));
  return status;
}

StatusOr<std::vector<uint32_t>> ExpandMask(std::span<const uint8_t> seed, size_t count) {
  CARTABLE_RETURN_IF_ERROR(CheckRequest(seed, count));
  std::vector<uint32_t> words(count);
  CARTABLE_RETURN_IF_ERROR(FillWithKeystream(seed, AsBytes(words)));
  FromLittleEndian(words);
  return words;
}

StatusOr<std::vector<uint64_t>> ExpandMask64(std::span<const uint8_t> seed, size_t count,
                                             int bits) {
  if (bits < 1 || bits > 64) {
    return InvalidArgumentError("mask word width must be in [1, 64] bits, got " +
                                std::to_string(bits));
  }
  CARTABLE_RETURN_IF_ERROR(CheckRequest(seed, count));
  CARTABLE_ASSIGN_OR_RETURN(MaskExpander expander, MaskExpander::Create(seed, bits));
  // Uninitialised storage would do (Next overwrites every word), but std::vector zero-fills.
  std::vector<uint64_t> words(count);
  CARTABLE_RETURN_IF_ERROR(expander.Next(words));
  return words;
}

}  // namespace cartable::aggregation::secagg
