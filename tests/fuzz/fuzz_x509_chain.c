/*
 * libFuzzer target: X.509 chain input. The bytes are read as PEM, and
 * split in two at the first byte's value as two DER certificates; every
 * chain that parses is verified against a fixed PEM bundle, so the leaf
 * and signing-certificate checks and OpenSSL's path building run too.
 */
#include <stdlib.h>

#include "core/bundle.h"
#include "core/verifier.h"
#include "core/x509_svid.h"

/* A self-signed P-256 CA for example.org (valid 2026 to 2036), a trust anchor only. */
static const char bundle_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBnDCCAUGgAwIBAgIUDqOPSLURcCmeUhV4OElyzCQbLO4wCgYIKoZIzj0EAwIw\n"
    "GzEZMBcGA1UECgwQc3ZpZGdhdGUgZnV6eiBDQTAeFw0yNjEyMDQyMTMzMzJaFw0z\n"
    "NjEyMDEyMTMzMzJaMBsxGTAXBgNVBAoMEHN2aWRnYXRlIGZ1enogQ0EwWTATBgcq\n"
    "hkjOPQIBBggqhkjOPQMBBwNCAATYQYaHsS9v2HLf6W1oxjRFUDje4lNf02mwBbCq\n"
    "1qhWsvhJeyZzzTm5WQ7SQcjWxsLsyw3ND1/JJC1NwkzP4k0Ao2MwYTAPBgNVHRMB\n"
    "Af8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAfBgNVHREEGDAWhhRzcGlmZmU6Ly9l\n"
    "eGFtcGxlLm9yZzAdBgNVHQ4EFgQUioL06pVFrXZN5oiFL3iAl1DgLcUwCgYIKoZI\n"
    "zj0EAwIDSQAwRgIhAM2nNc5m/1hIAF21mC89glAAA/ETbpWAp/BQ47fTy2ZeAiEA\n"
    "re0C7M1r6IYlD+ROUnnKNrxDZ+/IvRhvr1OYoxIIb8w=\n"
    "-----END CERTIFICATE-----\n";

static struct sg_trust_set *trust;
static struct sg_verifier *verifier;

static void setup(void)
{
    struct sg_bundle *bundle = NULL;
    struct sg_status status;

    trust = sg_trust_set_new(1);
    verifier = sg_verifier_new();
    if (trust == NULL || verifier == NULL)
        abort();
    if (sg_bundle_parse(sg_slice_cstr("example.org"), sg_slice_cstr(bundle_pem), &bundle,
                        &status) != SG_OK ||
        sg_trust_set_add(trust, bundle, &status) != SG_OK)
        abort();
}

static void verify(STACK_OF(X509) *chain)
{
    static const struct sg_x509_options options = { 1800000000, 30 };
    struct sg_x509_svid svid;
    char *json;

    (void)!sg_x509_svid_verify(verifier, trust, chain, &options, &svid);
    json = sg_x509_svid_result_json(&svid);
    free(json);
    sg_x509_chain_free(chain);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    STACK_OF(X509) *chain = NULL;
    struct sg_status status;
    struct sg_slice ders[2];
    size_t split;

    if (trust == NULL)
        setup();

    if (sg_x509_chain_from_pem(sg_slice_make(data, size), &chain, &status) == SG_OK)
        verify(chain);

    if (size < 2)
        return 0;
    split = 1 + data[0] % (size - 1);
    ders[0] = sg_slice_make(data + 1, split - 1 < size - 1 ? split - 1 : 0);
    ders[1] = sg_slice_make(data + split, size - split);
    if (sg_x509_chain_from_der(ders, ders[0].len > 0 ? 2 : 1, &chain, &status) == SG_OK ||
        sg_x509_chain_from_der(ders + 1, 1, &chain, &status) == SG_OK)
        verify(chain);
    return 0;
}
