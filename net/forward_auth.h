/*
 * Forward authentication at /v1/auth and every path under /v1/auth/: the
 * sub-request of nginx auth_request, Traefik forwardAuth and Envoy
 * ext_authz (HTTP mode).
 *
 * The credential comes from the first of these sources that is present:
 *   1. Authorization: Bearer <JWT-SVID>
 *   2. x-forwarded-client-cert (Envoy): Chain= or Cert= of the last element
 *   3. X-SSL-Client-Cert: a URL-encoded PEM chain (nginx
 *      $ssl_client_escaped_cert)
 * An invalid credential gets 401 and the next source is never tried, so
 * a client cannot fall back to a weaker source by spoiling the first. Authorization
 * headers of other schemes (Basic, ...) are not credentials here.
 *
 * The audience is X-Svid-Audience (each such header is one audience),
 * else the `audience` query parameters of /v1/auth itself, else the
 * server's default audiences. The query of /v1/auth/<path> belongs to
 * the original request, which the client chose, so it is never read.
 *
 * The original path, for path rules of the policy, is the part after
 * /v1/auth (Envoy appends it), else X-Forwarded-Uri (Traefik), else
 * X-Original-URI (the nginx convention), each without its query.
 *
 * Responses have empty bodies:
 *   200  X-Spiffe-Id, X-Spiffe-Trust-Domain, Cache-Control: private,
 *        max-age=N (N never outlives the credential or the trust domain's
 *        next bundle refresh)
 *   401  WWW-Authenticate: Bearer error="invalid_token", X-Svid-Error,
 *        Cache-Control: no-store
 *   403  X-Svid-Error: policy_denied, Cache-Control: no-store
 */
#ifndef SVIDGATE_NET_FORWARD_AUTH_H
#define SVIDGATE_NET_FORWARD_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "core/spiffe_id.h"
#include "net/http_parser.h"
#include "net/routes.h"

/* Bytes of the response header lines of a forward-auth response. */
#define SG_FORWARD_AUTH_HEADERS_MAX (SG_SPIFFE_ID_MAX + 512)

struct sg_forward_auth_reply {
    int status;                                /* 200, 401 or 403 */
    char headers[SG_FORWARD_AUTH_HEADERS_MAX]; /* "Name: value\r\n" lines */
};

/* Whether `path` is /v1/auth or under /v1/auth/. */
bool sg_forward_auth_path(struct sg_slice path);

/* Verifies the request's credential and applies the policy. */
void sg_forward_auth_handle(struct sg_route_context *context,
                            const struct sg_http_request *request, int64_t now,
                            struct sg_forward_auth_reply *reply);

/*
 * Applies the policy to a verified ID, counts the decision and logs a
 * denial. Returns SG_OK when admitted (always in dry-run mode) or
 * SG_ERR_POLICY_DENIED. `path.ptr == NULL` means the request has no
 * original path.
 */
enum sg_error sg_forward_auth_authorize(struct sg_route_context *context,
                                        const struct sg_spiffe_id *id,
                                        const struct sg_slice *audiences, size_t audience_count,
                                        struct sg_slice path, int64_t now);

#endif
