/*
 * `svidgate bundle fetch`: fetches one SPIFFE bundle from a bundle
 * endpoint, prints the exact response body on standard output and a
 * one-line summary on standard error.
 */
#include <getopt.h>
#include <unistd.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "cmd/options.h"
#include "core/spiffe_id.h"
#include "net/bundle_files.h"
#include "net/federation_fetch.h"

/* Bounds of --timeout, in seconds. */
#define TIMEOUT_MIN_SECONDS 1
#define TIMEOUT_MAX_SECONDS 300

static const char bundle_fetch_usage[] =
    "usage: svidgate bundle fetch URL [--profile https_web|https_spiffe] [--ca-file PEM]\n"
    "                             [--spiffe-id ID --bundle TD=PATH] [--trust-domain TD]\n"
    "                             [--timeout SECONDS]\n"
    "\n"
    "Fetches the SPIFFE bundle that the bundle endpoint at URL serves, prints the\n"
    "response body unchanged on standard output, and a summary line on standard\n"
    "error. URL must be https and must not contain userinfo. Up to 3 redirects to\n"
    "other valid endpoint URLs are followed, and each new connection is\n"
    "authenticated with the same profile.\n"
    "\n"
    "  --profile PROFILE    how the endpoint is authenticated (default https_web):\n"
    "                       https_web     certificate from a trusted CA that names\n"
    "                                     the URL's host\n"
    "                       https_spiffe  X.509-SVID whose SPIFFE ID is --spiffe-id;\n"
    "                                     the host name is not checked\n"
    "  --ca-file PEM        https_web: trusted CA certificates (default: the system\n"
    "                       CA store)\n"
    "  --spiffe-id ID       https_spiffe: the endpoint's exact SPIFFE ID (required)\n"
    "  --bundle TD=PATH     https_spiffe: bundle of trust domain TD, used to validate\n"
    "                       the endpoint's X.509-SVID; one for the trust domain of\n"
    "                       --spiffe-id is required; repeatable\n"
    "  --trust-domain TD    trust domain of the fetched bundle (required for\n"
    "                       https_web; default for https_spiffe: the trust domain of\n"
    "                       --spiffe-id)\n"
    "  --timeout SECONDS    limit for the whole fetch, redirects included, 1 to 300\n"
    "                       (default 30); connecting takes at most 5 of them\n"
    "\n"
    "The body must be a SPIFFE bundle (JSON) of at most 1 MiB, served with status 200.\n"
    "Exit status: 0 fetched and parsed, 1 the fetch or its validation failed, 2 usage\n"
    "or configuration error.\n";

struct fetch_config {
    const char *url;
    enum sg_fed_profile profile;
    const char *ca_file;
    const char *spiffe_id;
    const char *trust_domain; /* as given, with or without "spiffe://" */
    struct sg_bundle_list bundles;
    int64_t timeout_seconds;
};

enum {
    OPT_PROFILE = 256,
    OPT_CA_FILE,
    OPT_SPIFFE_ID,
    OPT_BUNDLE,
    OPT_TRUST_DOMAIN,
    OPT_TIMEOUT,
    OPT_HELP,
};

static const struct option fetch_options[] = {
    { "profile", required_argument, NULL, OPT_PROFILE },
    { "ca-file", required_argument, NULL, OPT_CA_FILE },
    { "spiffe-id", required_argument, NULL, OPT_SPIFFE_ID },
    { "bundle", required_argument, NULL, OPT_BUNDLE },
    { "trust-domain", required_argument, NULL, OPT_TRUST_DOMAIN },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
};

static int usage_error(void)
{
    fputs("Run 'svidgate bundle fetch --help' for usage.\n", stderr);
    return SG_EXIT_USAGE;
}

/* Applies one option; false after printing what is wrong with it. */
static bool apply_option(struct fetch_config *config, int option, const char *word)
{
    switch (option) {
    case OPT_PROFILE:
        if (sg_fed_profile_parse(optarg, &config->profile))
            return true;
        fprintf(stderr, "svidgate: bundle fetch: --profile \"%s\" must be https_web or "
                "https_spiffe\n", optarg);
        return false;
    case OPT_CA_FILE:
        /* An unreadable CA file is a configuration error, not an untrusted server. */
        if (access(optarg, R_OK) != 0) {
            fprintf(stderr, "svidgate: bundle fetch: cannot read --ca-file %s: %s\n", optarg,
                    strerror(errno));
            return false;
        }
        config->ca_file = optarg;
        return true;
    case OPT_SPIFFE_ID:
        config->spiffe_id = optarg;
        return true;
    case OPT_BUNDLE:
        return sg_option_add_bundle(&config->bundles, optarg);
    case OPT_TRUST_DOMAIN:
        config->trust_domain = optarg;
        return true;
    case OPT_TIMEOUT:
        return sg_option_parse_int("--timeout", optarg, TIMEOUT_MIN_SECONDS, TIMEOUT_MAX_SECONDS,
                                   &config->timeout_seconds);
    case ':':
        fprintf(stderr, "svidgate: bundle fetch: option %s needs a value\n", word);
        return false;
    default:
        fprintf(stderr, "svidgate: bundle fetch: unknown option %s\n", word);
        return false;
    }
}

