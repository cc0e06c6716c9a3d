#include "aggregation/secagg/shamir.h"

#include <algorithm>
#include <string>

#include "aggregation/secagg/internal/prime_field.h"
#include "core/check.h"

namespace cartable::aggregation::secagg {
namespace {

using internal::FieldElement;
using internal::kFieldPrime;

size_t ChunkCount(size_t secret_length) {
  return (secret_length + kShamirChunkBytes - 1) / kShamirChunkBytes;
}

// The bytes of chunk `index` of a secret of `secret_length` bytes (the last chunk may be short).
size_t ChunkLength(size_t secret_length, size_t index) {
  return std::min(kShamirChunkBytes, secret_length - index * kShamirChunkBytes);
}

FieldElement LoadLittleEndian(const uint8_t* bytes, size_t length) {
  FieldElement value = 0;
  for (size_t i = length; i-- > 0;) value = (value << 8) | bytes[i];
  return value;
}

void StoreLittleEndian(FieldElement value, uint8_t* bytes, size_t length) {
  for (size_t i = 0; i < length; ++i) {
    bytes[i] = static_cast<uint8_t>(value);
    value >>= 8;
  }
}

Status CheckSecretLength(size_t secret_length) {
  if (secret_length == 0 || secret_length > kShamirMaxSecretLength) {
    return InvalidArgumentError("Shamir secrets are 1 to 64 bytes, got " +
                                std::to_string(secret_length));
  }
  return Status::Ok();
}

Status CheckShare(const Share& share, size_t chunk_count) {
  const std::string which = "share x=" + std::to_string(share.x);
  if (share.x < 1 || share.x > static_cast<uint32_t>(kShamirMaxShares)) {
    return InvalidArgumentError(which + ": x must be in [1, 65535]");
  }
  if (share.y.size() != chunk_count) {
    return InvalidArgumentError(which + " has " + std::to_string(share.y.size()) +
                                " chunks; the secret length needs " + std::to_string(chunk_count));
  }
  for (FieldElement y : share.y) {
    if (y >= kFieldPrime) return InvalidArgumentError(which + ": a value is not below 2^127 - 1");
  }
  return Status::Ok();
}

// xᵢ · Π_{j≠i} (xⱼ − xᵢ), the denominator of share i's Lagrange weight. The x's are public and
// below 2^16, so four differences multiply exactly in 64 bits before each field multiplication.
FieldElement LagrangeDenominator(std::span<const Share> shares, size_t i) {
  const int64_t xi = shares[i].x;
  FieldElement product = xi;
  uint64_t packed = 1;
  int in_packed = 0;
  bool negative = false;
  for (size_t j = 0; j < shares.size(); ++j) {
    if (j == i) continue;
    const int64_t difference = static_cast<int64_t>(shares[j].x) - xi;
    negative ^= difference < 0;
    packed *= static_cast<uint64_t>(difference < 0 ? -difference : difference);
    if (++in_packed == 4) {
      product = internal::FieldMultiplySmall(product, packed);
      packed = 1;
      in_packed = 0;
    }
  }
  product = internal::FieldMultiplySmall(product, packed);
  return negative ? internal::FieldSubtract(0, product) : product;
}

// λᵢ = Π_{j≠i} xⱼ / (xⱼ − xᵢ) = (Π_j xⱼ) / (xᵢ · Π_{j≠i} (xⱼ − xᵢ)): the weight of share i in the
// interpolated value at 0. All denominators are inverted at once (Montgomery's trick: one field
// inversion and three multiplications each), so t shares cost O(t²/4) small products and one
// inversion instead of t inversions.
ShareValues LagrangeWeightsAtZero(std::span<const Share> shares) {
  const size_t t = shares.size();
  ShareValues denominators(t), prefix(t), weights(t);
  FieldElement all_x = 1;
  for (size_t i = 0; i < t; ++i) {
    all_x = internal::FieldMultiplySmall(all_x, shares[i].x);
    denominators[i] = LagrangeDenominator(shares, i);
    prefix[i] = i == 0 ? denominators[0] : internal::FieldMultiply(prefix[i - 1], denominators[i]);
  }
  // inverse = 1 / (d_0 ⋯ d_i) as i walks down; 1/d_i = inverse · (d_0 ⋯ d_{i−1}).
  FieldElement inverse = internal::FieldInverse(prefix[t - 1]);
  for (size_t i = t; i-- > 0;) {
    const FieldElement inverse_i =
        i == 0 ? inverse : internal::FieldMultiply(inverse, prefix[i - 1]);
    inverse = internal::FieldMultiply(inverse, denominators[i]);
    weights[i] = internal::FieldMultiply(all_x, inverse_i);
  }
  return weights;
}

}  // namespace

StatusOr<std::vector<Share>> Split(std::span<const uint8_t> secret, int threshold,
                                   std::span<const uint32_t> points) {
  CARTABLE_RETURN_IF_ERROR(CheckSecretLength(secret.size()));
  if (points.empty() || points.size() > static_cast<size_t>(kShamirMaxShares)) {
    return InvalidArgumentError("Shamir needs 1 to 65535 shares, got " +
                                std::to_string(points.size()));
  }
  if (threshold < 1 || static_cast<size_t>(threshold) > points.size()) {
    return InvalidArgumentError("Shamir threshold must be in [1, " + std::to_string(points.size()) +
                                "], got " + std::to_string(threshold));
  }
  std::vector<uint32_t> sorted(points.begin(), points.end());
  std::sort(sorted.begin(), sorted.end());
  if (sorted.front() < 1 || sorted.back() > static_cast<uint32_t>(kShamirMaxShares)) {
    return InvalidArgumentError("Shamir evaluation points must be in [1, 65535]");
  }
  if (auto repeated = std::adjacent_find(sorted.begin(), sorted.end()); repeated != sorted.end()) {
    return InvalidArgumentError("Shamir evaluation point x=" + std::to_string(*repeated) +
                                " is given twice");
  }
  const size_t chunk_count = ChunkCount(secret.size());
  std::vector<Share> shares(points.size());
  for (size_t i = 0; i < shares.size(); ++i) {
    shares[i].x = points[i];
    shares[i].y.resize(chunk_count);
  }
  ShareValues coefficients(static_cast<size_t>(threshold));
  for (size_t chunk = 0; chunk < chunk_count; ++chunk) {
    coefficients[0] = LoadLittleEndian(secret.data() + chunk * kShamirChunkBytes,
                                       ChunkLength(secret.size(), chunk));
    for (size_t k = 1; k < coefficients.size(); ++k)
      coefficients[k] = internal::RandomFieldElement();
    for (Share& share : shares) {
      FieldElement value = coefficients.back();  // Horner, from the highest degree down
      for (size_t k = coefficients.size() - 1; k-- > 0;) {
        value = internal::FieldAdd(internal::FieldMultiplySmall(value, share.x), coefficients[k]);
      }
      share.y[chunk] = value;
    }
  }
  return shares;
}

StatusOr<std::vector<Share>> Split(std::span<const uint8_t> secret, int threshold, int num_shares) {
  if (num_shares < 1 || num_shares > kShamirMaxShares) {
    return InvalidArgumentError("Shamir needs 1 to 65535 shares, got " +
                                std::to_string(num_shares));
  }
  std::vector<uint32_t> points(static_cast<size_t>(num_shares));
  for (size_t i = 0; i < points.size(); ++i) points[i] = static_cast<uint32_t>(i + 1);
  return Split(secret, threshold, points);
}

StatusOr<SecretBytes> Combine(std::span<const Share> shares, int threshold, size_t secret_length) {
  CARTABLE_RETURN_IF_ERROR(CheckSecretLength(secret_length));
  if (threshold < 1 || threshold > kShamirMaxShares) {
    return InvalidArgumentError("Shamir threshold must be in [1, 65535], got " +
                                std::to_string(threshold));
  }
  if (shares.size() < static_cast<size_t>(threshold)) {
    return InvalidArgumentError("rebuilding the secret needs " + std::to_string(threshold) +
                                " shares, got " + std::to_string(shares.size()));
  }
  const size_t chunk_count = ChunkCount(secret_length);
  std::vector<uint32_t> xs;
  xs.reserve(shares.size());
  for (const Share& share : shares) {
    CARTABLE_RETURN_IF_ERROR(CheckShare(share, chunk_count));
    xs.push_back(share.x);
  }
  std::sort(xs.begin(), xs.end());
  if (auto repeated = std::adjacent_find(xs.begin(), xs.end()); repeated != xs.end()) {
    return InvalidArgumentError("two shares have the same x=" + std::to_string(*repeated));
  }

  const std::span<const Share> used = shares.first(static_cast<size_t>(threshold));
  const ShareValues weights = LagrangeWeightsAtZero(used);
  SecretBytes secret(secret_length);
  for (size_t chunk = 0; chunk < chunk_count; ++chunk) {
    FieldElement value = 0;
    for (size_t i = 0; i < used.size(); ++i) {
      value = internal::FieldAdd(value, internal::FieldMultiply(weights[i], used[i].y[chunk]));
    }
    const size_t length = ChunkLength(secret_length, chunk);
    if ((value >> (8 * length)) != 0) {
      return DataLossError("Shamir shares rebuild chunk " + std::to_string(chunk) +
                           " out of range: the shares are corrupt, come from different secrets, or "
                           "fewer than the threshold were dealt");
    }
    StoreLittleEndian(value, secret.mutable_span().data() + chunk * kShamirChunkBytes, length);
  }
  return secret;
}

SecretBytes SerializeShare(const Share& share) {
  CARTABLE_CHECK(!share.y.empty() && share.y.size() <= kShamirMaxChunks)
      << "serialising a share with " << share.y.size() << " chunks";
  SecretBytes bytes(kShamirShareHeaderSize + 16 * share.y.size());
  uint8_t* out = bytes.mutable_span().data();
  out[0] = kShamirShareFormatVersion;
  StoreLittleEndian(share.x, out + 1, 4);
  out[5] = static_cast<uint8_t>(share.y.size());
  for (size_t i = 0; i < share.y.size(); ++i) {
    StoreLittleEndian(share.y[i], out + kShamirShareHeaderSize + 16 * i, 16);
  }
  return bytes;
}

StatusOr<Share> ParseShare(std::span<const uint8_t> bytes) {
  if (bytes.size() < kShamirShareHeaderSize) {
    return DataLossError("Shamir share is " + std::to_string(bytes.size()) +
                         " bytes, shorter than its 6-byte header");
  }
  if (bytes[0] != kShamirShareFormatVersion) {
    return DataLossError("Shamir share has format version " + std::to_string(bytes[0]) +
                         "; this build reads version 1");
  }
  const size_t chunk_count = bytes[5];
  if (chunk_count < 1 || chunk_count > kShamirMaxChunks) {
    return DataLossError("Shamir share declares " + std::to_string(chunk_count) +
                         " chunks; a share has 1 to 5");
  }
  if (bytes.size() != kShamirShareHeaderSize + 16 * chunk_count) {
    return DataLossError("Shamir share declares " + std::to_string(chunk_count) + " chunks (" +
                         std::to_string(kShamirShareHeaderSize + 16 * chunk_count) +
                         " bytes) but is " + std::to_string(bytes.size()) + " bytes");
  }
  Share share;
  share.x = static_cast<uint32_t>(LoadLittleEndian(bytes.data() + 1, 4));
  if (share.x < 1 || share.x > static_cast<uint32_t>(kShamirMaxShares)) {
    return DataLossError("Shamir share has x=" + std::to_string(share.x) + ", outside [1, 65535]");
  }
  share.y.resize(chunk_count);
  for (size_t i = 0; i < chunk_count; ++i) {
    share.y[i] = LoadLittleEndian(bytes.data() + kShamirShareHeaderSize + 16 * i, 16);
    if (share.y[i] >= kFieldPrime) {
      return DataLossError("Shamir share value is not below 2^127 - 1");
    }
  }
  return share;
}

}  // namespace cartable::aggregation::secagg
