/*
 * `svidgate serve`: flags, trust bundles, then the io_uring HTTP server
 * until SIGINT or SIGTERM.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "cmd/config.h"
#include "cmd/options.h"
#include "core/limits.h"
#include "core/policy.h"
#include "core/spiffe_id.h"
#include "net/bundle_files.h"
#include "cache/verify_cache.h"
#include "net/federation_refresh.h"
#include "net/federation_source.h"
#include "net/listen_socket.h"
#include "net/live_config.h"
#include "net/log.h"
#include "net/server.h"

static const char serve_usage[] =
    "usage: svidgate serve [--listen HOST:PORT] [--workers N] [--bundle TD=PATH]...\n"
    "                      [--federate TD=URL[,OPTION=VALUE]...]... [--state-dir DIR]\n"
    "                      [--audience AUD]... [--leeway SECONDS] [--cache-entries N]\n"
    "                      [--stats SECONDS] [--allow 'AUDIENCE [PATH] PATTERN...']...\n"
    "                      [--policy-mode enforce|dry-run] [--config FILE]\n"
    "                      [--check-config] [--max-connections N]\n"
    "\n"
    "Runs the HTTP verification service until SIGINT or SIGTERM. Logs go to standard\n"
    "error as key=value lines; the \"listening\" line shows the bound address.\n"
    "\n"
    "  --listen HOST:PORT   address to listen on (default 127.0.0.1:8080); port 0 picks\n"
    "                       a free port\n"
    "  --workers N          worker threads, each with its own io_uring and listening\n"
    "                       socket (default: the number of online CPUs)\n"
    "  --bundle TD=PATH     trust bundle of trust domain TD: SPIFFE bundle JSON or PEM;\n"
    "                       at least one --bundle or --federate is required. Reloaded\n"
    "                       when the file changes and on SIGHUP; a file that fails keeps\n"
    "                       its previous bundle\n"
    "  --federate TD=URL[,profile=https_web|https_spiffe][,spiffe_id=ID][,ca_file=PEM]\n"
    "                       fetch the bundle of trust domain TD from the SPIFFE bundle\n"
    "                       endpoint URL on a background thread, at its\n"
    "                       spiffe_refresh_hint (30 to 3600 s; 300 s without one).\n"
    "                       https_web (the default) checks the server against ca_file\n"
    "                       or the system CAs; https_spiffe needs spiffe_id and a\n"
    "                       --bundle of that ID's trust domain (or TD's own saved\n"
    "                       bundle). A fetched bundle replaces a --bundle of the same\n"
    "                       TD; a failed fetch keeps the last good bundle\n"
    "  --state-dir DIR      save each fetched bundle in DIR/TD.json and load it at\n"
    "                       start-up, so the server verifies while an endpoint is down\n"
    "  --audience AUD       audience to expect when a request names none; repeatable\n"
    "  --leeway SECONDS     clock skew allowed on exp, nbf, iat, notBefore and\n"
    "                       notAfter (default 30)\n"
    "  --cache-entries N    verdicts the shared verification cache holds (default\n"
    "                       100000); 0 turns the cache off\n"
    "  --stats SECONDS      log the cache counters and snapshot generation every\n"
    "                       SECONDS (default 0: never)\n"
    "  --allow 'AUDIENCE [PATH-PREFIX] PATTERN...'\n"
    "                       admit the SPIFFE IDs matching a PATTERN (spiffe://td/a/b\n"
    "                       exactly, spiffe://td/a/* under /a, spiffe://td/* the whole\n"
    "                       trust domain) for AUDIENCE (* for any) and, with a\n"
    "                       PATH-PREFIX, for original paths under it; the longest\n"
    "                       matching prefix decides. Repeatable; with any --allow,\n"
    "                       every other ID is denied (403 on /v1/auth, policy_denied\n"
    "                       from the verify endpoints)\n"
    "  --policy-mode enforce|dry-run\n"
    "                       dry-run admits what the policy denies, but logs\n"
    "                       event=policy_would_deny and counts it (default enforce)\n"
    "  --config FILE        read options from FILE, one \"key = value\" a line, keys\n"
    "                       named as these options without \"--\" and '#' comments.\n"
    "                       A flag on the command line replaces the file's value, and\n"
    "                       a repeatable flag the file's whole list of that key.\n"
    "                       SIGHUP reads FILE again and applies allow, policy-mode,\n"
    "                       audience and leeway; other keys need a restart\n"
    "  --check-config       check the options, FILE and the bundle files, then exit\n"
    "                       (0 when valid); federated bundles are not fetched\n"
    "  --max-connections N  connections each worker serves at once (default and\n"
    "                       maximum 4096); a connection over it gets 503 with\n"
    "                       Retry-After and is closed\n"
    "\n"
    "GET /readyz returns 200 once every trust domain has a bundle and no federated\n"
    "one is stale (no accepted fetch for 3 refresh intervals, at least 15 minutes),\n"
    "else 503. GET /metrics serves Prometheus metrics. POST /v1/jwt-svid/verify-batch\n"
    "verifies up to 10000 tokens per request, spread over the workers.\n"
    "Under systemd (Type=notify, NOTIFY_SOCKET set) it sends READY=1 once every worker\n"
    "listens, STOPPING=1 on stop, and WATCHDOG=1 every WATCHDOG_USEC/2 while every\n"
    "worker's loop turns.\n"
    "SIGINT or SIGTERM stops listening, answers the requests that have arrived and\n"
    "exits once every connection has closed, or after 10 seconds.\n"
    "Exit status: 0 after SIGINT or SIGTERM, 1 when a worker failed, 2 on a usage,\n"
    "configuration or start-up error.\n";

/* Default --cache-entries: room for the hot tokens of a large gateway fleet. */
#define DEFAULT_CACHE_ENTRIES 100000
#define CACHE_ENTRIES_MAX (64 * 1024 * 1024)

