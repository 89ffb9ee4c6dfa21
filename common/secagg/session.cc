#include "common/secagg/session.h"

#include <bit>
#include <cstring>

#include <openssl/crypto.h>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/crypto/hkdf.h"
#include "common/crypto/sha256.h"
#include "common/secagg/params.h"

namespace tontine::secagg {
namespace {

void AppendBigEndian(std::string& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>(value >> (8 * i)));
}


absl::StatusOr<crypto::Secret32> AgreeAndDerive(const crypto::Secret32& own_key,
                                                absl::string_view peer_public,
                                                absl::string_view session_id,
                                                absl::string_view info) {
  TONTINE_ASSIGN_OR_RETURN(crypto::Secret32 shared, crypto::X25519Agree(own_key, peer_public));
  return crypto::HkdfSha256Key(shared.view(), session_id, info);
}

}  // namespace

std::string PublicKeyBytes(const crypto::X25519PublicKey& key) {
  return std::string(crypto::PublicKeyView(key));
}

absl::StatusOr<crypto::X25519PublicKey> ParsePublicKey(absl::string_view bytes, uint32_t owner,
                                                       absl::string_view which) {
  crypto::X25519PublicKey key;
  if (bytes.size() != key.size()) {
    return absl::InvalidArgumentError(absl::StrCat("participant ", owner, "'s ", which,
                                                   " key has ", bytes.size(), " bytes, not 32"));
  }
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return key;
}

absl::string_view SecAggPhaseName(SecAggPhase phase) {
  switch (phase) {
    case SecAggPhase::kAdvertiseKeys: return "AdvertiseKeys";
    case SecAggPhase::kShareKeys: return "ShareKeys";
    case SecAggPhase::kMaskedInput: return "MaskedInput";
    case SecAggPhase::kUnmask: return "Unmask";
    case SecAggPhase::kCompleted: return "completed";
    case SecAggPhase::kAborted: return "aborted";
  }
  return "unknown";
}

absl::Status ValidateParameters(const v1::SecAggParameters& params) {
  const uint32_t n = params.cohort_size();
  const uint32_t k = params.neighbours();
  const uint32_t t = params.reconstruction_threshold();
  if (n < 2) return absl::InvalidArgumentError(absl::StrCat("cohort_size ", n, " is below 2"));
  if (k < 1 || k > n - 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("neighbours ", k, " must be between 1 and cohort_size − 1 = ", n - 1));
  }
  if (k != n - 1 && k % 2 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "neighbours ", k, " must be even (a Harary graph) or cohort_size − 1 (the full graph)"));
  }
  if (t < 1 || t > k) {
    return absl::InvalidArgumentError(
        absl::StrCat("reconstruction_threshold ", t, " must be between 1 and neighbours ", k));
  }
  // Also checks 1 ≤ B ≤ 31.
  TONTINE_RETURN_IF_ERROR(CheckRingBound(n, params.quantisation_bits()));
  if (params.vector_words() == 0 ||
      params.vector_words() != params.delta_words() + 1 + params.metric_words()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "vector_words ", params.vector_words(), " must be delta_words ", params.delta_words(),
        " + 1 (weight) + metric_words ", params.metric_words()));
  }
  return PrgOf(params).status();
}

absl::StatusOr<crypto::PrgAlgorithm> PrgOf(const v1::SecAggParameters& params) {
  switch (params.prg()) {
    case v1::PRG_ALGORITHM_AES256_CTR:
      return crypto::PrgAlgorithm::kAes256Ctr;
    case v1::PRG_ALGORITHM_CHACHA20:
      return crypto::PrgAlgorithm::kChaCha20;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("prg ", v1::PrgAlgorithm_Name(params.prg()), " is not a mask PRG"));
  }
}

absl::StatusOr<std::string> ComputeSessionId(uint64_t round_id,
                                             const v1::SecAggParameters& params,
                                             const std::map<uint32_t, AdvertisedKeys>& advertised) {
  // Fixed-width fields rather than a serialised proto: protobuf does not promise a canonical
  // encoding, and both sides must hash identical bytes.
  std::string in = "tontine secagg session v1";
  in.push_back('\0');
  AppendBigEndian(in, round_id, 8);
  AppendBigEndian(in, params.cohort_size(), 4);
  AppendBigEndian(in, params.neighbours(), 4);
  AppendBigEndian(in, params.reconstruction_threshold(), 4);
  AppendBigEndian(in, params.quantisation_bits(), 4);
  AppendBigEndian(in, std::bit_cast<uint32_t>(params.clip_l2()), 4);
  AppendBigEndian(in, std::bit_cast<uint32_t>(params.clip_linf()), 4);
  AppendBigEndian(in, params.vector_words(), 8);
  AppendBigEndian(in, params.delta_words(), 8);
  AppendBigEndian(in, params.metric_words(), 4);
  AppendBigEndian(in, static_cast<uint32_t>(params.prg()), 4);
  AppendBigEndian(in, advertised.size(), 4);
  for (const auto& [index, keys] : advertised) {
    AppendBigEndian(in, index, 4);
    absl::StrAppend(&in, crypto::PublicKeyView(keys.encryption),
                    crypto::PublicKeyView(keys.masking));
  }
  return crypto::Sha256Digest(in);
}