/* Checks the options that belong to one profile only. False after a message. */
static bool check_profile_options(const struct fetch_config *config)
{
    if (config->profile == SG_FED_HTTPS_WEB) {
        if (config->spiffe_id != NULL || config->bundles.count > 0) {
            fputs("svidgate: bundle fetch: --spiffe-id and --bundle apply only to --profile "
                  "https_spiffe; https_web authenticates with --ca-file or the system CA "
                  "store\n", stderr);
            return false;
        }
        if (config->trust_domain == NULL) {
            fputs("svidgate: bundle fetch: --trust-domain TD is required for https_web; the "
                  "trust domain is never taken from the URL\n", stderr);
            return false;
        }
        return true;
    }

    if (config->ca_file != NULL) {
        fputs("svidgate: bundle fetch: --ca-file applies only to --profile https_web; "
              "https_spiffe authenticates with --bundle\n", stderr);
        return false;
    }
    if (config->spiffe_id == NULL || config->bundles.count == 0) {
        fputs("svidgate: bundle fetch: --profile https_spiffe needs --spiffe-id ID (the "
              "endpoint's SPIFFE ID) and --bundle TD=PATH for that ID's trust domain\n",
              stderr);
        return false;
    }
    return true;
}

/* Returns -1 to go on, or the exit status to stop with. */
static int parse_args(int argc, char **argv, struct fetch_config *config)
{
    char message[SG_FED_MESSAGE_MAX];
    int option;

    config->profile = SG_FED_HTTPS_WEB;
    config->timeout_seconds = SG_FED_TIMEOUT_MS_DEFAULT / 1000;
    if (!sg_options_check_names(argc, argv, fetch_options, "bundle fetch"))
        return usage_error();

    optind = 1;
    opterr = 0;
    while ((option = getopt_long(argc, argv, ":", fetch_options, NULL)) != -1) {
        if (option == OPT_HELP) {
            fputs(bundle_fetch_usage, stdout);
            return SG_EXIT_OK;
        }
        if (!apply_option(config, option, argv[optind - 1]))
            return usage_error();
    }

    if (argc - optind != 1) {
        fprintf(stderr, "svidgate: bundle fetch: expected exactly one URL, got %d\n",
                argc - optind);
        return usage_error();
    }
    config->url = argv[optind];
    if (!sg_fed_check_url(config->url, message)) {
        fprintf(stderr, "svidgate: bundle fetch: %s\n", message);
        return usage_error();
    }
    if (!check_profile_options(config))
        return usage_error();
    return -1;
}

/*
 * Resolves the trust domain of the fetched bundle into `buffer`: --trust-domain
 * (with or without "spiffe://"), else the trust domain of --spiffe-id.
 */
static bool resolve_trust_domain(const struct fetch_config *config,
                                 const struct sg_spiffe_id *endpoint_id, char *buffer,
                                 struct sg_slice *out)
{
    struct sg_status status;
    struct sg_slice name;

    if (config->trust_domain == NULL) {
        name = endpoint_id->trust_domain;
    } else {
        name = sg_slice_cstr(config->trust_domain);
        if (sg_slice_starts_with(name, sg_slice_cstr("spiffe://")))
            name = sg_slice_make(name.ptr + 9, name.len - 9);
        if (sg_trust_domain_validate(name, &status) != SG_OK) {
            fprintf(stderr, "svidgate: bundle fetch: --trust-domain \"%s\": %s\n",
                    config->trust_domain, status.message);
            return false;
        }
    }
    memcpy(buffer, name.ptr, name.len);
    buffer[name.len] = '\0';
    *out = sg_slice_make(buffer, name.len);
    return true;
}

/*
 * https_spiffe: parses --spiffe-id and loads --bundle into *trust, which
 * must hold the bundle of the ID's trust domain. False after a message.
 */
static bool load_spiffe_trust(const struct fetch_config *config, struct sg_spiffe_id *id,
                              struct sg_trust_set **trust)
{
    struct sg_status status;

