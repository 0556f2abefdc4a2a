/*
 * Writes the results of a load run.
 */
#include "bench/load/report.h"

#include <errno.h>
#include <stdbool.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>

static const double reported_percentiles[] = {50.0, 90.0, 99.0, 99.9};

static double to_us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

static double per_second(const struct load_result *result)
{
    return result->measured_seconds > 0 ? (double)result->completed / result->measured_seconds : 0.0;
}

/* Server CPU microseconds per completed request, or -1 when unknown. */
static double cpu_us_per_request(const struct load_result *result)
{
    if (result->server_cpu_seconds < 0 || result->completed == 0) {
        return -1.0;
    }
    return result->server_cpu_seconds * 1e6 / (double)result->completed;
}

void report_human(FILE *out, const struct report_context *context, const struct load_result *result)
{
    const struct histogram *latency = result->latency;

    if (strcmp(context->label, context->url) != 0) {
        fprintf(out, "%s: ", context->label);
    }
    fprintf(out, "%s %s, %u connections, %s\n", context->kind, context->url,
            context->connections, context->rate > 0 ? "open loop" : "closed loop");
    if (context->rate > 0) {
        fprintf(out, "  target rate %.0f requests/s\n", context->rate);
    }
    fprintf(out, "  %llu responses in %.2f s: %.0f requests/s\n",
            (unsigned long long)result->completed, result->measured_seconds, per_second(result));
    fprintf(out, "  latency (us): p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f\n",
            to_us(histogram_percentile(latency, 50.0)), to_us(histogram_percentile(latency, 90.0)),
            to_us(histogram_percentile(latency, 99.0)), to_us(histogram_percentile(latency, 99.9)),
            to_us(latency->total ? latency->max : 0), histogram_mean(latency) / 1000.0);
    if (result->server_cpu_seconds >= 0) {
        fprintf(out, "  server CPU %.3f s: %.2f us/request; RSS %llu -> %llu KiB (max %llu)\n",
                result->server_cpu_seconds, cpu_us_per_request(result),
                (unsigned long long)result->rss_start_kib, (unsigned long long)result->rss_end_kib,
                (unsigned long long)result->rss_max_kib);
    }
    fprintf(out,
            "  unexpected status %llu, unexpected body %llu, invalid responses %llu, "
            "connection errors %llu, unfinished %llu\n",
            (unsigned long long)result->unexpected_status, (unsigned long long)result->unexpected_body,
            (unsigned long long)result->invalid_responses,
            (unsigned long long)result->connection_errors, (unsigned long long)result->unfinished);
    if (result->last_error) {
        fprintf(out, "  last invalid response: %s\n", result->last_error);
    }
}

/* Labels and URLs come from the command line, so they are escaped for JSON. */
static void write_json_string(FILE *out, const char *text)
{
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c == '"' || *c == '\\') {
            fprintf(out, "\\%c", *c);
        } else if (*c < 0x20) {
            fprintf(out, "\\u%04x", *c);
        } else {
            fputc(*c, out);
        }
    }
    fputc('"', out);
}

