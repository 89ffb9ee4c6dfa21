#include "common/crypto/x509.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::crypto {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using tontine::testing::IsOk;
using tontine::testing::IsOkAndHolds;
using tontine::testing::StatusIs;

class X509Test : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<KeyAndCertificate> ca = CreateCertificateAuthority("Test CA", absl::Hours(24));
    ASSERT_THAT(ca, IsOk());
    ca_ = *ca;
  }
  KeyAndCertificate ca_;
};

TEST_F(X509Test, IssuedServerCertificateVerifiesAgainstItsCaOnly) {
  ServerCertificateOptions options{"coord", {"localhost", "coord.example.org"},
                                   {"127.0.0.1", "::1"}};
  absl::StatusOr<KeyAndCertificate> leaf = IssueServerCertificate(ca_, options);
  ASSERT_THAT(leaf, IsOk());
  EXPECT_THAT(VerifyIssuedBy(leaf->certificate_pem, ca_.certificate_pem), IsOk());

  absl::StatusOr<KeyAndCertificate> other = CreateCertificateAuthority("Other", absl::Hours(1));
  ASSERT_THAT(other, IsOk());
  EXPECT_THAT(VerifyIssuedBy(leaf->certificate_pem, other->certificate_pem),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("verification failed")));
  // A server certificate cannot act as a CA for another certificate.
  absl::StatusOr<KeyAndCertificate> second = IssueServerCertificate(ca_, options);
  ASSERT_THAT(second, IsOk());
  EXPECT_THAT(VerifyIssuedBy(second->certificate_pem, leaf->certificate_pem),
              StatusIs(absl::StatusCode::kUnauthenticated, ::testing::_));
}

TEST_F(X509Test, ServerCertificateCarriesEveryRequestedName) {
  ServerCertificateOptions options{"coord", {"localhost", "coord.example.org"},
                                   {"127.0.0.1", "::1"}};
  absl::StatusOr<KeyAndCertificate> leaf = IssueServerCertificate(ca_, options);
  ASSERT_THAT(leaf, IsOk());
  EXPECT_THAT(SubjectAltNames(leaf->certificate_pem),
              IsOkAndHolds(UnorderedElementsAre("DNS:localhost", "DNS:coord.example.org",
                                                "IP:127.0.0.1", "IP:::1")));
}

TEST_F(X509Test, FingerprintIsTheSha256OfTheDerCertificate) {
  absl::StatusOr<std::string> fp = CertificateFingerprint(ca_.certificate_pem);
  ASSERT_THAT(fp, IsOk());
  EXPECT_EQ(fp->size(), 32u);
  // PEM → DER → PEM keeps the certificate, hence the fingerprint.
  EXPECT_THAT(CertificateFingerprint(ca_.certificate_pem + "\n"), IsOkAndHolds(*fp));
  EXPECT_THAT(CertificateFingerprint("not a certificate"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a PEM certificate")));
}

TEST_F(X509Test, IssuingWithAMismatchedCaKeyIsRefused) {
  absl::StatusOr<KeyAndCertificate> other = CreateCertificateAuthority("Other", absl::Hours(1));
  ASSERT_THAT(other, IsOk());
  KeyAndCertificate mixed{other->private_key_pem, ca_.certificate_pem};
  EXPECT_THAT(IssueServerCertificate(mixed, {"x", {"localhost"}, {}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not match")));
}

}  // namespace
}  // namespace tontine::crypto
