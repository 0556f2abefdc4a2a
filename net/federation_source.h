/*
 * Federated trust domains: the `--federate TD=URL[,OPTION...]` source,
 * whose bundle comes from a SPIFFE bundle endpoint instead of a file.
 */
#ifndef SVIDGATE_NET_FEDERATION_SOURCE_H
#define SVIDGATE_NET_FEDERATION_SOURCE_H

#include "core/error.h"
#include "net/federation_fetch.h"

/* One `--federate` argument, validated. Strings are owned. */
struct sg_federation_source {
    char *trust_domain; /* name form, without "spiffe://" */
    char *url;
    enum sg_fed_profile profile;
    char *spiffe_id; /* https_spiffe: the endpoint's SPIFFE ID; NULL for https_web */
    char *ca_file;   /* https_web: PEM file of trusted CAs; NULL for the system store */
};

/*
 * Parses `TD=URL[,profile=https_web|https_spiffe][,spiffe_id=ID][,ca_file=PEM]`.
 * The profile defaults to https_web. https_spiffe needs spiffe_id and
 * rejects ca_file; https_web rejects spiffe_id. Returns SG_ERR_MALFORMED
 * with a message naming the argument otherwise.
 */
SG_MUST_CHECK enum sg_error sg_federation_source_parse_arg(const char *arg,
                                                           struct sg_federation_source *out,
                                                           struct sg_status *status);

void sg_federation_source_clear(struct sg_federation_source *source);

#endif
