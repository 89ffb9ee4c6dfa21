#include "server/identity/invites.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/config/checks.h"
#include "common/crypto/tokens.h"
#include "proto/wire_status.h"

namespace tontine::identity {
namespace {

absl::Status Reasoned(absl::Status status, absl::string_view reason) {
  return WithReason(std::move(status), reason);
}

}  // namespace

absl::Status AddTag(absl::string_view key_value, store::Tags& tags) {
  size_t eq = key_value.find('=');
  if (eq == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("tag '", key_value, "' should be key=value, e.g. language=wo"));
  }
  absl::string_view key = key_value.substr(0, eq);
  absl::string_view value = key_value.substr(eq + 1);
  if (std::optional<std::string> problem = config::CheckName(key)) {
    return absl::InvalidArgumentError(absl::StrCat("tag key ", *problem));
  }
  bool value_ok = !value.empty() && value.size() <= 64;
  for (char c : value) value_ok = value_ok && absl::ascii_isgraph(static_cast<unsigned char>(c));
  if (!value_ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tag value '", value, "' must be 1 to 64 printable characters without spaces"));
  }
  tags[std::string(key)] = std::string(value);
  return absl::OkStatus();
}

absl::StatusOr<IssuedInvite> CreateInvite(store::Store& store, const store::Tags& tags,
                                          absl::Duration validity, const Clock& clock) {
  if (validity <= absl::ZeroDuration() || validity > kMaxInviteValidity) {
    return absl::InvalidArgumentError("an invite must be valid for more than 0 and at most 365d");
  }
  IssuedInvite out;
  crypto::TokenParts parts;
  TONTINE_ASSIGN_OR_RETURN(parts.id, crypto::NewHexId(8));
  TONTINE_ASSIGN_OR_RETURN(parts.secret, crypto::NewSecret());
  TONTINE_ASSIGN_OR_RETURN(crypto::SaltedHash hashed, crypto::HashSecret(parts.secret));
  out.record.id = parts.id;
  out.record.token_salt = hashed.salt;
  out.record.token_hash = hashed.hash;
  out.record.tags = tags;
  out.record.created = clock.Now();
  out.record.expires = out.record.created + validity;
  TONTINE_RETURN_IF_ERROR(store.CreateInvite(out.record));
  out.token = crypto::FormatInviteToken(parts);
  return out;
}

absl::StatusOr<Enrolment> RedeemInvite(store::Store& store, absl::string_view token,
                                       const Clock& clock) {
  absl::StatusOr<crypto::TokenParts> parts = crypto::ParseInviteToken(token);
  if (!parts.ok()) {
    return Reasoned(absl::UnauthenticatedError(parts.status().message()), "INVITE_MALFORMED");
  }
  const absl::Status unknown = Reasoned(
      absl::UnauthenticatedError("invite token not recognised by this coordinator"),
      "INVITE_UNKNOWN");
  absl::StatusOr<store::InviteRecord> invite = store.FindInvite(parts->id);
  if (absl::IsNotFound(invite.status())) return unknown;
  if (!invite.ok()) return invite.status();
  if (!crypto::VerifySecret(parts->secret, {invite->token_salt, invite->token_hash})) {
    return unknown;
  }
  const absl::Time now = clock.Now();
  if (invite->redeemed.has_value()) {
    return Reasoned(absl::PermissionDeniedError(absl::StrCat(
                        "invite was already used on ", absl::FormatTime(*invite->redeemed),
                        "; each invite enrols one participant; ask the operator for a new one")),
                    "INVITE_USED");
  }
  if (now >= invite->expires) {
    return Reasoned(absl::PermissionDeniedError(absl::StrCat(
                        "invite expired on ", absl::FormatTime(invite->expires),
                        "; ask the operator for a new one")),
                    "INVITE_EXPIRED");
  }
  Enrolment out;
  TONTINE_ASSIGN_OR_RETURN(std::string hex, crypto::NewHexId(8));
  out.participant.id = absl::StrCat("p-", hex);
  TONTINE_ASSIGN_OR_RETURN(out.secret, crypto::NewSecret());
  TONTINE_ASSIGN_OR_RETURN(crypto::SaltedHash hashed, crypto::HashSecret(out.secret));
  out.participant.credential_salt = hashed.salt;
  out.participant.credential_hash = hashed.hash;
  out.participant.tags = invite->tags;
  out.participant.invite_id = invite->id;
  out.participant.enrolled = now;
  absl::Status redeemed = store.RedeemInvite(invite->id, out.participant);
  if (absl::IsFailedPrecondition(redeemed)) {
    // Another enrolment with the same token won the race, or it expired this instant.
    return Reasoned(absl::PermissionDeniedError(
                        "invite was already used or has just expired; ask the operator for a "
                        "new one"),
                    "INVITE_USED");
  }
  TONTINE_RETURN_IF_ERROR(redeemed);
  return out;
}

absl::StatusOr<store::ParticipantRecord> Authenticate(store::Store& store,
                                                      absl::string_view authorization) {
  if (authorization.empty()) {
    return Reasoned(absl::UnauthenticatedError(
                        "no credential sent; enrol first with `tontine-client enrol`"),
                    "CREDENTIAL_MISSING");
  }
  absl::StatusOr<crypto::TokenParts> parts = crypto::ParseCredential(authorization);
  if (!parts.ok()) {
    return Reasoned(absl::UnauthenticatedError(parts.status().message()),
                    "CREDENTIAL_MALFORMED");
  }
  const absl::Status unknown = Reasoned(
      absl::UnauthenticatedError(
          "credential not recognised by this coordinator (unknown participant or wrong secret)"),
      "CREDENTIAL_UNKNOWN");
  absl::StatusOr<store::ParticipantRecord> participant = store.FindParticipant(parts->id);
  if (absl::IsNotFound(participant.status())) return unknown;
  if (!participant.ok()) return participant.status();
  if (!crypto::VerifySecret(parts->secret,
                            {participant->credential_salt, participant->credential_hash})) {
    return unknown;
  }
  if (participant->revoked.has_value()) {
    return Reasoned(absl::UnauthenticatedError("this participant's enrolment was revoked"),
                    "CREDENTIAL_REVOKED");
  }
  return *std::move(participant);
}

}  // namespace tontine::identity
