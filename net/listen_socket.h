/*
 * The listening address of `serve --listen HOST:PORT` and the
 * SO_REUSEPORT sockets that every worker binds to it.
 */
#ifndef SVIDGATE_NET_LISTEN_SOCKET_H
#define SVIDGATE_NET_LISTEN_SOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "core/error.h"

struct sg_listen_address {
    struct sockaddr_storage addr;
    socklen_t len;
};

/* Maximum size of the text sg_listen_address_format() writes, NUL included. */
#define SG_LISTEN_ADDRESS_TEXT_MAX 96

/*
 * Parses HOST:PORT, such as "127.0.0.1:8080", "[::1]:8080" or
 * "localhost:0" (port 0 picks a free port). HOST is resolved with
 * getaddrinfo() and the first address is used. On failure writes a
 * message naming the value to `message`.
 */
SG_MUST_CHECK bool sg_listen_address_parse(const char *text, struct sg_listen_address *out,
                                           char *message, size_t size);

/*
 * Opens a TCP socket with SO_REUSEADDR and SO_REUSEPORT, binds it to
 * `address` and listens. Returns the descriptor, or -1 with a message.
 */
int sg_listen_socket_open(const struct sg_listen_address *address, char *message, size_t size);

/* Reads the address `fd` is bound to, with the port the kernel chose for port 0. */
SG_MUST_CHECK bool sg_listen_address_of(int fd, struct sg_listen_address *out);

/* Writes "127.0.0.1:8080" or "[::1]:8080". */
void sg_listen_address_format(const struct sg_listen_address *address, char *out, size_t size);

#endif
