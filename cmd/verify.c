/*
 * `svidgate verify jwt` and `svidgate verify x509`: batch verification
 * from files or standard input.
 *
 * For `jwt`, every non-empty line of every input is one token; for
 * `x509`, every input is one PEM chain, leaf first. Each credential gets
 * one JSON result line on standard output, in input order. Exit status:
 * 0 when every credential verified, 1 when any did not, 2 on a usage or
 * configuration error.
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
#include "core/x509_svid.h"

/* The largest PEM chain input of `verify x509`: SG_X509_CHAIN_MAX
 * certificates in base64 with their PEM lines, and room for a key block. */
#define X509_INPUT_MAX (SG_X509_CHAIN_MAX * SG_X509_CERT_MAX * 2)

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

static const char verify_x509_usage[] =
    "usage: svidgate verify x509 --bundle TD=PATH... [--leeway SECONDS]\n"
    "                            [--now UNIX_SECONDS] [FILE|-]...\n"
    "\n"
    "Verifies X.509-SVID chains and prints one JSON result object per input (JSON\n"
    "Lines, in input order). Every input is one PEM chain, leaf first; PEM blocks\n"
    "other than CERTIFICATE (a private key, say) are skipped. Reads standard input\n"
    "when no FILE or '-' is given.\n"
    "\n"
    "  --bundle TD=PATH     X.509 authorities of trust domain TD (a name such as\n"
    "                       example.org, or spiffe://example.org): a PEM file of CA\n"
    "                       certificates or a SPIFFE bundle with x509-svid entries;\n"
    "                       repeatable, at least one is required\n"
    "  --leeway SECONDS     clock skew allowed on every notBefore and notAfter, 0 to\n"
    "                       3600 (default 30)\n"
    "  --now UNIX_SECONDS   verify as of this time instead of the system clock\n"
    "\n"
    "Exit status: 0 every chain verified (also when there was none), 1 some chain\n"
    "did not, 2 usage or configuration error, or an input file that cannot be read\n"
    "(results of the inputs before it are still printed).\n";

enum credential_kind {
    KIND_JWT,
    KIND_X509,
};

struct verify_config {
    enum credential_kind kind;
    const char *command; /* "verify jwt" or "verify x509", for messages */
    struct sg_bundle_list bundles;
    struct sg_audience_list audiences;
    int64_t now;
    int64_t leeway;
    char **inputs;
    int input_count;
};

struct verify_run {
    const struct verify_config *config;
    struct sg_verifier *verifier;
    struct sg_trust_set *trust;
    size_t invalid;
};

enum { OPT_BUNDLE = 256, OPT_AUDIENCE, OPT_LEEWAY, OPT_NOW, OPT_HELP };

static const struct option jwt_options[] = {
    { "bundle", required_argument, NULL, OPT_BUNDLE },
    { "audience", required_argument, NULL, OPT_AUDIENCE },
    { "leeway", required_argument, NULL, OPT_LEEWAY },
    { "now", required_argument, NULL, OPT_NOW },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
};

/* X.509-SVIDs carry no audience, so `verify x509` has no --audience. */
static const struct option x509_options[] = {
    { "bundle", required_argument, NULL, OPT_BUNDLE },
    { "leeway", required_argument, NULL, OPT_LEEWAY },
    { "now", required_argument, NULL, OPT_NOW },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
};

static int usage_error(const struct verify_config *config)
{
    fprintf(stderr, "Run 'svidgate %s --help' for usage.\n", config->command);
    return SG_EXIT_USAGE;
}

/* Applies one option; false after printing what is wrong with it. */
static bool apply_option(struct verify_config *config, int option, const char *word)
{
    switch (option) {
    case OPT_BUNDLE:
        return sg_option_add_bundle(&config->bundles, optarg);
    case OPT_AUDIENCE:
        return sg_option_add_audience(&config->audiences, optarg);
    case OPT_LEEWAY:
        return sg_option_parse_int("--leeway", optarg, 0, SG_LEEWAY_MAX, &config->leeway);
    case OPT_NOW:
        return sg_option_parse_int("--now", optarg, 0, INT64_C(1) << 40, &config->now);
    case ':':
        fprintf(stderr, "svidgate: %s: option %s needs a value\n", config->command, word);
        return false;
    default:
        fprintf(stderr, "svidgate: %s: unknown option %s\n", config->command, word);
        return false;
    }
}

/* Returns -1 to go on, or the exit status to stop with. */
static int parse_args(int argc, char **argv, struct verify_config *config)
{
    const struct option *options = config->kind == KIND_JWT ? jwt_options : x509_options;
    int option;

    config->now = (int64_t)time(NULL);
    config->leeway = SG_LEEWAY_DEFAULT;
    if (!sg_options_check_names(argc, argv, options, config->command))
        return usage_error(config);

    optind = 1;
    opterr = 0;
    while ((option = getopt_long(argc, argv, ":", options, NULL)) != -1) {
        if (option == OPT_HELP) {
            fputs(config->kind == KIND_JWT ? verify_jwt_usage : verify_x509_usage, stdout);
            return SG_EXIT_OK;
        }
        if (!apply_option(config, option, argv[optind - 1]))
            return usage_error(config);
    }

    if (config->bundles.count == 0) {
        fprintf(stderr, "svidgate: %s: --bundle TD=PATH is required; credentials are checked "
                "only against the bundle of their own trust domain\n", config->command);
        return usage_error(config);
    }
    if (config->kind == KIND_JWT && config->audiences.count == 0) {
        fputs("svidgate: verify jwt: --audience AUD is required; a JWT-SVID is never accepted "
              "without an expected audience\n", stderr);
        return usage_error(config);
    }
    config->inputs = argv + optind;
    config->input_count = argc - optind;
    return -1;
}

