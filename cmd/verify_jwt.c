/*
 * `svidgate verify jwt`: batch verification of token files.
 *
 * Every non-empty line of every input is one token; each gets one JSON
 * result line on standard output, in input order. Exit status: 0 when
 * every token verified, 1 when any did not, 2 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/commands.h"
#include "cmd/line_reader.h"
#include "cmd/options.h"
#include "core/jwt_svid.h"
#include "core/limits.h"
#include "core/verifier.h"

static const char verify_jwt_usage[] =
    "usage: svidgate verify jwt --bundle TD=PATH... --audience AUD... [--leeway SECONDS]\n"
    "                           [--now UNIX_SECONDS] [FILE|-]...\n"
    "\n"
    "Verifies JWT-SVIDs, one per line, and prints one JSON result object per token\n"
    "(JSON Lines, in input order). Reads standard input when no FILE or '-' is given.\n"
    "\n"
    "  --bundle TD=PATH     trust bundle of trust domain TD (a name such as example.org,\n"
    "                       or spiffe://example.org): SPIFFE bundle JSON or PEM;\n"
    "                       repeatable, at least one is required\n"
    "  --audience AUD       expected audience; repeatable, at least one is required,\n"
    "                       and a token passes when any one is in its aud\n"
    "  --leeway SECONDS     clock skew allowed on exp, nbf and iat, 0 to 3600\n"
    "                       (default 30)\n"
    "  --now UNIX_SECONDS   verify as of this time instead of the system clock\n"
    "\n"
    "Exit status: 0 every token verified (also when there was none), 1 some token\n"
    "did not, 2 usage or configuration error, or an input file that cannot be read\n"
    "(results of the inputs before it are still printed).\n";

struct verify_jwt_config {
    struct sg_bundle_list bundles;
    struct sg_audience_list audiences;
    struct sg_jwt_options options;
    char **inputs;
    int input_count;
};

struct verify_jwt_run {
    const struct verify_jwt_config *config;
    struct sg_verifier *verifier;
    struct sg_trust_set *trust;
    size_t invalid;
};

enum { OPT_BUNDLE = 256, OPT_AUDIENCE, OPT_LEEWAY, OPT_NOW, OPT_HELP };

static const struct option long_options[] = {
    { "bundle", required_argument, NULL, OPT_BUNDLE },
    { "audience", required_argument, NULL, OPT_AUDIENCE },
    { "leeway", required_argument, NULL, OPT_LEEWAY },
    { "now", required_argument, NULL, OPT_NOW },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
};

/* Returns -1 to go on, or the exit status to stop with. */
static int parse_args(int argc, char **argv, struct verify_jwt_config *config)
{
    int option;

    config->options.now = (int64_t)time(NULL);
    config->options.leeway = SG_LEEWAY_DEFAULT;
    if (!sg_options_check_names(argc, argv, long_options, "verify jwt")) {
        fputs("Run 'svidgate verify jwt --help' for usage.\n", stderr);
        return SG_EXIT_USAGE;
    }

    optind = 1;
    opterr = 0;
    while ((option = getopt_long(argc, argv, ":", long_options, NULL)) != -1) {
        bool ok = true;

        if (option == OPT_BUNDLE)
            ok = sg_option_add_bundle(&config->bundles, optarg);
        else if (option == OPT_AUDIENCE)
            ok = sg_option_add_audience(&config->audiences, optarg);
        else if (option == OPT_LEEWAY)
            ok = sg_option_parse_int("--leeway", optarg, 0, SG_LEEWAY_MAX,
                                     &config->options.leeway);
        else if (option == OPT_NOW)
            ok = sg_option_parse_int("--now", optarg, 0, INT64_C(1) << 40, &config->options.now);
        else if (option == OPT_HELP) {
            fputs(verify_jwt_usage, stdout);
            return SG_EXIT_OK;
        } else if (option == ':') {
            fprintf(stderr, "svidgate: verify jwt: option %s needs a value\n", argv[optind - 1]);
            ok = false;
        } else {
            fprintf(stderr, "svidgate: verify jwt: unknown option %s\n", argv[optind - 1]);
            ok = false;
        }
        if (!ok) {
            fputs("Run 'svidgate verify jwt --help' for usage.\n", stderr);
            return SG_EXIT_USAGE;
        }
    }

    if (config->bundles.count == 0) {
        fputs("svidgate: verify jwt: --bundle TD=PATH is required; tokens are checked only "
              "against the bundle of their own trust domain\n", stderr);
        fputs("Run 'svidgate verify jwt --help' for usage.\n", stderr);
        return SG_EXIT_USAGE;
    }
    if (config->audiences.count == 0) {
        fputs("svidgate: verify jwt: --audience AUD is required; a JWT-SVID is never accepted "
              "without an expected audience\n", stderr);
        fputs("Run 'svidgate verify jwt --help' for usage.\n", stderr);
        return SG_EXIT_USAGE;
    }
    config->inputs = argv + optind;
    config->input_count = argc - optind;
    return -1;
}

