#include "common/crypto/x509.h"

#include <arpa/inet.h>

#include <openssl/ec.h>
#include <openssl/pem.h>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/crypto/openssl_ptr.h"
#include "common/crypto/random.h"
#include "common/crypto/sha256.h"

namespace tontine::crypto {
namespace {

absl::Status OpenSslError(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", OpenSslErrorText()));
}

absl::StatusOr<EvpPkeyPtr> GenerateP256Key() {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (key == nullptr) return OpenSslError("generating a P-256 key failed");
  return key;
}

// What a memory BIO holds, as a string.
std::string BioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

absl::StatusOr<std::string> KeyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError("encoding a private key failed");
  }
  return BioContents(bio.get());
}

absl::StatusOr<std::string> CertToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return OpenSslError("encoding a certificate failed");
  }
  return BioContents(bio.get());
}

absl::StatusOr<X509Ptr> ParseCertificate(absl::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a PEM certificate: ", OpenSslErrorText()));
  }
  return cert;
}

absl::StatusOr<EvpPkeyPtr> ParsePrivateKey(absl::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EvpPkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a PEM private key: ", OpenSslErrorText()));
  }
  return key;
}

// Adds one v3 extension written in OpenSSL's config syntax ("critical,CA:TRUE").
absl::Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("bad certificate extension '", value,
                                                   "': ", OpenSslErrorText()));
  }
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return OpenSslError("adding a certificate extension failed");
  return absl::OkStatus();
}

// A certificate with a random 127-bit serial, the given subject and validity, and `key`'s
// public half; issuer and signature are set by the caller.
absl::StatusOr<X509Ptr> NewCertificate(absl::string_view common_name, absl::Duration validity,
                                       EVP_PKEY* key) {
  X509Ptr cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return OpenSslError("creating a certificate failed");
  }
  unsigned char serial[16];
  TONTINE_RETURN_IF_ERROR(RandomBytes(serial));
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  bool serial_ok = bn != nullptr &&
                   BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get())) != nullptr;
  BN_free(bn);
  if (!serial_ok) return OpenSslError("setting a serial number failed");

  X509_NAME* name = X509_get_subject_name(cert.get());
  std::string cn(common_name);
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>("Tontine"), -1, -1,
                                 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1) {
    return OpenSslError("setting the subject name failed");
  }
  // Backdate a minute for clock skew between coordinator and clients.
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), absl::ToInt64Seconds(validity)) ==
          nullptr ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return OpenSslError("setting validity or public key failed");
  }
  return cert;
}

