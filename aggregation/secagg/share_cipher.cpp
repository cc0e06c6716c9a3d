#include "aggregation/secagg/share_cipher.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <memory>
#include <string>

#include "aggregation/secagg/internal/openssl_status.h"

namespace cartable::aggregation::secagg {
namespace {

struct CipherContextDeleter {
  void operator()(EVP_CIPHER_CTX* context) const { EVP_CIPHER_CTX_free(context); }
};
using CipherContextPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherContextDeleter>;

// Both directions share these limits; `sealed_size` counts the nonce and the tag.
Status CheckArguments(const SecretBytes& key, size_t sealed_size, size_t associated_size) {
  if (key.size() != kShareCipherKeySize) {
    return InvalidArgumentError("an AES-256-GCM key is 32 bytes, got " +
                                std::to_string(key.size()));
  }
  if (sealed_size > kShareCipherMaxPlaintext + kShareCipherOverhead ||
      associated_size > kShareCipherMaxPlaintext) {
    return InvalidArgumentError("share cipher input over 1 GiB");
  }
  return Status::Ok();
}

// Feeds the associated data; GCM authenticates it without producing output.
bool AddAssociatedData(EVP_CIPHER_CTX* context, std::span<const uint8_t> associated_data) {
  if (associated_data.empty()) return true;
  int ignored = 0;
  return EVP_CipherUpdate(context, nullptr, &ignored, associated_data.data(),
                          static_cast<int>(associated_data.size())) == 1;
}

}  // namespace

StatusOr<std::vector<uint8_t>> Seal(const SecretBytes& key, std::span<const uint8_t> plaintext,
                                    std::span<const uint8_t> associated_data) {
  CARTABLE_RETURN_IF_ERROR(
      CheckArguments(key, plaintext.size() + kShareCipherOverhead, associated_data.size()));
  std::vector<uint8_t> sealed(kShareCipherOverhead + plaintext.size());
  uint8_t* nonce = sealed.data();
  uint8_t* ciphertext = nonce + kShareCipherNonceSize;
  uint8_t* tag = ciphertext + plaintext.size();
  if (RAND_bytes(nonce, kShareCipherNonceSize) != 1) {
    return internal::OpenSslError(StatusCode::kInternal, "drawing a GCM nonce");
  }
  CipherContextPtr context(EVP_CIPHER_CTX_new());
  const uint8_t* key_bytes = key.span().data();
  int written = 0;
  if (context == nullptr ||
      EVP_EncryptInit_ex2(context.get(), EVP_aes_256_gcm(), key_bytes, nonce, nullptr) != 1 ||
      !AddAssociatedData(context.get(), associated_data) ||
      (!plaintext.empty() &&
       EVP_EncryptUpdate(context.get(), ciphertext, &written, plaintext.data(),
                         static_cast<int>(plaintext.size())) != 1) ||
      EVP_EncryptFinal_ex(context.get(), ciphertext + written, &written) != 1) {
    return internal::OpenSslError(StatusCode::kInternal, "AES-256-GCM encryption failed");
  }
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, kShareCipherTagSize),
      OSSL_PARAM_construct_end()};
  if (EVP_CIPHER_CTX_get_params(context.get(), params) != 1) {
    return internal::OpenSslError(StatusCode::kInternal, "reading the AES-256-GCM tag");
  }
  return sealed;
}

StatusOr<SecretBytes> Open(const SecretBytes& key, std::span<const uint8_t> sealed,
                           std::span<const uint8_t> associated_data) {
  CARTABLE_RETURN_IF_ERROR(CheckArguments(key, sealed.size(), associated_data.size()));
  if (sealed.size() < kShareCipherOverhead) {
    return DataLossError("sealed share is " + std::to_string(sealed.size()) +
                         " bytes, shorter than its 28-byte nonce and tag");
  }
  const std::span<const uint8_t> nonce = sealed.first(kShareCipherNonceSize);
  const std::span<const uint8_t> ciphertext =
      sealed.subspan(kShareCipherNonceSize, sealed.size() - kShareCipherOverhead);
  const std::span<const uint8_t> tag = sealed.last(kShareCipherTagSize);

  CipherContextPtr context(EVP_CIPHER_CTX_new());
  if (context == nullptr || EVP_DecryptInit_ex2(context.get(), EVP_aes_256_gcm(), key.span().data(),
                                                nonce.data(), nullptr) != 1) {
    return internal::OpenSslError(StatusCode::kInternal, "setting up AES-256-GCM decryption");
  }
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                        const_cast<uint8_t*>(tag.data()), tag.size()),
      OSSL_PARAM_construct_end()};
  // Decrypted straight into wiped-on-destruction memory, which is dropped unless the tag holds.
  SecretBytes plaintext(ciphertext.size());
  int written = 0;
  if (EVP_CIPHER_CTX_set_params(context.get(), params) != 1 ||
      !AddAssociatedData(context.get(), associated_data) ||
      (!ciphertext.empty() &&
       EVP_DecryptUpdate(context.get(), plaintext.mutable_span().data(), &written,
                         ciphertext.data(), static_cast<int>(ciphertext.size())) != 1)) {
    return internal::OpenSslError(StatusCode::kInternal, "AES-256-GCM decryption failed");
  }
  if (EVP_DecryptFinal_ex(context.get(), plaintext.mutable_span().data() + written, &written) !=
      1) {
    internal::ClearOpenSslErrors();
    return PermissionDeniedError(
        "sealed share does not authenticate: wrong key, different associated data (run, round, "
        "stage, "
        "sender, recipient), or altered bytes");
  }
  return plaintext;
}

}  // namespace cartable::aggregation::secagg
