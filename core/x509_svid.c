/*
 * X.509-SVID verification: the leaf rules of the X.509-SVID standard,
 * the signing-certificate rules for the rest of the chain, then RFC 5280
 * path validation by OpenSSL against the authorities of the leaf's own
 * trust domain, then validity times with svidgate's leeway.
 */
#include "core/x509_svid.h"

#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "core/verifier_internal.h"

/* RFC 5280 section 4.2: no extension may appear twice in one certificate. */
static enum sg_error check_unique_extensions(STACK_OF(X509) *chain, struct sg_x509_svid *out)
{
    for (int c = 0; c < sk_X509_num(chain); c++) {
        const X509 *cert = sk_X509_value(chain, c);
        int count = X509_get_ext_count(cert);

        for (int i = 0; i < count; i++) {
            const ASN1_OBJECT *object = X509_EXTENSION_get_object(X509_get_ext(cert, i));

            for (int j = i + 1; j < count; j++) {
                if (OBJ_cmp(object, X509_EXTENSION_get_object(X509_get_ext(cert, j))) == 0)
                    return sg_fail(&out->status, SG_ERR_MALFORMED,
                                   "certificate %d of the chain has the same extension twice",
                                   c + 1);
            }
        }
    }
    return SG_OK;
}

/* Copies the one URI SAN of the leaf into out->id_text. */
static enum sg_error read_leaf_uri(X509 *leaf, struct sg_x509_svid *out)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    const ASN1_IA5STRING *uri = NULL;
    int uri_count = 0;

    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);

        if (name->type == GEN_URI) {
            uri = name->d.uniformResourceIdentifier;
            uri_count++;
        }
    }

    /* X.509-SVID section 2: exactly one URI SAN, even two identical ones fail. */
    if (uri_count != 1) {
        GENERAL_NAMES_free(names);
        ERR_clear_error();
        return sg_fail(&out->status, SG_ERR_LEAF_NOT_SVID,
                       "the leaf certificate has %d URI SANs; an X.509-SVID has exactly one",
                       uri_count);
    }
    if ((size_t)ASN1_STRING_length(uri) > SG_SPIFFE_ID_MAX) {
        GENERAL_NAMES_free(names);
        return sg_fail(&out->status, SG_ERR_INVALID_SPIFFE_ID,
                       "the leaf URI SAN is longer than %d bytes", SG_SPIFFE_ID_MAX);
    }

    out->id_len = (size_t)ASN1_STRING_length(uri);
    memcpy(out->id_text, ASN1_STRING_get0_data(uri), out->id_len);
    out->id_text[out->id_len] = '\0';
    GENERAL_NAMES_free(names);
    return SG_OK;
}

static enum sg_error check_leaf_id(X509 *leaf, struct sg_x509_svid *out)
{
    SG_GUARD(read_leaf_uri(leaf, out));

    /* The ASN.1 length, not the NUL: an embedded 0x00 in the SAN is
     * scanned and rejected instead of ending the ID early. */
    if (sg_spiffe_id_parse(sg_slice_make(out->id_text, out->id_len), &out->id, &out->status) !=
        SG_OK)
        return out->status.error;
    if (out->id.path.len == 0)
        return sg_fail(&out->status, SG_ERR_LEAF_NOT_SVID,
                       "the leaf SPIFFE ID \"%.*s\" has no path; only a trust domain's "
                       "signing certificates may name the bare trust domain",
                       (int)out->id.id.len, (const char *)out->id.id.ptr);
    return SG_OK;
}

/* X.509-SVID sections 4.1 and 4.3: a leaf is no CA and signs nothing but data. */
static enum sg_error check_leaf_usage(X509 *leaf, struct sg_x509_svid *out)
{
    uint32_t flags = X509_get_extension_flags(leaf);
    uint32_t usage = X509_get_key_usage(leaf);

    if (flags & EXFLAG_INVALID)
        return sg_fail(&out->status, SG_ERR_MALFORMED, "the leaf certificate has an invalid "
                       "extension");
    if (flags & EXFLAG_CA)
        return sg_fail(&out->status, SG_ERR_LEAF_NOT_SVID,
                       "the leaf certificate is a CA (basicConstraints cA is true)");
    if ((flags & EXFLAG_KUSAGE) == 0 || (usage & KU_DIGITAL_SIGNATURE) == 0)
        return sg_fail(&out->status, SG_ERR_LEAF_NOT_SVID,
                       "the leaf certificate key usage lacks digitalSignature");
    if (usage & KU_KEY_CERT_SIGN)
        return sg_fail(&out->status, SG_ERR_LEAF_NOT_SVID,
                       "the leaf certificate key usage includes keyCertSign");
    if (usage & KU_CRL_SIGN)
        return sg_fail(&out->status, SG_ERR_LEAF_NOT_SVID,
                       "the leaf certificate key usage includes cRLSign");
    return SG_OK;
}

/*
 * X.509-SVID sections 3.2 and 4.3: every certificate after the leaf is a
 * signing certificate, so it must be a CA, and a key usage extension, when
 * present, must include keyCertSign. This applies even to a certificate
 * the path does not need, since a chain that carries it is not an SVID.
 */
static enum sg_error check_signing_certificates(STACK_OF(X509) *chain, struct sg_x509_svid *out)
{
    for (int i = 1; i < sk_X509_num(chain); i++) {
        X509 *cert = sk_X509_value(chain, i);
        uint32_t flags = X509_get_extension_flags(cert);

        if ((flags & EXFLAG_CA) == 0)
            return sg_fail(&out->status, SG_ERR_CHAIN_INVALID,
                           "certificate %d of the chain signs others but is not a CA", i + 1);
        if ((flags & EXFLAG_KUSAGE) && (X509_get_key_usage(cert) & KU_KEY_CERT_SIGN) == 0)
            return sg_fail(&out->status, SG_ERR_CHAIN_INVALID,
                           "certificate %d of the chain is a CA whose key usage lacks "
                           "keyCertSign",
                           i + 1);
    }
    return SG_OK;
}

