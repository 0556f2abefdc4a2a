/*
 * svidload: an HTTP/1.1 load generator for svidgate's endpoints and for
 * any forward-auth endpoint. See usage() for the options and load_run.h
 * for the closed and open loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/load/histogram.h"
#include "bench/load/load_run.h"
#include "bench/load/report.h"
#include "bench/load/request_set.h"

struct arguments {
    const char *url;
    const char *kind_name;
    const char *label;
    const char *json_path;
    const char *percentiles_path;
    const char *png_path;
    struct request_options request;
    struct load_options load;
    char host[64];
    char path[2048];
};

static void usage(FILE *out)
{
    fputs(
        "usage: svidload --url http://IPV4:PORT/PATH [options]\n"
        "\n"
        "Sends HTTP/1.1 requests over keep-alive connections and reports\n"
        "throughput and latency percentiles (p50, p90, p99, p99.9, max).\n"
        "\n"
        "  --kind KIND          request built from each corpus line (default token):\n"
        "                       get     GET PATH, no corpus\n"
        "                       bearer  GET PATH with Authorization: Bearer LINE\n"
        "                       token   POST PATH with {\"token\":\"LINE\"}\n"
        "                       body    POST PATH with LINE as the JSON body\n"
        "                       batch   POST PATH with {\"tokens\":[BATCH-SIZE lines]}\n"
        "  --corpus FILE        one token or body per line\n"
        "  --audience A         audience: in the JSON body, or X-Svid-Audience for bearer\n"
        "  --batch-size N       tokens per batch request (default 1000)\n"
        "  --connections N      concurrent connections, 1 to 4096 (default 32)\n"
        "  --duration SECONDS   measured time, at most 3600 (default 10)\n"
        "  --warmup SECONDS     unrecorded time before it (default 0)\n"
        "  --requests N         stop sending after N requests, warm-up included\n"
        "  --rate R             open loop at R requests/s, latency measured from each\n"
        "                       request's due time; without it, closed loop\n"
        "  --expect-status N    status that counts as expected (default 200)\n"
        "  --expect-body TEXT   a body without TEXT counts as unexpected\n"
        "  --max-body BYTES     longest accepted response body (default 4194304)\n"
        "  --server-pid PID     report that process's CPU time per request and RSS\n"
        "  --rss-interval S     also sample its RSS every S seconds\n"
        "  --label NAME         name in the report (default: the URL)\n"
        "  --json FILE          write the result as JSON ('-' for standard output)\n"
        "  --percentiles FILE   write the latency percentile table\n"
        "  --png FILE           plot that table with gnuplot (needs --percentiles)\n"
        "\n"
        "Exit status: 0 done, 1 some responses were unexpected, invalid or\n"
        "missing, 2 usage error or no connection.\n",
        out);
}

static int parse_number(const char *text, double minimum, double maximum, double *out)
{
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || value < minimum || value > maximum) {
        return -1;
    }
    *out = value;
    return 0;
}

/* http://IPV4:PORT/PATH; names are not resolved, so no DNS query is made. */
static int parse_url(struct arguments *arguments)
{
    const char *url = arguments->url;
    if (strncmp(url, "http://", 7) != 0) {
        return -1;
    }
    const char *authority = url + 7;
    const char *slash = strchr(authority, '/');
    const char *colon = strchr(authority, ':');
    if (!slash || !colon || colon > slash || (size_t)(slash - authority) >= sizeof(arguments->host) ||
        strlen(slash) >= sizeof(arguments->path)) {
        return -1;
    }

    char address[32];
    size_t address_length = (size_t)(colon - authority);
    if (address_length == 0 || address_length >= sizeof(address)) {
        return -1;
    }
    memcpy(address, authority, address_length);
    address[address_length] = '\0';

    char port_text[8];
    size_t port_length = (size_t)(slash - colon - 1);
    double port;
    if (port_length == 0 || port_length >= sizeof(port_text)) {
        return -1;
    }
    memcpy(port_text, colon + 1, port_length);
    port_text[port_length] = '\0';
    if (parse_number(port_text, 1, 65535, &port) != 0) {
        return -1;
    }

    struct sockaddr_in *socket_address = &arguments->load.address;
    socket_address->sin_family = AF_INET;
    socket_address->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, address, &socket_address->sin_addr) != 1) {
        return -1;
    }
    memcpy(arguments->host, authority, (size_t)(slash - authority));
    arguments->host[slash - authority] = '\0';
    memcpy(arguments->path, slash, strlen(slash) + 1);
    return 0;
}

