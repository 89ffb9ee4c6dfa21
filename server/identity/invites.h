// Invites and participant credentials on the coordinator.
//
// An operator creates an invite (single use, expiring, carrying tags such as
// language=wo); a contributor redeems it once for a participant id and secret; every later
// call is authenticated with that credential. Only salted hashes of secrets are stored.
#ifndef TONTINE_SERVER_IDENTITY_INVITES_H_
#define TONTINE_SERVER_IDENTITY_INVITES_H_

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "server/store/store.h"

namespace tontine::identity {

inline constexpr absl::Duration kDefaultInviteValidity = absl::Hours(24 * 7);
inline constexpr absl::Duration kMaxInviteValidity = absl::Hours(24 * 365);

struct IssuedInvite {
  std::string token;  // "tti_<id>.<secret>": shown once, never stored
  store::InviteRecord record;
};

// Creates and stores a single-use invite valid for `validity` (at most a year).
// INVALID_ARGUMENT for a non-positive or too long validity or a malformed tag.
absl::StatusOr<IssuedInvite> CreateInvite(store::Store& store, const store::Tags& tags,
                                          absl::Duration validity, const Clock& clock);

struct Enrolment {
  store::ParticipantRecord participant;
  std::string secret;  // raw bytes; handed to the client once
};

// Redeems `token`. Errors, each with an ErrorDetail reason:
//   UNAUTHENTICATED    INVITE_MALFORMED  not an invite token
//   UNAUTHENTICATED    INVITE_UNKNOWN    no such invite, or the secret does not match
//   PERMISSION_DENIED  INVITE_EXPIRED    past its expiry
//   PERMISSION_DENIED  INVITE_USED       already redeemed
// Expiry and reuse are revealed only to a caller holding the right secret.
absl::StatusOr<Enrolment> RedeemInvite(store::Store& store, absl::string_view token,
                                       const Clock& clock);

// Checks an "authorization" header value ("Bearer <participant id>.<secret>").
// UNAUTHENTICATED with reason CREDENTIAL_MISSING, CREDENTIAL_MALFORMED,
// CREDENTIAL_UNKNOWN (no such participant or wrong secret) or CREDENTIAL_REVOKED.
absl::StatusOr<store::ParticipantRecord> Authenticate(store::Store& store,
                                                      absl::string_view authorization);

// Parses "key=value" into `tags`; INVALID_ARGUMENT naming the problem. Keys follow the config
// name rule; values are 1–64 printable characters without spaces.
absl::Status AddTag(absl::string_view key_value, store::Tags& tags);

}  // namespace tontine::identity

#endif  // TONTINE_SERVER_IDENTITY_INVITES_H_