absl::Status Sign(X509* cert, EVP_PKEY* issuer_key) {
  if (X509_sign(cert, issuer_key, EVP_sha256()) == 0) {
    return OpenSslError("signing the certificate failed");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<KeyAndCertificate> CreateCertificateAuthority(absl::string_view common_name,
                                                             absl::Duration validity) {
  TONTINE_ASSIGN_OR_RETURN(EvpPkeyPtr key, GenerateP256Key());
  TONTINE_ASSIGN_OR_RETURN(X509Ptr cert, NewCertificate(common_name, validity, key.get()));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) != 1) {
    return OpenSslError("setting the issuer failed");
  }
  TONTINE_RETURN_IF_ERROR(
      AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  TONTINE_RETURN_IF_ERROR(
      AddExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  TONTINE_RETURN_IF_ERROR(
      AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  TONTINE_RETURN_IF_ERROR(Sign(cert.get(), key.get()));
  KeyAndCertificate out;
  TONTINE_ASSIGN_OR_RETURN(out.private_key_pem, KeyToPem(key.get()));
  TONTINE_ASSIGN_OR_RETURN(out.certificate_pem, CertToPem(cert.get()));
  return out;
}

absl::StatusOr<KeyAndCertificate> IssueServerCertificate(
    const KeyAndCertificate& ca, const ServerCertificateOptions& options) {
  TONTINE_ASSIGN_OR_RETURN(X509Ptr ca_cert, ParseCertificate(ca.certificate_pem));
  TONTINE_ASSIGN_OR_RETURN(EvpPkeyPtr ca_key, ParsePrivateKey(ca.private_key_pem));
  if (X509_check_private_key(ca_cert.get(), ca_key.get()) != 1) {
    return absl::InvalidArgumentError("the CA private key does not match the CA certificate");
  }
  std::string san;
  for (const std::string& dns : options.dns_names) absl::StrAppend(&san, san.empty() ? "" : ",", "DNS:", dns);
  for (const std::string& ip : options.ip_addresses) absl::StrAppend(&san, san.empty() ? "" : ",", "IP:", ip);
  if (san.empty()) {
    return absl::InvalidArgumentError("a server certificate needs at least one name or address");
  }
  TONTINE_ASSIGN_OR_RETURN(EvpPkeyPtr key, GenerateP256Key());
  TONTINE_ASSIGN_OR_RETURN(X509Ptr cert,
                           NewCertificate(options.common_name, options.validity, key.get()));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get())) != 1) {
    return OpenSslError("setting the issuer failed");
  }
  X509* c = cert.get();
  X509* issuer = ca_cert.get();
  TONTINE_RETURN_IF_ERROR(AddExtension(c, issuer, NID_basic_constraints, "critical,CA:FALSE"));
  TONTINE_RETURN_IF_ERROR(
      AddExtension(c, issuer, NID_key_usage, "critical,digitalSignature,keyAgreement"));
  TONTINE_RETURN_IF_ERROR(AddExtension(c, issuer, NID_ext_key_usage, "serverAuth"));
  TONTINE_RETURN_IF_ERROR(AddExtension(c, issuer, NID_subject_alt_name, san));
  TONTINE_RETURN_IF_ERROR(AddExtension(c, issuer, NID_subject_key_identifier, "hash"));
  TONTINE_RETURN_IF_ERROR(AddExtension(c, issuer, NID_authority_key_identifier, "keyid:always"));
  TONTINE_RETURN_IF_ERROR(Sign(c, ca_key.get()));
  KeyAndCertificate out;
  TONTINE_ASSIGN_OR_RETURN(out.private_key_pem, KeyToPem(key.get()));
  TONTINE_ASSIGN_OR_RETURN(out.certificate_pem, CertToPem(c));
  return out;
}

absl::StatusOr<std::string> CertificateFingerprintDer(absl::string_view certificate_der) {
  return Sha256Digest(certificate_der);
}

absl::StatusOr<std::string> CertificateFingerprint(absl::string_view certificate_pem) {
  TONTINE_ASSIGN_OR_RETURN(X509Ptr cert, ParseCertificate(certificate_pem));
  unsigned char* der = nullptr;
  int len = i2d_X509(cert.get(), &der);
  if (len <= 0) return OpenSslError("DER-encoding the certificate failed");
  std::string digest_input(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return Sha256Digest(digest_input);
}

absl::StatusOr<std::string> DerToPem(absl::string_view certificate_der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(certificate_der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(certificate_der.size())));
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a DER certificate: ", OpenSslErrorText()));
  }
  return CertToPem(cert.get());
}

absl::StatusOr<std::vector<std::string>> SubjectAltNames(absl::string_view certificate_pem) {
  TONTINE_ASSIGN_OR_RETURN(X509Ptr cert, ParseCertificate(certificate_pem));
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  std::vector<std::string> out;
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DNS) {
      const ASN1_IA5STRING* s = name->d.dNSName;
      out.push_back(absl::StrCat("DNS:", absl::string_view(
                                             reinterpret_cast<const char*>(s->data), s->length)));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      char text[INET6_ADDRSTRLEN] = {};
      int family = ip->length == 4 ? AF_INET : ip->length == 16 ? AF_INET6 : -1;
      if (family != -1 && inet_ntop(family, ip->data, text, sizeof text) != nullptr) {
        out.push_back(absl::StrCat("IP:", text));
      }
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

absl::Status VerifyIssuedBy(absl::string_view leaf_pem, absl::string_view ca_pem) {
  TONTINE_ASSIGN_OR_RETURN(X509Ptr leaf, ParseCertificate(leaf_pem));
  TONTINE_ASSIGN_OR_RETURN(X509Ptr ca, ParseCertificate(ca_pem));
  X509StorePtr store(X509_STORE_new());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (store == nullptr || ctx == nullptr || X509_STORE_add_cert(store.get(), ca.get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), nullptr) != 1) {
    return OpenSslError("setting up certificate verification failed");
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    return absl::UnauthenticatedError(absl::StrCat("certificate verification failed: ",
                                                   X509_verify_cert_error_string(err)));
  }
  return absl::OkStatus();
}

}  // namespace tontine::crypto
