/*
 * One fetch of a SPIFFE bundle from a bundle endpoint (SPIFFE Federation
 * section 5), with libcurl on the calling thread.
 *
 * The caller names all three parameters of the relationship: the
 * endpoint URL, the authentication profile and the trust domain the
 * bundle belongs to. Nothing is inferred from the URL, and one profile
 * never falls back to the other.
 *
 * Every fetch starts from the configured URL. Redirects are followed
 * one hop at a time, up to a limit; each target must itself be a valid
 * endpoint URL and each new connection is authenticated again with the
 * same profile. No redirect is remembered between fetches.
 */
#ifndef SVIDGATE_NET_FEDERATION_FETCH_H
#define SVIDGATE_NET_FEDERATION_FETCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bundle.h"
#include "core/limits.h"
#include "core/slice.h"

/* Authentication profiles of a bundle endpoint (Federation section 5.2). */
enum sg_fed_profile {
    SG_FED_HTTPS_WEB,    /* Web PKI: a trusted CA and the URL's host name */
    SG_FED_HTTPS_SPIFFE, /* an X.509-SVID whose SPIFFE ID equals the configured one */
};

/* Returns "https_web" or "https_spiffe". */
const char *sg_fed_profile_name(enum sg_fed_profile profile);

/* Parses "https_web" or "https_spiffe"; false for anything else. */
bool sg_fed_profile_parse(const char *text, enum sg_fed_profile *out);

/* The reason a fetch failed. */
enum sg_fed_error {
    SG_FED_OK,
    SG_FED_BAD_URL,       /* the configured URL or a redirect target is not https or has userinfo */
    SG_FED_TRANSPORT,     /* connect, TLS or HTTP failure, or a timeout */
    SG_FED_AUTH,          /* the server did not authenticate under the profile */
    SG_FED_HTTP_STATUS,   /* a status other than 200, or too many redirects */
    SG_FED_TOO_LARGE,     /* the body is longer than max_body */
    SG_FED_BAD_BUNDLE,    /* the body is not a SPIFFE bundle */
    SG_FED_INTERNAL,      /* out of memory, or libcurl lacks a needed feature */
};

/* One bundle endpoint. Pointers are borrowed for the duration of the fetch. */
struct sg_fed_endpoint {
    const char *url;
    enum sg_fed_profile profile;
    struct sg_slice trust_domain; /* the trust domain the fetched bundle is parsed for */

    /* https_web: PEM file of trusted CAs, or NULL for the system CA store. */
    const char *ca_file;

    /* https_spiffe: the endpoint's exact SPIFFE ID, and a trust set that
     * contains the bundle of that ID's trust domain. */
    const char *spiffe_id;
    const struct sg_trust_set *trust;
};

struct sg_fed_fetch_options {
    int64_t connect_timeout_ms; /* per connection */
    int64_t timeout_ms;         /* the whole fetch, every redirect hop included */
    size_t max_body;            /* bytes of one response body */
    int max_redirects;
    int64_t leeway;             /* seconds allowed on the endpoint SVID's validity (https_spiffe) */
    /* When set to true by another thread, a fetch in progress stops within
     * about a second with SG_FED_TRANSPORT; NULL for none. */
    const atomic_bool *cancel;
};

/* Defaults: 5 s to connect, 30 s in all, SG_BUNDLE_MAX bytes, 3 redirects. */
#define SG_FED_CONNECT_TIMEOUT_MS_DEFAULT 5000
#define SG_FED_TIMEOUT_MS_DEFAULT 30000
#define SG_FED_MAX_REDIRECTS_DEFAULT 3

void sg_fed_fetch_options_default(struct sg_fed_fetch_options *options);

#define SG_FED_MESSAGE_MAX 512

/* The outcome of one fetch. Clear it with sg_fed_fetch_result_clear. */
struct sg_fed_fetch_result {
    enum sg_fed_error error;
    char message[SG_FED_MESSAGE_MAX]; /* what failed, or "ok" */

    char *body; /* owned: the exact response body on success, NUL-terminated */
    size_t body_len;
    struct sg_bundle *bundle; /* owned: the parsed body on success */

    char *final_url; /* owned: the URL that returned 200 */
    int redirects;   /* redirects followed */
    long http_status; /* of the last response, 0 when none arrived */

    /* https_spiffe: the SPIFFE ID the last server presented, whether or not it matched. */
    char peer_id[SG_SPIFFE_ID_MAX + 1];
    size_t peer_id_len;
};

/*
 * Initialises libcurl. Call once, before any thread is started, because
 * curl_global_init is not thread-safe. Returns false when libcurl
 * cannot be initialised.
 */
bool sg_fed_global_init(void);
void sg_fed_global_cleanup(void);

/*
 * Checks that `url` is a valid bundle endpoint URL: scheme https, a
 * host, and no userinfo. Fills `message` (SG_FED_MESSAGE_MAX bytes)
 * with the reason and returns false otherwise.
 */
bool sg_fed_check_url(const char *url, char *message);

/*
 * Fetches and parses the bundle of `endpoint`, filling `out` (which the
 * caller then clears). Returns out->error. A response other than 200,
 * a body over options->max_body, or a body that sg_bundle_parse rejects
 * for endpoint->trust_domain all fail the fetch.
 */
enum sg_fed_error sg_fed_fetch(const struct sg_fed_endpoint *endpoint,
                               const struct sg_fed_fetch_options *options,
                               struct sg_fed_fetch_result *out);

void sg_fed_fetch_result_clear(struct sg_fed_fetch_result *result);

#endif