static void write_json_body(FILE *out, const struct report_context *context,
                            const struct load_result *result)
{
    const struct histogram *latency = result->latency;

    fputs("{\"label\":", out);
    write_json_string(out, context->label);
    fputs(",\"url\":", out);
    write_json_string(out, context->url);
    fputs(",\"kind\":", out);
    write_json_string(out, context->kind);
    fprintf(out, ",\"connections\":%u,\"mode\":\"%s\",\"rate\":%.3f", context->connections,
            context->rate > 0 ? "open" : "closed", context->rate);
    fprintf(out, ",\"completed\":%llu,\"seconds\":%.6f,\"requests_per_second\":%.3f",
            (unsigned long long)result->completed, result->measured_seconds, per_second(result));
    fputs(",\"latency_us\":{", out);
    for (size_t i = 0; i < sizeof(reported_percentiles) / sizeof(reported_percentiles[0]); i++) {
        fprintf(out, "\"p%g\":%.3f,", reported_percentiles[i],
                to_us(histogram_percentile(latency, reported_percentiles[i])));
    }
    fprintf(out, "\"max\":%.3f,\"mean\":%.3f}", to_us(latency->total ? latency->max : 0),
            histogram_mean(latency) / 1000.0);
    fprintf(out, ",\"server_cpu_seconds\":%.4f,\"server_cpu_us_per_request\":%.4f",
            result->server_cpu_seconds, cpu_us_per_request(result));
    fprintf(out, ",\"rss_kib\":{\"start\":%llu,\"end\":%llu,\"max\":%llu,\"samples\":[",
            (unsigned long long)result->rss_start_kib, (unsigned long long)result->rss_end_kib,
            (unsigned long long)result->rss_max_kib);
    for (size_t i = 0; i < result->rss_samples; i++) {
        fprintf(out, "%s[%.3f,%llu]", i ? "," : "", result->rss_sample_seconds[i],
                (unsigned long long)result->rss_sample_kib[i]);
    }
    fprintf(out,
            "]},\"unexpected_status\":%llu,\"unexpected_body\":%llu,\"invalid_responses\":%llu,"
            "\"connection_errors\":%llu,\"unfinished\":%llu}\n",
            (unsigned long long)result->unexpected_status, (unsigned long long)result->unexpected_body,
            (unsigned long long)result->invalid_responses,
            (unsigned long long)result->connection_errors, (unsigned long long)result->unfinished);
}

int report_json(const char *path, const struct report_context *context,
                const struct load_result *result)
{
    bool to_stdout = strcmp(path, "-") == 0;
    FILE *out = to_stdout ? stdout : fopen(path, "w");
    if (!out) {
        fprintf(stderr, "svidload: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    write_json_body(out, context, result);
    if (to_stdout) {
        return fflush(out) == 0 ? 0 : -1;
    }
    return fclose(out) == 0 ? 0 : -1;
}

int report_percentiles(const char *path, const struct load_result *result)
{
    FILE *out = fopen(path, "w");
    if (!out) {
        fprintf(stderr, "svidload: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    const struct histogram *latency = result->latency;
    fputs("# latency_us percentile count inverse_tail\n", out);

    /* Five rows per halving of the tail, as HdrHistogram prints them,
     * down to the last sample. */
    for (int step = 0; latency->total > 0; step++) {
        double tail = pow(0.5, step / 5.0);
        double percentile = 100.0 * (1.0 - tail);
        double inverse_tail = 1.0 / tail;
        uint64_t count = (uint64_t)ceil(percentile / 100.0 * (double)latency->total);
        fprintf(out, "%.3f %.6f %llu %.3f\n", to_us(histogram_percentile(latency, percentile)),
                percentile, (unsigned long long)count, inverse_tail);
        if (count >= latency->total || step > 200) {
            break;
        }
    }
    return fclose(out) == 0 ? 0 : -1;
}

int report_png(const char *png_path, const char *data_path, const char *title)
{
    /* Paths and titles go into gnuplot strings, so quotes would break the
     * script: reject them instead of escaping. */
    if (strpbrk(png_path, "'\"\n") || strpbrk(data_path, "'\"\n") || strpbrk(title, "'\"\n")) {
        fprintf(stderr, "svidload: quotes or newlines in a plot path or label are not supported\n");
        return -1;
    }
    FILE *gnuplot = popen("gnuplot", "w");
    if (!gnuplot) {
        fprintf(stderr, "svidload: cannot run gnuplot: %s\n", strerror(errno));
        return -1;
    }
    fprintf(gnuplot,
            "set terminal png size 900,540\n"
            "set output '%s'\n"
            "set title '%s: latency by percentile'\n"
            "set logscale x\nset logscale y\n"
            "set xlabel 'percentile'\nset ylabel 'latency (us)'\n"
            /* gnuplot reads tic labels as formats, so '%%%%' prints one '%'. */
            "set xtics ('50%%%%' 2, '90%%%%' 10, '99%%%%' 100, '99.9%%%%' 1000, "
            "'99.99%%%%' 10000, '99.999%%%%' 100000)\n"
            "set grid\nset key off\n"
            "plot '%s' using 4:1 with lines linewidth 2\n",
            png_path, title, data_path);
    int status = pclose(gnuplot);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "svidload: gnuplot failed to write %s\n", png_path);
        return -1;
    }
    return 0;
}