static const struct sg_bundle *find_bundle(const struct sg_trust_set *trust,
                                           struct sg_x509_svid *out)
{
    const struct sg_bundle *bundle = sg_trust_set_find(trust, out->id.trust_domain);

    if (bundle == NULL)
        sg_fail(&out->status, SG_ERR_UNKNOWN_TRUST_DOMAIN,
                "no trust bundle is loaded for trust domain \"%.*s\"",
                (int)out->id.trust_domain.len, (const char *)out->id.trust_domain.ptr);
    else if (sk_X509_num(bundle->x509_authorities) == 0)
        sg_fail(&out->status, SG_ERR_CHAIN_INVALID,
                "trust domain \"%.*s\" has no X.509 authorities", (int)out->id.trust_domain.len,
                (const char *)out->id.trust_domain.ptr);
    else
        return bundle;
    return NULL;
}

static bool asn1_time_to_unix(const ASN1_TIME *time_value, int64_t *out)
{
    struct tm parts;

    if (ASN1_TIME_to_tm(time_value, &parts) != 1)
        return false;
    *out = (int64_t)timegm(&parts);
    return true;
}

/*
 * Checks notBefore and notAfter of every certificate of the built path
 * (leaf, intermediates and the anchor) with one leeway, and records the
 * earliest notAfter.
 */
static enum sg_error check_validity(STACK_OF(X509) *path, const struct sg_x509_options *options,
                                    struct sg_x509_svid *out)
{
    out->expires_at = INT64_MAX;

    for (int i = 0; i < sk_X509_num(path); i++) {
        const X509 *cert = sk_X509_value(path, i);
        int64_t not_before, not_after;

        if (!asn1_time_to_unix(X509_get0_notBefore(cert), &not_before) ||
            !asn1_time_to_unix(X509_get0_notAfter(cert), &not_after))
            return sg_fail(&out->status, SG_ERR_MALFORMED,
                           "certificate %d of the path has an unreadable validity time", i + 1);

        if (options->now - options->leeway > not_after)
            return sg_fail(&out->status, SG_ERR_EXPIRED,
                           "certificate %d of the path expired at %lld (leeway %lld s)", i + 1,
                           (long long)not_after, (long long)options->leeway);
        if (options->now + options->leeway < not_before)
            return sg_fail(&out->status, SG_ERR_NOT_YET_VALID,
                           "certificate %d of the path is not valid before %lld (leeway %lld s)",
                           i + 1, (long long)not_before, (long long)options->leeway);
        if (not_after < out->expires_at)
            out->expires_at = not_after;
    }
    return SG_OK;
}

/* Builds and checks the path from the leaf to an authority of `bundle`. */
static enum sg_error verify_path(struct sg_verifier *verifier, const struct sg_bundle *bundle,
                                 STACK_OF(X509) *chain, const struct sg_x509_options *options,
                                 struct sg_x509_svid *out)
{
    X509_STORE_CTX *ctx = verifier->store_ctx;
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    enum sg_error err = SG_OK;

    for (int i = 1; untrusted != NULL && i < sk_X509_num(chain); i++) {
        if (sk_X509_push(untrusted, sk_X509_value(chain, i)) <= 0)
            break;
    }
    if (untrusted == NULL || sk_X509_num(untrusted) != sk_X509_num(chain) - 1 ||
        X509_STORE_CTX_init(ctx, bundle->x509_store, sk_X509_value(chain, 0), untrusted) != 1) {
        err = sg_fail(&out->status, SG_ERR_INTERNAL, "out of memory verifying a chain");
        goto done;
    }

    if (X509_verify_cert(ctx) != 1) {
        int code = X509_STORE_CTX_get_error(ctx);

        err = sg_fail(&out->status, SG_ERR_CHAIN_INVALID,
                      "the chain does not verify to an X.509 authority of \"%.*s\": %s "
                      "(at certificate %d)",
                      (int)out->id.trust_domain.len, (const char *)out->id.trust_domain.ptr,
                      X509_verify_cert_error_string(code), X509_STORE_CTX_get_error_depth(ctx) + 1);
        goto done;
    }
    err = check_validity(X509_STORE_CTX_get0_chain(ctx), options, out);

done:
    X509_STORE_CTX_cleanup(ctx);
    sk_X509_free(untrusted);
    ERR_clear_error();
    return err;
}

enum sg_error sg_x509_svid_verify(struct sg_verifier *verifier, const struct sg_trust_set *trust,
                                  STACK_OF(X509) *chain, const struct sg_x509_options *options,
                                  struct sg_x509_svid *out)
{
    const struct sg_bundle *bundle;
    X509 *leaf;

    memset(out, 0, sizeof(*out));
    if (chain == NULL || sk_X509_num(chain) == 0)
        return sg_fail(&out->status, SG_ERR_MALFORMED, "the certificate chain is empty");
    leaf = sk_X509_value(chain, 0);

    if (check_unique_extensions(chain, out) != SG_OK || check_leaf_id(leaf, out) != SG_OK ||
        check_leaf_usage(leaf, out) != SG_OK)
        return out->status.error;

    bundle = find_bundle(trust, out);
    if (bundle == NULL || check_signing_certificates(chain, out) != SG_OK)
        return out->status.error;

    if (verify_path(verifier, bundle, chain, options, out) != SG_OK)
        return out->status.error;

    sg_status_ok(&out->status);
    return SG_OK;
}
