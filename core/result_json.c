/*
 * The result object of the interface, rendered as one line of JSON:
 * {"valid":true,"spiffe_id":...,"trust_domain":...,"expires_at":...,
 *  "audience":[...],"claims":{...}} or
 * {"valid":false,"error":"<code>","message":"<sentence>"}.
 */
#include <stdlib.h>

#include "core/json_util.h"
#include "core/jwt_svid.h"
#include "core/x509_svid.h"

static json_t *audience_array(const json_t *aud)
{
    json_t *array;

    if (json_is_array(aud))
        return json_deep_copy(aud);

    array = json_array();
    if (array != NULL && json_array_append(array, (json_t *)aud) != 0) {
        json_decref(array);
        return NULL;
    }
    return array;
}

static json_t *valid_object(const struct sg_jwt_svid *svid)
{
    const struct sg_spiffe_id *id = &svid->id;

    return json_pack("{s:b, s:s%, s:s%, s:I, s:o, s:O}", "valid", 1, "spiffe_id",
                     (const char *)id->id.ptr, id->id.len, "trust_domain",
                     (const char *)id->trust_domain.ptr, id->trust_domain.len, "expires_at",
                     (json_int_t)svid->expires_at, "audience",
                     audience_array(json_object_get(svid->claims, "aud")), "claims",
                     svid->claims);
}

static json_t *invalid_object(const struct sg_jwt_svid *svid)
{
    return json_pack("{s:b, s:s, s:s}", "valid", 0, "error", sg_error_name(svid->status.error),
                     "message", svid->status.message);
}

char *sg_result_error_json(enum sg_error error, const char *message)
{
    json_t *object = json_pack("{s:b, s:s, s:s}", "valid", 0, "error", sg_error_name(error),
                               "message", message);
    char *text;

    if (object == NULL)
        return NULL;
    text = json_dumps(object, JSON_COMPACT);
    json_decref(object);
    return text;
}

char *sg_jwt_svid_result_json(const struct sg_jwt_svid *svid)
{
    json_t *object =
        svid->status.error == SG_OK ? valid_object(svid) : invalid_object(svid);
    char *text;

    if (object == NULL)
        return NULL;
    text = json_dumps(object, JSON_COMPACT);
    json_decref(object);
    return text;
}

char *sg_x509_svid_result_json(const struct sg_x509_svid *svid)
{
    const struct sg_spiffe_id *id = &svid->id;
    json_t *object;
    char *text;

    if (svid->status.error == SG_OK)
        object = json_pack("{s:b, s:s%, s:s%, s:I}", "valid", 1, "spiffe_id",
                           (const char *)id->id.ptr, id->id.len, "trust_domain",
                           (const char *)id->trust_domain.ptr, id->trust_domain.len,
                           "expires_at", (json_int_t)svid->expires_at);
    else
        object = json_pack("{s:b, s:s, s:s}", "valid", 0, "error",
                           sg_error_name(svid->status.error), "message", svid->status.message);
    if (object == NULL)
        return NULL;
    text = json_dumps(object, JSON_COMPACT);
    json_decref(object);
    return text;
}
