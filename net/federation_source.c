/* Parsing of `--federate` arguments. */
#include "net/federation_source.h"

#include <unistd.h>

#include <errno.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/spiffe_id.h"

/* Stores one OPTION=VALUE of a --federate argument into `out`. */
static enum sg_error apply_option(const char *arg, char *option, struct sg_federation_source *out,
                                  bool *profile_seen, struct sg_status *status)
{
    char *equals = strchr(option, '=');
    char **target = NULL;

    if (equals == NULL || equals[1] == '\0')
        return sg_fail(status, SG_ERR_MALFORMED,
                       "--federate \"%s\": option \"%s\" must have the form NAME=VALUE", arg,
                       option);
    *equals = '\0';
    const char *value = equals + 1;

    if (strcmp(option, "profile") == 0) {
        if (*profile_seen || !sg_fed_profile_parse(value, &out->profile))
            return sg_fail(status, SG_ERR_MALFORMED,
                           "--federate \"%s\": profile must be given once, as https_web or "
                           "https_spiffe", arg);
        *profile_seen = true;
        return SG_OK;
    }
    if (strcmp(option, "spiffe_id") == 0)
        target = &out->spiffe_id;
    else if (strcmp(option, "ca_file") == 0)
        target = &out->ca_file;
    else
        return sg_fail(status, SG_ERR_MALFORMED,
                       "--federate \"%s\": unknown option \"%s\"; expected profile, spiffe_id "
                       "or ca_file", arg, option);

    if (*target != NULL)
        return sg_fail(status, SG_ERR_MALFORMED, "--federate \"%s\": %s is given twice", arg,
                       option);
    *target = strdup(value);
    if (*target == NULL)
        return sg_fail(status, SG_ERR_INTERNAL, "out of memory");
    return SG_OK;
}

/* Checks that the options fit the profile: https_spiffe needs a SPIFFE ID and https_web takes none. */
static enum sg_error check_profile(const char *arg, const struct sg_federation_source *source,
                                   struct sg_status *status)
{
    struct sg_spiffe_id id;
    struct sg_status id_status;

    if (source->profile == SG_FED_HTTPS_WEB) {
        if (source->spiffe_id != NULL)
            return sg_fail(status, SG_ERR_MALFORMED,
                           "--federate \"%s\": spiffe_id applies only to profile=https_spiffe",
                           arg);
        if (source->ca_file != NULL && access(source->ca_file, R_OK) != 0)
            return sg_fail(status, SG_ERR_MALFORMED, "--federate \"%s\": cannot read ca_file %s: %s",
                           arg, source->ca_file, strerror(errno));
        return SG_OK;
    }
    if (source->ca_file != NULL)
        return sg_fail(status, SG_ERR_MALFORMED,
                       "--federate \"%s\": ca_file applies only to profile=https_web", arg);
    if (source->spiffe_id == NULL)
        return sg_fail(status, SG_ERR_MALFORMED,
                       "--federate \"%s\": profile=https_spiffe needs spiffe_id=ID", arg);
    if (sg_spiffe_id_parse(sg_slice_cstr(source->spiffe_id), &id, &id_status) != SG_OK)
        return sg_fail(status, SG_ERR_MALFORMED, "--federate \"%s\": spiffe_id: %s", arg,
                       id_status.message);
    return SG_OK;
}

enum sg_error sg_federation_source_parse_arg(const char *arg, struct sg_federation_source *out,
                                             struct sg_status *status)
{
    const char *equals = strchr(arg, '=');
    char message[SG_FED_MESSAGE_MAX];
    struct sg_status td_status;
    struct sg_slice name;
    bool profile_seen = false;
    char *rest;

    memset(out, 0, sizeof(*out));
    out->profile = SG_FED_HTTPS_WEB;
    if (equals == NULL || equals == arg || equals[1] == '\0')
        return sg_fail(status, SG_ERR_MALFORMED,
                       "--federate \"%s\" must have the form TRUST_DOMAIN=URL[,OPTION=VALUE...]",
                       arg);

    name = sg_slice_make(arg, (size_t)(equals - arg));
    if (sg_slice_starts_with(name, sg_slice_cstr("spiffe://")))
        name = sg_slice_make(name.ptr + 9, name.len - 9);
    if (sg_trust_domain_validate(name, &td_status) != SG_OK)
        return sg_fail(status, SG_ERR_MALFORMED, "--federate \"%s\": %s", arg, td_status.message);

    out->trust_domain = strndup((const char *)name.ptr, name.len);
    rest = strdup(equals + 1);
    if (out->trust_domain == NULL || rest == NULL) {
        free(rest);
        sg_federation_source_clear(out);
        return sg_fail(status, SG_ERR_INTERNAL, "out of memory");
    }

    /* The URL ends at the first comma; a URL that needs a comma must
     * percent-encode it. */
    char *save = NULL;
    char *url = strtok_r(rest, ",", &save);
    enum sg_error error = SG_OK;

    if (url == NULL || !sg_fed_check_url(url, message))
        error = sg_fail(status, SG_ERR_MALFORMED, "--federate \"%s\": %s", arg,
                        url == NULL ? "the URL is missing" : message);
    else if ((out->url = strdup(url)) == NULL)
        error = sg_fail(status, SG_ERR_INTERNAL, "out of memory");

    for (char *option = strtok_r(NULL, ",", &save); error == SG_OK && option != NULL;
         option = strtok_r(NULL, ",", &save))
        error = apply_option(arg, option, out, &profile_seen, status);
    free(rest);

    if (error == SG_OK)
        error = check_profile(arg, out, status);
    if (error != SG_OK)
        sg_federation_source_clear(out);
    return error;
}

void sg_federation_source_clear(struct sg_federation_source *source)
{
    free(source->trust_domain);
    free(source->url);
    free(source->spiffe_id);
    free(source->ca_file);
    memset(source, 0, sizeof(*source));
}
