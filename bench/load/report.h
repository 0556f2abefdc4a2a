/*
 * Output of a load run: a human summary, JSON, a percentile table for
 * gnuplot and a PNG plot of it.
 */
#ifndef SVIDLOAD_REPORT_H
#define SVIDLOAD_REPORT_H

#include <stdio.h>

#include "bench/load/load_run.h"

struct report_context {
    const char *label;
    const char *url;
    const char *kind;
    unsigned connections;
    double rate;
};

void report_human(FILE *out, const struct report_context *context, const struct load_result *result);

int report_json(const char *path, const struct report_context *context,
                const struct load_result *result);

/* Write "latency_us percentile count 1/(1-percentile)" rows, the layout
 * of HdrHistogram's percentile distribution, which plots well with a
 * logarithmic x axis over 1/(1-percentile). */
int report_percentiles(const char *path, const struct load_result *result);

/* Plot the percentile table at `data_path` into `png_path` with gnuplot. */
int report_png(const char *png_path, const char *data_path, const char *title);

#endif