static void print_result(const struct sg_jwt_svid *svid)
{
    char *json = sg_jwt_svid_result_json(svid);

    if (json == NULL) {
        fputs("{\"valid\":false,\"error\":\"internal_error\",\"message\":\"out of memory\"}\n",
              stdout);
        return;
    }
    fputs(json, stdout);
    fputc('\n', stdout);
    free(json);
}

static void verify_line(struct verify_jwt_run *run, struct sg_slice token)
{
    const struct verify_jwt_config *config = run->config;
    struct sg_jwt_svid svid;
    enum sg_error err = sg_jwt_svid_verify(run->verifier, run->trust, token, &config->options, &svid);

    if (err == SG_OK)
        err = sg_jwt_svid_check_audience(&svid, config->audiences.values, config->audiences.count);
    run->invalid += err != SG_OK;
    print_result(&svid);
    sg_jwt_svid_clear(&svid);
}

static void report_too_long(struct verify_jwt_run *run)
{
    struct sg_jwt_svid svid;

    memset(&svid, 0, sizeof(svid));
    (void)sg_fail(&svid.status, SG_ERR_MALFORMED, "JWT is longer than %d bytes", SG_JWT_MAX);
    run->invalid++;
    print_result(&svid);
}

/* Verifies every line of one input; false when the input cannot be read. */
static bool verify_input(struct verify_jwt_run *run, const char *name)
{
    bool is_stdin = strcmp(name, "-") == 0;
    FILE *file = is_stdin ? stdin : fopen(name, "rb");
    struct sg_line_reader reader;
    struct sg_slice line;
    enum sg_line_result result = SG_LINE_ERROR;

    if (file == NULL) {
        fprintf(stderr, "svidgate: cannot open input file %s: %s\n", name, strerror(errno));
        return false;
    }
    if (sg_line_reader_init(&reader, file, SG_CLI_LINE_MAX)) {
        while ((result = sg_line_reader_next(&reader, &line)) != SG_LINE_EOF &&
               result != SG_LINE_ERROR) {
            if (result == SG_LINE_TOO_LONG)
                report_too_long(run);
            else if (line.len > 0)
                verify_line(run, line);
        }
    }
    sg_line_reader_free(&reader);
    if (!is_stdin)
        fclose(file);
    if (result == SG_LINE_ERROR)
        fprintf(stderr, "svidgate: cannot read %s\n", name);
    return result != SG_LINE_ERROR;
}

static int run_inputs(struct verify_jwt_run *run)
{
    const struct verify_jwt_config *config = run->config;

    if (config->input_count == 0)
        return verify_input(run, "-") ? -1 : SG_EXIT_USAGE;
    for (int i = 0; i < config->input_count; i++) {
        if (!verify_input(run, config->inputs[i]))
            return SG_EXIT_USAGE;
    }
    return -1;
}

int sg_cmd_verify_jwt(int argc, char **argv)
{
    struct verify_jwt_config config;
    struct verify_jwt_run run = { &config, NULL, NULL, 0 };
    struct sg_status status;
    int exit_status;

    memset(&config, 0, sizeof(config));
    exit_status = parse_args(argc, argv, &config);
    if (exit_status >= 0)
        goto done;

    if (sg_bundle_files_load(config.bundles.files, config.bundles.count, 1, &run.trust,
                             &status) != SG_OK) {
        fprintf(stderr, "svidgate: %s\n", status.message);
        exit_status = SG_EXIT_USAGE;
        goto done;
    }
    run.verifier = sg_verifier_new();
    if (run.verifier == NULL) {
        fputs("svidgate: OpenSSL cannot provide SHA-256, SHA-384 and SHA-512\n", stderr);
        exit_status = SG_EXIT_USAGE;
        goto done;
    }

    exit_status = run_inputs(&run);
    if (exit_status < 0)
        exit_status = run.invalid ? SG_EXIT_INVALID : SG_EXIT_OK;

done:
    if (fflush(stdout) != 0)
        exit_status = SG_EXIT_USAGE;
    sg_verifier_free(run.verifier);
    sg_trust_set_free(run.trust);
    sg_bundle_list_free(&config.bundles);
    sg_audience_list_free(&config.audiences);
    return exit_status;
}
