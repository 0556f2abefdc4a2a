/*
 * libFuzzer target: the whole JWT-SVID path (compact JWS split, base64url,
 * header and claims JSON, SPIFFE ID, key lookup, signature) against a
 * fixed bundle with one P-256 key. Nothing the fuzzer makes
 * can carry a valid signature, so an accepted token is a bug.
 */
#include <stdlib.h>

#include "core/bundle.h"
#include "core/jwt_svid.h"
#include "core/verifier.h"

static const char bundle_json[] =
    "{\"keys\":[{\"kty\":\"EC\",\"use\":\"jwt-svid\",\"kid\":\"ec\",\"crv\":\"P-256\","
    "\"x\":\"KSexBRK64-3c_kZ4KBKLrSkDJpkZ9whgacjE32xzKDg\","
    "\"y\":\"x3h5ZOqsAOWSH7FJimD0YGdms9loUAFVjRqXTnNBUT4\"}]}";

static struct sg_trust_set *trust;
static struct sg_verifier *verifier;

static void setup(void)
{
    struct sg_bundle *bundle;
    struct sg_status status;

    trust = sg_trust_set_new(1);
    verifier = sg_verifier_new();
    if (trust == NULL || verifier == NULL ||
        sg_bundle_parse(sg_slice_cstr("example.org"), sg_slice_cstr(bundle_json), &bundle,
                        &status) != SG_OK ||
        sg_trust_set_add(trust, bundle, &status) != SG_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct sg_jwt_options options = { 1700000000, 30 };
    struct sg_jwt_svid svid;
    char *json;

    if (trust == NULL)
        setup();
    if (sg_jwt_svid_verify(verifier, trust, sg_slice_make(data, size), &options, &svid) == SG_OK)
        abort();

    json = sg_jwt_svid_result_json(&svid);
    free(json);
    sg_jwt_svid_clear(&svid);
    return 0;
}