    if (sg_spiffe_id_parse(sg_slice_cstr(config->spiffe_id), id, &status) != SG_OK) {
        fprintf(stderr, "svidgate: bundle fetch: --spiffe-id \"%s\": %s\n", config->spiffe_id,
                status.message);
        return false;
    }
    if (sg_bundle_files_load(config->bundles.files, config->bundles.count, 1, trust, &status) !=
        SG_OK) {
        fprintf(stderr, "svidgate: bundle fetch: %s\n", status.message);
        return false;
    }
    if (sg_trust_set_find(*trust, id->trust_domain) == NULL) {
        fprintf(stderr, "svidgate: bundle fetch: no --bundle is given for trust domain "
                "\"%.*s\" of --spiffe-id %s\n", (int)id->trust_domain.len,
                (const char *)id->trust_domain.ptr, config->spiffe_id);
        return false;
    }
    return true;
}

static void print_summary(const struct fetch_config *config,
                          const struct sg_fed_fetch_result *result)
{
    const struct sg_bundle *bundle = result->bundle;
    size_t skipped = 0;

    for (int i = 0; i < SG_SKIP_REASON_COUNT; i++)
        skipped += bundle->skipped[i];

    fprintf(stderr, "svidgate: bundle fetch: fetched %s (profile %s", config->url,
            sg_fed_profile_name(config->profile));
    if (config->profile == SG_FED_HTTPS_SPIFFE)
        fprintf(stderr, ", peer %s", result->peer_id);
    if (result->redirects > 0)
        fprintf(stderr, ", redirects followed %d, final URL %s", result->redirects,
                result->final_url);
    fprintf(stderr, "): trust domain %.*s, ", (int)bundle->trust_domain_len,
            bundle->trust_domain);
    if (bundle->has_sequence)
        fprintf(stderr, "spiffe_sequence %llu", (unsigned long long)bundle->sequence);
    else
        fputs("no spiffe_sequence", stderr);
    fprintf(stderr, ", %zu jwt-svid keys, %d x509-svid authorities, %zu entries skipped, "
            "%zu bytes\n", bundle->jwt_key_count, sk_X509_num(bundle->x509_authorities),
            skipped, result->body_len);
}

static int run_fetch(const struct fetch_config *config, struct sg_slice trust_domain,
                     const struct sg_trust_set *trust)
{
    struct sg_fed_endpoint endpoint = {
        .url = config->url,
        .profile = config->profile,
        .trust_domain = trust_domain,
        .ca_file = config->ca_file,
        .spiffe_id = config->spiffe_id,
        .trust = trust,
    };
    struct sg_fed_fetch_options options;
    struct sg_fed_fetch_result result;
    int status = SG_EXIT_OK;

    sg_fed_fetch_options_default(&options);
    options.timeout_ms = config->timeout_seconds * 1000;
    if (options.connect_timeout_ms > options.timeout_ms)
        options.connect_timeout_ms = options.timeout_ms;

    if (sg_fed_fetch(&endpoint, &options, &result) != SG_FED_OK) {
        fprintf(stderr, "svidgate: bundle fetch: fetching %s (profile %s) failed: %s\n",
                config->url, sg_fed_profile_name(config->profile), result.message);
        status = SG_EXIT_INVALID;
    } else if (fwrite(result.body, 1, result.body_len, stdout) != result.body_len ||
               fflush(stdout) != 0) {
        fputs("svidgate: bundle fetch: cannot write the bundle to standard output\n", stderr);
        status = SG_EXIT_INVALID;
    } else {
        print_summary(config, &result);
    }
    sg_fed_fetch_result_clear(&result);
    return status;
}

int sg_cmd_bundle_fetch(int argc, char **argv)
{
    struct fetch_config config;
    struct sg_spiffe_id endpoint_id;
    struct sg_trust_set *trust = NULL;
    char trust_domain_text[SG_TRUST_DOMAIN_MAX + 1];
    struct sg_slice trust_domain;
    int status;

    memset(&config, 0, sizeof(config));
    memset(&endpoint_id, 0, sizeof(endpoint_id));
    status = parse_args(argc, argv, &config);
    if (status >= 0)
        goto done;

    status = SG_EXIT_USAGE;
    if (config.profile == SG_FED_HTTPS_SPIFFE &&
        !load_spiffe_trust(&config, &endpoint_id, &trust))
        goto done;
    if (!resolve_trust_domain(&config, &endpoint_id, trust_domain_text, &trust_domain))
        goto done;
    if (!sg_fed_global_init()) {
        fputs("svidgate: bundle fetch: cannot initialise libcurl\n", stderr);
        status = SG_EXIT_INVALID;
        goto done;
    }
    status = run_fetch(&config, trust_domain, trust);
    sg_fed_global_cleanup();

done:
    sg_trust_set_free(trust);
    sg_bundle_list_free(&config.bundles);
    return status;
}