struct serve_config {
    const char *listen;
    int64_t workers;
    int64_t leeway;
    int64_t cache_entries;
    int64_t stats_interval;
    struct sg_bundle_list bundles;
    struct sg_audience_list audiences;
    struct sg_federation_source *federations;
    size_t federation_count;
    const char *state_dir;
    int64_t refresh_min;
    int64_t early_refresh_min;
    int64_t stale_after;   /* seconds; 0 for the default rule */
    int64_t fetch_timeout; /* seconds; 0 for SG_FED_TIMEOUT_MS_DEFAULT */
    struct sg_policy policy;
    bool dry_run;
    const char *config_path;
    bool check_config;
    struct sg_config_file file; /* the values of `file` back some fields above */
    int64_t max_connections;
    int64_t header_timeout; /* seconds, like the three below */
    int64_t body_timeout;
    int64_t idle_timeout;
    int64_t drain_timeout;
};

enum {
    OPT_LISTEN = 256,
    OPT_WORKERS,
    OPT_BUNDLE,
    OPT_AUDIENCE,
    OPT_LEEWAY,
    OPT_CACHE_ENTRIES,
    OPT_STATS,
    OPT_HELP,
    OPT_FEDERATE,
    OPT_STATE_DIR,
    OPT_FEDERATE_REFRESH_MIN,
    OPT_FEDERATE_EARLY_REFRESH_MIN,
    OPT_FEDERATE_STALE_AFTER,
    OPT_FEDERATE_FETCH_TIMEOUT,
    OPT_ALLOW,
    OPT_POLICY_MODE,
    OPT_CONFIG,
    OPT_CHECK_CONFIG,
    OPT_MAX_CONNECTIONS,
    OPT_HTTP_HEADER_TIMEOUT,
    OPT_HTTP_BODY_TIMEOUT,
    OPT_HTTP_IDLE_TIMEOUT,
    OPT_DRAIN_TIMEOUT,
    OPT_END,
};