absl::StatusOr<crypto::Secret32> ShareEncryptionKey(const crypto::Secret32& own_encryption_key,
                                                    absl::string_view peer_encryption_public,
                                                    absl::string_view session_id) {
  return AgreeAndDerive(own_encryption_key, peer_encryption_public, session_id,
                        "tontine secagg share key v1");
}

absl::StatusOr<crypto::Secret32> PairwiseMaskSeed(const crypto::Secret32& own_masking_key,
                                                  absl::string_view peer_masking_public,
                                                  absl::string_view session_id) {
  return AgreeAndDerive(own_masking_key, peer_masking_public, session_id,
                        "tontine secagg mask seed v1");
}

std::string ShareAssociatedData(absl::string_view session_id, uint32_t from_index,
                                uint32_t to_index) {
  std::string ad = "tontine secagg shares v1";
  ad.push_back('\0');
  absl::StrAppend(&ad, session_id);
  AppendBigEndian(ad, from_index, 4);
  AppendBigEndian(ad, to_index, 4);
  return ad;
}

absl::StatusOr<std::string> SealShares(const crypto::Secret32& key, absl::string_view session_id,
                                       uint32_t from_index, uint32_t to_index,
                                       const HeldShares& shares) {
  std::string plaintext = absl::StrCat(crypto::ShamirShareValueBytes(shares.self_mask_seed),
                                       crypto::ShamirShareValueBytes(shares.masking_key));
  absl::StatusOr<std::string> sealed = crypto::Aes256GcmSeal(
      key, plaintext, ShareAssociatedData(session_id, from_index, to_index));
  OPENSSL_cleanse(plaintext.data(), plaintext.size());
  return sealed;
}

absl::StatusOr<HeldShares> OpenShares(const crypto::Secret32& key, absl::string_view session_id,
                                      uint32_t from_index, uint32_t to_index, uint32_t x,
                                      absl::string_view ciphertext) {
  if (ciphertext.size() != kShareCiphertextBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the share ciphertext from participant ", from_index, " has ",
                     ciphertext.size(), " bytes, not ", kShareCiphertextBytes));
  }
  absl::StatusOr<std::string> plaintext =
      crypto::Aes256GcmOpen(key, ciphertext, ShareAssociatedData(session_id, from_index, to_index));
  if (!plaintext.ok()) {
    return absl::Status(plaintext.status().code(),
                        absl::StrCat("the shares from participant ", from_index, ": ",
                                     plaintext.status().message()));
  }
  absl::string_view view = *plaintext;
  absl::StatusOr<crypto::ShamirShare> b =
      crypto::ParseShamirShareValue(x, view.substr(0, crypto::kShamirShareBytes));
  absl::StatusOr<crypto::ShamirShare> s =
      crypto::ParseShamirShareValue(x, view.substr(crypto::kShamirShareBytes));
  OPENSSL_cleanse(plaintext->data(), plaintext->size());
  if (!b.ok()) return b.status();
  if (!s.ok()) return s.status();
  return HeldShares{*b, *s};
}

std::string EncodeIndexBitmap(const std::vector<uint32_t>& indices, uint32_t cohort_size) {
  std::string bitmap((cohort_size + 7) / 8, '\0');
  for (uint32_t i : indices) bitmap[i / 8] = static_cast<char>(bitmap[i / 8] | (1 << (i % 8)));
  return bitmap;
}

absl::StatusOr<std::vector<uint32_t>> DecodeIndexBitmap(absl::string_view bitmap,
                                                        uint32_t cohort_size) {
  if (bitmap.size() != (cohort_size + 7) / 8) {
    return absl::InvalidArgumentError(absl::StrCat("the index bitmap has ", bitmap.size(),
                                                   " bytes; a cohort of ", cohort_size,
                                                   " needs ", (cohort_size + 7) / 8));
  }
  std::vector<uint32_t> indices;
  for (uint32_t i = 0; i < 8 * bitmap.size(); ++i) {
    if ((static_cast<uint8_t>(bitmap[i / 8]) >> (i % 8) & 1) == 0) continue;
    if (i >= cohort_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("the index bitmap names participant ", i, " beyond the cohort of ",
                       cohort_size));
    }
    indices.push_back(i);
  }
  return indices;
}

}  // namespace tontine::secagg
