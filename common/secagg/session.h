// What the SecAgg+ client and server derive identically (DESIGN.md §7): the session id, the
// keys agreed between two participants, the associated data that binds a share ciphertext to
// its session, sender and receiver, and the layout of that ciphertext's plaintext.
//
// Domain separation: every hash and HKDF info string starts with "tontine secagg" and a
// version, so that no value of this protocol can be replayed as one of another.
#ifndef TONTINE_COMMON_SECAGG_SESSION_H_
#define TONTINE_COMMON_SECAGG_SESSION_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto/aead.h"
#include "common/crypto/prg.h"
#include "common/crypto/secret.h"
#include "common/crypto/shamir.h"
#include "common/crypto/x25519.h"
#include "tontine/v1/secagg.pb.h"

namespace tontine::secagg {

// Where a client or server state machine is. A round moves forward through the four phases
// and ends kCompleted or kAborted; nothing moves back.
enum class SecAggPhase { kAdvertiseKeys, kShareKeys, kMaskedInput, kUnmask, kCompleted, kAborted };
absl::string_view SecAggPhaseName(SecAggPhase phase);

// The two public keys a participant advertised in phase 1.
struct AdvertisedKeys {
  crypto::X25519PublicKey encryption;  // c_pk: agrees the AES-GCM keys of share ciphertexts
  crypto::X25519PublicKey masking;     // s_pk: agrees the pairwise mask seeds
};

// A public key as the 32 bytes of a proto field, and back: INVALID_ARGUMENT naming the owner
// and which key (`which`: "encryption" or "masking") unless it has 32 bytes.
std::string PublicKeyBytes(const crypto::X25519PublicKey& key);
absl::StatusOr<crypto::X25519PublicKey> ParsePublicKey(absl::string_view bytes, uint32_t owner,
                                                       absl::string_view which);

// Checks the structure of a round's SecAgg parameters: 2 ≤ n, 1 ≤ t ≤ k ≤ n − 1, k even unless
// it is n − 1 (the full graph), 1 ≤ B ≤ 31 bits with the ring bound n·(2^(B−1)−1) < 2^31,
// vector_words = delta_words + 1 + metric_words > 0, a known PRG. INVALID_ARGUMENT naming the
// field otherwise.
absl::Status ValidateParameters(const v1::SecAggParameters& params);

// The PRG the parameters name. INVALID_ARGUMENT for PRG_ALGORITHM_UNSPECIFIED or unknown.
absl::StatusOr<crypto::PrgAlgorithm> PrgOf(const v1::SecAggParameters& params);

// SHA-256 over "tontine secagg session v1", the round id, every parameter (fixed-width,
// big-endian) and, in index order, each advertising participant's index and two keys.
// Both sides compute it; every key below is salted with it.
absl::StatusOr<std::string> ComputeSessionId(uint64_t round_id,
                                             const v1::SecAggParameters& params,
                                             const std::map<uint32_t, AdvertisedKeys>& advertised);

// The AES-256-GCM key for shares between a and b (symmetric in a and b):
// HKDF-SHA256(X25519(c_sk, c_pk'), salt = session id, info = "tontine secagg share key v1").
absl::StatusOr<crypto::Secret32> ShareEncryptionKey(const crypto::Secret32& own_encryption_key,
                                                    absl::string_view peer_encryption_public,
                                                    absl::string_view session_id);

// The seed of the pairwise mask between a and b (symmetric in a and b):
// HKDF-SHA256(X25519(s_sk, s_pk'), salt = session id, info = "tontine secagg mask seed v1").
absl::StatusOr<crypto::Secret32> PairwiseMaskSeed(const crypto::Secret32& own_masking_key,
                                                  absl::string_view peer_masking_public,
                                                  absl::string_view session_id);

// The sign with which participant `self` adds the pairwise mask it shares with `peer`: +1 when
// self < peer, −1 otherwise, so that the two masks cancel in the sum (Bonawitz et al. 2017 §4).
inline int PairwiseMaskSign(uint32_t self, uint32_t peer) { return self < peer ? +1 : -1; }

// Associated data of a share ciphertext: label, session id, sender and receiver indices.
std::string ShareAssociatedData(absl::string_view session_id, uint32_t from_index,
                                uint32_t to_index);

// The plaintext of one share ciphertext: the share of the sender's self-mask seed b, then the
// share of its masking private key s_sk (40 bytes each, ShamirShareValueBytes).
inline constexpr size_t kSharePlaintextBytes = 2 * crypto::kShamirShareBytes;
inline constexpr size_t kShareCiphertextBytes =
    crypto::kGcmNonceBytes + kSharePlaintextBytes + crypto::kGcmTagBytes;

// The shares one participant holds of one neighbour's two secrets, at the holder's x.
struct HeldShares {
  crypto::ShamirShare self_mask_seed;  // of b
  crypto::ShamirShare masking_key;     // of s_sk
};

// Encrypts `shares` from `from_index` to `to_index`; the result is nonce ‖ ciphertext ‖ tag.
absl::StatusOr<std::string> SealShares(const crypto::Secret32& key, absl::string_view session_id,
                                       uint32_t from_index, uint32_t to_index,
                                       const HeldShares& shares);

// Decrypts and parses a share ciphertext for the holder at `x`. INVALID_ARGUMENT for a wrong
// length or a value ≥ p; DATA_LOSS when the tag fails (tampered, another session, another
// sender or receiver).
absl::StatusOr<HeldShares> OpenShares(const crypto::Secret32& key, absl::string_view session_id,
                                      uint32_t from_index, uint32_t to_index, uint32_t x,
                                      absl::string_view ciphertext);

// The bitmap of ShareKeysRequest.advertised: bit i of byte i/8, least significant bit first.
std::string EncodeIndexBitmap(const std::vector<uint32_t>& indices, uint32_t cohort_size);
// INVALID_ARGUMENT unless the bitmap has ⌈n/8⌉ bytes and no bit at or beyond n.
absl::StatusOr<std::vector<uint32_t>> DecodeIndexBitmap(absl::string_view bitmap,
                                                        uint32_t cohort_size);

}  // namespace tontine::secagg

#endif  // TONTINE_COMMON_SECAGG_SESSION_H_
