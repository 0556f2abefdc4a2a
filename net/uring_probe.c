#include "net/uring_probe.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <liburing.h>

#define PROBE_BUFFER_GROUP 0

/* Resources the probe opens, all released by probe_cleanup(). */
struct probe {
    struct io_uring ring;
    bool ring_ready;
    struct io_uring_buf_ring *buffer_ring;
    size_t buffer_ring_bytes;
    int listen_fd;
    int pair[2];
    uint8_t buffer[64];
};

struct required_opcode {
    int opcode;
    const char *name;
    const char *since; /* the Linux version that added it */
};

static const struct required_opcode required_opcodes[] = {
    { IORING_OP_ACCEPT, "IORING_OP_ACCEPT", "5.5" },
    { IORING_OP_RECV, "IORING_OP_RECV", "5.6" },
    { IORING_OP_SEND, "IORING_OP_SEND", "5.6" },
    { IORING_OP_READ, "IORING_OP_READ", "5.6" },
    { IORING_OP_TIMEOUT, "IORING_OP_TIMEOUT", "5.4" },
    { IORING_OP_ASYNC_CANCEL, "IORING_OP_ASYNC_CANCEL", "5.5" },
};

static bool check_setup(struct probe *probe, char *message, size_t size)
{
    int ret = io_uring_queue_init(8, &probe->ring, 0);

    if (ret == -EPERM) {
        snprintf(message, size, "io_uring_setup failed: %s (io_uring disabled? check "
                 "/proc/sys/kernel/io_uring_disabled)", strerror(-ret));
        return false;
    }
    if (ret == -ENOSYS) {
        snprintf(message, size, "io_uring_setup failed: %s (the kernel lacks io_uring, or a "
                 "seccomp filter blocks it)", strerror(-ret));
        return false;
    }
    if (ret < 0) {
        snprintf(message, size, "io_uring_setup failed: %s", strerror(-ret));
        return false;
    }
    probe->ring_ready = true;
    return true;
}

static bool check_opcodes(struct probe *probe, char *message, size_t size)
{
    struct io_uring_probe *supported = io_uring_get_probe_ring(&probe->ring);
    bool ok = true;

    if (supported == NULL) {
        snprintf(message, size, "io_uring opcode probe failed (IORING_REGISTER_PROBE needs Linux "
                 "5.6 or later)");
        return false;
    }

    for (size_t i = 0; ok && i < sizeof(required_opcodes) / sizeof(required_opcodes[0]); i++) {
        const struct required_opcode *required = &required_opcodes[i];

        if (!io_uring_opcode_supported(supported, required->opcode)) {
            snprintf(message, size, "io_uring opcode %s is not supported (needs Linux %s or later)",
                     required->name, required->since);
            ok = false;
        }
    }

    io_uring_free_probe(supported);
    return ok;
}

static bool check_buffer_ring(struct probe *probe, char *message, size_t size)
{
    struct io_uring_buf_reg reg = { 0 };
    void *ring;
    int ret;

    probe->buffer_ring_bytes = sizeof(struct io_uring_buf);
    ring = mmap(NULL, probe->buffer_ring_bytes, PROT_READ | PROT_WRITE,
                MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (ring == MAP_FAILED) {
        snprintf(message, size, "mapping a buffer ring failed: %s", strerror(errno));
        return false;
    }
    probe->buffer_ring = ring;

    reg.ring_addr = (uint64_t)(uintptr_t)ring;
    reg.ring_entries = 1;
    reg.bgid = PROBE_BUFFER_GROUP;
    ret = io_uring_register_buf_ring(&probe->ring, &reg, 0);
    if (ret < 0) {
        snprintf(message, size, "registering a provided-buffer ring failed: %s (needs Linux 5.19 "
                 "or later)", strerror(-ret));
        return false;
    }

    io_uring_buf_ring_init(probe->buffer_ring);
    io_uring_buf_ring_add(probe->buffer_ring, probe->buffer, sizeof(probe->buffer), 0,
                          io_uring_buf_ring_mask(1), 0);
    io_uring_buf_ring_advance(probe->buffer_ring, 1);
    return true;
}

/*
 * Submits the prepared SQE and looks for an immediate completion: a
 * kernel without the multishot flag rejects it at once with -EINVAL,
 * while a supported one waits for a connection or for data.
 */
static bool check_submitted(struct probe *probe, const char *feature, const char *since,
                            char *message, size_t size)
{
    struct io_uring_cqe *cqe = NULL;
    int ret = io_uring_submit(&probe->ring);

    if (ret < 0) {
        snprintf(message, size, "io_uring_submit failed: %s", strerror(-ret));
        return false;
    }
    if (io_uring_peek_cqe(&probe->ring, &cqe) == 0 && cqe != NULL && cqe->res < 0) {
        snprintf(message, size, "io_uring %s is not supported: %s (needs Linux %s or later)",
                 feature, strerror(-cqe->res), since);
        return false;
    }
    return true;
}

/* An abstract-namespace Unix socket, so that the probe binds no TCP port. */
static int open_probe_listener(void)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    /* Binding with only the family autobinds to a unique abstract name. */
    if (fd >= 0 && (bind(fd, (struct sockaddr *)&addr, sizeof(sa_family_t)) < 0 || listen(fd, 1) < 0)) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool check_multishot(struct probe *probe, char *message, size_t size)
{
    struct io_uring_sqe *sqe;

    probe->listen_fd = open_probe_listener();
    if (probe->listen_fd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, probe->pair) < 0) {
        snprintf(message, size, "creating probe sockets failed: %s", strerror(errno));
        return false;
    }

    sqe = io_uring_get_sqe(&probe->ring);
    io_uring_prep_multishot_accept(sqe, probe->listen_fd, NULL, NULL, 0);
    if (!check_submitted(probe, "multishot accept", "5.19", message, size))
        return false;

    sqe = io_uring_get_sqe(&probe->ring);
    io_uring_prep_recv_multishot(sqe, probe->pair[0], NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = PROBE_BUFFER_GROUP;
    return check_submitted(probe, "multishot receive", "6.0", message, size);
}

static void probe_cleanup(struct probe *probe)
{
    /* Tearing the ring down cancels the operations that still wait. */
    if (probe->ring_ready)
        io_uring_queue_exit(&probe->ring);
    if (probe->buffer_ring != NULL)
        munmap(probe->buffer_ring, probe->buffer_ring_bytes);
    if (probe->listen_fd >= 0)
        close(probe->listen_fd);
    if (probe->pair[0] >= 0) {
        close(probe->pair[0]);
        close(probe->pair[1]);
    }
}

bool sg_uring_probe(char *message, size_t size)
{
    struct probe probe = { .listen_fd = -1, .pair = { -1, -1 } };
    bool ok = check_setup(&probe, message, size) && check_opcodes(&probe, message, size) &&
              check_buffer_ring(&probe, message, size) && check_multishot(&probe, message, size);

    probe_cleanup(&probe);
    return ok;
}