static int parse_option(struct arguments *arguments, const char *name, const char *value)
{
    double number = 0;
    struct load_options *load = &arguments->load;

    if (strcmp(name, "--url") == 0) {
        arguments->url = value;
    } else if (strcmp(name, "--kind") == 0) {
        arguments->kind_name = value;
        return request_kind_parse(value, &arguments->request.kind);
    } else if (strcmp(name, "--corpus") == 0) {
        arguments->request.corpus_path = value;
    } else if (strcmp(name, "--audience") == 0) {
        arguments->request.audience = value;
    } else if (strcmp(name, "--batch-size") == 0) {
        if (parse_number(value, 1, BATCH_MAX_SIZE, &number) != 0) {
            return -1;
        }
        arguments->request.batch_size = (size_t)number;
    } else if (strcmp(name, "--connections") == 0) {
        if (parse_number(value, 1, LOAD_MAX_CONNECTIONS, &number) != 0) {
            return -1;
        }
        load->connections = (unsigned)number;
    } else if (strcmp(name, "--duration") == 0) {
        return parse_number(value, 0.001, LOAD_MAX_SECONDS, &load->duration_seconds);
    } else if (strcmp(name, "--warmup") == 0) {
        return parse_number(value, 0, LOAD_MAX_SECONDS, &load->warmup_seconds);
    } else if (strcmp(name, "--requests") == 0) {
        if (parse_number(value, 1, 1e12, &number) != 0) {
            return -1;
        }
        load->max_requests = (uint64_t)number;
    } else if (strcmp(name, "--rate") == 0) {
        return parse_number(value, 0.001, 1e8, &load->rate);
    } else if (strcmp(name, "--expect-status") == 0) {
        if (parse_number(value, 100, 599, &number) != 0) {
            return -1;
        }
        load->expect_status = (int)number;
    } else if (strcmp(name, "--expect-body") == 0) {
        load->expect_body = value;
    } else if (strcmp(name, "--max-body") == 0) {
        if (parse_number(value, 0, 1 << 30, &number) != 0) {
            return -1;
        }
        load->max_body = (size_t)number;
    } else if (strcmp(name, "--server-pid") == 0) {
        if (parse_number(value, 1, 1 << 30, &number) != 0) {
            return -1;
        }
        load->server_pid = (pid_t)number;
    } else if (strcmp(name, "--rss-interval") == 0) {
        return parse_number(value, 0.01, LOAD_MAX_SECONDS, &load->rss_interval_seconds);
    } else if (strcmp(name, "--label") == 0) {
        arguments->label = value;
    } else if (strcmp(name, "--json") == 0) {
        arguments->json_path = value;
    } else if (strcmp(name, "--percentiles") == 0) {
        arguments->percentiles_path = value;
    } else if (strcmp(name, "--png") == 0) {
        arguments->png_path = value;
    } else {
        return -1;
    }
    return 0;
}

static int parse_arguments(int argc, char **argv, struct arguments *arguments)
{
    arguments->kind_name = "token";
    arguments->request.kind = REQUEST_TOKEN;
    arguments->request.batch_size = 1000;
    arguments->load.connections = 32;
    arguments->load.duration_seconds = 10;
    arguments->load.expect_status = 200;
    arguments->load.max_body = 4194304;

    /* Every option but --help takes a value, so options come in pairs. */
    for (int i = 1; i < argc; i += 2) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "svidload: option %s needs a value\n", argv[i]);
            return -1;
        }
        if (parse_option(arguments, argv[i], argv[i + 1]) != 0) {
            fprintf(stderr, "svidload: invalid option or value: %s %s\n", argv[i], argv[i + 1]);
            return -1;
        }
    }

    if (!arguments->url || parse_url(arguments) != 0) {
        fprintf(stderr, "svidload: --url must be http://IPV4:PORT/PATH\n");
        return -1;
    }
    if (arguments->png_path && !arguments->percentiles_path) {
        fprintf(stderr, "svidload: --png needs --percentiles FILE for its data\n");
        return -1;
    }
    arguments->request.host = arguments->host;
    arguments->request.path = arguments->path;
    if (!arguments->label) {
        arguments->label = arguments->url;
    }
    return 0;
}

static int write_outputs(const struct arguments *arguments, const struct report_context *context,
                         const struct load_result *result)
{
    report_human(stdout, context, result);
    if (arguments->json_path && report_json(arguments->json_path, context, result) != 0) {
        return -1;
    }
    if (arguments->percentiles_path && report_percentiles(arguments->percentiles_path, result) != 0) {
        return -1;
    }
    if (arguments->png_path &&
        report_png(arguments->png_path, arguments->percentiles_path, arguments->label) != 0) {
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct arguments arguments = {0};
    if (parse_arguments(argc, argv, &arguments) != 0) {
        usage(stderr);
        return 2;
    }

    char error[512];
    struct request_set requests;
    if (request_set_build(&requests, &arguments.request, error, sizeof(error)) != 0) {
        fprintf(stderr, "svidload: %s\n", error);
        return 2;
    }

    static struct histogram latency;
    histogram_reset(&latency);
    static struct load_result result;
    result.latency = &latency;
    int status = load_run(&arguments.load, &requests, &result, error, sizeof(error));
    request_set_free(&requests);
    if (status != 0) {
        fprintf(stderr, "svidload: %s\n", error);
        return 2;
    }

    struct report_context context = {.label = arguments.label, .url = arguments.url,
                                      .kind = arguments.kind_name,
                                      .connections = arguments.load.connections,
                                      .rate = arguments.load.rate};
    if (write_outputs(&arguments, &context, &result) != 0) {
        return 2;
    }
    bool clean = result.unexpected_status == 0 && result.unexpected_body == 0 &&
                 result.invalid_responses == 0 && result.completed > 0;
    return clean ? 0 : 1;
}