/* Prints one result line; takes ownership of `json` (NULL when out of memory). */
static void print_result(char *json)
{
    if (json == NULL) {
        fputs("{\"valid\":false,\"error\":\"internal_error\",\"message\":\"out of memory\"}\n",
              stdout);
        return;
    }
    fputs(json, stdout);
    fputc('\n', stdout);
    free(json);
}

static void verify_line(struct verify_run *run, struct sg_slice token)
{
    const struct verify_config *config = run->config;
    struct sg_jwt_svid svid;
    struct sg_jwt_options options = { config->now, config->leeway };
    enum sg_error err = sg_jwt_svid_verify(run->verifier, run->trust, token, &options, &svid);

    if (err == SG_OK)
        err = sg_jwt_svid_check_audience(&svid, config->audiences.values, config->audiences.count);
    run->invalid += err != SG_OK;
    print_result(sg_jwt_svid_result_json(&svid));
    sg_jwt_svid_clear(&svid);
}

static void report_too_long(struct verify_run *run)
{
    struct sg_jwt_svid svid;

    memset(&svid, 0, sizeof(svid));
    (void)sg_fail(&svid.status, SG_ERR_MALFORMED, "JWT is longer than %d bytes", SG_JWT_MAX);
    run->invalid++;
    print_result(sg_jwt_svid_result_json(&svid));
}

/* Verifies every line of one input as a token; false when it cannot be read. */
static bool verify_token_lines(struct verify_run *run, FILE *file, const char *name)
{
    struct sg_line_reader reader;
    struct sg_slice line;
    enum sg_line_result result = SG_LINE_ERROR;

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
    if (result == SG_LINE_ERROR)
        fprintf(stderr, "svidgate: cannot read input %s\n", name);
    return result != SG_LINE_ERROR;
}

/*
 * Reads at most `max` bytes of `file` into a heap buffer. *too_large is
 * set, and the rest of the input skipped, when it is longer.
 */
static bool read_bounded(FILE *file, size_t max, char **data, size_t *len, bool *too_large)
{
    char *buffer = malloc(max + 1);
    size_t got;

    if (buffer == NULL)
        return false;
    got = fread(buffer, 1, max + 1, file);
    *too_large = got > max;
    while (*too_large && fread(buffer, 1, max + 1, file) > 0)
        continue;
    if (ferror(file)) {
        free(buffer);
        return false;
    }
    *data = buffer;
    *len = got > max ? max : got;
    return true;
}

static void verify_chain_text(struct verify_run *run, struct sg_slice pem)
{
    const struct verify_config *config = run->config;
    struct sg_x509_options options = { config->now, config->leeway };
    STACK_OF(X509) *chain = NULL;
    struct sg_x509_svid svid;
    enum sg_error err;

    memset(&svid, 0, sizeof(svid));
    err = sg_x509_chain_from_pem(pem, &chain, &svid.status);
    if (err == SG_OK)
        err = sg_x509_svid_verify(run->verifier, run->trust, chain, &options, &svid);
    run->invalid += err != SG_OK;
    print_result(sg_x509_svid_result_json(&svid));
    sg_x509_chain_free(chain);
}

/* Verifies one input as one PEM chain; false when it cannot be read. */
static bool verify_chain_input(struct verify_run *run, FILE *file, const char *name)
{
    char *data = NULL;
    size_t len = 0;
    bool too_large = false;

    if (!read_bounded(file, X509_INPUT_MAX, &data, &len, &too_large)) {
        fprintf(stderr, "svidgate: cannot read input %s\n", name);
        return false;
    }
    if (too_large) {
        struct sg_x509_svid svid;

        memset(&svid, 0, sizeof(svid));
        (void)sg_fail(&svid.status, SG_ERR_MALFORMED, "the chain input is longer than %d bytes",
                      X509_INPUT_MAX);
        run->invalid++;
        print_result(sg_x509_svid_result_json(&svid));
    } else {
        verify_chain_text(run, sg_slice_make(data, len));
    }
    free(data);
    return true;
}

/* Verifies one input file (or standard input for "-"); false when it cannot be read. */
static bool verify_input(struct verify_run *run, const char *name)
{
    bool is_stdin = strcmp(name, "-") == 0;
    FILE *file = is_stdin ? stdin : fopen(name, "rb");
    bool ok;

    if (file == NULL) {
        fprintf(stderr, "svidgate: cannot open input file %s: %s\n", name, strerror(errno));
        return false;
    }
    ok = run->config->kind == KIND_JWT ? verify_token_lines(run, file, name)
                                       : verify_chain_input(run, file, name);
    if (!is_stdin)
        fclose(file);
    return ok;
}

static int run_inputs(struct verify_run *run)
{
    const struct verify_config *config = run->config;

    if (config->input_count == 0)
        return verify_input(run, "-") ? -1 : SG_EXIT_USAGE;
    for (int i = 0; i < config->input_count; i++) {
        if (!verify_input(run, config->inputs[i]))
            return SG_EXIT_USAGE;
    }
    return -1;
}

static int run_verify(enum credential_kind kind, int argc, char **argv)
{
    struct verify_config config;
    struct verify_run run = { &config, NULL, NULL, 0 };
    struct sg_status status;
    int exit_status;

    memset(&config, 0, sizeof(config));
    config.kind = kind;
    config.command = kind == KIND_JWT ? "verify jwt" : "verify x509";
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

int sg_cmd_verify_jwt(int argc, char **argv)
{
    return run_verify(KIND_JWT, argc, argv);
}

int sg_cmd_verify_x509(int argc, char **argv)
{
    return run_verify(KIND_X509, argc, argv);
}
