/*
 * Reads /proc/PID/stat and /proc/PID/status.
 */
#include "bench/load/process_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Read a small /proc file into `buffer` and NUL-terminate it. */
static size_t read_proc_file(pid_t pid, const char *name, char *buffer, size_t size)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
    FILE *file = fopen(path, "r");
    if (!file) {
        return 0;
    }
    size_t length = fread(buffer, 1, size - 1, file);
    fclose(file);
    buffer[length] = '\0';
    return length;
}

double process_cpu_seconds(pid_t pid)
{
    char stat[1024];
    if (read_proc_file(pid, "stat", stat, sizeof(stat)) == 0) {
        return -1.0;
    }

    /* The command name in field 2 may hold spaces and parentheses, so
     * counting starts after its last ')', at field 3. */
    char *cursor = strrchr(stat, ')');
    if (!cursor) {
        return -1.0;
    }
    cursor++;
    unsigned long long ticks = 0;
    for (int field = 3; field <= 15; field++) {
        char *end;
        unsigned long long value = strtoull(cursor, &end, 10);
        if (field >= 14) {
            ticks += value;
        }
        if (field == 3) {
            /* The state is a letter, not a number. */
            while (*cursor == ' ') {
                cursor++;
            }
            end = cursor + 1;
        }
        cursor = end;
    }
    return (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

uint64_t process_rss_kib(pid_t pid)
{
    char status[4096];
    if (read_proc_file(pid, "status", status, sizeof(status)) == 0) {
        return 0;
    }
    const char *line = strstr(status, "\nVmRSS:");
    if (!line) {
        return 0;
    }
    return strtoull(line + strlen("\nVmRSS:"), NULL, 10);
}
