/* The subcommands of the svidgate binary; each returns the exit status. */
#ifndef SVIDGATE_CMD_COMMANDS_H
#define SVIDGATE_CMD_COMMANDS_H

/* Exit statuses of every subcommand. */
enum {
    SG_EXIT_OK = 0,       /* every input verified */
    SG_EXIT_INVALID = 1,  /* at least one input did not verify */
    SG_EXIT_USAGE = 2,    /* usage or configuration error */
};

/* `svidgate serve ...`; argv[0] is "serve". */
int sg_cmd_serve(int argc, char **argv);

/* `svidgate verify jwt ...`; argv[0] is "jwt". */
int sg_cmd_verify_jwt(int argc, char **argv);

/* `svidgate verify x509 ...`; argv[0] is "x509". */
int sg_cmd_verify_x509(int argc, char **argv);

/* `svidgate bundle fetch ...`; argv[0] is "fetch". */
int sg_cmd_bundle_fetch(int argc, char **argv);

#endif
