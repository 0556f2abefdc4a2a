/*
 * `svidgate serve`: flags, trust bundles, then the io_uring HTTP server
 * until SIGINT or SIGTERM.
 */
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "cmd/options.h"
#include "core/limits.h"
#include "net/bundle_files.h"
#include "cache/verify_cache.h"
#include "net/server.h"

static const char serve_usage[] =
    "usage: svidgate serve [--listen HOST:PORT] [--workers N] --bundle TD=PATH...\n"
    "                      [--audience AUD]... [--leeway SECONDS] [--cache-entries N]\n"
    "                      [--stats SECONDS]\n"
    "\n"
    "Runs the HTTP verification service until SIGINT or SIGTERM. Logs go to standard\n"
    "error as key=value lines; the \"listening\" line shows the bound address.\n"
    "\n"
    "  --listen HOST:PORT   address to listen on (default 127.0.0.1:8080); port 0 picks\n"
    "                       a free port\n"
    "  --workers N          worker threads, each with its own io_uring and listening\n"
    "                       socket (default: the number of online CPUs)\n"
    "  --bundle TD=PATH     trust bundle of trust domain TD: SPIFFE bundle JSON or PEM;\n"
    "                       at least one is required. Reloaded when the file changes\n"
    "                       and on SIGHUP; a file that fails keeps its previous bundle\n"
    "  --audience AUD       audience to expect when a request names none; repeatable\n"
    "  --leeway SECONDS     clock skew allowed on exp, nbf, iat, notBefore and\n"
    "                       notAfter (default 30)\n"
    "  --cache-entries N    verdicts the shared verification cache holds (default\n"
    "                       100000); 0 turns the cache off\n"
    "  --stats SECONDS      log the cache counters and snapshot generation every\n"
    "                       SECONDS (default 0: never)\n"
    "\n"
    "Not supported yet: --federate, --state-dir, --config.\n"
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
    OPT_NOT_SUPPORTED,
};

/* NOTE: --federate, --state-dir and --config are part of
 * the command line contract but not implemented; they fail with exit 2. */
static const struct option long_options[] = {
    { "listen", required_argument, NULL, OPT_LISTEN },
    { "workers", required_argument, NULL, OPT_WORKERS },
    { "bundle", required_argument, NULL, OPT_BUNDLE },
    { "audience", required_argument, NULL, OPT_AUDIENCE },
    { "leeway", required_argument, NULL, OPT_LEEWAY },
    { "help", no_argument, NULL, OPT_HELP },
    { "federate", required_argument, NULL, OPT_NOT_SUPPORTED },
    { "cache-entries", required_argument, NULL, OPT_CACHE_ENTRIES },
    { "stats", required_argument, NULL, OPT_STATS },
    { "state-dir", required_argument, NULL, OPT_NOT_SUPPORTED },
    { "config", required_argument, NULL, OPT_NOT_SUPPORTED },
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

/*
 * Handles one option; false after printing what is wrong with it.
 * `index` is the long_options entry getopt_long() matched, and `word`
 * the argument that it could not use.
 */
static bool apply_option(struct serve_config *config, int option, int index, const char *word)
{
    switch (option) {
    case OPT_LISTEN:
        config->listen = optarg;
        return true;
    case OPT_WORKERS:
        return sg_option_parse_int("--workers", optarg, 1, SG_SERVER_WORKERS_MAX, &config->workers);
    case OPT_BUNDLE:
        return sg_option_add_bundle(&config->bundles, optarg);
    case OPT_AUDIENCE:
        return sg_option_add_audience(&config->audiences, optarg);
    case OPT_LEEWAY:
        return sg_option_parse_int("--leeway", optarg, 0, SG_LEEWAY_MAX, &config->leeway);
    case OPT_CACHE_ENTRIES:
        return sg_option_parse_int("--cache-entries", optarg, 0, CACHE_ENTRIES_MAX,
                                   &config->cache_entries);
    case OPT_STATS:
        return sg_option_parse_int("--stats", optarg, 0, 86400, &config->stats_interval);
    case OPT_NOT_SUPPORTED:
        fprintf(stderr, "svidgate: serve --%s is not supported yet\n", long_options[index].name);
        return false;
    case ':':
        fprintf(stderr, "svidgate: serve: option %s needs a value\n", word);
        return false;
    default:
        fprintf(stderr, "svidgate: serve: unknown option %s\n", word);
        return false;
    }
}

/* Returns -1 to go on, or the exit status to stop with. */
static int parse_args(int argc, char **argv, struct serve_config *config)
{
    int option;
    int index = 0;

    config->listen = "127.0.0.1:8080";
    config->workers = default_workers();
    config->leeway = SG_LEEWAY_DEFAULT;
    config->cache_entries = DEFAULT_CACHE_ENTRIES;
    if (!sg_options_check_names(argc, argv, long_options, "serve"))
        goto usage;

    optind = 1;
    opterr = 0;
    while ((option = getopt_long(argc, argv, ":", long_options, &index)) != -1) {
        if (option == OPT_HELP) {
            fputs(serve_usage, stdout);
            return SG_EXIT_OK;
        }
        if (!apply_option(config, option, index, argv[optind - 1]))
            goto usage;
    }

    if (optind < argc) {
        fprintf(stderr, "svidgate: serve takes no arguments, but got '%s'\n", argv[optind]);
        goto usage;
    }
    if (config->bundles.count == 0) {
        fputs("svidgate: serve needs at least one --bundle TD=PATH; without one every token "
              "fails with unknown_trust_domain\n", stderr);
        goto usage;
    }
    return -1;

usage:
    fputs("Run 'svidgate serve --help' for usage.\n", stderr);
    return SG_EXIT_USAGE;
}

static int run_server(const struct serve_config *config, struct sg_trust_publisher *publisher,
                      struct sg_cache *cache, struct sg_cache_counters *counters)
{
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
    };

    switch (sg_server_run(&server)) {
    case SG_SERVER_STOPPED:
        return SG_EXIT_OK;
    case SG_SERVER_START_FAILED:
        return SG_EXIT_USAGE;
    case SG_SERVER_WORKER_FAILED:
        return 1;
    }
    return 1;
}

int sg_cmd_serve(int argc, char **argv)
{
    struct serve_config config = { 0 };
    struct sg_trust_publisher publisher;
    struct sg_status load_status;
    struct sg_cache *cache = NULL;
    struct sg_cache_counters *counters = NULL;
    bool publisher_ready = false;
    int status = parse_args(argc, argv, &config);

    if (status >= 0)
        goto done;

    status = SG_EXIT_USAGE;
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
    if (sg_trust_publisher_init(&publisher, config.bundles.files, config.bundles.count,
                                (size_t)config.workers, &load_status) != SG_OK)
        fprintf(stderr, "svidgate: %s\n", load_status.message);
    else
        status = run_server(&config, &publisher, cache, counters);

done:
    if (publisher_ready)
        sg_trust_publisher_destroy(&publisher);
    sg_cache_free(cache);
    free(counters);
    sg_bundle_list_free(&config.bundles);
    sg_audience_list_free(&config.audiences);
    return status;
}
