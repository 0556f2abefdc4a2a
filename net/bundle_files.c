/* Trust bundles read from local files (`--bundle TD=PATH`). */
#include "net/bundle_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/spiffe_id.h"

enum sg_error sg_bundle_file_parse_arg(const char *arg, struct sg_bundle_file *out,
                                       struct sg_status *status)
{
    const char *equals = strchr(arg, '=');
    struct sg_slice name;
    struct sg_status td_status;

    memset(out, 0, sizeof(*out));
    if (equals == NULL || equals == arg || equals[1] == '\0')
        return sg_fail(status, SG_ERR_MALFORMED,
                       "--bundle \"%s\" must have the form TRUST_DOMAIN=PATH", arg);

    name = sg_slice_make(arg, (size_t)(equals - arg));
    if (sg_slice_starts_with(name, sg_slice_cstr("spiffe://")))
        name = sg_slice_make(name.ptr + 9, name.len - 9);
    if (sg_trust_domain_validate(name, &td_status) != SG_OK)
        return sg_fail(status, SG_ERR_MALFORMED, "--bundle \"%s\": %s", arg, td_status.message);

    out->trust_domain = strndup((const char *)name.ptr, name.len);
    out->path = strdup(equals + 1);
    if (out->trust_domain == NULL || out->path == NULL) {
        sg_bundle_file_clear(out);
        return sg_fail(status, SG_ERR_INTERNAL, "out of memory");
    }
    return SG_OK;
}

void sg_bundle_file_clear(struct sg_bundle_file *file)
{
    free(file->trust_domain);
    free(file->path);
    file->trust_domain = NULL;
    file->path = NULL;
}

/* Reads exactly len bytes from fd; false on an error or a short file. */
static bool read_all(int fd, char *buffer, size_t len)
{
    size_t done = 0;

    while (done < len) {
        ssize_t got = read(fd, buffer + done, len - done);

        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return false;
        done += (size_t)got;
    }
    return true;
}

/*
 * Reads a whole regular file of at most SG_BUNDLE_MAX bytes. The file is
 * opened non-blocking and checked with fstat before any read, so a FIFO
 * or device given by mistake is rejected instead of blocking start-up.
 */
enum sg_error sg_bundle_file_read(const char *path, char **data, size_t *len,
                                      struct sg_status *status)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat info;
    char *buffer;

    if (fd < 0)
        return sg_fail(status, SG_ERR_MALFORMED, "cannot open bundle file %s: %s", path,
                       strerror(errno));
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode) || info.st_size > SG_BUNDLE_MAX) {
        close(fd);
        return sg_fail(status, SG_ERR_MALFORMED,
                       "bundle file %s is not a regular file of at most %d bytes", path,
                       SG_BUNDLE_MAX);
    }

    buffer = malloc((size_t)info.st_size + 1);
    if (buffer == NULL || !read_all(fd, buffer, (size_t)info.st_size)) {
        free(buffer);
        close(fd);
        return sg_fail(status, SG_ERR_MALFORMED, "cannot read bundle file %s", path);
    }
    close(fd);
    *data = buffer;
    *len = (size_t)info.st_size;
    return SG_OK;
}

static enum sg_error load_one(const struct sg_bundle_file *file, struct sg_trust_set *set,
                              struct sg_status *status)
{
    char *data = NULL;
    size_t len = 0;
    struct sg_bundle *bundle = NULL;
    struct sg_status parse_status;
    enum sg_error err;

    SG_GUARD(sg_bundle_file_read(file->path, &data, &len, status));
    err = sg_bundle_parse(sg_slice_cstr(file->trust_domain), sg_slice_make(data, len), &bundle,
                          &parse_status);
    free(data);
    if (err != SG_OK)
        return sg_fail(status, err, "bundle file %s for trust domain %s: %s", file->path,
                       file->trust_domain, parse_status.message);

    err = sg_trust_set_add(set, bundle, status);
    if (err != SG_OK)
        sg_bundle_free(bundle);
    return err;
}

enum sg_error sg_bundle_files_load(const struct sg_bundle_file *files, size_t count,
                                   uint64_t generation, struct sg_trust_set **out,
                                   struct sg_status *status)
{
    struct sg_trust_set *set = sg_trust_set_new(generation);

    if (set == NULL)
        return sg_fail(status, SG_ERR_INTERNAL, "out of memory");

    for (size_t i = 0; i < count; i++) {
        if (load_one(&files[i], set, status) != SG_OK) {
            sg_trust_set_free(set);
            return status->error;
        }
    }
    *out = set;
    return SG_OK;
}
