#include "net/listen_socket.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Splits "HOST:PORT" or "[HOST]:PORT" into NUL-terminated copies in `host` and `port`. */
static bool split_host_port(const char *text, char *host, size_t host_size, char *port,
                            size_t port_size)
{
    const char *colon = strrchr(text, ':');
    const char *host_start = text;
    size_t host_len;

    if (colon == NULL)
        return false;
    host_len = (size_t)(colon - text);

    if (host_len >= 2 && text[0] == '[' && text[host_len - 1] == ']') {
        host_start++;
        host_len -= 2;
    }

    if (host_len == 0 || host_len >= host_size || strlen(colon + 1) >= port_size)
        return false;
    memcpy(host, host_start, host_len);
    host[host_len] = '\0';
    snprintf(port, port_size, "%s", colon + 1);
    return true;
}

/* A port is 1 to 5 digits with a value of at most 65535. */
static bool valid_port(const char *port)
{
    size_t len = strlen(port);

    if (len == 0 || len > 5)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (port[i] < '0' || port[i] > '9')
            return false;
    }
    return strtol(port, NULL, 10) <= 65535;
}

bool sg_listen_address_parse(const char *text, struct sg_listen_address *out, char *message,
                             size_t size)
{
    char host[256];
    char port[8];
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
    struct addrinfo *found = NULL;
    int ret;

    if (!split_host_port(text, host, sizeof(host), port, sizeof(port)) || !valid_port(port)) {
        snprintf(message, size, "invalid listen address '%s': expected HOST:PORT, such as "
                 "127.0.0.1:8080 or [::1]:8080, with a port from 0 to 65535", text);
        return false;
    }

    ret = getaddrinfo(host, port, &hints, &found);
    if (ret != 0) {
        snprintf(message, size, "cannot resolve listen host '%s': %s", host, gai_strerror(ret));
        return false;
    }

    memcpy(&out->addr, found->ai_addr, found->ai_addrlen);
    out->len = found->ai_addrlen;
    freeaddrinfo(found);
    return true;
}

int sg_listen_socket_open(const struct sg_listen_address *address, char *message, size_t size)
{
    static const int enable = 1;
    int fd = socket(address->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const char *step = "socket";

    if (fd < 0)
        goto fail;

    step = "setsockopt(SO_REUSEADDR)";
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &enable, sizeof(enable)) < 0)
        goto fail;

    step = "setsockopt(SO_REUSEPORT)";
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &enable, sizeof(enable)) < 0)
        goto fail;

    step = "bind";
    if (bind(fd, (const struct sockaddr *)&address->addr, address->len) < 0)
        goto fail;

    step = "listen";
    if (listen(fd, SOMAXCONN) < 0)
        goto fail;
    return fd;

fail:;
    int error = errno;
    char text[SG_LISTEN_ADDRESS_TEXT_MAX];

    sg_listen_address_format(address, text, sizeof(text));
    snprintf(message, size, "%s on %s failed: %s", step, text, strerror(error));
    if (fd >= 0)
        close(fd);
    return -1;
}

bool sg_listen_address_of(int fd, struct sg_listen_address *out)
{
    out->len = sizeof(out->addr);
    return getsockname(fd, (struct sockaddr *)&out->addr, &out->len) == 0;
}

void sg_listen_address_format(const struct sg_listen_address *address, char *out, size_t size)
{
    char host[NI_MAXHOST];
    char port[NI_MAXSERV];
    int ret = getnameinfo((const struct sockaddr *)&address->addr, address->len, host, sizeof(host),
                          port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV);

    if (ret != 0)
        snprintf(out, size, "(unknown address)");
    else if (address->addr.ss_family == AF_INET6)
        snprintf(out, size, "[%s]:%s", host, port);
    else
        snprintf(out, size, "%s:%s", host, port);
}