/* Four options are left out of the help text, for tests. --federate-refresh-min sets the floor of the
 * refresh interval (default SG_FEDERATION_REFRESH_MIN_DEFAULT seconds).
 * --federate-early-refresh-min sets the minimum time between two early
 * fetches of one trust domain (default
 * SG_FEDERATION_EARLY_REFRESH_MIN_DEFAULT seconds).
 * --federate-stale-after sets, in seconds, how long a trust domain may go
 * without an accepted fetch before GET /readyz reports it as stale
 * (default: SG_FEDERATION_STALE_FACTOR refresh intervals, at least
 * SG_FEDERATION_STALE_MIN). --federate-fetch-timeout sets the limit of
 * one whole fetch in seconds (default SG_FED_TIMEOUT_MS_DEFAULT).
 * --http-header-timeout, --http-body-timeout, --http-idle-timeout and
 * --drain-timeout set the connection timeouts and the stop's drain time
 * in seconds (defaults in net/conn.h and net/worker.h), so that tests of
 * slow clients and of SIGTERM run in seconds. */
static const struct option long_options[] = {
    { "listen", required_argument, NULL, OPT_LISTEN },
    { "workers", required_argument, NULL, OPT_WORKERS },
    { "bundle", required_argument, NULL, OPT_BUNDLE },
    { "audience", required_argument, NULL, OPT_AUDIENCE },
    { "leeway", required_argument, NULL, OPT_LEEWAY },
    { "help", no_argument, NULL, OPT_HELP },
    { "federate", required_argument, NULL, OPT_FEDERATE },
    { "federate-refresh-min", required_argument, NULL, OPT_FEDERATE_REFRESH_MIN },
    { "federate-early-refresh-min", required_argument, NULL, OPT_FEDERATE_EARLY_REFRESH_MIN },
    { "federate-stale-after", required_argument, NULL, OPT_FEDERATE_STALE_AFTER },
    { "federate-fetch-timeout", required_argument, NULL, OPT_FEDERATE_FETCH_TIMEOUT },
    { "cache-entries", required_argument, NULL, OPT_CACHE_ENTRIES },
    { "stats", required_argument, NULL, OPT_STATS },
    { "state-dir", required_argument, NULL, OPT_STATE_DIR },
    { "allow", required_argument, NULL, OPT_ALLOW },
    { "policy-mode", required_argument, NULL, OPT_POLICY_MODE },
    { "config", required_argument, NULL, OPT_CONFIG },
    { "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
    { "max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS },
    { "http-header-timeout", required_argument, NULL, OPT_HTTP_HEADER_TIMEOUT },
    { "http-body-timeout", required_argument, NULL, OPT_HTTP_BODY_TIMEOUT },
    { "http-idle-timeout", required_argument, NULL, OPT_HTTP_IDLE_TIMEOUT },
    { "drain-timeout", required_argument, NULL, OPT_DRAIN_TIMEOUT },
    { NULL, 0, NULL, 0 },
};

/* The CPUs this process may run on, as nproc(1) counts them. */
static int64_t default_workers(void)
{
    cpu_set_t allowed;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0)
        cpus = CPU_COUNT(&allowed);
    if (cpus < 1)
        return 1;
    return cpus > SG_SERVER_WORKERS_MAX ? SG_SERVER_WORKERS_MAX : cpus;
}

static bool add_federation(struct serve_config *config, const char *arg)
{
    struct sg_federation_source source;
    struct sg_federation_source *grown;
    struct sg_status status;

    if (sg_federation_source_parse_arg(arg, &source, &status) != SG_OK) {
        fprintf(stderr, "svidgate: %s\n", status.message);
        return false;
    }
    for (size_t i = 0; i < config->federation_count; i++) {
        if (strcmp(config->federations[i].trust_domain, source.trust_domain) == 0) {
            fprintf(stderr, "svidgate: --federate \"%s\": trust domain %s is federated twice\n",
                    arg, source.trust_domain);
            sg_federation_source_clear(&source);
            return false;
        }
    }
    grown = realloc(config->federations, (config->federation_count + 1) * sizeof(*grown));
    if (grown == NULL) {
        sg_federation_source_clear(&source);
        fputs("svidgate: out of memory\n", stderr);
        return false;
    }
    config->federations = grown;
    config->federations[config->federation_count++] = source;
    return true;
}

/* Whether a --bundle or a --federate names `trust_domain`. */
static bool has_trust_domain(const struct serve_config *config, struct sg_slice trust_domain)
{
    for (size_t i = 0; i < config->bundles.count; i++) {
        if (sg_slice_eq(trust_domain, sg_slice_cstr(config->bundles.files[i].trust_domain)))
            return true;
    }
    for (size_t i = 0; i < config->federation_count; i++) {
        if (sg_slice_eq(trust_domain, sg_slice_cstr(config->federations[i].trust_domain)))
            return true;
    }
    return false;
}

/* Checks that every https_spiffe endpoint ID's trust domain has a bundle source. */
static bool check_federations(const struct serve_config *config)
{
    for (size_t i = 0; i < config->federation_count; i++) {
        const struct sg_federation_source *source = &config->federations[i];
        struct sg_spiffe_id id;
        struct sg_status status;

        if (source->profile != SG_FED_HTTPS_SPIFFE)
            continue;
        if (sg_spiffe_id_parse(sg_slice_cstr(source->spiffe_id), &id, &status) != SG_OK ||
            !has_trust_domain(config, id.trust_domain)) {
            fprintf(stderr, "svidgate: --federate %s: the endpoint ID %s needs a --bundle of its "
                    "trust domain to authenticate the endpoint\n", source->trust_domain,
                    source->spiffe_id);
            return false;
        }
    }
    return true;
}

static bool add_allow_rule(struct sg_policy *policy, const char *value)
{
    struct sg_status status;

    if (sg_policy_add_rule(policy, sg_slice_cstr(value), &status) == SG_OK)
        return true;
    fprintf(stderr, "svidgate: --allow \"%s\": %s\n", value, status.message);
    return false;
}

static bool set_policy_mode(struct serve_config *config, const char *value)
{
    if (strcmp(value, "enforce") == 0 || strcmp(value, "dry-run") == 0) {
        config->dry_run = strcmp(value, "dry-run") == 0;
        return true;
    }
    fprintf(stderr, "svidgate: --policy-mode \"%s\" must be enforce or dry-run\n", value);
    return false;
}

/*
 * Handles one option with its `value` (NULL for a flag without one);
 * false after printing what is wrong with it. `word` is the argument
 * getopt_long() could not use.
 */
static bool apply_option(struct serve_config *config, int option, const char *value,
                         const char *word)
{
    switch (option) {
    case OPT_LISTEN:
        config->listen = value;
        return true;
    case OPT_WORKERS:
        return sg_option_parse_int("--workers", value, 1, SG_SERVER_WORKERS_MAX, &config->workers);
    case OPT_BUNDLE:
        return sg_option_add_bundle(&config->bundles, value);
    case OPT_AUDIENCE:
        return sg_option_add_audience(&config->audiences, value);
    case OPT_LEEWAY:
        return sg_option_parse_int("--leeway", value, 0, SG_LEEWAY_MAX, &config->leeway);
    case OPT_CACHE_ENTRIES:
        return sg_option_parse_int("--cache-entries", value, 0, CACHE_ENTRIES_MAX,
                                   &config->cache_entries);
    case OPT_STATS:
        return sg_option_parse_int("--stats", value, 0, 86400, &config->stats_interval);
    case OPT_FEDERATE:
        return add_federation(config, value);
    case OPT_STATE_DIR:
        config->state_dir = value;
        return true;
    case OPT_FEDERATE_REFRESH_MIN:
        return sg_option_parse_int("--federate-refresh-min", value, 1,
                                   SG_FEDERATION_REFRESH_MAX_DEFAULT, &config->refresh_min);
    case OPT_FEDERATE_EARLY_REFRESH_MIN:
        return sg_option_parse_int("--federate-early-refresh-min", value, 1,
                                   SG_FEDERATION_REFRESH_MAX_DEFAULT, &config->early_refresh_min);
    case OPT_FEDERATE_STALE_AFTER:
        return sg_option_parse_int("--federate-stale-after", value, 1, 7 * 86400,
                                   &config->stale_after);
    case OPT_FEDERATE_FETCH_TIMEOUT:
        return sg_option_parse_int("--federate-fetch-timeout", value, 1, 300,
                                   &config->fetch_timeout);
    case OPT_ALLOW:
        return add_allow_rule(&config->policy, value);
    case OPT_POLICY_MODE:
        return set_policy_mode(config, value);
    case OPT_CONFIG:
        config->config_path = value;
        return true;
    case OPT_CHECK_CONFIG:
        config->check_config = true;
        return true;
    case OPT_MAX_CONNECTIONS:
        return sg_option_parse_int("--max-connections", value, 1, SG_WORKER_CONNECTIONS_MAX,
                                   &config->max_connections);
    case OPT_HTTP_HEADER_TIMEOUT:
        return sg_option_parse_int("--http-header-timeout", value, 1, 3600,
                                   &config->header_timeout);
    case OPT_HTTP_BODY_TIMEOUT:
        return sg_option_parse_int("--http-body-timeout", value, 1, 3600, &config->body_timeout);
    case OPT_HTTP_IDLE_TIMEOUT:
        return sg_option_parse_int("--http-idle-timeout", value, 1, 3600, &config->idle_timeout);
    case OPT_DRAIN_TIMEOUT:
        return sg_option_parse_int("--drain-timeout", value, 0, 3600, &config->drain_timeout);
    case ':':
        fprintf(stderr, "svidgate: serve: option %s needs a value\n", word);
        return false;
    default:
        fprintf(stderr, "svidgate: serve: unknown option %s\n", word);
        return false;
    }
}

/* Options whose values accumulate; on the command line they replace the file's list. */
static bool is_repeatable(int option)
{
    return option == OPT_BUNDLE || option == OPT_FEDERATE || option == OPT_AUDIENCE ||
           option == OPT_ALLOW;
}

/*
 * First pass over argv: finds --help, --config and --check-config, and
 * records in `given` (indexed by option - OPT_LISTEN) which options the
 * command line sets. Returns -1 to go on, or the exit status to stop with.
 */
static int scan_command_line(int argc, char **argv, struct serve_config *config, bool *given)
{
    int option;

    optind = 0;
    opterr = 0;
    while ((option = getopt_long(argc, argv, ":", long_options, NULL)) != -1) {
        if (option == OPT_HELP) {
            fputs(serve_usage, stdout);
            return SG_EXIT_OK;
        }
        if (option < OPT_LISTEN || option >= OPT_END) {
            (void)apply_option(config, option, NULL, argv[optind - 1]);
            return SG_EXIT_USAGE;
        }
        given[option - OPT_LISTEN] = true;
        if (option == OPT_CONFIG || option == OPT_CHECK_CONFIG)
            (void)apply_option(config, option, optarg, NULL);
    }
    return -1;
}

static int option_of_key(const char *key)
{
    for (const struct option *entry = long_options; entry->name != NULL; entry++) {
        if (strcmp(entry->name, key) == 0)
            return entry->val;
    }
    return -1;
}

/*
 * Applies every item of the configuration file that the command line
 * does not override. A single-valued key may appear once.
 */
static bool apply_config_file(struct serve_config *config, const bool *given)
{
    bool in_file[OPT_END - OPT_LISTEN] = { false };

    if (!sg_config_file_load(config->config_path, &config->file))
        return false;
    for (size_t i = 0; i < config->file.count; i++) {
        const struct sg_config_item *item = &config->file.items[i];
        int option = option_of_key(item->key);

        if (option < 0 || option == OPT_HELP || option == OPT_CONFIG ||
            option == OPT_CHECK_CONFIG) {
            fprintf(stderr, "svidgate: %s:%zu: unknown key \"%s\"; keys are the long options "
                    "of 'svidgate serve --help' without \"--\"\n", config->config_path,
                    item->line, item->key);
            return false;
        }
        if (!is_repeatable(option) && in_file[option - OPT_LISTEN]) {
            fprintf(stderr, "svidgate: %s:%zu: key \"%s\" is given twice\n",
                    config->config_path, item->line, item->key);
            return false;
        }
        in_file[option - OPT_LISTEN] = true;
        if (given[option - OPT_LISTEN])
            continue;
        if (!apply_option(config, option, item->value, item->key)) {
            fprintf(stderr, "svidgate: %s:%zu: invalid value of key \"%s\"\n",
                    config->config_path, item->line, item->key);
            return false;
        }
    }
    return true;
}

static void set_defaults(struct serve_config *config)
{
    config->listen = "127.0.0.1:8080";
    config->workers = default_workers();
    config->leeway = SG_LEEWAY_DEFAULT;
    config->cache_entries = DEFAULT_CACHE_ENTRIES;
    config->refresh_min = SG_FEDERATION_REFRESH_MIN_DEFAULT;
    config->early_refresh_min = SG_FEDERATION_EARLY_REFRESH_MIN_DEFAULT;
    sg_policy_init(&config->policy);
    config->max_connections = SG_WORKER_CONNECTIONS_MAX;
    config->header_timeout = SG_CONN_HEADER_TIMEOUT;
    config->body_timeout = SG_CONN_BODY_TIMEOUT;
    config->idle_timeout = SG_CONN_IDLE_TIMEOUT;
    config->drain_timeout = SG_WORKER_DRAIN_TIMEOUT;
}

/* Checks what no single option can: the options taken together. */
static bool check_combination(const struct serve_config *config)
{
    if (config->bundles.count == 0 && config->federation_count == 0) {
        fputs("svidgate: serve needs at least one --bundle TD=PATH or --federate TD=URL; "
              "without one every token fails with unknown_trust_domain\n", stderr);
        return false;
    }
    if (!check_federations(config))
        return false;
    if (config->state_dir != NULL && access(config->state_dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "svidgate: --state-dir %s is not a writable folder: %s\n",
                config->state_dir, strerror(errno));
        return false;
    }
    return true;
}

/*
 * Reads the configuration file, then the command line over it. Returns
 * -1 to go on, or the exit status to stop with. `reloading` leaves out
 * the usage hint, which does not help in the server log.
 */
static int parse_args(int argc, char **argv, struct serve_config *config, bool reloading)
{
    bool given[OPT_END - OPT_LISTEN] = { false };
    int option;
    int status;

    set_defaults(config);
    if (!sg_options_check_names(argc, argv, long_options, "serve"))
        goto usage;
    status = scan_command_line(argc, argv, config, given);
    if (status == SG_EXIT_OK)
        return status;
    if (status >= 0)
        goto usage;
    if (config->config_path != NULL && !apply_config_file(config, given))
        goto usage;

    /* Second pass: the command line, over the file's values. */
    optind = 0;
    while ((option = getopt_long(argc, argv, ":", long_options, NULL)) != -1) {
        if (option != OPT_CONFIG && option != OPT_CHECK_CONFIG &&
            !apply_option(config, option, optarg, argv[optind - 1]))
            goto usage;
    }
    if (optind < argc) {
        fprintf(stderr, "svidgate: serve takes no arguments, but got '%s'\n", argv[optind]);
        goto usage;
    }
    if (!check_combination(config))
        goto usage;
    return -1;

usage:
    if (!reloading)
        fputs("Run 'svidgate serve --help' for usage.\n", stderr);
    return SG_EXIT_USAGE;
}

/* Frees what parse_args() allocated. */
static void free_config(struct serve_config *config)
{
    sg_bundle_list_free(&config->bundles);
    for (size_t i = 0; i < config->federation_count; i++)
        sg_federation_source_clear(&config->federations[i]);
    free(config->federations);
    config->federations = NULL;
    config->federation_count = 0;
    sg_audience_list_free(&config->audiences);
    sg_policy_clear(&config->policy);
    sg_config_file_free(&config->file);
}

/* The arguments reload_config() reads the configuration again from, on SIGHUP. */
struct reload_context {
    int argc;
    char **argv;
    const struct serve_config *running;
};

static bool same_text(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool same_trust_sources(const struct serve_config *a, const struct serve_config *b)
{
    if (a->bundles.count != b->bundles.count || a->federation_count != b->federation_count)
        return false;
    for (size_t i = 0; i < a->bundles.count; i++) {
        if (!same_text(a->bundles.files[i].trust_domain, b->bundles.files[i].trust_domain) ||
            !same_text(a->bundles.files[i].path, b->bundles.files[i].path))
            return false;
    }
    for (size_t i = 0; i < a->federation_count; i++) {
        if (!same_text(a->federations[i].trust_domain, b->federations[i].trust_domain) ||
            !same_text(a->federations[i].url, b->federations[i].url) ||
            a->federations[i].profile != b->federations[i].profile ||
            !same_text(a->federations[i].spiffe_id, b->federations[i].spiffe_id))
            return false;
    }
    return true;
}

/* Logs the keys whose new values take effect only after a restart. */
static void warn_restart_keys(const struct serve_config *running, const struct serve_config *fresh)
{
    const bool changed[] = {
        !same_text(running->listen, fresh->listen),
        running->workers != fresh->workers,
        running->cache_entries != fresh->cache_entries,
        !same_text(running->state_dir, fresh->state_dir),
        running->stats_interval != fresh->stats_interval,
        !same_trust_sources(running, fresh),
        running->max_connections != fresh->max_connections,
    };
    static const char *const names[] = {
        "listen", "workers", "cache-entries", "state-dir", "stats", "bundle,federate",
        "max-connections",
    };
    char keys[128];
    size_t len = 0;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (changed[i])
            len += (size_t)snprintf(keys + len, sizeof(keys) - len, "%s%s", len ? "," : "",
                                    names[i]);
    }
    if (len > 0)
        sg_log(SG_LOG_WARN, "configuration change needs a restart",
               "keys=\"%s\" action=\"kept the running values\"", keys);
}

static struct sg_live_config *live_settings(struct serve_config *config)
{
    return sg_live_config_new(&config->policy, config->dry_run, config->audiences.values,
                              config->audiences.count, config->leeway);
}

/*
 * Reads the configuration file and the command line again for SIGHUP.
 * Returns the new live settings, or NULL to keep the running ones; the
 * parser has then printed what is wrong, with the file and line.
 */
static struct sg_live_config *reload_config(void *arg)
{
    struct reload_context *reload = arg;
    struct serve_config fresh = { 0 };
    struct sg_live_config *settings = NULL;
    char path[256];

    sg_log_escape(reload->running->config_path, path, sizeof(path));
    if (parse_args(reload->argc, reload->argv, &fresh, true) != -1) {
        sg_log(SG_LOG_ERROR, "configuration reload failed",
               "file=\"%s\" action=\"kept the running configuration\"", path);
    } else {
        warn_restart_keys(reload->running, &fresh);
        settings = live_settings(&fresh);
        if (settings == NULL)
            sg_log(SG_LOG_ERROR, "configuration reload failed", "file=\"%s\" error=\"out of "
                   "memory\" action=\"kept the running configuration\"", path);
    }
    free_config(&fresh);
    return settings;
}

static int run_server(struct serve_config *config, struct reload_context *reload,
                      struct sg_trust_publisher *publisher, struct sg_cache *cache,
                      struct sg_cache_counters *counters)
{
    struct sg_live_config_slot live;
    struct sg_live_config *settings = live_settings(config);
    struct sg_federation_refresh_config federation = {
        .refresh_min = config->refresh_min,
        .refresh_max = SG_FEDERATION_REFRESH_MAX_DEFAULT,
        .early_refresh_min = config->early_refresh_min,
        .state_dir = config->state_dir,
        .stale_after = config->stale_after,
    };
    struct sg_server_config server = {
        .listen = config->listen,
        .workers = (size_t)config->workers,
        .publisher = publisher,
        .cache = cache,
        .counters = counters,
        .stats_interval = config->stats_interval,
        .audiences = config->audiences.values,
        .audience_count = config->audiences.count,
        .leeway = config->leeway,
        .live = &live,
        .reload_config = config->config_path != NULL ? reload_config : NULL,
        .reload_arg = reload,
        .federation = &federation,
        .worker_options = {
            .timeouts = {
                .idle = config->idle_timeout,
                .header = config->header_timeout,
                .body = config->body_timeout,
            },
            .max_connections = (size_t)config->max_connections,
            .drain_timeout = config->drain_timeout,
        },
    };
    enum sg_server_result result;

    if (settings == NULL) {
        fputs("svidgate: out of memory\n", stderr);
        return SG_EXIT_USAGE;
    }
    sg_live_config_slot_init(&live, settings);

    sg_fed_fetch_options_default(&federation.fetch);
    federation.fetch.leeway = config->leeway;
    if (config->fetch_timeout > 0)
        federation.fetch.timeout_ms = config->fetch_timeout * 1000;
    result = sg_server_run(&server);
    sg_live_config_slot_destroy(&live);
    switch (result) {
    case SG_SERVER_STOPPED:
        return SG_EXIT_OK;
    case SG_SERVER_START_FAILED:
        return SG_EXIT_USAGE;
    case SG_SERVER_WORKER_FAILED:
        return 1;
    }
    return 1;
}

/*
 * --check-config: parses the listen address and loads every bundle file
 * as start-up would, so that an invalid address or a missing or invalid
 * bundle fails the check and not the next start. Federated trust domains
 * are not fetched, and the address is not bound.
 */
static int check_bundles(const struct serve_config *config)
{
    struct sg_listen_address address;
    char message[512];
    struct sg_trust_publisher publisher;
    struct sg_status status;
    bool loaded;

    if (!sg_listen_address_parse(config->listen, &address, message, sizeof(message))) {
        fprintf(stderr, "svidgate: %s\n", message);
        return SG_EXIT_USAGE;
    }
    loaded = sg_trust_publisher_init_federated(&publisher, config->bundles.files,
                                               config->bundles.count, config->federations,
                                               config->federation_count, 1, &status) == SG_OK;
    sg_trust_publisher_destroy(&publisher);
    if (!loaded) {
        fprintf(stderr, "svidgate: %s\n", status.message);
        return SG_EXIT_USAGE;
    }
    printf("svidgate: the configuration is valid%s%s\n",
           config->config_path != NULL ? ": " : "",
           config->config_path != NULL ? config->config_path : "");
    return SG_EXIT_OK;
}

int sg_cmd_serve(int argc, char **argv)
{
    struct serve_config config = { 0 };
    struct reload_context reload = { .argc = argc, .argv = argv, .running = &config };
    struct sg_trust_publisher publisher;
    struct sg_status load_status;
    struct sg_cache *cache = NULL;
    struct sg_cache_counters *counters = NULL;
    bool publisher_ready = false;
    bool curl_ready = false;
    int status = parse_args(argc, argv, &config, false);

    if (status >= 0)
        goto done;
    if (config.check_config) {
        status = check_bundles(&config);
        goto done;
    }

    status = SG_EXIT_USAGE;
    /* libcurl is initialised here, before any thread starts. */
    if (config.federation_count > 0 && !sg_fed_global_init()) {
        fputs("svidgate: initialising libcurl failed, so --federate cannot fetch\n", stderr);
        goto done;
    }
    curl_ready = config.federation_count > 0;
    counters = calloc((size_t)config.workers, sizeof(*counters));
    if (config.cache_entries > 0)
        cache = sg_cache_new((size_t)config.cache_entries);
    if (counters == NULL || (config.cache_entries > 0 && cache == NULL)) {
        fputs("svidgate: cannot create the verification cache (out of memory, or no random "
              "bytes from getrandom)\n", stderr);
        goto done;
    }

    /* Each worker gets its own copy of the bundles' OpenSSL objects. */
    publisher_ready = true;
    if (sg_trust_publisher_init_federated(&publisher, config.bundles.files, config.bundles.count,
                                          config.federations, config.federation_count,
                                          (size_t)config.workers, &load_status) != SG_OK) {
        fprintf(stderr, "svidgate: %s\n", load_status.message);
    } else {
        /* Saved bundles are published before the workers start, so the
         * server verifies at once while an endpoint is down. */
        sg_federation_state_load(&publisher, config.state_dir);
        status = run_server(&config, &reload, &publisher, cache, counters);
    }

done:
    if (publisher_ready)
        sg_trust_publisher_destroy(&publisher);
    sg_cache_free(cache);
    free(counters);
    if (curl_ready)
        sg_fed_global_cleanup();
    free_config(&config);
    return status;
}
