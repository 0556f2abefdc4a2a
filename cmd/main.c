/* The svidgate binary: dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"

static const char usage_text[] =
    "usage: svidgate serve  [--listen HOST:PORT] [--workers N] [--bundle TD=PATH]...\n"
    "                       [--federate TD=URL[,OPTION=VALUE]...]... [--state-dir DIR]\n"
    "                       [--audience AUD]... [--leeway SECONDS] [--cache-entries N]\n"
    "                       [--stats SECONDS] [--allow RULE]... [--policy-mode MODE]\n"
    "                       [--config FILE] [--check-config] [--max-connections N]\n"
    "       svidgate verify jwt --bundle TD=PATH... --audience AUD... [--leeway SECONDS]\n"
    "                       [--now UNIX_SECONDS] [FILE|-]...\n"
    "       svidgate verify x509 --bundle TD=PATH... [--leeway SECONDS]\n"
    "                       [--now UNIX_SECONDS] [FILE|-]...\n"
    "       svidgate bundle fetch URL [--profile https_web|https_spiffe] [--ca-file PEM]\n"
    "                       [--spiffe-id ID --bundle TD=PATH] [--trust-domain TD]\n"
    "                       [--timeout SECONDS]\n"
    "       svidgate --help | --version\n"
    "\n"
    "serve        run the HTTP verification service (see 'svidgate serve --help')\n"
    "verify jwt   verify JWT-SVIDs, one per line, and print one JSON result per line\n"
    "             (see 'svidgate verify jwt --help')\n"
    "verify x509  verify X.509-SVID chains, one PEM chain per input, and print one\n"
    "             JSON result per chain (see 'svidgate verify x509 --help')\n"
    "bundle fetch fetch and check a SPIFFE bundle from a federation bundle endpoint\n"
    "             (see 'svidgate bundle fetch --help')\n"
    "\n"
    "  --help       print this text, or with a command, that command's flags\n"
    "  --version    print the version\n"
    "\n"
    "The svidgate(1) manual page (man svidgate, or man -l docs/svidgate.1 in the\n"
    "source tree) describes every command, flag, HTTP endpoint, signal and\n"
    "environment variable.\n";

static int print_usage(FILE *stream, int status)
{
    fputs(usage_text, stream);
    return status;
}

static int run_verify(int argc, char **argv)
{
    if (argc < 2) {
        fputs("svidgate: verify needs a credential kind: 'verify jwt' or 'verify x509'\n",
              stderr);
        return print_usage(stderr, SG_EXIT_USAGE);
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return print_usage(stdout, SG_EXIT_OK);
    if (strcmp(argv[1], "jwt") == 0)
        return sg_cmd_verify_jwt(argc - 1, argv + 1);
    if (strcmp(argv[1], "x509") == 0)
        return sg_cmd_verify_x509(argc - 1, argv + 1);
    fprintf(stderr, "svidgate: unknown credential kind '%s'; expected 'jwt' or 'x509'\n",
            argv[1]);
    return SG_EXIT_USAGE;
}

static int run_bundle(int argc, char **argv)
{
    if (argc < 2) {
        fputs("svidgate: bundle needs a subcommand: 'bundle fetch'\n", stderr);
        return print_usage(stderr, SG_EXIT_USAGE);
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return print_usage(stdout, SG_EXIT_OK);
    if (strcmp(argv[1], "fetch") == 0)
        return sg_cmd_bundle_fetch(argc - 1, argv + 1);
    fprintf(stderr, "svidgate: unknown bundle subcommand '%s'; expected 'fetch'\n", argv[1]);
    return SG_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs("svidgate: a command is required\n", stderr);
        return print_usage(stderr, SG_EXIT_USAGE);
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return print_usage(stdout, SG_EXIT_OK);
    if (strcmp(argv[1], "--version") == 0) {
        printf("svidgate %s\n", SVIDGATE_VERSION);
        return SG_EXIT_OK;
    }
    if (strcmp(argv[1], "serve") == 0)
        return sg_cmd_serve(argc - 1, argv + 1);
    if (strcmp(argv[1], "verify") == 0)
        return run_verify(argc - 1, argv + 1);
    if (strcmp(argv[1], "bundle") == 0)
        return run_bundle(argc - 1, argv + 1);

    fprintf(stderr, "svidgate: unknown command '%s'\n", argv[1]);
    return print_usage(stderr, SG_EXIT_USAGE);
}
